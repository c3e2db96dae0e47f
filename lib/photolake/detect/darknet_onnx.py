"""Darknet cfg + weights to ONNX, written against the ``onnx`` package, so YOLOv3 and yolov3-tiny run on
ONNX Runtime.

The graph is the one OpenCV's Darknet importer builds: convolutions with their batch norm folded into the
weights and bias (eps 1e-6, as Darknet), leaky ReLU (0.1), route (one layer, or several concatenated),
shortcut (add), upsample (nearest), maxpool (Darknet's padding: size - 1, mostly at the end). Each [yolo]
head is decoded inside the graph into OpenCV's rows: centre x, centre y, w, h as fractions of the input,
the objectness, then each class's probability times the objectness, ordered by cell row, cell column and
anchor. The batch dimension is free, so several images go through one forward pass.

A conversion is made once per weights file, cfg and input size and cached in the model cache
(``detect.cache_dir``, where downloaded weights are) as ``<weights>.<size>.<sha256 of weights and cfg, 16
hex>.onnx``, written atomically. A models folder of the user's (``detect.models_dir``, ``--weights``) is
only read: it may be shared or read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from photolake.detect.models import DEFAULT_CACHE, cached_derivative
from photolake.errors import PhotolakeError

BN_EPS = 1e-6  # Darknet's normalize_cpu and OpenCV's importer
LEAKY_SLOPE = 0.1
OPSET = 13
SUPPORTED = {"net", "network", "convolutional", "maxpool", "route", "shortcut", "upsample", "yolo"}


class DarknetError(PhotolakeError):
    """A cfg this converter cannot build, or weights that do not fit the cfg."""


@dataclass
class Section:
    kind: str
    options: dict[str, str] = field(default_factory=dict)
    line: int = 0

    def number(self, key: str, default: float) -> float:
        return float(self.options.get(key, default))

    def integer(self, key: str, default: int) -> int:
        return int(float(self.options.get(key, default)))

    def integers(self, key: str) -> list[int]:
        return [int(v) for v in self.options.get(key, "").replace(" ", "").split(",") if v]


def parse_cfg(text: str) -> list[Section]:
    """The cfg's sections in order (comments and blank lines dropped)."""
    sections: list[Section] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            sections.append(Section(line.strip("[]").strip().lower(), {}, number))
        elif "=" in line and sections:
            key, value = line.split("=", 1)
            sections[-1].options[key.strip()] = value.strip()
        else:
            raise DarknetError(f"cfg line {number}: cannot read {raw.strip()!r}")
    if not sections or sections[0].kind not in ("net", "network"):
        raise DarknetError("the cfg does not start with a [net] section")
    for section in sections:
        if section.kind not in SUPPORTED:
            raise DarknetError(f"cfg line {section.line}: [{section.kind}] layers are not supported "
                               f"(supported: {', '.join(sorted(SUPPORTED - {'net', 'network'}))})")
    return sections


def _header(data: np.ndarray) -> int:
    """Bytes of the weights file's header: major, minor, revision (int32), then images seen (int64 from 0.2)."""
    major, minor = (int(v) for v in data[:8].view(np.int32))
    return 20 if major * 10 + minor >= 2 else 16


class _Weights:
    def __init__(self, data: np.ndarray):
        self.values = data[_header(data):].view(np.float32)
        self.at = 0

    def take(self, count: int, what: str) -> np.ndarray:
        if self.at + count > len(self.values):
            raise DarknetError(f"the weights file ends before {what}: it does not fit this cfg")
        out = self.values[self.at:self.at + count]
        self.at += count
        return out


@dataclass(frozen=True)
class Head:
    """One [yolo] head: its anchors (pixels of the network input) and class count."""

    anchors: tuple[tuple[float, float], ...]
    classes: int
    scale_xy: float


def convolution_shapes(sections: list[Section]) -> list[tuple[int, int, int, bool]]:
    """Per [convolutional] layer: (filters, input channels, kernel size, batch normalised)."""
    net = sections[0]
    channels = [net.integer("channels", 3)]  # output channels per layer, after the input
    shapes = []
    for index, section in enumerate(sections[1:]):
        here = channels[-1]
        if section.kind == "convolutional":
            filters = section.integer("filters", 1)
            shapes.append((filters, here, section.integer("size", 1), bool(section.integer("batch_normalize", 0))))
            channels.append(filters)
        elif section.kind == "route":
            channels.append(sum(channels[1 + (i if i >= 0 else index + i)] for i in section.integers("layers")))
        else:
            channels.append(here)
    return shapes


