"""Object detection on one image, as plain Python on arrays (no Spark): decode, letterbox, forward, decode the
network's output, class-wise NMS, boxes back in the original image's pixels.

Boxes are in the pixels of the image as displayed (after its EXIF orientation, as OpenCV's imread and
Ultralytics see it), top-left origin: x, y of the top-left corner, w, h.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from photolake.config import DEFAULTS
from photolake.detect.models import BACKENDS, DEFAULT_CACHE, ModelPaths, cached_derivative
from photolake.errors import PhotolakeError, one_line
from photolake.imaging import open_image

LETTERBOX_FILL = 114  # the grey both Darknet-style and YOLOX letterboxes pad with
YOLOX_STRIDES = (8, 16, 32)
MAX_DETECTIONS = 300


class TooLarge(ValueError):
    """The image's pixel count is over the limit (a decompression bomb, or simply too big to decode)."""


class InferenceFailed(RuntimeError):
    """The engine's forward pass failed on these images (ONNX Runtime's own errors are not RuntimeErrors)."""


@dataclass
class DecodedImage:
    """RGB pixels (uint8, HxWx3) and the size of the image they came from (decoding may reduce JPEGs)."""

    rgb: np.ndarray
    width: int
    height: int


def decode_image(data: bytes, min_side: int, max_pixels: int) -> DecodedImage:
    """The displayed image as 8-bit RGB, decoded no larger than needed: a JPEG whose smaller scale still
    covers ``min_side`` on its long side is DCT-scaled (1/2, 1/4, 1/8) instead of fully decoded.

    Any mode becomes RGB: grey, palette, CMYK, 16-bit and float are scaled to 8 bits, alpha is composited
    on the letterbox grey.  Raises TooLarge, or Pillow/OSError for files that cannot be decoded.
    """
    try:
        opened = open_image(data)
    except Image.DecompressionBombError as exc:  # Pillow's own guard, at twice its MAX_IMAGE_PIXELS
        raise TooLarge(f"over the pixel limit (decompression bomb): {exc}") from None
    with opened as image:
        width, height = image.size
        if width * height > max_pixels:
            raise TooLarge(f"{width}x{height} = {width * height:,} pixels, over the pixel limit of {max_pixels:,}")
        turned = image.getexif().get(0x0112) in (5, 6, 7, 8)
        display_w, display_h = (height, width) if turned else (width, height)
        longest = max(width, height)
        if image.format == "JPEG" and longest > min_side:
            factor = longest / min_side  # draft keeps each side at or above the requested size
            image.draft(image.mode if image.mode in ("RGB", "L", "CMYK") else "RGB",
                        (max(1, int(width / factor)), max(1, int(height / factor))))
        image = ImageOps.exif_transpose(image)
        return DecodedImage(to_rgb8(image), display_w, display_h)


def to_rgb8(image: Image.Image) -> np.ndarray:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 1.0 if image.mode == "F" and values.max(initial=0) <= 1.0 else 255.0 if values.max(initial=0) <= 255 \
            else 65535.0
        grey = np.clip(values * (255.0 / top), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (LETTERBOX_FILL,) * 3 + (255,))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


@dataclass(frozen=True)
class Letterbox:
    scale: float
    pad_x: int
    pad_y: int


