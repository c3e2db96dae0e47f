"""Extract on the executors: which files (the downloads table's ok rows, or a folder), and mapInPandas
over them with Arrow batches sized for image rows."""

from __future__ import annotations

import os
from typing import Iterator

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructField, StructType

from photolake import storage
from photolake.extract.image import extract_file
from photolake.schemas import IMAGE_METADATA

# Work rows in, image rows out: nullable throughout (a missing file has only photo_id, path, status, error).
RESULT_SCHEMA = StructType([StructField(f.name, f.dataType, True) for f in IMAGE_METADATA.fields])
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".heic", ".heif", ".gif", ".bmp")


def files_from_downloads(downloads: DataFrame) -> DataFrame:
    return downloads.filter(F.col("status") == "ok").select("photo_id", "path")


def files_from_dir(spark: SparkSession, folder: str, all_files: bool = False) -> DataFrame:
    """Every image file under ``folder`` (recursively); photo_id = its path relative to the folder."""
    root = storage.absolute(folder).rstrip("/")
    paths = [p for p in storage.list_files(root, recursive=True)
             if all_files or p.lower().endswith(IMAGE_EXTENSIONS)]
    rows = [(os.path.relpath(p, root) if not storage.has_scheme(p) else p[len(root) + 1:], p) for p in paths]
    return spark.createDataFrame(rows, "photo_id string, path string")


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame([{name: row.get(name) for name in RESULT_SCHEMA.fieldNames()} for row in rows],
                         columns=RESULT_SCHEMA.fieldNames(), dtype=object)
    frame["extracted_at"] = pd.to_datetime(frame["extracted_at"], utc=True)
    frame["datetime_original"] = pd.to_datetime(frame["datetime_original"])
    return frame


def extract_function(k: int):
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield _frame([extract_file(r.photo_id, r.path, k) for r in batch.itertuples(index=False)])

    return run


def extract_all(files: DataFrame, k: int, rows_per_partition: int) -> DataFrame:
    """image_metadata rows for ``files`` (photo_id, path): one per file, whatever its state."""
    spark = files.sparkSession
    total = files.count()
    partitions = max(spark.sparkContext.defaultParallelism, -(-total // max(1, rows_per_partition)))
    return files.repartition(partitions).mapInPandas(extract_function(k), RESULT_SCHEMA)
