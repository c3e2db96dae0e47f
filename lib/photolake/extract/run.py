"""Extract on the executors: mapInArrow over the image files (photolake.image_files) with Arrow batches
sized for image rows."""

from __future__ import annotations

from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F
from pyspark.sql.types import StructField, StructType

from photolake.extract.image import extract_file
from photolake.image_files import each, per_file
from photolake.runs import TableCounts, by_status_note
from photolake.schemas import EXTRACT_STATUSES, IMAGE_METADATA
from photolake.session import partitions_for

# Work rows in, image rows out: nullable throughout (a missing file has only photo_id, path, status, error).
RESULT_SCHEMA = StructType([StructField(f.name, f.dataType, True) for f in IMAGE_METADATA.fields])


def extract_function(k: int, progress_address: str | None = None):
    """The mapInArrow function: one image_metadata row per file (the EXIF dicts become maps in C++)."""

    def row(photo_id: str, path: str, local: str, skipped: str | None) -> dict:
        return extract_file(photo_id, path, k, local, skipped)

    return per_file(RESULT_SCHEMA, lambda: each(row), progress_address)


def extract_all(files: DataFrame, k: int, rows_per_partition: int, total: int | None = None,
                progress_address: str | None = None) -> DataFrame:
    """image_metadata rows for ``files`` (photo_id, path...; ``total`` of them, counted when not given): one
    per file, whatever its state."""
    total = files.count() if total is None else total
    partitions = partitions_for(files.sparkSession, total, rows_per_partition)
    return files.repartition(partitions).mapInArrow(extract_function(k, progress_address), RESULT_SCHEMA)


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
    counts.notes.append(by_status_note(by_status, EXTRACT_STATUSES))
    return counts
