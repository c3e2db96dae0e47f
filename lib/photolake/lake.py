"""The Parquet lake: ``<lake>/<table>/``, one folder per table, written so a failed run never leaves a
half table behind.

A table is written to ``<lake>/.staging/<table>-<run_id>`` first and swapped in only once complete (the
old copy moves to ``.trash`` and is deleted after the swap), through Hadoop's FileSystem API so the same
code works on a local disk, HDFS and object stores.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import posixpath
import uuid
from typing import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DataType, StructType

from photolake import faults, storage
from photolake.errors import LakeTableMissing, LakeTableOutdated, StorageFailed
from photolake.schemas import LAKE_TABLES, PARTITION_COLUMNS

log = logging.getLogger(__name__)

STAGING = ".staging"
TRASH = ".trash"


def table_path(lake: str, table: str) -> str:
    return posixpath.join(storage.absolute(lake), table)


def partition(table: str, *values: str) -> str:
    """One part of a table written in parts (schemas.PARTITION_COLUMNS): ``partition("detections", "yolov3")``
    is ``detections/model=yolov3``."""
    return table + "".join(f"/{c}={v}" for c, v in zip(PARTITION_COLUMNS[table], values, strict=True))


def _hadoop(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    jpath = jvm.org.apache.hadoop.fs.Path(path)
    return jpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), jpath


def _replace(spark: SparkSession, staged: str, final: str, trash: str) -> None:
    fs, final_path = _hadoop(spark, final)
    _, staged_path = _hadoop(spark, staged)
    _, trash_path = _hadoop(spark, trash)
    fs.mkdirs(final_path.getParent())
    if fs.exists(final_path):
        fs.mkdirs(trash_path.getParent())
        if not fs.rename(final_path, trash_path):
            raise OSError(f"could not move {final} aside")
    if not fs.rename(staged_path, final_path):
        fs.rename(trash_path, final_path)
        raise OSError(f"could not move {staged} to {final}")
    fs.delete(trash_path, True)


@contextlib.contextmanager
def _staged(spark: SparkSession, root: str, table: str, run_id: str):
    """A staging folder for a write into ``table``; deleted however the write ends, and a failure of the
    storage said in one line (the table stays as it was)."""
    # a name of its own: a run may write one table more than once (ingest: _rejects once per dataset table),
    # and Spark's writer fails on a staging folder reused at once
    staged = posixpath.join(root, STAGING, f"{table}-{run_id}-{uuid.uuid4().hex[:8]}")
    try:
        yield staged
    except Exception as exc:
        reason = faults.os_reason(exc)
        if reason:
            raise StorageFailed(f"could not write the {table} table into {root}: {reason}; the table stays as it "
                                f"was. Free space or fix the permissions and run again") from None
        raise
    finally:
        fs, staged_path = _hadoop(spark, staged)
        with contextlib.suppress(Exception):
            fs.delete(staged_path, True)


def write_table(df: DataFrame, lake: str, table: str, run_id: str, files: int | None = None) -> str:
    """Write ``df`` as ``<lake>/<table>``, replacing the old table only once the new one is complete (a
    table written in parts: ``replace_partitions``).  ``files`` caps the number of output files (by
    coalescing) for small tables."""
    spark, root = df.sparkSession, storage.absolute(lake)
    final = table_path(root, table)
    with _staged(spark, root, table, run_id) as staged:
        (df.coalesce(files) if files else df).write.mode("overwrite").parquet(staged)
        _replace(spark, staged, final, posixpath.join(root, TRASH, f"{table}-{run_id}"))
    return final


def replace_partitions(df: DataFrame, lake: str, table: str, run_id: str, parts: Sequence[tuple[str, ...]],
                       files: int | None = None) -> None:
    """Replace the ``parts`` (values of the table's schemas.PARTITION_COLUMNS) of ``table`` with ``df``'s rows
    and keep every other part: each part is written whole before it is swapped in, and a part ``df`` has no
    rows for becomes empty.  ``df`` without the partition columns is the rows of its one part."""
    spark, root = df.sparkSession, storage.absolute(lake)
    columns = PARTITION_COLUMNS[table]
    if not set(columns) <= set(df.columns):
        [only] = parts
        df = df.select("*", *(F.lit(v).alias(c) for c, v in zip(columns, only, strict=True)))
    with _staged(spark, root, table, run_id) as staged:
        (df.coalesce(files) if files else df).write.mode("overwrite").partitionBy(*columns).parquet(staged)
        for values in parts:
            part = partition(table, *values)
            staged_part = posixpath.join(staged, part.split("/", 1)[1])
            fs, path = _hadoop(spark, staged_part)
            if not fs.exists(path):  # no rows for this part: an empty one replaces it
                spark.createDataFrame([], df.drop(*columns).schema).write.parquet(staged_part)
            _replace(spark, staged_part, table_path(root, part),
                     posixpath.join(root, TRASH, f"{part.replace('/', '__')}-{run_id}"))


def remove_leftovers(spark: SparkSession, lake: str) -> None:
    """Remove the staged and set-aside copies that killed runs left (one job at a time writes a lake)."""
    root = storage.absolute(lake)
    for folder in (STAGING, TRASH):
        fs, path = _hadoop(spark, posixpath.join(root, folder))
        if fs.exists(path):
            fs.delete(path, True)


def append_table(df: DataFrame, lake: str, table: str) -> None:
    """Append to a log-like table (``_runs``): new files only, so readers never see a partial file."""
    df.coalesce(1).write.mode("append").parquet(table_path(lake, table))


def list_tables(lake: str) -> list[str]:
    """Tables in the lake: its folders that hold Parquet data (bookkeeping ones start with ``_``)."""
    root = storage.absolute(lake)
    if not storage.is_dir(root):
        return []
    names = []
    for folder in storage.list_dirs(root):
        name = posixpath.basename(folder.rstrip("/"))
        if name.startswith(".") or not any(f.endswith(".parquet") for f in storage.list_files(folder, recursive=True)):
            continue
        names.append(name)
    return names


def read_table(spark: SparkSession, lake: str, table: str, schema: StructType | None = None) -> DataFrame:
    path = table_path(lake, table)
    if not storage.exists(path):
        raise LakeTableMissing(f"table {table!r} is not in the lake at {storage.absolute(lake)}: run the job that "
                               f"makes it first")
    reader = spark.read.schema(schema) if schema is not None else spark.read
    try:
        frame = reader.parquet(path)  # reads footers: a damaged file shows here or when rows are read
    except Exception as exc:
        explained = faults.explain(exc)
        if explained is None:
            raise
        raise explained from None
    outdated = missing_fields(LAKE_TABLES.get(table), frame.schema)
    if outdated:
        raise LakeTableOutdated(f"table {table!r} in {storage.absolute(lake)} lacks {', '.join(outdated)}: it was "
                                f"written by an older photolake; run the job that makes it again")
    return frame


def missing_fields(expected: DataType | None, actual: DataType, prefix: str = "") -> list[str]:
    """Fields of the contract (nested ones too) that a stored table does not have."""
    if isinstance(expected, ArrayType) and isinstance(actual, ArrayType):
        return missing_fields(expected.elementType, actual.elementType, prefix)
    if not isinstance(expected, StructType) or not isinstance(actual, StructType):
        return []
    have = {f.name: f.dataType for f in actual.fields}
    missing = []
    for field in expected.fields:
        if field.name not in have:
            missing.append(prefix + field.name)
        else:
            missing += missing_fields(field.dataType, have[field.name], f"{prefix}{field.name}.")
    return missing


# The tables the running step declares it reads (photolake.stage.run_stage sets it): only those are its views.
_readable: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar("photolake_readable",
                                                                                   default=None)


@contextlib.contextmanager
def reading(tables: tuple[str, ...]):
    """While the body runs, ``register_views`` registers only ``tables``: a step sees what it declares it
    reads, and a table it rewrites, even one an older photolake wrote, is never read first."""
    token = _readable.set(tuple(tables))
    try:
        yield
    finally:
        _readable.reset(token)


def register_views(spark: SparkSession, lake: str, empty_for_missing: bool = False) -> list[str]:
    """Every lake table as a temporary view named after it (inside a step: every table it reads), plus the
    derived views of ``photolake.views`` whose tables exist; returns the names of the tables and views the
    lake has.  ``empty_for_missing``: a table of the contract that the lake does not have yet is an empty view
    with its schema, so a query of it has no rows rather than failing (the sql job's choice)."""
    from photolake import views

    readable = _readable.get()
    names = [name for name in list_tables(lake) if readable is None or name in readable]
    for name in names:
        read_table(spark, lake, name).createOrReplaceTempView(name)
    if empty_for_missing:
        for name, schema in LAKE_TABLES.items():
            if name not in names:
                spark.createDataFrame([], schema).createOrReplaceTempView(name)
    return names + views.register(spark, names)
