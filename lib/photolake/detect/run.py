"""Detect on the executors: one row per image file, through mapInArrow, with the network loaded once per
Python worker and the model files shipped with the job (SparkFiles), never fetched per task."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import cv2
import numpy as np
from pyspark import SparkFiles
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructField, StructType

from photolake import storage
from photolake.config import DEFAULTS
from photolake.detect.models import ModelPaths
from photolake.detect.yolo import DecodedImage, Detector, TooLarge, decode_image, runtime_model
from photolake.errors import one_line
from photolake.image_files import File, per_file
from photolake.runs import TableCounts, by_status_note
from photolake.schemas import DETECT_STATUSES, DETECTIONS
from photolake.session import partitions_for

# The rows mapInArrow yields: every column nullable, without the partition column (the job's model).
RESULT_SCHEMA = StructType([StructField(f.name, f.dataType, True) for f in DETECTIONS.fields if f.name != "model"])


@dataclass(frozen=True)
class DetectSettings:
    """The detect step's settings: detect.* (photolake.config, where the defaults and their meaning are)."""

    model: str
    conf: float = DEFAULTS["detect.conf"]
    nms: float = DEFAULTS["detect.nms"]
    size: int = DEFAULTS["detect.size"]
    max_pixels: int = DEFAULTS["detect.max_pixels"]
    backend: str = DEFAULTS["detect.backend"]
    batch_size: int = DEFAULTS["detect.batch_size"]
    cache_dir: str = DEFAULTS["detect.cache_dir"]  # the model cache: Darknet models' ONNX conversions go there
    threads: int = 1  # inference threads per task: the task's cores (spark.task.cpus)
    annotate_dir: str | None = None


def detect_file(detector: Detector, settings: DetectSettings, photo_id: str, path: str,
                open_path: str | None = None, skipped: str | None = None) -> dict[str, Any]:
    """One detections row; a missing, unreadable or oversized file gets its status and error, never raises.
    ``open_path``: the file's exact OS path when ``path`` (the text stored) is not it; ``skipped``: why the
    file is not read."""
    return detect_files(detector, settings, [(photo_id, path, open_path or path, skipped)])[0]


def detect_files(detector: Detector, settings: DetectSettings, files: list[File]) -> list[dict[str, Any]]:
    """One detections row per file, in order: the files that decode go through one forward pass together;
    each row's elapsed_ms is its own reading and decoding plus its share of the pass."""
    rows, images = zip(*(_decoded(settings, *file) for file in files)) if files else ((), ())
    ready = [i for i, image in enumerate(images) if image is not None]
    started = time.perf_counter()
    found = _inferred(detector, [images[i] for i in ready])
    share_ms = (time.perf_counter() - started) * 1000 / max(len(ready), 1)
    for i, objects in zip(ready, found):
        _with_objects(rows[i], images[i], objects, settings)
        rows[i]["elapsed_ms"] += share_ms
    for row in rows:
        row["elapsed_ms"] = int(row["elapsed_ms"])
    return list(rows)


def _decoded(settings: DetectSettings, photo_id: str, path: str, open_path: str,
             skipped: str | None) -> tuple[dict[str, Any], DecodedImage | None]:
    """(the file's row, its image, or None when it cannot be read: the row then says why)."""
    started = time.perf_counter()
    row: dict[str, Any] = {"photo_id": photo_id, "path": path, "status": "ok", "error": None,
                           "detected_at": datetime.now(timezone.utc)}
    image = None
    try:
        image = _image(settings, open_path or path, skipped)
        row.update(image_width=image.width, image_height=image.height)
    except _Unread as why:
        _failed(row, why.status, why.error)
    row["elapsed_ms"] = (time.perf_counter() - started) * 1000
    return row, image


class _Unread(Exception):
    """A file that gives no image: its row's status and error."""

    def __init__(self, status: str, error: str):
        super().__init__(error)
        self.status, self.error = status, error


