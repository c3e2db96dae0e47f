"""detect: decoding any image, letterboxing, the models' output decoding, model files, mAP, and the job."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photolake import lake
from photolake.detect.darknet_onnx import DarknetError, cached_conversion, convert, random_weights
from photolake.detect.evaluate import Box, average_precision, evaluate_rows, iou_matrix, mean_average_precision
from photolake.detect.models import (
    BACKENDS,
    MODELS,
    ModelFile,
    ModelFileError,
    ModelPaths,
    download,
    resolve_model,
    sha256_of,
)
from photolake.detect.run import (
    DetectSettings,
    annotated_path,
    detect_all,
    detect_counts,
    detect_file,
    detect_files,
)
from photolake.detect.yolo import (
    LETTERBOX_FILL,
    Detector,
    TooLarge,
    darknet_cfg_with_threshold,
    decode_image,
    decode_yolox,
    letterbox,
    onnx_session,
    runtime_model,
    yolox_grid,
)
from photolake.errors import PhotolakeError
from photolake.image_files import files_from_dir
from photolake.schemas import DETECTIONS
from tests.http_servers import FaultyServer, png_header_only


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


@pytest.fixture(scope="module")
def models(shared) -> Path:
    return shared / "models"


@pytest.fixture(scope="module")
def conversions(tmp_path_factory) -> str:
    """The model cache the ONNX conversions of this module's Darknet models go into."""
    return str(tmp_path_factory.mktemp("conversions"))


@pytest.fixture(scope="module")
def detectors(models, conversions) -> dict[tuple[str, str], Detector]:
    """(model, backend) -> its detector."""
    return {(name, backend): Detector(resolve_model(name, models_dir=str(models), cache_dir="/nonexistent"),
                                      threads=2, backend=backend, cache_dir=conversions)
            for name in ("yolov3-tiny", "yolox-nano") for backend in BACKENDS}


# ---- decoding and letterboxing --------------------------------------------------------------------------

@pytest.mark.parametrize("mode, colour", [("L", 90), ("CMYK", (0, 0, 0, 0)), ("P", 3), ("RGB", (10, 20, 30))])
def test_any_mode_decodes_to_rgb8(mode, colour):
    data = encoded(Image.new(mode, (50, 40), colour), "JPEG" if mode in ("L", "CMYK", "RGB") else "PNG")
    image = decode_image(data, 416, 10**8)
    assert image.rgb.shape == (40, 50, 3) and image.rgb.dtype == np.uint8
    assert (image.width, image.height) == (50, 40)


def test_alpha_is_composited_on_grey_and_16_bit_scaled():
    transparent = decode_image(encoded(Image.new("RGBA", (8, 8), (255, 0, 0, 0)), "PNG"), 416, 10**8)
    assert (transparent.rgb == LETTERBOX_FILL).all()
    sixteen = Image.fromarray(np.full((6, 6), 65535, dtype=np.uint16))
    assert sixteen.mode.startswith("I;16")
    assert (decode_image(encoded(sixteen, "PNG"), 416, 10**8).rgb == 255).all()


def test_big_jpegs_decode_reduced_but_report_their_own_size(shared):
    photo = sorted((shared / "data" / "unsplash-photos").glob("*.jpg"))[0]
    image = decode_image(photo.read_bytes(), 416, 10**8)
    with Image.open(photo) as original:
        assert (image.width, image.height) == original.size
    assert 416 <= max(image.rgb.shape[:2]) < max(image.width, image.height) / 2


def test_exif_orientation_gives_the_displayed_frame():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image = decode_image(encoded(Image.new("RGB", (60, 20), "white"), "JPEG", exif=exif), 416, 10**8)
    assert (image.width, image.height) == (20, 60) and image.rgb.shape[:2] == (60, 20)


def test_pixel_limit_and_undecodable_bytes():
    with pytest.raises(TooLarge, match="1600000000 pixels"):
        decode_image(png_header_only(40000, 40000), 416, 10**8)
    with pytest.raises(Exception):
        decode_image(b"<html>not an image</html>", 416, 10**8)


