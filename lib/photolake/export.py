"""Exports for people without Spark: JSON files (lists of records) and one SQLite database.

Rows stream from the executors to the driver (``toLocalIterator``), so an export of millions of rows never
holds them all in memory. ``toLocalIterator`` hands over one partition at a time, each held whole in the
JVM while it is sent, so every table is first cut into partitions of at most ``export.rows_per_partition``
rows (a sorted export by range, so the order holds): at 1M photos one partition of image_metadata's EXIF
maps ran the JVM out of heap.  Nested values (arrays, maps, structs) become JSON text in SQLite; timestamps
become ISO 8601 text in both.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterator

from pyspark.sql import DataFrame, Row
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    MapType,
    ShortType,
    StructType,
)

from photolake import storage

# JSON file -> (the views/tables it needs, SQL, the columns its records are ordered by); files whose tables
# are missing are skipped and reported
JSON_EXPORTS: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "images_metadata.json": (("image_metadata",), """
        SELECT m.photo_id, m.path, m.status, m.error, m.width, m.height, m.display_width, m.display_height, m.format,
               m.file_size, m.orientation_class, m.size_category, m.make, m.model, m.camera_make, m.lens_model,
               m.datetime_original, m.datetime_offset, m.exposure_time_s, m.f_number, m.iso, m.focal_length_mm,
               m.gps_latitude, m.gps_longitude, m.dominant_colors, m.brightness, m.colorfulness, m.phash, m.exif
        FROM image_metadata m""", ("photo_id",)),
    "images_labels.json": (("detections",), """
        SELECT photo_id, model, status, labels, objects, image_width, image_height
        FROM detections""", ("photo_id", "model")),
    "users.json": (("profiles",), "SELECT * FROM profiles", ("user_id",)),
    "recommendations.json": (("recommendations",), "SELECT * FROM recommendations", ("user_id", "model", "rank")),
}

# the main tables that go into the SQLite database when they exist (bookkeeping: _runs only)
SQLITE_TABLES = ("photos", "keywords", "collections", "colors", "downloads", "image_metadata", "detections",
                 "clusters", "cluster_summary", "users", "interactions", "profiles", "recommendations", "rec_metrics",
                 "_runs")


def plain(value: Any) -> Any:
    """A Spark value as JSON-ready Python: Rows to dicts, timestamps to ISO text, decimals to floats."""
    if isinstance(value, Row):
        return {k: plain(v) for k, v in value.asDict().items()}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def bounded(frame: DataFrame, rows_per_partition: int, order: tuple[str, ...] = ()) -> DataFrame:
    """``frame`` in partitions of at most about ``rows_per_partition`` rows; with ``order``, ranges of it,
    each sorted, so the partitions in turn are the whole frame in that order. (An explicit partition count
    is one that adaptive execution does not merge.)"""
    partitions = max(1, -(-frame.count() // rows_per_partition))
    if order:
        return frame.repartitionByRange(partitions, *order).sortWithinPartitions(*order)
    return frame.repartition(partitions)


def write_json_records(frame: DataFrame, path: str, rows_per_partition: int,
                       order: tuple[str, ...] = ()) -> int:
    """``[record, record, ...]`` streamed into ``path`` (atomically) in ``order``; returns the number of
    records."""
    count = 0
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".json", delete=False) as out:
        out.write("[")
        for row in bounded(frame, rows_per_partition, order).toLocalIterator(prefetchPartitions=True):
            out.write(("," if count else "") + "\n" + json.dumps(plain(row), ensure_ascii=False))
            count += 1
        out.write("\n]\n" if count else "]\n")
    _publish(out.name, path)
    return count


def _sqlite_type(data_type: DataType) -> str:
    if isinstance(data_type, (IntegerType, LongType, ShortType, BooleanType)):
        return "INTEGER"
    if isinstance(data_type, (DoubleType, FloatType)):
        return "REAL"
    return "TEXT"


def _sqlite_value(value: Any, data_type: DataType) -> Any:
    if value is None:
        return None
    if isinstance(data_type, (ArrayType, MapType, StructType)):
        return json.dumps(plain(value), ensure_ascii=False)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _batches(frame: DataFrame, size: int, rows_per_partition: int) -> Iterator[list[tuple]]:
    types = [f.dataType for f in frame.schema]
    batch = []
    for row in bounded(frame, rows_per_partition).toLocalIterator(prefetchPartitions=True):
        batch.append(tuple(_sqlite_value(v, t) for v, t in zip(row, types)))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_sqlite(frames: dict[str, DataFrame], path: str, rows_per_partition: int,
                 batch_rows: int = 5000) -> dict[str, int]:
    """One SQLite database with a table per frame (built locally, then published atomically)."""
    counts = {}
    handle, local = tempfile.mkstemp(suffix=".sqlite")
    os.close(handle)
    try:
        with sqlite3.connect(local) as db:
            for name, frame in frames.items():
                columns = ", ".join(f'"{f.name}" {_sqlite_type(f.dataType)}' for f in frame.schema)
                db.execute(f'CREATE TABLE "{name}" ({columns})')
                marks = ", ".join("?" for _ in frame.schema)
                counts[name] = 0
                for batch in _batches(frame, batch_rows, rows_per_partition):
                    db.executemany(f'INSERT INTO "{name}" VALUES ({marks})', batch)
                    counts[name] += len(batch)
                if "photo_id" in frame.columns:
                    db.execute(f'CREATE INDEX "{name}_photo_id" ON "{name}" (photo_id)')
        _publish(local, path)
    finally:
        if os.path.exists(local):
            os.unlink(local)
    return counts


def _publish(local: str, path: str) -> None:
    """Move a finished local file to ``path``: renamed into place on a local disk, uploaded to a URI."""
    if storage.has_scheme(path) and not path.startswith("file://"):
        with open(local, "rb") as source:
            storage.write_atomic(path, source)  # streamed: the database may be larger than memory
        os.unlink(local)
        return
    target = path[len("file://"):] if path.startswith("file://") else path
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    partial = f"{target}.partial"
    shutil.move(local, partial)
    os.replace(partial, target)