def _image(settings: DetectSettings, path: str, skipped: str | None) -> DecodedImage:
    """The file's image, or _Unread with the row's status and error."""
    if skipped:
        raise _Unread("skipped", skipped)
    try:
        data = storage.read_bytes(path)
    except OSError as exc:
        raise _Unread("missing", f"cannot read the file: {exc}") from None
    if not data:
        raise _Unread("unreadable", "empty file (0 bytes)")
    try:
        return decode_image(data, settings.size, settings.max_pixels)
    except TooLarge as exc:
        raise _Unread("too_large", str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any undecodable file is a row with its error
        raise _Unread("unreadable", f"{type(exc).__name__}: {exc}") from None


def _inferred(detector: Detector, images: list[DecodedImage]) -> list[list[dict] | Exception]:
    """Each image's objects; when the batch fails, each image alone, so only the images that fail do."""
    if not images:
        return []
    try:
        return detector.detect_batch(images)
    except (cv2.error, RuntimeError) as exc:  # OpenCV's errors, and ONNX Runtime's as InferenceFailed
        if len(images) == 1:
            return [exc]
    return [_inferred(detector, [image])[0] for image in images]


def _with_objects(row: dict, image: DecodedImage, objects: list[dict] | Exception, settings: DetectSettings) -> None:
    if isinstance(objects, Exception):
        _failed(row, "failed", f"inference: {one_line(objects) or type(objects).__name__}")
        return
    row.update(objects=objects, labels=sorted({o["label"] for o in objects}))
    if settings.annotate_dir:
        target = annotated_path(settings.annotate_dir, row["photo_id"])
        try:
            storage.write_atomic(target, annotate(image, objects))
            row["annotated_path"] = target
        except OSError as exc:  # the detections stand; only the drawn copy is missing
            row["error"] = f"the annotated copy could not be written: {exc.strerror or exc}"[:300]


def _failed(row: dict, status: str, error: str) -> None:
    row.update(status=status, error=error[:300])


def annotated_path(folder: str, photo_id: str) -> str:
    """``<folder>/<photo_id>.jpg``; a --from-dir id keeps its sub-folders (it never holds ``..``) and its
    own extension before ``.jpg`` (so ``a.png`` and ``a.jpg`` stay apart)."""
    name = photo_id if photo_id.lower().endswith((".jpg", ".jpeg")) else f"{photo_id}.jpg"
    return f"{folder.rstrip('/')}/{name}"


def annotate(image: DecodedImage, objects: list[dict]) -> bytes:
    """A JPEG of the decoded image with each object's box and label drawn on it."""
    canvas = cv2.cvtColor(image.rgb, cv2.COLOR_RGB2BGR)
    scale = canvas.shape[1] / image.width
    thickness = max(1, round(max(canvas.shape[:2]) / 400))
    for obj in objects:
        colour = _class_colour(obj["class_id"])
        x0, y0 = round(obj["x"] * scale), round(obj["y"] * scale)
        x1, y1 = round((obj["x"] + obj["w"]) * scale), round((obj["y"] + obj["h"]) * scale)
        cv2.rectangle(canvas, (x0, y0), (x1, y1), colour, thickness)
        text = f"{obj['label']} {obj['confidence']:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, thickness)
        top = max(0, y0 - th - base)
        cv2.rectangle(canvas, (x0, top), (x0 + tw, top + th + base), colour, -1)
        cv2.putText(canvas, text, (x0, top + th), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, (255, 255, 255),
                    thickness, cv2.LINE_AA)
    _, encoded = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return encoded.tobytes()


def _class_colour(class_id: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(class_id)
    return tuple(int(v) for v in rng.integers(40, 220, 3))


# ---- on the executors ------------------------------------------------------------------------------------

_DETECTORS: dict[tuple, Detector] = {}  # per Python worker: the network is loaded once and reused


def shipped(path: str | None) -> str | None:
    """A model file's path on this executor: shipped with the job under its base name."""
    return SparkFiles.get(os.path.basename(path)) if path else None


def worker_detector(paths: ModelPaths, settings: DetectSettings) -> Detector:
    key = (paths, settings.conf, settings.nms, settings.size, settings.threads, settings.backend)
    if key not in _DETECTORS:
        local = ModelPaths(paths.spec, shipped(paths.weights), shipped(paths.cfg), shipped(paths.names))
        _DETECTORS[key] = Detector(local, settings.conf, settings.nms, settings.size, settings.threads,
                                   settings.backend)
    return _DETECTORS[key]


def detect_function(paths: ModelPaths, settings: DetectSettings, progress_address: str | None = None):
    """The mapInArrow function: one detections row per file, with the worker's network."""

    def rows_maker():
        detector = worker_detector(paths, settings)
        return lambda files: detect_files(detector, settings, files)

    return per_file(RESULT_SCHEMA, rows_maker, progress_address,
                    settings.batch_size if settings.backend == "onnxruntime" else 1)


def runtime_paths(paths: ModelPaths, settings: DetectSettings) -> ModelPaths:
    """The files the executors load: for ONNX Runtime, the network it runs, made here on the driver once per
    model file (photolake.detect.yolo.runtime_model): the executors get one ONNX file, not the cfg and weights."""
    if settings.backend == "onnxruntime":
        return ModelPaths(paths.spec, runtime_model(paths, settings.size, settings.cache_dir), None, paths.names)
    return paths


def ship_model(spark, paths: ModelPaths) -> None:
    """Send the model files to every executor once, with the job (SparkFiles)."""
    registered = set(spark.sparkContext.listFiles)
    for path in (paths.weights, paths.cfg, paths.names):
        if path and not any(f.endswith("/" + os.path.basename(path)) for f in registered):
            spark.sparkContext.addFile(path)


def detect_all(files: DataFrame, paths: ModelPaths, settings: DetectSettings, rows_per_partition: int,
               total: int | None = None, progress_address: str | None = None) -> DataFrame:
    """detections rows (without the model column) for ``files`` (photo_id, path...; ``total`` of them, counted
    when not given): one per file."""
    spark = files.sparkSession
    paths = runtime_paths(paths, settings)
    ship_model(spark, paths)
    total = files.count() if total is None else total
    return (files.repartition(partitions_for(spark, total, rows_per_partition))
            .mapInArrow(detect_function(paths, settings, progress_address), RESULT_SCHEMA))


def detect_counts(table: DataFrame, elapsed_s: float) -> TableCounts:
    """The run summary's row: images in, ok, not ok, counts per status and objects found."""
    stats = table.agg(F.count(F.lit(1)).alias("n"), F.sum(F.size(F.coalesce("objects", F.array()))).alias("objects"),
                      *[F.sum((F.col("status") == s).cast("long")).alias(s) for s in DETECT_STATUSES]).first()
    total, ok = stats["n"], stats["ok"] or 0
    counts = TableCounts("detections", total, ok, total - ok, elapsed_s=elapsed_s)
    counts.notes.append(by_status_note({s: stats[s] or 0 for s in DETECT_STATUSES}, DETECT_STATUSES))
    counts.notes.append(f"objects: {stats['objects'] or 0:,}")
    return counts