@pytest.mark.parametrize("centered, pad", [(True, (0, 104)), (False, (0, 0))])
def test_letterbox_keeps_the_aspect_ratio(centered, pad):
    canvas, box = letterbox(np.zeros((200, 400, 3), np.uint8), 416, centered)
    assert canvas.shape == (416, 416, 3) and box.scale == pytest.approx(416 / 400)
    assert (box.pad_x, box.pad_y) == pad
    assert (canvas[pad[1]:pad[1] + 208] == 0).all() and (canvas[pad[1] + 208:] == LETTERBOX_FILL).all()


def test_darknet_threshold_is_lowered_in_every_yolo_layer():
    cfg = "[net]\nwidth=416\n\n[yolo]\nmask=0\nignore_thresh = .7\nthresh = .2\n\n[conv]\nx=1\n\n[yolo]\nmask=1\n"
    out = darknet_cfg_with_threshold(cfg, 0.001)
    assert out.count("thresh = 0.001") == 2 and "thresh = .2" not in out and "ignore_thresh = .7" in out
    assert out.startswith("[net]\nwidth=416\n") and "[conv]\nx=1\n" in out


def test_yolox_grid_decoding():
    cells, strides = yolox_grid(64)
    assert len(cells) == 8 * 8 + 4 * 4 + 2 * 2
    assert cells[9].tolist() == [1, 1] and strides[9, 0] == 8 and strides[64, 0] == 16
    raw = np.array([[0.5, 0.5, 0.0, np.log(2)]] * len(cells), dtype=np.float32)
    decoded = decode_yolox(raw, (cells, strides))
    assert decoded[9].tolist() == pytest.approx([12, 12, 8, 16])  # cell (1,1), stride 8
    assert decoded[64].tolist() == pytest.approx([8, 8, 16, 32])  # first cell of the stride-16 head


# ---- detection on real photos ---------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("model", ["yolov3-tiny", "yolox-nano"])
def test_known_objects(detectors, shared, model, backend):
    def labels(name):
        data = (shared / "data" / "photos" / name).read_bytes()
        return {o["label"] for o in detectors[model, backend].detect(decode_image(data, 416, 10**8))}

    dog = labels("dog.jpg")
    assert {"dog", "bicycle"} <= dog and dog & {"car", "truck"}
    assert {"person", "dog", "horse"} <= labels("person.jpg")


def test_boxes_are_in_original_pixels(detectors, shared):
    """The same photo at twice the size gives the same boxes at twice the coordinates."""
    detector = detectors["yolox-nano", "onnxruntime"]
    with Image.open(shared / "data" / "photos" / "person.jpg") as photo:
        small, large = photo.convert("RGB"), photo.convert("RGB").resize((photo.width * 2, photo.height * 2))
    first = detector.detect(decode_image(encoded(small, "PNG"), 416, 10**8))
    second = detector.detect(decode_image(encoded(large, "PNG"), 416, 10**8))
    person = next(o for o in first if o["label"] == "person")
    twice = next(o for o in second if o["label"] == "person")
    for key in ("x", "y", "w", "h"):
        assert twice[key] == pytest.approx(2 * person[key], abs=0.015 * large.width)  # resampling differs a little
    assert 180 < person["x"] < 200 and 250 < person["h"] < 300  # the standing person, left of centre
    assert all(0 <= o["x"] and o["x"] + o["w"] <= small.width + 0.01 for o in first)


def test_low_confidence_boxes_survive_opencvs_layer_threshold(models, shared):
    low = Detector(resolve_model("yolov3-tiny", models_dir=str(models), cache_dir="/nonexistent"), conf=0.01,
                   backend="opencv")
    objects = low.detect(decode_image((shared / "data" / "photos" / "dog.jpg").read_bytes(), 416, 10**8))
    assert min(o["confidence"] for o in objects) < 0.2
    assert [o["confidence"] for o in objects] == sorted((o["confidence"] for o in objects), reverse=True)


def test_both_backends_find_the_same_objects_and_batches_change_nothing(detectors, shared):
    photos = sorted((shared / "data" / "photos").glob("*.jpg"))
    images = [decode_image(path.read_bytes(), 416, 10**8) for path in photos]
    assert len(images) >= 5
    for model in ("yolov3-tiny", "yolox-nano"):
        reference = [detectors[model, "opencv"].detect(image) for image in images]
        batched = detectors[model, "onnxruntime"].detect_batch(images)
        assert batched == [detectors[model, "onnxruntime"].detect(image) for image in images]
        assert sum(map(len, reference)) > 10
        for expected, got in zip(reference, batched):
            assert [o["label"] for o in got] == [o["label"] for o in expected], model
            for a, b in zip(expected, got):
                assert all(abs(a[k] - b[k]) <= 1.0 for k in "xywh"), (model, a, b)
                assert abs(a["confidence"] - b["confidence"]) <= 1e-3


