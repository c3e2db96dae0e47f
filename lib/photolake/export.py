"""Exports for people without Spark: JSON files (lists of records) and one SQLite database.

The JSON files are SQL over the lake, so their rows stream from the executors to the driver
(``toLocalIterator``): an export of millions of rows never holds them all in memory. ``toLocalIterator`` hands
over one partition at a time, each held whole in the JVM while it is sent, so every query's result is first
cut into partitions of at most ``export.rows_per_partition`` rows (a sorted one by range, so the order holds):
at 1M photos one partition of image_metadata's EXIF maps ran the JVM out of heap. The SQLite database is the
lake's tables as they are, so it is read straight from their Parquet files with pyarrow, batch by batch.
Nested values (arrays, maps, structs) become JSON text in SQLite; timestamps become ISO 8601 text in both
(in SQLite an instant is in UTC with its offset, ``2020-05-01T10:00:00+00:00``).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Sequence

import pyarrow as pa
from pyspark.sql import DataFrame, Row
from pyspark.sql.types import TimestampType

from photolake import storage
from photolake.lake import table_path as lake_table_path
from photolake.schemas import LAKE_TABLES

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
    """A Spark or pyarrow value as JSON-ready Python: Rows to dicts, timestamps to ISO text, decimals to floats."""
    if isinstance(value, Row):
        return {k: plain(v) for k, v in value.asDict().items()}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, datetime) and value.tzinfo is not None:  # pyarrow's instants (naive: a camera's clock)
        return value.astimezone(timezone.utc).isoformat()
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


def _sqlite_type(data_type: pa.DataType) -> str:
    if pa.types.is_integer(data_type) or pa.types.is_boolean(data_type):
        return "INTEGER"
    if pa.types.is_floating(data_type):
        return "REAL"
    return "BLOB" if pa.types.is_binary(data_type) or pa.types.is_large_binary(data_type) else "TEXT"


def _sqlite_column(column: pa.Array, instant: bool) -> list:
    """A column's values as SQLite takes them: nested ones as JSON text, timestamps and dates as ISO text.
    ``instant``: the contract says TimestampType, whose values pyarrow reads back naive from Spark's INT96."""
    kind = _plain_type(column.type)
    if kind != column.type:
        column = column.cast(kind)
    if instant and pa.types.is_timestamp(kind) and kind.tz is None:
        column = column.cast(pa.timestamp("us", tz="UTC"))
    if pa.types.is_nested(kind):
        return [None if v is None else json.dumps(plain(v), ensure_ascii=False)
                for v in column.to_pylist(maps_as_pydicts="strict")]
    if pa.types.is_temporal(kind) or pa.types.is_decimal(kind):
        return [plain(v) for v in column.to_pylist()]
    return column.to_pylist()


def write_sqlite(lake: str, tables: Sequence[str], path: str, batch_rows: int = 5000) -> dict[str, int]:
    """One SQLite database with a table per lake table, built locally, then published atomically.

    The rows come from the tables' Parquet files, read batch by batch with pyarrow: no table is ever held
    whole, here or in a JVM (through Spark, a 1M-photo lake ran the JVM's 4 GB heap out).
    """
    counts = {}
    handle, local = tempfile.mkstemp(suffix=".sqlite")
    os.close(handle)
    try:
        with sqlite3.connect(local) as db:
            for name in tables:
                dataset = storage.parquet_dataset(lake_table_path(lake, name))
                columns = ", ".join(f'"{f.name}" {_sqlite_type(_plain_type(f.type))}' for f in dataset.schema)
                db.execute(f'CREATE TABLE "{name}" ({columns})')
                marks = ", ".join("?" for _ in dataset.schema)
                instants = [_is_instant(name, f) for f in dataset.schema.names]
                counts[name] = 0
                for batch in dataset.to_batches(batch_size=batch_rows, batch_readahead=1, fragment_readahead=1):
                    db.executemany(f'INSERT INTO "{name}" VALUES ({marks})',
                                   zip(*map(_sqlite_column, batch.columns, instants)))
                    counts[name] += batch.num_rows
                if "photo_id" in dataset.schema.names:
                    db.execute(f'CREATE INDEX "{name}_photo_id" ON "{name}" (photo_id)')
        _publish(local, path)
    finally:
        if os.path.exists(local):
            os.unlink(local)
    return counts


def _is_instant(table: str, column: str) -> bool:
    contract = LAKE_TABLES.get(table)
    return contract is not None and column in contract.names and isinstance(contract[column].dataType,
                                                                            TimestampType)


def _plain_type(data_type: pa.DataType) -> pa.DataType:
    """A hive partition column's values, not its dictionary."""
    return data_type.value_type if pa.types.is_dictionary(data_type) else data_type


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
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(partial, 0o666 & ~umask)  # a temporary file is the owner's only; an export is for its readers
    os.replace(partial, target)
