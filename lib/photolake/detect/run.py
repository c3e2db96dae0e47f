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
from photolake.detect.yolo import DecodedImage, Detector, TooLarge, decode_image
from photolake.image_files import per_file
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
    threads: int = 1  # OpenCV threads per task: the task's cores (spark.task.cpus)
    annotate_dir: str | None = None


def detect_file(detector: Detector, settings: DetectSettings, photo_id: str, path: str,
                open_path: str | None = None, skipped: str | None = None) -> dict[str, Any]:
    """One detections row; a missing, unreadable or oversized file gets its status and error, never raises.
    ``open_path``: the file's exact OS path when ``path`` (the text stored) is not it; ``skipped``: why the
    file is not read."""
    started = time.perf_counter()
    row: dict[str, Any] = {"photo_id": photo_id, "path": path, "status": "ok", "error": None,
                           "detected_at": datetime.now(timezone.utc)}
    if skipped:
        return _finished(row, started, "skipped", skipped)
    try:
        data = storage.read_bytes(open_path or path)
    except OSError as exc:
        return _finished(row, started, "missing", f"cannot read the file: {exc}")
    if not data:
        return _finished(row, started, "unreadable", "empty file (0 bytes)")
    try:
        image = decode_image(data, settings.size, settings.max_pixels)
    except TooLarge as exc:
        return _finished(row, started, "too_large", str(exc))
    except Exception as exc:  # noqa: BLE001 - any undecodable file is a row with its error
        return _finished(row, started, "unreadable", f"{type(exc).__name__}: {exc}")
    row.update(image_width=image.width, image_height=image.height)
    try:
        objects = detector.detect(image)
    except cv2.error as exc:
        return _finished(row, started, "failed", f"inference: {str(exc).strip().splitlines()[-1]}")
    row.update(objects=objects, labels=sorted({o["label"] for o in objects}))
    if settings.annotate_dir:
        target = annotated_path(settings.annotate_dir, photo_id)
        try:
            storage.write_atomic(target, annotate(image, objects))
            row["annotated_path"] = target
        except OSError as exc:  # the detections stand; only the drawn copy is missing
            return _finished(row, started, "ok", f"the annotated copy could not be written: {exc.strerror or exc}")
    return _finished(row, started, "ok", None)


def _finished(row: dict, started: float, status: str, error: str | None) -> dict:
    row.update(status=status, error=error[:300] if error else None,
               elapsed_ms=int((time.perf_counter() - started) * 1000))
    return row


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
    key = (paths, settings.conf, settings.nms, settings.size, settings.threads)
    if key not in _DETECTORS:
        local = ModelPaths(paths.spec, shipped(paths.weights), shipped(paths.cfg), shipped(paths.names))
        _DETECTORS[key] = Detector(local, settings.conf, settings.nms, settings.size, settings.threads)
    return _DETECTORS[key]


def detect_function(paths: ModelPaths, settings: DetectSettings, progress_address: str | None = None):
    """The mapInArrow function: one detections row per file, with the worker's network."""

    def row_maker():
        detector = worker_detector(paths, settings)
        return lambda photo_id, path, local, skipped: detect_file(detector, settings, photo_id, path, local, skipped)

    return per_file(RESULT_SCHEMA, row_maker, progress_address)


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