# A small Darknet network with every layer kind the converter knows: batch-normalised and plain
# convolutions, both maxpools (stride 2, and Darknet's stride-1 size-2 with its one-sided padding), a route
# of one layer and of two, a shortcut, an upsample and two [yolo] heads (HEAD: a 1x1 convolution to 3 anchors
# x (5 + 2 classes) and its [yolo] layer).
HEAD = """[convolutional]
size=1
stride=1
pad=1
filters=21
activation=linear

[yolo]
mask = 0,1,2
anchors = 10,14,  23,27,  37,58
classes=2
num=3
"""
SMALL_CFG = f"""[net]
width=64
height=64
channels=3

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
batch_normalize=1
filters=16
size=3
stride=2
pad=1
activation=leaky

[convolutional]
batch_normalize=1
filters=16
size=1
stride=1
pad=1
activation=leaky

[shortcut]
from=-2
activation=linear

[maxpool]
size=2
stride=1

{HEAD}
[route]
layers = -3

[upsample]
stride=2

[route]
layers = -1, 1

{HEAD}"""


def opencv_darknet_outputs(cfg: str, weights: bytes, blob: np.ndarray) -> list[np.ndarray]:
    import cv2

    net = cv2.dnn.readNetFromDarknet(np.frombuffer(darknet_cfg_with_threshold(cfg, 0.0).encode(), np.uint8),
                                     np.frombuffer(weights, np.uint8))
    net.setInput(blob)
    return net.forward(net.getUnconnectedOutLayersNames())


def onnx_outputs(cfg: str, weights: bytes, size: int, blob: np.ndarray) -> list[np.ndarray]:
    from photolake.detect.yolo import onnx_session

    session = onnx_session(convert(cfg, weights, size).SerializeToString(), 1)
    return session.run(None, {"images": np.concatenate([blob, blob[:, ::-1]])})


def assert_rows_match(expected: list[np.ndarray], got: list[np.ndarray]) -> None:
    """OpenCV's rows against the ONNX graph's first image: positions, objectness and class scores to 1e-4;
    sizes to 1e-3 in log space (they are exponentials, so an error in the logit is a relative error)."""
    assert len(expected) == len(got)
    for reference, batch in zip(expected, got):
        rows = batch[0]
        assert rows.shape == reference.shape
        np.testing.assert_allclose(rows[:, [0, 1, 4]], reference[:, [0, 1, 4]], atol=1e-4)
        np.testing.assert_allclose(rows[:, 5:], reference[:, 5:], atol=1e-4)
        np.testing.assert_allclose(np.log(rows[:, 2:4]), np.log(reference[:, 2:4]), atol=1e-3)
        assert not np.allclose(batch[1], rows)  # the second image is another image: the batch is real


def test_the_converted_network_computes_what_opencv_does_on_every_layer_kind():
    import cv2

    weights = random_weights(SMALL_CFG, seed=3)
    blob = cv2.dnn.blobFromImage(np.random.default_rng(1).integers(0, 255, (64, 64, 3), np.uint8), 1 / 255.0)
    expected, got = opencv_darknet_outputs(SMALL_CFG, weights, blob), onnx_outputs(SMALL_CFG, weights, 64, blob)
    assert [g.shape for g in got] == [(2, 16 * 16 * 3, 7), (2, 32 * 32 * 3, 7)]
    assert_rows_match(expected, got)


@pytest.mark.parametrize("model", ["yolov3-tiny", "yolov3"])
def test_the_converted_yolov3_computes_what_opencv_does(models, model):
    """yolov3-tiny with its real weights; the full yolov3 cfg with random weights of the right shapes (its
    248 MB weights are not in ../shared: the equality of the graphs does not need them)."""
    import cv2

    cfg = (models / f"{model}.cfg").read_text()
    weights = (models / f"{model}.weights").read_bytes() if model == "yolov3-tiny" else random_weights(cfg, seed=2)
    image = np.random.default_rng(5).integers(0, 255, (416, 416, 3), np.uint8)
    blob = cv2.dnn.blobFromImage(image, 1 / 255.0)
    assert_rows_match(opencv_darknet_outputs(cfg, weights, blob), onnx_outputs(cfg, weights, 416, blob))