def letterbox(rgb: np.ndarray, size: int, centered: bool) -> tuple[np.ndarray, Letterbox]:
    """The image scaled to fit size x size with its aspect ratio, padded with grey (centred, or at the
    top-left as YOLOX was trained)."""
    height, width = rgb.shape[:2]
    scale = min(size / width, size / height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    pad_x, pad_y = ((size - new_w) // 2, (size - new_h) // 2) if centered else (0, 0)
    canvas = np.full((size, size, 3), LETTERBOX_FILL, dtype=np.uint8)
    canvas[pad_y:pad_y + new_h, pad_x:pad_x + new_w] = resized
    return canvas, Letterbox(scale, pad_x, pad_y)


def darknet_cfg_with_threshold(cfg_text: str, conf: float) -> str:
    """The cfg with every [yolo] layer's ``thresh`` set to ``conf``: OpenCV zeroes scores below a layer's
    thresh (0.2 when absent) before returning them, so a lower --conf would silently lose boxes."""
    sections = re.split(r"(?m)^(?=\[)", cfg_text)
    out = []
    for section in sections:
        if section.startswith("[yolo]") or section.startswith("[region]"):
            section = re.sub(r"(?m)^\s*thresh\s*=.*\n?", "", section)
            section = section.replace("\n", f"\nthresh = {conf}\n", 1)
        out.append(section)
    return "".join(out)


def onnx_session(model: str | bytes, threads: int | None):
    """An ONNX Runtime session on the CPU with ``threads`` threads for each operator (the task's cores, so
    Spark's task slots are not oversubscribed) and none spinning while idle."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or 0  # 0: ONNX Runtime's own choice, every core
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: quiet by default
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def batched_onnx(path: str) -> bytes:
    """A YOLOX ONNX file with a free batch dimension: its reshapes copy the batch size instead of fixing it
    at 1, so several images go through one forward pass."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    constants = {i.name: i for i in model.graph.initializer}
    produced = {n.output[0]: n for n in model.graph.node if n.op_type == "Constant"}
    for node in model.graph.node:
        if node.op_type != "Reshape":
            continue
        holder = constants.get(node.input[1])
        tensor = holder if holder is not None else produced[node.input[1]].attribute[0].t
        shape = numpy_helper.to_array(tensor).copy()
        if len(shape) and shape[0] == 1:
            shape[0] = 0  # 0: this dimension as in the input
            tensor.CopyFrom(numpy_helper.from_array(shape, tensor.name))
    for value in [*model.graph.input, *model.graph.output]:
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    del model.graph.value_info[:]
    return model.SerializeToString()


def runtime_model(paths: ModelPaths, size: int, cache_dir: str | None = None) -> str:
    """The ONNX file ONNX Runtime runs for ``paths``, made once into the model cache and then reused: a
    Darknet cfg + weights converted, a YOLOX file with its batch dimension freed. The driver makes it and
    ships it, so no Python worker pays for the conversion (or for importing ``onnx``, about 1 s)."""
    if paths.spec.kind == "darknet" and paths.cfg:
        from photolake.detect.darknet_onnx import cached_conversion
        return cached_conversion(paths.cfg, paths.weights, size, cache_dir)
    try:
        free = paths.spec.kind != "yolox" or _free_batch(paths.weights)
    except Exception as exc:  # noqa: BLE001 - ONNX Runtime's load errors (InvalidProtobuf, NoSuchFile...)
        raise PhotolakeError(f"cannot load the model {paths.weights}: {one_line(exc) or type(exc).__name__}") \
            from None
    if not free:
        try:
            return cached_derivative([paths.weights], f"{Path(paths.weights).name}.batched",
                                     lambda: batched_onnx(paths.weights), cache_dir)
        except OSError as exc:
            raise PhotolakeError(f"cannot write the batched model of {Path(paths.weights).name} into "
                                 f"{cache_dir or DEFAULT_CACHE}: {exc}") from None
    return paths.weights


def _free_batch(path: str) -> bool:
    """Whether the ONNX file's input takes any number of images (its first dimension has no fixed size)."""
    return not isinstance(onnx_session(path, 1).get_inputs()[0].shape[0], int)


class Detector:
    """One loaded network and its post-processing; build once per Python worker, call for batches of images.
    ``backend``: ``onnxruntime`` (Darknet models converted once by photolake.detect.darknet_onnx), or
    ``opencv`` (OpenCV's DNN module, the reference)."""

    def __init__(self, paths: ModelPaths, conf: float = DEFAULTS["detect.conf"], nms: float = DEFAULTS["detect.nms"],
                 size: int = DEFAULTS["detect.size"], threads: int | None = None,
                 backend: str = DEFAULTS["detect.backend"], cache_dir: str | None = None):
        if size % 32:
            raise ValueError(f"--size must be a multiple of 32, not {size}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
        self.spec, self.conf, self.nms, self.size, self.backend = paths.spec, conf, nms, size, backend
        with open(paths.names, encoding="utf-8") as names:
            self.names = [line.strip() for line in names if line.strip()]
        if threads:  # OpenCV also letterboxes and makes the blobs on either backend: the task's cores only
            cv2.setNumThreads(threads)
        if backend == "onnxruntime":
            self.session = onnx_session(runtime_model(paths, size, cache_dir), threads)
            self.input = self.session.get_inputs()[0].name
        else:
            if self.spec.kind == "darknet":
                with open(paths.cfg, encoding="utf-8") as cfg:
                    cfg_bytes = darknet_cfg_with_threshold(cfg.read(), conf).encode()
                weights = np.fromfile(paths.weights, dtype=np.uint8)
                self.net = cv2.dnn.readNetFromDarknet(np.frombuffer(cfg_bytes, np.uint8), weights)
            else:
                self.net = cv2.dnn.readNetFromONNX(paths.weights)
            self.outputs = self.net.getUnconnectedOutLayersNames()
        self.grid = yolox_grid(size) if self.spec.kind == "yolox" else None

    def detect(self, image: DecodedImage) -> list[dict]:
        """Objects, most confident first: label, class_id, confidence, x, y, w, h (original pixels)."""
        return self.detect_batch([image])[0]

    def detect_batch(self, images: list[DecodedImage]) -> list[list[dict]]:
        """Each image's objects; ONNX Runtime runs them through one forward pass."""
        boxed = [letterbox(image.rgb, self.size, self.spec.centered) for image in images]
        if self.spec.kind == "darknet":  # RGB in 0-1
            blob = cv2.dnn.blobFromImages([canvas for canvas, _ in boxed], 1 / 255.0, swapRB=False)
        else:  # YOLOX: BGR in 0-255
            blob = cv2.dnn.blobFromImages([canvas for canvas, _ in boxed], 1.0, swapRB=True)
        if self.backend == "onnxruntime":
            try:
                raw = self.session.run(None, {self.input: blob})
            except Exception as exc:  # noqa: BLE001 - ONNX Runtime's errors (Fail, InvalidArgument...) share no class
                raise InferenceFailed(str(exc)) from exc
            per_image = [[head[i] for head in raw] for i in range(len(images))]
        else:  # one image at a time: OpenCV's region layers flatten a batch's rows together
            per_image = []
            for i in range(len(images)):
                self.net.setInput(blob[i:i + 1])
                per_image.append(self.net.forward(self.outputs))
        return [self._decoded(raw, box, image) for raw, (_, box), image in zip(per_image, boxed, images)]

    def _decoded(self, raw: list[np.ndarray], box: Letterbox, image: DecodedImage) -> list[dict]:
        if self.spec.kind == "darknet":
            rows = np.concatenate([r.reshape(-1, r.shape[-1]) for r in raw])
            centres, scores = rows[:, :4] * self.size, rows[:, 5:]
        else:
            rows = raw[0].reshape(-1, raw[0].shape[-1])
            centres = decode_yolox(rows[:, :4], self.grid)
            scores = rows[:, 4:5] * rows[:, 5:]
        decoded_scale = image.rgb.shape[1] / image.width  # < 1 when the JPEG was DCT-scaled
        return self._objects(centres, scores, box, decoded_scale, image.width, image.height)

    def _objects(self, centres: np.ndarray, scores: np.ndarray, box: Letterbox, decoded_scale: float,
                 width: int, height: int) -> list[dict]:
        class_ids = scores.argmax(axis=1)
        confidences = scores[np.arange(len(scores)), class_ids]
        keep = confidences >= self.conf
        centres, class_ids, confidences = centres[keep], class_ids[keep], confidences[keep]
        if not len(confidences):
            return []
        corners = np.column_stack([centres[:, 0] - centres[:, 2] / 2, centres[:, 1] - centres[:, 3] / 2,
                                   centres[:, 2], centres[:, 3]])
        kept = cv2.dnn.NMSBoxesBatched(corners.tolist(), confidences.tolist(), class_ids.tolist(), self.conf,
                                       self.nms, top_k=MAX_DETECTIONS)
        kept = sorted(np.asarray(kept).reshape(-1).tolist(), key=lambda i: -confidences[i])[:MAX_DETECTIONS]
        to_original = 1.0 / (box.scale * decoded_scale)
        objects = []
        for i in kept:
            x0 = (corners[i, 0] - box.pad_x) * to_original
            y0 = (corners[i, 1] - box.pad_y) * to_original
            x1, y1 = x0 + corners[i, 2] * to_original, y0 + corners[i, 3] * to_original
            x0, x1 = float(np.clip(x0, 0, width)), float(np.clip(x1, 0, width))
            y0, y1 = float(np.clip(y0, 0, height)), float(np.clip(y1, 0, height))
            class_id = int(class_ids[i])
            objects.append({"label": self.names[class_id] if class_id < len(self.names) else str(class_id),
                            "class_id": class_id, "confidence": round(float(confidences[i]), 5),
                            "x": round(x0, 2), "y": round(y0, 2), "w": round(x1 - x0, 2), "h": round(y1 - y0, 2)})
        return objects


def yolox_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Each output row's grid cell (x, y) and stride, in the order YOLOX concatenates its three heads."""
    cells, strides = [], []
    for stride in YOLOX_STRIDES:
        side = size // stride
        ys, xs = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
        cells.append(np.column_stack([xs.ravel(), ys.ravel()]))
        strides.append(np.full(side * side, stride))
    return np.concatenate(cells).astype(np.float32), np.concatenate(strides).astype(np.float32)[:, None]


def decode_yolox(raw_boxes: np.ndarray, grid: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Centre x, y and w, h in input pixels from YOLOX's raw regression (offsets in cells, log sizes)."""
    cells, strides = grid
    return np.column_stack([(raw_boxes[:, :2] + cells) * strides, np.exp(raw_boxes[:, 2:4]) * strides])
