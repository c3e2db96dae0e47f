"""From raw text records to typed lake rows: DataFrame in, DataFrame out, composable with ``df.transform``.

    raw.transform(clean_text_columns(table))
       .transform(type_columns(table))
       .transform(check_rows(table))
       .transform(add_camera_columns)      # photos only

Each step adds to two bookkeeping columns: ``_error`` (why the whole row is rejected, or null) and
``_value_rejects`` (array of column / raw value / reason for values that did not parse and became null).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import pandas as pd
from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType, StructField, StructType

from photolake import camera
from photolake.schemas import PHOTO_ID_PATTERN, PHOTOS, DatasetTable

Transform = Callable[[DataFrame], DataFrame]

VALUE_REJECTS = "_value_rejects"
UNDECODED = "_undecoded"  # the reader's value rejects: values whose bytes were not UTF-8
VALUE_REJECT_TYPE = ArrayType(StructType([
    StructField("column", StringType()), StructField("raw_value", StringType()), StructField("reason", StringType()),
]))
WHITESPACE = " \t\r\n\u00a0\u3000"

REASONS = {
    "timestamp": "not a timestamp (yyyy-MM-dd HH:mm:ss[.ffffff])",
    "bool": "not a boolean (t/f)",
    "int": "not an integer",
    "long": "not an integer",
    "double": "not a finite number",
    "latitude": "not a latitude in [-90, 90]",
    "longitude": "not a longitude in [-180, 180]",
}


def _reject(column: str, raw: SparkColumn, reason: str) -> SparkColumn:
    return F.struct(F.lit(column).alias("column"), raw.alias("raw_value"), F.lit(reason).alias("reason"))


def _add_value_rejects(df: DataFrame, candidates: list[SparkColumn]) -> DataFrame:
    """Append the non-null entries of ``candidates`` (reject structs or nulls) to ``_value_rejects``."""
    if not candidates:
        return df
    found = F.filter(F.array(*candidates), lambda r: r.isNotNull())
    return df.withColumn(VALUE_REJECTS, F.concat(F.col(VALUE_REJECTS), found))


def clean_text_columns(table: DatasetTable) -> Transform:
    """Trim every source column (spaces, tabs, newlines, no-break spaces at the ends); empty -> null.
    Starts the ``_value_rejects`` list that later steps add to with the reader's (values whose bytes were
    not UTF-8)."""

    def transform(df: DataFrame) -> DataFrame:
        return df.select(
            *[F.nullif(F.btrim(F.col(c), F.lit(WHITESPACE)), F.lit("")).alias(c) if c in table.source_names
              else F.col(c) for c in df.columns if c != UNDECODED],
            F.coalesce(F.col(UNDECODED), F.array().cast(VALUE_REJECT_TYPE)).alias(VALUE_REJECTS),
        )

    return transform


def typed_value(kind: str, raw: SparkColumn) -> SparkColumn:
    if kind in ("id", "text"):
        return raw
    if kind == "timestamp":
        return raw.try_cast("timestamp")
    if kind == "bool":
        lowered = F.lower(raw)
        return (F.when(lowered.isin("t", "true"), F.lit(True))
                .when(lowered.isin("f", "false"), F.lit(False)))
    if kind in ("int", "long"):
        as_double = raw.try_cast("double")
        whole = F.when(as_double == F.floor(as_double), as_double.try_cast(kind))
        return F.coalesce(raw.try_cast(kind), whole)
    number = raw.try_cast("double")
    low, high = {"latitude": (-90.0, 90.0), "longitude": (-180.0, 180.0)}.get(kind, (None, None))
    finite = ~F.isnan(number) & (F.abs(number) != float("inf"))
    if low is not None:
        finite = finite & number.between(low, high)
    return F.when(finite, number)


def type_columns(table: DatasetTable) -> Transform:
    """Each source column to its schema type; a value that does not parse becomes null and a value reject."""

    def transform(df: DataFrame) -> DataFrame:
        typed = {c.name: typed_value(c.kind, F.col(c.name)).alias(c.name) for c in table.columns}
        rejects = [
            F.when(F.col(c.name).isNotNull() & typed_value(c.kind, F.col(c.name)).isNull(),
                   _reject(c.name, F.col(c.name), REASONS[c.kind]))
            for c in table.columns if c.kind in REASONS
        ]
        with_rejects = _add_value_rejects(df, rejects)
        return with_rejects.select(*[typed.get(c, F.col(c)) for c in with_rejects.columns])

    return transform


def check_rows(table: DatasetTable) -> Transform:
    """Reject whole rows: broken structure (from the reader), photo_id missing or not an 11-character id,
    and (photos) a second row for a photo_id already seen earlier in the release."""

    def transform(df: DataFrame) -> DataFrame:
        photo_id = F.col("photo_id")
        error = F.coalesce(
            F.col("_error"),
            F.when(photo_id.isNull(), F.lit("missing photo_id")),
            F.when(~photo_id.rlike(PHOTO_ID_PATTERN), F.lit("invalid photo_id: not 11 characters of [A-Za-z0-9_-]")),
        )
        checked = df.withColumn("_error", error)
        if not table.unique_photo_id:
            return checked
        first_seen = Window.partitionBy("photo_id").orderBy("_source_file", "_line")
        rank = F.when(F.col("_error").isNull(), F.row_number().over(first_seen))
        return checked.withColumn(
            "_error", F.coalesce(F.col("_error"), F.when(rank > 1, F.lit("duplicate photo_id")))
        )

    return transform


def swap_lat_lon(df: DataFrame) -> DataFrame:
    """Releases before 1.3.0 had photo_location_latitude and _longitude swapped."""
    return (df.withColumnRenamed("photo_location_latitude", "_lon")
              .withColumnRenamed("photo_location_longitude", "photo_location_latitude")
              .withColumnRenamed("_lon", "photo_location_longitude"))


# ---- photos: typed camera columns from the free-text exif_* columns ----------------------------------

CAMERA_COLUMNS: tuple[tuple[str, str, Callable[[str | None], object], str], ...] = (
    # (derived column, source column, parser, reason when the text is not a value)
    ("camera_make", "exif_camera_make", camera.normalise_make, "not a camera make"),  # with the model
    ("camera_model", "exif_camera_model", camera.normalise_model, "not a camera model"),
    ("iso", "exif_iso", camera.parse_iso, "not an ISO speed"),
    ("aperture_f", "exif_aperture_value", camera.parse_aperture, "not an f-number (1.8, 5,6, f/2.8)"),
    ("focal_length_mm", "exif_focal_length", camera.parse_focal_length, "not a focal length (50, 50mm, 18-55mm)"),
    ("exposure_time_s", "exif_exposure_time", camera.parse_exposure, "not an exposure time (1/125, 1 / 200s, 30\")"),
)
CAMERA_STRUCT = StructType([f for f in PHOTOS.derived])


def _normalise_camera_frame(*sources: pd.Series) -> pd.DataFrame:
    """Parse each distinct text once: a release repeats the same few hundred camera strings. The brand
    comes from the make and the model together (camera.normalise_make)."""
    out = {}
    models = sources[[source for _, source, _, _ in CAMERA_COLUMNS].index("exif_camera_model")]
    for (name, _, parser, _), series in zip(CAMERA_COLUMNS, sources):
        cached = lru_cache(maxsize=65_536)(parser)
        if name == "camera_make":
            out[name] = [None if _missing(make) else cached(make, None if _missing(model) else model)
                         for make, model in zip(series, models)]
        else:
            out[name] = series.map(lambda v: None if _missing(v) else cached(v), na_action=None)
    frame = pd.DataFrame(out)
    for field in CAMERA_STRUCT.fields:
        if field.dataType.typeName() == "integer":
            frame[field.name] = frame[field.name].astype("Int32")
        elif field.dataType.typeName() == "double":
            frame[field.name] = frame[field.name].astype("float64")
    return frame


def _missing(value: object) -> bool:
    return value is None or value is pd.NA


def add_camera_columns(df: DataFrame) -> DataFrame:
    """camera_make (one spelling per brand), camera_model, iso, aperture_f, focal_length_mm, exposure_time_s.

    The exif_* columns stay as they are; text that is neither a value nor a no-value marker
    (``undef``, ``inf``, ``-``) is a value reject of its exif_* column.
    """
    normalise = F.pandas_udf(_normalise_camera_frame, CAMERA_STRUCT)
    parsed = df.withColumn("_camera", normalise(*[F.col(source) for _, source, _, _ in CAMERA_COLUMNS]))
    markers = sorted(camera.NO_VALUE_MARKERS)
    rejects = [
        F.when(F.col(source).isNotNull() & ~F.lower(F.col(source)).isin(markers) & F.col(f"_camera.{name}").isNull(),
               _reject(source, F.col(source), reason))
        for name, source, _, reason in CAMERA_COLUMNS
    ]
    with_rejects = _add_value_rejects(parsed, rejects)
    return with_rejects.select(
        *[c for c in with_rejects.columns if c not in ("_camera", VALUE_REJECTS, "extra_columns")],
        *[F.col(f"_camera.{f.name}").alias(f.name) for f in CAMERA_STRUCT.fields],
        "extra_columns", VALUE_REJECTS,
    )


def lake_rows(table: DatasetTable) -> Transform:
    """The rows that load, in the table's schema."""

    def transform(df: DataFrame) -> DataFrame:
        return df.filter(F.col("_error").isNull()).select(*[f.name for f in table.schema.fields])

    return transform


def rejects(run_id: str) -> Transform:
    """Every rejected row and value as one `_rejects` record each (without the partition column)."""

    def transform(df: DataFrame) -> DataFrame:
        common = [F.lit(run_id).alias("run_id"), F.col("_source_file").alias("source_file"),
                  F.col("_line").alias("line"), F.col("photo_id")]
        rows = df.filter(F.col("_error").isNotNull()).select(
            *common, F.lit(None).cast("string").alias("column"),
            F.coalesce(F.col("_raw"), F.col("photo_id")).alias("raw_value"),
            F.col("_error").alias("reason"), F.lit(True).alias("row_rejected"))
        values = (df.filter(F.col("_error").isNull() & (F.size(VALUE_REJECTS) > 0))
                  .select(*common, F.explode(VALUE_REJECTS).alias("r"))
                  .select("run_id", "source_file", "line", "photo_id", "r.column", "r.raw_value", "r.reason",
                          F.lit(False).alias("row_rejected")))
        return rows.unionByName(values)

    return transform