def test_bad_darknet_files_are_clear_errors(tmp_path):
    weights = random_weights(SMALL_CFG)
    with pytest.raises(DarknetError, match="ends before"):
        convert(SMALL_CFG, weights[:-40], 64)
    with pytest.raises(DarknetError, match="more than this cfg uses"):
        convert(SMALL_CFG, weights + bytes(400), 64)
    with pytest.raises(DarknetError, match=r"\[crop\] layers are not supported"):
        convert(SMALL_CFG.replace("[upsample]", "[crop]"), weights, 64)
    with pytest.raises(DarknetError, match="activation 'mish'"):
        convert(SMALL_CFG.replace("activation=leaky", "activation=mish", 1), weights, 64)
    with pytest.raises(DarknetError, match=r"\[net\]"):
        convert("[convolutional]\nfilters=1\n", weights, 64)


def test_a_conversion_is_made_once_per_weights_and_size(tmp_path):
    cfg, weights = tmp_path / "small.cfg", tmp_path / "small.weights"
    cfg.write_text(SMALL_CFG)
    weights.write_bytes(random_weights(SMALL_CFG, seed=1))
    cache = tmp_path / "cache"
    first = cached_conversion(str(cfg), str(weights), 64, str(cache))
    mtime = Path(first).stat().st_mtime_ns
    assert cached_conversion(str(cfg), str(weights), 64, str(cache)) == first
    assert Path(first).stat().st_mtime_ns == mtime and Path(first).parent == cache
    assert Path(first).name.startswith("small.weights.64.") and Path(first).name.endswith(".onnx")
    weights.write_bytes(random_weights(SMALL_CFG, seed=2))  # new weights under the same name
    second = cached_conversion(str(cfg), str(weights), 64, str(cache))
    third = cached_conversion(str(cfg), str(weights), 96, str(cache))
    assert len({first, second, third}) == 3 and sorted(p.name for p in cache.iterdir()) == sorted(
        Path(p).name for p in (first, second, third))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "small.cfg", "small.weights"]


def test_a_yolox_network_is_batched_once_into_the_cache_and_a_batched_one_is_run_as_it_is(models, tmp_path):
    paths = resolve_model("yolox-nano", models_dir=str(models), cache_dir="/nonexistent")
    cache = tmp_path / "cache"
    batched = runtime_model(paths, 416, str(cache))
    assert Path(batched).parent == cache and Path(batched).name.startswith("yolox_nano.onnx.batched.")
    mtime = Path(batched).stat().st_mtime_ns
    assert runtime_model(paths, 416, str(cache)) == batched and Path(batched).stat().st_mtime_ns == mtime
    assert runtime_model(ModelPaths(paths.spec, batched, None, paths.names), 416, str(cache)) == batched
    assert [p.name for p in cache.iterdir()] == [Path(batched).name]
    session = onnx_session(batched, 1)
    outputs = session.run(None, {session.get_inputs()[0].name: np.zeros((3, 3, 416, 416), np.float32)})
    assert outputs[0].shape[0] == 3
    (tmp_path / "a-file").write_text("")
    with pytest.raises(PhotolakeError, match="cannot write the batched model of yolox_nano.onnx into"):
        runtime_model(paths, 416, str(tmp_path / "a-file"))


def test_a_model_file_onnx_runtime_cannot_load_is_a_one_line_error(models, tmp_path):
    (tmp_path / "broken.onnx").write_bytes(b"not a network")
    paths = resolve_model("yolox-nano", weights=str(tmp_path / "broken.onnx"), models_dir=str(models),
                          cache_dir="/nonexistent")
    with pytest.raises(PhotolakeError, match=r"cannot load the model .*broken.onnx: .*Protobuf parsing failed"):
        runtime_model(paths, 416, str(tmp_path / "cache"))


