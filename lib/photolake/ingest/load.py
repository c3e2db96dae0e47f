"""Ingesting a release into the lake: each table read on the executors (one task per part), typed,
checked, and written with its rejects; tables run side by side so one big table does not idle the cores."""

from __future__ import annotations

import csv
import logging
import posixpath
import time
from concurrent.futures import ThreadPoolExecutor

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.types import StructType

from photolake import lake, storage
from photolake.ingest.coordinates import decide_lat_lon, lat_lon_evidence
from photolake.ingest.reader import (
    BAD_UTF8,
    BoundedLines,
    TsvDialect,
    ZipLimits,
    header_columns,
    raw_arrow_schema,
    read_part,
    shown,
)
from photolake.ingest.release import Release
from photolake.ingest.transform import (
    VALUE_REJECTS,
    add_camera_columns,
    check_rows,
    clean_text_columns,
    lake_rows,
    rejects,
    swap_lat_lon,
    type_columns,
)
from photolake.runs import TableCounts
from photolake.schemas import DATASET_TABLES, PHOTOS, DatasetTable

log = logging.getLogger(__name__)

def raw_schema(table: DatasetTable) -> StructType:
    return from_arrow_schema(raw_arrow_schema(table))


def read_header(path: str, limits: ZipLimits) -> list[str]:
    """A part's header names (undecodable bytes shown as \\xNN); none for a part that is not read."""
    if limits.refusal(path):
        return []
    with storage.open_text(path) as text:
        try:
            return [shown(name.strip()) for name in next(csv.reader(BoundedLines(text), TsvDialect))]
        except (StopIteration, csv.Error):
            return []


def read_raw(spark: SparkSession, table: DatasetTable, parts: list[str], batch_rows: int,
             limits: ZipLimits) -> DataFrame:
    """Every record of every part as text, one task per part (a quoted newline makes a part unsplittable)."""

    def read(batches):
        for batch in batches:
            for path in batch.column(0).to_pylist():
                yield from read_part(path, table, batch_rows, limits)

    paths = spark.sparkContext.parallelize([(p,) for p in parts], len(parts)).toDF("path string")
    return paths.mapInArrow(read, raw_schema(table))


def header_notes(table: DatasetTable, headers: dict[str, list[str]], limits: ZipLimits) -> list[str]:
    """Which columns this release lacks (loaded as null), which it adds (kept in extra_columns), which a
    header names twice or leaves unnamed, and which parts are not read at all."""
    lookup = table.header_lookup()
    seen = {lookup[h.lower()] for header in headers.values() for h in header if h.lower() in lookup}
    extra = sorted({h for header in headers.values() for h in header if h and h.lower() not in lookup})
    notes = [f"{_name(part)}: {limits.refusal(part)}" for part in headers if limits.refusal(part)]
    missing = [c for c in table.source_names if c not in seen]
    if missing:
        notes.append(f"columns not in this release, loaded as null: {', '.join(missing)}")
    if extra:
        notes.append(f"unknown columns kept in extra_columns: {', '.join(extra)}")
    for part, header in headers.items():
        _, unknown = header_columns(table, header)
        for position, key in unknown:
            name = header[position]
            if not name:
                notes.append(f"{_name(part)}: column {position + 1} has no name in the header; its values are "
                             f"kept in extra_columns as {key!r}")
            elif key != name:
                canonical = lookup.get(name.lower(), name)
                first = next(n for n, h in enumerate(header) if lookup.get(h.lower(), h) == canonical)
                notes.append(f"{_name(part)}: the header names {name!r} twice (columns {first + 1} and "
                             f"{position + 1}); the first is loaded, the other kept in extra_columns as {key!r}")
    return notes


def _name(part: str) -> str:
    return posixpath.basename(part.replace(storage.ZIP_SEPARATOR, "/"))


def typed_rows(raw: DataFrame, table: DatasetTable, swap: bool = False) -> DataFrame:
    """Raw text records -> typed rows with ``_error`` and ``_value_rejects`` bookkeeping; ``swap``: the
    photos' latitude and longitude exchanged first (ingest.coordinates decides)."""
    cleaned = raw.transform(clean_text_columns(table))
    if swap:
        cleaned = cleaned.transform(swap_lat_lon)
    typed = cleaned.transform(check_rows(table)).transform(type_columns(table))
    return typed.transform(add_camera_columns) if table is PHOTOS else typed


def load_table(spark: SparkSession, release: Release, table: DatasetTable, lake_dir: str, run_id: str,
               batch_rows: int, release_setting: str = "auto", limits: ZipLimits = ZipLimits(),
               lat_lon: str = "auto") -> TableCounts:
    started = time.time()
    parts = release.parts[table.name]
    headers = {p: read_header(p, limits) for p in parts}
    notes = header_notes(table, headers, limits)
    spark.sparkContext.setJobGroup(run_id, f"ingest {table.name}")
    raw = read_raw(spark, table, parts, batch_rows, limits)
    swap = False
    if table is PHOTOS:  # read twice: the coordinates' evidence, then the rows
        raw = raw.persist(StorageLevel.DISK_ONLY)
        decision = decide_lat_lon(lat_lon_evidence(spark, raw.transform(clean_text_columns(table))), lat_lon,
                                  release_setting)
        swap = decision.swap
        notes.append(decision.note)
    staged = typed_rows(raw, table, swap)
    # Parsed once, read three times (counts, table, rejects).  On disk: one part can be a single
    # partition of tens of millions of rows, more than the executor memory holds.
    staged = staged.persist(StorageLevel.DISK_ONLY)
    try:
        totals = staged.agg(
            F.count(F.lit(1)).alias("rows_in"),
            F.count("_error").alias("rows_rejected"),
            F.sum(F.when(F.col("_error").isNull(), F.size(VALUE_REJECTS)).otherwise(0)).alias("values_rejected"),
            F.sum(F.when(F.col("_error").isNull(), F.size(F.filter(VALUE_REJECTS, lambda r: r["reason"].startswith(
                BAD_UTF8)))).otherwise(0)).alias("undecoded"),
        ).first()
        lake.write_table(staged.transform(lake_rows(table)), lake_dir, table.name, run_id)
        lake.replace_partitions(staged.transform(rejects(run_id)), lake_dir, "_rejects", run_id, [(table.name,)],
                                files=1)
    finally:
        staged.unpersist()
        raw.unpersist()
    rows_in, rows_rejected = totals["rows_in"], totals["rows_rejected"]
    if totals["undecoded"]:
        notes.append(f"values with bytes that are not UTF-8: {totals['undecoded']:,} (kept with U+FFFD in their "
                     f"place; each is in _rejects with where the bytes were)")
    return TableCounts(table.name, rows_in, rows_in - rows_rejected, rows_rejected, int(totals["values_rejected"] or 0),
                       time.time() - started, notes=([f"{len(parts)} parts"] if len(parts) > 1 else []) + notes)


def ingest_release(spark: SparkSession, release: Release, lake_dir: str, run_id: str, batch_rows: int,
                   release_setting: str = "auto", limits: ZipLimits = ZipLimits(),
                   lat_lon: str = "auto") -> list[TableCounts]:
    """Load every table the release has; returns their counts in the canonical table order."""
    tables = [DATASET_TABLES[name] for name in release.tables]
    with ThreadPoolExecutor(max_workers=len(tables)) as pool:
        futures = [pool.submit(load_table, spark, release, t, lake_dir, run_id, batch_rows, release_setting, limits,
                               lat_lon) for t in tables]
        return [f.result() for f in futures]