def convert(cfg_text: str, weights: bytes | np.ndarray, size: int):
    """The onnx ModelProto: input ``images`` (N, 3, size, size) RGB in 0-1, one output per [yolo] head,
    (N, rows, 5 + classes) as OpenCV's Darknet importer gives them."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    sections = parse_cfg(cfg_text)
    data = np.frombuffer(weights, dtype=np.uint8) if isinstance(weights, (bytes, bytearray)) else weights
    reader = _Weights(data)
    nodes, initializers = [], []

    def constant(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    outputs: list[str] = []  # each layer's output tensor
    channels: list[int] = []
    sides: list[int] = []  # each layer's output height (= width)
    current, current_c, current_side = "images", sections[0].integer("channels", 3), size
    heads = []
    for index, section in enumerate(sections[1:]):
        name = f"layer{index}"
        if section.kind == "convolutional":
            filters, kernel = section.integer("filters", 1), section.integer("size", 1)
            stride = section.integer("stride", 1)
            pad = kernel // 2 if section.integer("pad", 0) else section.integer("padding", 0)
            normalised = bool(section.integer("batch_normalize", 0))
            if section.integer("groups", 1) != 1:
                raise DarknetError(f"cfg line {section.line}: grouped convolutions are not supported")
            bias = reader.take(filters, f"layer {index}'s biases").astype(np.float64)
            if normalised:
                scales = reader.take(filters, f"layer {index}'s scales").astype(np.float64)
                mean = reader.take(filters, f"layer {index}'s means").astype(np.float64)
                variance = reader.take(filters, f"layer {index}'s variances").astype(np.float64)
            kernel_values = reader.take(filters * current_c * kernel * kernel, f"layer {index}'s weights")
            weight = kernel_values.reshape(filters, current_c, kernel, kernel).astype(np.float64)
            if normalised:
                factor = scales / np.sqrt(variance + BN_EPS)
                weight = weight * factor[:, None, None, None]
                bias = bias - mean * factor
            conv = f"{name}.conv"
            nodes.append(helper.make_node(
                "Conv", [current, constant(f"{name}.w", weight.astype(np.float32)),
                         constant(f"{name}.b", bias.astype(np.float32))], [conv],
                kernel_shape=[kernel, kernel], strides=[stride, stride], pads=[pad] * 4))
            activation = section.options.get("activation", "logistic")
            if activation == "leaky":
                nodes.append(helper.make_node("LeakyRelu", [conv], [name], alpha=LEAKY_SLOPE))
            elif activation == "linear":
                name = conv
            else:
                raise DarknetError(f"cfg line {section.line}: activation {activation!r} is not supported")
            current_c, current_side = filters, (current_side + 2 * pad - kernel) // stride + 1
        elif section.kind == "maxpool":
            kernel, stride = section.integer("size", section.integer("stride", 1)), section.integer("stride", 1)
            padding = section.integer("padding", kernel - 1)
            begin = padding // 2
            nodes.append(helper.make_node("MaxPool", [current], [name], kernel_shape=[kernel, kernel],
                                          strides=[stride, stride], pads=[begin, begin, padding - begin,
                                                                          padding - begin]))
            current_side = (current_side + padding - kernel) // stride + 1
        elif section.kind == "route":
            layers = [i if i >= 0 else index + i for i in section.integers("layers")]
            if section.integer("groups", 1) != 1:
                raise DarknetError(f"cfg line {section.line}: route groups are not supported")
            if len(layers) == 1:
                name = outputs[layers[0]]
            else:
                nodes.append(helper.make_node("Concat", [outputs[i] for i in layers], [name], axis=1))
            current_c, current_side = sum(channels[i] for i in layers), sides[layers[0]]
        elif section.kind == "shortcut":
            source = section.integer("from", -1)
            source = source if source >= 0 else index + source
            if section.options.get("activation", "linear") != "linear":
                raise DarknetError(f"cfg line {section.line}: shortcut activations are not supported")
            nodes.append(helper.make_node("Add", [current, outputs[source]], [name]))
        elif section.kind == "upsample":
            stride = section.integer("stride", 2)
            nodes.append(helper.make_node(
                "Resize", [current, constant(f"{name}.roi", np.zeros(0, np.float32)),
                           constant(f"{name}.scales", np.array([1, 1, stride, stride], np.float32))], [name],
                mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"))
            current_side *= stride
        elif section.kind == "yolo":
            anchors = section.integers("anchors") or [int(float(v)) for v in section.options["anchors"].split(",")]
            pairs = [(float(anchors[2 * i]), float(anchors[2 * i + 1])) for i in range(len(anchors) // 2)]
            mask = section.integers("mask") or list(range(len(pairs)))
            head = Head(tuple(pairs[m] for m in mask), section.integer("classes", 80), section.number("scale_x_y", 1))
            name = _decode_head(nodes, constant, current, name, head, current_side, size)
            heads.append(name)
        outputs.append(name)
        channels.append(current_c)
        sides.append(current_side)
        current = name
    if reader.at != len(reader.values):
        raise DarknetError(f"the weights file has {len(reader.values) - reader.at:,} values more than this cfg "
                           f"uses: it is for another network")
    if not heads:
        raise DarknetError("the cfg has no [yolo] layer")
    graph = helper.make_graph(
        nodes, "darknet",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, size, size])],
        [helper.make_tensor_value_info(h, TensorProto.FLOAT, ["batch", None, None]) for h in heads], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="photolake.detect.darknet_onnx")
    onnx.checker.check_model(model)
    return model


def _decode_head(nodes: list, constant, source: str, name: str, head: Head, side: int, size: int) -> str:
    """Nodes turning a head's raw map (N, A * (5 + C), side, side) into OpenCV's rows (N, side*side*A, 5 + C)."""
    from onnx import helper

    anchors, width = len(head.anchors), 5 + head.classes
    rows = f"{name}.rows"
    nodes += [
        helper.make_node("Reshape", [source, constant(f"{name}.shape5", np.array([0, anchors, width, side, side],
                                                                                 np.int64))], [f"{name}.r5"]),
        helper.make_node("Transpose", [f"{name}.r5"], [f"{name}.t"], perm=[0, 3, 4, 1, 2]),
        helper.make_node("Reshape", [f"{name}.t", constant(f"{name}.shape3", np.array([0, -1, width], np.int64))],
                         [rows]),
    ]
    count = side * side * anchors
    ys, xs, _ = np.meshgrid(np.arange(side), np.arange(side), np.arange(anchors), indexing="ij")
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)  # (count, 2): cell x, y
    sizes = np.tile(np.asarray(head.anchors, np.float32), (side * side, 1)) / np.float32(size)

    def part(label: str, start: int, end: int) -> str:
        out = f"{name}.{label}"
        nodes.append(helper.make_node("Slice", [rows, constant(f"{out}.start", np.array([start], np.int64)),
                                                constant(f"{out}.end", np.array([end], np.int64)),
                                                constant(f"{out}.axis", np.array([2], np.int64))], [out]))
        return out

    xy, wh, objectness, classes = part("xy", 0, 2), part("wh", 2, 4), part("obj", 4, 5), part("cls", 5, width)
    offset = (head.scale_xy - 1) / 2
    nodes += [
        helper.make_node("Sigmoid", [xy], [f"{name}.xy.s"]),
        helper.make_node("Mul", [f"{name}.xy.s", constant(f"{name}.xy.k", np.float32([head.scale_xy]))],
                         [f"{name}.xy.m"]),
        helper.make_node("Add", [f"{name}.xy.m", constant(f"{name}.grid", grid - np.float32(offset))],
                         [f"{name}.xy.g"]),
        helper.make_node("Div", [f"{name}.xy.g", constant(f"{name}.side", np.float32([side]))], [f"{name}.xy.o"]),
        helper.make_node("Exp", [wh], [f"{name}.wh.e"]),
        helper.make_node("Mul", [f"{name}.wh.e", constant(f"{name}.anchors", sizes.reshape(count, 2))],
                         [f"{name}.wh.o"]),
        helper.make_node("Sigmoid", [objectness], [f"{name}.obj.o"]),
        helper.make_node("Sigmoid", [classes], [f"{name}.cls.s"]),
        helper.make_node("Mul", [f"{name}.cls.s", f"{name}.obj.o"], [f"{name}.cls.o"]),
        helper.make_node("Concat", [f"{name}.xy.o", f"{name}.wh.o", f"{name}.obj.o", f"{name}.cls.o"],
                         [f"{name}.out"], axis=2),
    ]
    return f"{name}.out"


def random_weights(cfg_text: str, seed: int = 0) -> bytes:
    """A Darknet weights file of the cfg's shapes with random values (He-scaled kernels, batch norms near
    identity): for speed and conversion checks of networks whose trained weights are not at hand."""
    rng = np.random.default_rng(seed)
    parts = [np.array([0, 2, 0], np.int32).tobytes(), np.array([0], np.int64).tobytes()]
    for filters, inputs, kernel, normalised in convolution_shapes(parse_cfg(cfg_text)):
        fan_in = inputs * kernel * kernel
        values = [rng.normal(0, 0.1, filters)]
        if normalised:
            values += [rng.uniform(0.5, 1.5, filters), rng.normal(0, 0.1, filters), rng.uniform(0.5, 1.5, filters)]
        values.append(rng.normal(0, np.sqrt(1.0 / fan_in), filters * fan_in))
        parts += [v.astype(np.float32).tobytes() for v in values]
    return b"".join(parts)


def cached_conversion(cfg_path: str, weights_path: str, size: int, cache_dir: str | None = None) -> str:
    """The ONNX file for these Darknet files at ``size``: converted on first use into the model cache (where
    downloaded weights are, so beside them), then reused; a models folder of the user's is only read."""

    def converted() -> bytes:
        cfg_text = Path(cfg_path).read_text(encoding="utf-8", errors="replace")
        return convert(cfg_text, np.fromfile(weights_path, dtype=np.uint8), size).SerializeToString()

    try:
        return cached_derivative([weights_path, cfg_path], f"{Path(weights_path).name}.{size}", converted, cache_dir)
    except OSError as exc:
        raise DarknetError(f"cannot write the converted model of {Path(weights_path).name} into "
                           f"{cache_dir or DEFAULT_CACHE}: {exc}") from None