def test_an_onnx_runtime_failure_gives_a_failed_row_not_a_crash(models, shared, conversions):
    # the network's input is fixed at 416 px: at 320 ONNX Runtime refuses the blob with its own InvalidArgument
    paths = resolve_model("yolox-nano", models_dir=str(models), cache_dir="/nonexistent")
    wrong_size = Detector(paths, size=320, threads=1, backend="onnxruntime", cache_dir=conversions)
    photo = shared / "data" / "photos" / "dog.jpg"
    row = detect_file(wrong_size, DetectSettings("yolox-nano", size=320), "dog.jpg", str(photo))
    assert row["status"] == "failed" and row["error"].startswith("inference: [ONNXRuntimeError]")
    assert "Got: 320 Expected: 416" in row["error"] and "\n" not in row["error"] and row.get("objects") is None


class FailingDetector:
    """A detector whose forward pass fails on a batch holding an image 3 pixels wide."""

    def detect_batch(self, images):
        if any(image.width == 3 for image in images):
            raise RuntimeError("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : bad input")
        return [[] for _ in images]


def test_an_image_that_fails_inference_fails_alone(tmp_path):
    for name, width in (("a.png", 8), ("b.png", 3), ("c.png", 9)):
        Image.new("RGB", (width, 5), "red").save(tmp_path / name)
    files = [(name, str(tmp_path / name), str(tmp_path / name), None) for name in ("a.png", "b.png", "c.png")]
    rows = detect_files(FailingDetector(), DetectSettings("yolox-nano"), files)
    assert [(r["photo_id"], r["status"]) for r in rows] == [("a.png", "ok"), ("b.png", "failed"), ("c.png", "ok")]
    assert "INVALID_ARGUMENT" in rows[1]["error"] and rows[0]["objects"] == [] and rows[0]["labels"] == []
    assert all(isinstance(r["elapsed_ms"], int) for r in rows)


# ---- model files ----------------------------------------------------------------------------------------

def test_model_files_are_found_and_checked(models, tmp_path):
    paths = resolve_model("yolov3-tiny", models_dir=str(models), cache_dir=str(tmp_path / "cache"))
    assert paths.weights == str(models / "yolov3-tiny.weights") and paths.names == str(models / "coco.names")
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "yolox_nano.onnx").write_bytes(b"not the model")
    with pytest.raises(ModelFileError, match="is not the published yolox_nano.onnx"):
        resolve_model("yolox-nano", models_dir=str(wrong), cache_dir=str(tmp_path / "cache"))
    own = resolve_model("yolox-nano", weights=str(wrong / "yolox_nano.onnx"), names=str(models / "coco.names"),
                        cache_dir=str(tmp_path / "cache"))
    assert own.weights == str(wrong / "yolox_nano.onnx")  # the user's own file is taken as given


def test_missing_files_are_downloaded_with_their_checksum(models, tmp_path, caplog, capsys):
    caplog.set_level("INFO", logger="photolake.detect")
    cache = tmp_path / "cache"
    with FaultyServer(models) as server:
        paths = resolve_model("yolov3-tiny", models_dir=str(tmp_path / "empty"), cache_dir=str(cache),
                              mirror=f"{server.url}/photos")
    assert paths.weights == str(cache / "yolov3-tiny.weights")
    assert sha256_of(cache / "yolov3-tiny.weights") == MODELS["yolov3-tiny"].weights.sha256
    assert "downloading yolov3-tiny.weights" in caplog.text
    size = (models / "yolov3-tiny.weights").stat().st_size / 1e6
    assert f"yolov3-tiny.weights: {size:,.1f}/{size:,.1f} MB (100%)" in capsys.readouterr().out
    assert not list(cache.glob(".*part"))


def test_a_wrong_or_missing_download_is_a_clear_error(models, tmp_path):
    wrong_sum = ModelFile("coco.names", "0" * 64, ())
    with FaultyServer(models) as server:
        with pytest.raises(ModelFileError, match=r"coco.names.*sha256 634a1132.*expected 0000") as error:
            download(wrong_sum, tmp_path, f"{server.url}/photos", 5, [tmp_path])
        missing = ModelFile("yolov3.weights", MODELS["yolov3"].weights.sha256, (f"{server.url}/status/404",))
        with pytest.raises(ModelFileError, match=r"model file yolov3.weights is not in .* could not be downloaded "
                                                 r"\(.*/status/404: HTTP 404\)"):
            download(missing, tmp_path, None, 5, [tmp_path])
    assert not (tmp_path / "coco.names").exists() and "could not be downloaded" in str(error.value)


