"""Extract on the executors: which files (the downloads table's ok rows, or a folder), and mapInArrow
over them with Arrow batches sized for image rows."""

from __future__ import annotations

import os
from typing import Iterator

import pyarrow as pa
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from photolake import storage
from photolake.extract.image import extract_file
from photolake.runs import TableCounts
from photolake.session import partitions_for, rows_frame
from photolake.schemas import EXTRACT_STATUSES, IMAGE_METADATA

# Work rows in, image rows out: nullable throughout (a missing file has only photo_id, path, status, error).
RESULT_SCHEMA = StructType([StructField(f.name, f.dataType, True) for f in IMAGE_METADATA.fields])
FILES = StructType([StructField("photo_id", StringType()), StructField("path", StringType())])
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".heic", ".heif", ".gif", ".bmp")


def files_from_downloads(downloads: DataFrame) -> DataFrame:
    return downloads.filter(F.col("status") == "ok").select("photo_id", "path")


def files_from_dir(spark: SparkSession, folder: str, all_files: bool = False) -> DataFrame:
    """Every image file under ``folder`` (recursively); photo_id = its path relative to the folder."""
    root = storage.absolute(folder).rstrip("/")
    paths = [p for p in storage.list_files(root, recursive=True)
             if all_files or p.lower().endswith(IMAGE_EXTENSIONS)]
    rows = [(os.path.relpath(p, root) if not storage.has_scheme(p) else p[len(root) + 1:], p) for p in paths]
    return rows_frame(spark, rows, FILES)


def extract_function(k: int):
    """The mapInArrow function: rows straight into Arrow batches (the EXIF dicts become maps in C++)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    arrow_schema = to_arrow_schema(RESULT_SCHEMA, timezone="UTC")  # sessions run in UTC

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            rows = [extract_file(photo_id, path, k)
                    for photo_id, path in zip(batch.column("photo_id").to_pylist(), batch.column("path").to_pylist())]
            yield pa.RecordBatch.from_pylist([{name: row.get(name) for name in arrow_schema.names} for row in rows],
                                             schema=arrow_schema)

    return run


def extract_all(files: DataFrame, k: int, rows_per_partition: int) -> DataFrame:
    """image_metadata rows for ``files`` (photo_id, path): one per file, whatever its state."""
    spark = files.sparkSession
    total = files.count()
    return files.repartition(partitions_for(spark, total, rows_per_partition)).mapInArrow(extract_function(k), RESULT_SCHEMA)


def observe_statuses(rows: DataFrame) -> tuple[DataFrame, Observation]:
    """``rows`` counting its rows per status as they are written: the summary needs no second pass."""
    observation = Observation("image_metadata")
    return rows.observe(observation, F.count(F.lit(1)).alias("rows"),
                        *[F.sum((F.col("status") == s).cast("long")).alias(s) for s in EXTRACT_STATUSES]), observation


def extract_counts(observed: dict, elapsed_s: float) -> TableCounts:
    """The run summary's row from ``observe_statuses``' figures: files read vs files with a status other
    than ok, counts per status."""
    total, by_status = observed["rows"], {s: observed[s] or 0 for s in EXTRACT_STATUSES}
    counts = TableCounts("image_metadata", total, by_status["ok"], total - by_status["ok"], elapsed_s=elapsed_s)
    counts.notes.append("by status: " + ", ".join(f"{s} {n:,}" for s, n in by_status.items()))
    return counts
