"""The image files a job reads (extract, detect): the downloads table's ok rows, or every image file under a
folder. One row per file: photo_id, the path as text, the exact OS path where the text cannot be it, and
why the file is not read (a link out of the folder), so that every file gets a row with a status."""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType, StringType, StructField, StructType

from photolake import storage
from photolake.progress import reporter
from photolake.session import rows_frame

FILES = StructType([StructField("photo_id", StringType()), StructField("path", StringType()),
                    StructField("os_path", BinaryType()), StructField("skipped", StringType())])
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".heic", ".heif", ".gif", ".bmp")


def files_from_downloads(downloads: DataFrame) -> DataFrame:
    return downloads.filter(F.col("status") == "ok").select(
        "photo_id", "path", F.lit(None).cast(BinaryType()).alias("os_path"),
        F.lit(None).cast(StringType()).alias("skipped"))


def files_from_dir(spark: SparkSession, folder: str, follow_links: bool = False,
                   all_files: bool = False) -> tuple[DataFrame, list[str]]:
    """Every image file under ``folder`` (recursively, each real file once; photo_id = its path relative to
    the folder), and notes on what was not walked (storage.walk_files)."""
    found, notes = storage.walk_files(folder, follow_links)
    rows = [(f.relative, f.path, f.os_path, f.skipped) for f in found
            if all_files or f.relative.lower().endswith(IMAGE_EXTENSIONS)]
    return rows_frame(spark, rows, FILES), notes


def batch_files(batch: pa.RecordBatch) -> Iterator[File]:
    """(photo_id, path as text, path to open, why not read) for each row of a FILES batch."""
    columns = [batch.column(name).to_pylist() for name in FILES.fieldNames()]
    for photo_id, path, os_path, skipped in zip(*columns):
        yield photo_id, path, os.fsdecode(os_path) if os_path else path, skipped


File = tuple[str, str, str, "str | None"]  # (photo_id, path, path to open, why not read)
FileRows = Callable[[list[File]], list[dict[str, Any]]]  # one row per file, in order


def each(row: Callable[[str, str, str, "str | None"], dict[str, Any]]) -> FileRows:
    """A FileRows that makes each file's row on its own."""
    return lambda files: [row(*file) for file in files]


def per_file(schema: StructType, rows_maker: Callable[[], FileRows], progress_address: str | None = None,
             files_at_once: int = 1):
    """The mapInArrow function of a step that makes one row per image file (extract, detect): each batch of
    FILES rows becomes a batch of ``schema`` rows (built in C++ by Arrow), ``files_at_once`` files handed
    over together (detect's forward passes), each reported to the driver's progress. ``rows_maker`` runs
    once a task, on the executor (to load a network once, say)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    arrow_schema = to_arrow_schema(schema, timezone="UTC")  # sessions run in UTC

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        rows_of = rows_maker()
        report = reporter(progress_address)
        for batch in batches:
            files, rows = list(batch_files(batch)), []
            for start in range(0, len(files), files_at_once):
                chunk = files[start:start + files_at_once]
                rows += rows_of(chunk)
                if report:
                    report.add(len(chunk))
            yield pa.RecordBatch.from_pylist([{name: row.get(name) for name in arrow_schema.names} for row in rows],
                                             schema=arrow_schema)

    return run