# ---- accuracy ---------------------------------------------------------------------------------------------

def test_average_precision_on_a_hand_computed_case():
    # 3 truths; detections by confidence: hit, miss, hit -> precision 1, 1/2, 2/3 at recall 1/3, 1/3, 2/3.
    # Envelope: 1 for recall <= 1/3, 2/3 for recall <= 2/3, 0 beyond: 101-point AP = (34*1 + 33*2/3) / 101.
    ap = average_precision(np.array([1.0, 0.0, 1.0]), np.array([0.9, 0.8, 0.7]), 3)
    assert ap == pytest.approx((34 + 33 * 2 / 3) / 101)
    assert average_precision(np.array([]), np.array([]), 2) == 0.0


def test_map_counts_perfect_and_false_detections():
    truth = {"a": [Box(0, 10, 10, 20, 20)], "b": [Box(1, 0, 0, 50, 50)], "c": []}
    perfect = {k: [Box(b.class_id, b.x, b.y, b.w, b.h, 0.9) for b in v] for k, v in truth.items()}
    assert mean_average_precision(perfect, truth)["map50_95"] == pytest.approx(100)
    # class 0 shifted: IoU 16*20 / (2*400 - 320) = 2/3, a hit at IoU thresholds 0.5-0.65 (4 of 10);
    # class 1 still perfect: mAP@0.5:0.95 = (4/10 + 1) / 2
    shifted = {**perfect, "a": [Box(0, 14, 10, 20, 20, 0.9)]}
    scores = mean_average_precision(shifted, truth)
    assert scores["map50"] == pytest.approx(100) and scores["map50_95"] == pytest.approx(70)
    assert iou_matrix([Box(0, 14, 10, 20, 20)], truth["a"])[0, 0] == pytest.approx(2 / 3)
    false_alarm = {**perfect, "c": [Box(1, 0, 0, 50, 50, 0.95)]}  # ranked above the true one: precision 1/2
    assert mean_average_precision(false_alarm, truth)["map50"] == pytest.approx((100 + 50) / 2)


@pytest.mark.parametrize("model, goal", [("yolov3-tiny", 27.0), ("yolox-nano", 48.0)])
def test_map_on_coco128_through_the_job_code_is_the_same_on_both_backends(spark, shared, models, conversions, model,
                                                                          goal, capsys):
    coco = shared / "data" / "coco128"
    paths = resolve_model(model, models_dir=str(models), cache_dir="/nonexistent")
    files, _ = files_from_dir(spark, str(coco / "images" / "train2017"))
    scores = {}
    for backend in BACKENDS:
        # four images a forward pass on onnxruntime: the batches go through the job's code too
        settings = DetectSettings(model, conf=0.001, backend=backend, batch_size=4, cache_dir=conversions)
        rows = [r.asDict(recursive=True) for r in detect_all(files, paths, settings, 16).collect()]
        assert len(rows) == 128 and {r["status"] for r in rows} == {"ok"}
        scores[backend] = evaluate_rows(rows, coco / "labels" / "train2017")
        with capsys.disabled():
            print(f"\n{model} on coco128, {backend}: mAP@0.5 {scores[backend]['map50']:.1f}, "
                  f"mAP@0.5:0.95 {scores[backend]['map50_95']:.1f}")
    assert scores["onnxruntime"]["boxes"] == scores["opencv"]["boxes"] == 929
    assert scores["onnxruntime"]["map50"] >= goal
    assert abs(scores["onnxruntime"]["map50"] - scores["opencv"]["map50"]) <= 0.5


# ---- the job ------------------------------------------------------------------------------------------------

