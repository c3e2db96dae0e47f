"""Every lake table's schema, in one place: the contract between jobs.

The dataset tables (photos, keywords, collections, conversions, colors) also say how each source column
of the release is typed (``Column.kind``) and which other header names mean the same column (``aliases``).
docs/lake.md documents every table and column; tests/test_schemas.py keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampNTZType,
    TimestampType,
)

PHOTO_ID_PATTERN = r"^[A-Za-z0-9_-]{11}$"

# How a source column's text becomes a value; photolake.ingest.transform.typed_value has each rule.
KIND_TYPES: dict[str, DataType] = {
    "id": StringType(),
    "text": StringType(),
    "timestamp": TimestampType(),
    "bool": BooleanType(),
    "int": IntegerType(),
    "long": LongType(),
    "double": DoubleType(),
    "latitude": DoubleType(),
    "longitude": DoubleType(),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "text"
    aliases: tuple[str, ...] = ()

    @property
    def data_type(self) -> DataType:
        return KIND_TYPES[self.kind]


@dataclass(frozen=True)
class DatasetTable:
    """A table of the release: its source columns (every release's, header order of 1.3.x first)."""

    name: str
    columns: tuple[Column, ...]
    derived: tuple[StructField, ...] = ()
    partition_by: tuple[str, ...] = ()
    has_photo_id: bool = True
    unique_photo_id: bool = False
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def source_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def schema(self) -> StructType:
        """The lake table: typed source columns, derived columns, then unknown extra columns as a map."""
        fields = [StructField(c.name, c.data_type, nullable=c.kind != "id") for c in self.columns]
        fields += list(self.derived)
        fields.append(StructField("extra_columns", MapType(StringType(), StringType()), True))
        return StructType(fields)

    def header_lookup(self) -> dict[str, str]:
        """Lower-cased header name or alias -> source column name."""
        lookup = {}
        for c in self.columns:
            for name in (c.name, *c.aliases):
                lookup[name.lower()] = c.name
        return lookup


PHOTOS = DatasetTable(
    name="photos",
    unique_photo_id=True,
    columns=(
        Column("photo_id", "id"),
        Column("photo_url"),
        Column("photo_image_url"),
        Column("photo_submitted_at", "timestamp"),
        Column("photo_featured", "bool"),
        Column("photo_width", "int"),
        Column("photo_height", "int"),
        Column("photo_aspect_ratio", "double"),
        Column("photo_description"),
        Column("photographer_username"),
        Column("photographer_first_name"),
        Column("photographer_last_name"),
        Column("exif_camera_make"),
        Column("exif_camera_model"),
        Column("exif_iso"),
        Column("exif_aperture_value"),
        Column("exif_focal_length"),
        Column("exif_exposure_time"),
        Column("photo_location_name"),
        Column("photo_location_latitude", "latitude"),
        Column("photo_location_longitude", "longitude"),
        Column("photo_location_country"),
        Column("photo_location_city"),
        Column("stats_views", "long"),
        Column("stats_downloads", "long"),
        Column("ai_description"),
        Column("ai_primary_landmark_name"),
        Column("ai_primary_landmark_latitude", "latitude"),
        Column("ai_primary_landmark_longitude", "longitude"),
        Column("ai_primary_landmark_confidence", "double"),
        Column("blur_hash"),
    ),
    derived=(
        StructField("camera_make", StringType(), True),
        StructField("camera_model", StringType(), True),
        StructField("iso", IntegerType(), True),
        StructField("aperture_f", DoubleType(), True),
        StructField("focal_length_mm", DoubleType(), True),
        StructField("exposure_time_s", DoubleType(), True),
    ),
)

KEYWORDS = DatasetTable(
    name="keywords",
    columns=(
        Column("photo_id", "id"),
        Column("keyword"),
        Column("ai_service_1_confidence", "double"),
        Column("ai_service_2_confidence", "double"),
        Column("suggested_by_user", "bool"),
        Column("user_suggestion_source"),
        Column("suggested_by_ai_service_3", "bool"),
        Column("confirmed_by_ai_service_3", "bool"),
    ),
)

COLLECTIONS = DatasetTable(
    name="collections",
    columns=(
        Column("photo_id", "id"),
        Column("collection_id"),
        Column("collection_title"),
        Column("photo_collected_at", "timestamp"),
        Column("collection_type"),
    ),
)

CONVERSIONS = DatasetTable(
    name="conversions",
    columns=(
        Column("converted_at", "timestamp"),
        Column("conversion_type"),
        Column("keyword"),
        Column("photo_id", "id"),
        Column("anonymous_user_id"),
        Column("conversion_country"),
        Column("device_type"),
        Column("search_orientation_filter"),
        Column("search_ordering"),
    ),
)

COLORS = DatasetTable(
    name="colors",
    columns=(
        Column("photo_id", "id"),
        Column("hex"),
        Column("red", "int"),
        Column("green", "int"),
        Column("blue", "int"),
        Column("keyword"),
        Column("coverage", "double", aliases=("ai_coverage",)),
        Column("score", "double", aliases=("ai_score",)),
    ),
)

DATASET_TABLES: dict[str, DatasetTable] = {t.name: t for t in (PHOTOS, KEYWORDS, COLLECTIONS, CONVERSIONS, COLORS)}

# ---- bookkeeping tables -------------------------------------------------------------------------------

REJECTS = StructType([
    StructField("run_id", StringType(), False),
    StructField("source_file", StringType(), True),
    StructField("line", LongType(), True),
    StructField("photo_id", StringType(), True),
    StructField("column", StringType(), True),
    StructField("raw_value", StringType(), True),
    StructField("reason", StringType(), False),
    StructField("row_rejected", BooleanType(), False),
    StructField("table", StringType(), False),  # partition column: a rerun replaces one table's rejects
])

RUNS = StructType([
    StructField("run_id", StringType(), False),
    StructField("job", StringType(), False),
    StructField("table", StringType(), True),
    StructField("status", StringType(), False),
    StructField("started_at", TimestampType(), False),
    StructField("finished_at", TimestampType(), False),
    StructField("elapsed_s", DoubleType(), False),
    StructField("rows_in", LongType(), True),
    StructField("rows_out", LongType(), True),
    StructField("rows_rejected", LongType(), True),
    StructField("values_rejected", LongType(), True),
    StructField("rows_per_s", DoubleType(), True),
    StructField("config", StringType(), True),
    StructField("notes", ArrayType(StringType()), True),
])

# ---- download -----------------------------------------------------------------------------------------

DOWNLOAD_STATUSES = ("ok", "http_error", "timeout", "connection_error", "not_image", "truncated", "too_large",
                     "invalid_url", "disallowed_host", "write_error", "failed")

DOWNLOADS = StructType([
    StructField("photo_id", StringType(), False),
    StructField("url", StringType(), True),
    StructField("path", StringType(), True),
    StructField("status", StringType(), False),
    StructField("http_status", IntegerType(), True),
    StructField("error", StringType(), True),
    StructField("attempts", IntegerType(), True),
    StructField("bytes", LongType(), True),
    StructField("width", IntegerType(), True),
    StructField("height", IntegerType(), True),
    StructField("sha256", StringType(), True),
    StructField("content_type", StringType(), True),
    StructField("elapsed_ms", LongType(), True),
    StructField("downloaded_at", TimestampType(), True),
])

# ---- extract ----------------------------------------------------------------------------------------------

EXTRACT_STATUSES = ("ok", "missing", "unreadable", "too_large", "skipped")

DOMINANT_COLOR = StructType([
    StructField("hex", StringType(), True),
    StructField("r", IntegerType(), True),
    StructField("g", IntegerType(), True),
    StructField("b", IntegerType(), True),
    StructField("name", StringType(), True),
    StructField("family", StringType(), True),
    StructField("share", DoubleType(), True),
])

IMAGE_METADATA = StructType([
    StructField("photo_id", StringType(), False),
    StructField("path", StringType(), True),
    StructField("status", StringType(), False),
    StructField("error", StringType(), True),
    StructField("width", IntegerType(), True),
    StructField("height", IntegerType(), True),
    StructField("display_width", IntegerType(), True),
    StructField("display_height", IntegerType(), True),
    StructField("format", StringType(), True),
    StructField("mode", StringType(), True),
    StructField("file_size", LongType(), True),
    StructField("frames", IntegerType(), True),
    StructField("orientation_class", StringType(), True),
    StructField("size_category", StringType(), True),
    StructField("exif", MapType(StringType(), StringType()), True),
    StructField("make", StringType(), True),
    StructField("model", StringType(), True),
    StructField("camera_make", StringType(), True),
    StructField("lens_model", StringType(), True),
    StructField("datetime_original", TimestampNTZType(), True),
    StructField("datetime_offset", StringType(), True),
    StructField("exposure_time_s", DoubleType(), True),
    StructField("f_number", DoubleType(), True),
    StructField("iso", IntegerType(), True),
    StructField("focal_length_mm", DoubleType(), True),
    StructField("focal_length_35mm", DoubleType(), True),
    StructField("flash", IntegerType(), True),
    StructField("orientation", IntegerType(), True),
    StructField("software", StringType(), True),
    StructField("gps_latitude", DoubleType(), True),
    StructField("gps_longitude", DoubleType(), True),
    StructField("gps_altitude", DoubleType(), True),
    StructField("dominant_colors", ArrayType(DOMINANT_COLOR), True),
    StructField("brightness", DoubleType(), True),
    StructField("colorfulness", DoubleType(), True),
    StructField("phash", StringType(), True),
    StructField("extracted_at", TimestampType(), True),
])

# ---- detect -----------------------------------------------------------------------------------------------

DETECT_STATUSES = ("ok", "missing", "unreadable", "too_large", "skipped", "failed")

DETECTED_OBJECT = StructType([
    StructField("label", StringType(), True),
    StructField("class_id", IntegerType(), True),
    StructField("confidence", DoubleType(), True),
    StructField("x", DoubleType(), True),
    StructField("y", DoubleType(), True),
    StructField("w", DoubleType(), True),
    StructField("h", DoubleType(), True),
])

# Partitioned by model: a run replaces its model's rows, so several models' detections can be compared.
DETECTIONS = StructType([
    StructField("photo_id", StringType(), False),
    StructField("path", StringType(), True),
    StructField("status", StringType(), False),
    StructField("error", StringType(), True),
    StructField("image_width", IntegerType(), True),
    StructField("image_height", IntegerType(), True),
    StructField("objects", ArrayType(DETECTED_OBJECT), True),
    StructField("labels", ArrayType(StringType()), True),
    StructField("annotated_path", StringType(), True),
    StructField("elapsed_ms", LongType(), True),
    StructField("detected_at", TimestampType(), True),
    StructField("model", StringType(), False),  # partition column
])
DETECTIONS_PARTITION_BY = ("model",)

# ---- cluster ----------------------------------------------------------------------------------------------

CLUSTERS = StructType([
    StructField("photo_id", StringType(), False),
    StructField("cluster", IntegerType(), False),
    StructField("pca_x", DoubleType(), True),
    StructField("pca_y", DoubleType(), True),
])

CLUSTER_SUMMARY = StructType([
    StructField("cluster", IntegerType(), False),
    StructField("size", LongType(), False),
    StructField("share", DoubleType(), True),
    StructField("top_tags", ArrayType(StringType()), True),
    StructField("top_objects", ArrayType(StringType()), True),
    StructField("top_colors", ArrayType(StringType()), True),
    StructField("mean_brightness", DoubleType(), True),
    StructField("main_orientation", StringType(), True),
    StructField("description", StringType(), True),
])

# ---- users and recommend --------------------------------------------------------------------------------

USER_SOURCES = ("synthetic", "conversions")
USER_SOURCE_CHOICES = (*USER_SOURCES, "both")  # what users.source may say
INTERACTION_EVENTS = ("view", "like", "download")

USERS = StructType([
    StructField("user_id", StringType(), False),
    StructField("source", StringType(), False),
    StructField("activity", DoubleType(), True),  # synthetic: the hidden activity level (mean items viewed)
    StructField("interactions", LongType(), False),
    StructField("photos", LongType(), False),
    StructField("first_at", TimestampType(), True),
    StructField("last_at", TimestampType(), True),
])

# The synthetic users' hidden tastes, so recommendations can be checked against what users really like.
USER_TASTES = StructType([
    StructField("user_id", StringType(), False),
    StructField("kind", StringType(), False),  # tag | color_family | object | orientation
    StructField("value", StringType(), False),
])

INTERACTIONS = StructType([
    StructField("user_id", StringType(), False),
    StructField("photo_id", StringType(), False),
    StructField("event", StringType(), False),
    StructField("weight", DoubleType(), False),
    StructField("at", TimestampType(), True),
    StructField("keyword", StringType(), True),  # conversions: the search that led to the download
    StructField("source", StringType(), False),
])

PROFILES = StructType([
    StructField("user_id", StringType(), False),
    StructField("source", StringType(), False),
    StructField("interactions", LongType(), False),
    StructField("photos", LongType(), False),
    StructField("favourite_colors", ArrayType(StringType()), True),
    StructField("favourite_tags", ArrayType(StringType()), True),
    StructField("favourite_objects", ArrayType(StringType()), True),
    StructField("orientation", StringType(), True),
    StructField("size_category", StringType(), True),
    StructField("cameras", ArrayType(StringType()), True),
    StructField("top_cluster", IntegerType(), True),
    StructField("favourite_images", ArrayType(StringType()), True),
])

RECOMMEND_MODELS = ("als", "popularity", "content", "hybrid")

# Partitioned by model: a run replaces only the models it made.
# What a recommendation's reason rests on: users who liked the same photos (ALS), popularity, or the feature of
# the user's favourites that the photo shares most (a tag, colour family, object, orientation, cluster, or the
# profile as a whole).
REASON_KINDS = ("similar_users", "popular", "tag", "colour", "object", "orientation", "cluster", "profile")

RECOMMENDATIONS = StructType([
    StructField("user_id", StringType(), False),
    StructField("rank", IntegerType(), False),
    StructField("photo_id", StringType(), False),
    StructField("score", DoubleType(), True),
    StructField("reason", StringType(), True),
    StructField("reason_kind", StringType(), True),  # REASON_KINDS: what the reason rests on
    StructField("strategy", StringType(), False),  # what made this row: the model, or its cold-start fallback
    StructField("cold_start", BooleanType(), False),
    StructField("model", StringType(), False),  # partition column
])

REC_METRICS = StructType([
    StructField("k", IntegerType(), False),
    StructField("precision_at_k", DoubleType(), True),
    StructField("recall_at_k", DoubleType(), True),
    StructField("ndcg_at_k", DoubleType(), True),
    StructField("map_at_k", DoubleType(), True),
    StructField("coverage", DoubleType(), True),
    StructField("diversity", DoubleType(), True),
    StructField("taste_match", DoubleType(), True),  # synthetic users: share of items matching a hidden taste
    StructField("users", LongType(), False),
    StructField("evaluated_at", TimestampType(), True),
    StructField("model", StringType(), False),  # partition column
])
REC_METRICS_PARTITION_BY = ("model",)

REC_TUNING = StructType([
    StructField("rank", IntegerType(), False),
    StructField("reg_param", DoubleType(), False),
    StructField("alpha", DoubleType(), False),
    StructField("max_iter", IntegerType(), False),
    StructField("k", IntegerType(), False),
    StructField("ndcg_at_k", DoubleType(), True),
    StructField("chosen", BooleanType(), False),
    StructField("tuned_at", TimestampType(), True),
])

# The tables written in parts, by these columns: a run replaces only the parts it made.
PARTITION_COLUMNS: dict[str, tuple[str, ...]] = {
    "detections": ("model",), "recommendations": ("model",), "rec_metrics": ("model",), "_rejects": ("table",),
}

LAKE_TABLES: dict[str, StructType] = {
    **{name: t.schema for name, t in DATASET_TABLES.items()},
    "downloads": DOWNLOADS,
    "image_metadata": IMAGE_METADATA,
    "detections": DETECTIONS,
    "clusters": CLUSTERS,
    "cluster_summary": CLUSTER_SUMMARY,
    "users": USERS,
    "user_tastes": USER_TASTES,
    "interactions": INTERACTIONS,
    "profiles": PROFILES,
    "recommendations": RECOMMENDATIONS,
    "rec_metrics": REC_METRICS,
    "rec_tuning": REC_TUNING,
    "_rejects": REJECTS,
    "_runs": RUNS,
}