def test_detect_file_gives_a_row_for_every_bad_file(detectors, tmp_path):
    settings = DetectSettings("yolox-nano", max_pixels=10**8)
    cases = {
        "empty.jpg": (b"", "unreadable", "empty file"),
        "page.jpg": (b"<html>hello</html>", "unreadable", "UnidentifiedImageError"),
        "bomb.png": (png_header_only(40000, 40000), "too_large", "over the pixel limit"),
        "cut.jpg": (encoded(Image.new("RGB", (300, 300), "red"), "JPEG")[:200], "unreadable", ""),
        "dot.png": (encoded(Image.new("RGB", (1, 1), "red"), "PNG"), "ok", None),
    }
    for name, (data, status, error) in cases.items():
        (tmp_path / name).write_bytes(data)
        row = detect_file(detectors["yolox-nano", "onnxruntime"], settings, name, str(tmp_path / name))
        assert row["status"] == status, (name, row)
        assert (row["error"] is None) if error is None else (error in row["error"])
    missing = detect_file(detectors["yolox-nano", "onnxruntime"], settings, "gone.jpg", str(tmp_path / "gone.jpg"))
    assert missing["status"] == "missing" and "cannot read" in missing["error"]


def test_annotated_paths():
    assert annotated_path("/a/", "Abc_def-123") == "/a/Abc_def-123.jpg"
    assert annotated_path("/a", "sub/x.png") == "/a/sub/x.png.jpg"
    assert annotated_path("/a", "sub/x.JPG") == "/a/sub/x.JPG"


def test_detect_job_over_a_folder_with_tags_view(spark, shared, models, tmp_path):
    from pyspark.sql import functions as F

    folder = tmp_path / "photos"
    shutil.copytree(shared / "data" / "photos", folder, ignore=shutil.ignore_patterns("SHA256SUMS"))
    (folder / "broken.jpg").write_bytes(b"not really a jpeg")
    Image.new("L", (64, 48), 128).save(folder / "grey.png")
    paths = resolve_model("yolov3-tiny", models_dir=str(models), cache_dir="/nonexistent")
    settings = DetectSettings("yolov3-tiny", annotate_dir=str(tmp_path / "annotated"))
    lake_dir = str(tmp_path / "lake")
    lake.write_table(detect_all(files_from_dir(spark, str(folder))[0], paths, settings, 4), lake_dir,
                     "detections/model=yolov3-tiny", "t")
    table = lake.read_table(spark, lake_dir, "detections")
    assert [(f.name, f.dataType) for f in table.schema] == [(f.name, f.dataType) for f in DETECTIONS]
    rows = {r.photo_id: r for r in table.collect()}
    assert set(rows) == {p.name for p in folder.iterdir()}
    assert rows["broken.jpg"].status == "unreadable" and rows["grey.png"].status == "ok"
    assert {"person", "dog", "horse"} <= set(rows["person.jpg"].labels)
    assert rows["person.jpg"].model == "yolov3-tiny" and (rows["person.jpg"].image_width,
                                                          rows["person.jpg"].image_height) == (640, 424)
    assert Path(rows["dog.jpg"].annotated_path).is_file() and rows["broken.jpg"].annotated_path is None
    with Image.open(rows["dog.jpg"].annotated_path) as drawn:
        assert drawn.size == (768, 576)
    counts = detect_counts(table, 1.0)
    assert (counts.rows_in, counts.rows_out, counts.rows_rejected) == (10, 9, 1)
    assert "unreadable 1" in counts.notes[0]

    keywords = spark.createDataFrame([("dog.jpg", " Dog ", 88.5, None), ("dog.jpg", "street", None, None)],
                                     "photo_id string, keyword string, ai_service_1_confidence double, "
                                     "ai_service_2_confidence double")
    from photolake.schemas import KEYWORDS
    for field in KEYWORDS.schema.fields:
        if field.name not in keywords.columns:
            keywords = keywords.withColumn(field.name, F.lit(None).cast(field.dataType))
    lake.write_table(keywords.select(*KEYWORDS.schema.fieldNames()), lake_dir, "keywords", "t")
    assert "photo_tags" in lake.register_views(spark, lake_dir)
    tags = {(r.tag, r.source): r.confidence
            for r in spark.sql("SELECT * FROM photo_tags WHERE photo_id = 'dog.jpg'").collect()}
    assert tags[("dog", "keyword")] == pytest.approx(0.885) and tags[("street", "keyword")] is None
    best_dog = max(o.confidence for o in rows["dog.jpg"].objects if o.label == "dog")
    assert tags[("dog", "detection")] == pytest.approx(best_dog)
    assert {t for t, s in tags if s == "detection"} == set(rows["dog.jpg"].labels)
