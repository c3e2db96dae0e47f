"""Features per photo for clustering, from whatever the lake holds: image_metadata (required), the dataset's
EXIF columns in photos, detected objects, and tags.  DataFrame in, DataFrame out.

Numeric columns come out ready for VectorAssembler: skewed EXIF values as logs, nulls imputed with the
median plus a ``<name>_missing`` flag, colour shares summed by colour family, object counts per class
(log1p), and one-hot orientation and size category.  Tags stay an array for hashed TF-IDF.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from photolake.extract.colors import COLOR_FAMILIES

ORIENTATIONS = ("landscape", "portrait", "square")
SIZE_CATEGORIES = ("thumbnail", "medium", "large")
# EXIF value -> (file column, dataset column); all strongly skewed, so clustered on a log scale
EXIF_COLUMNS = {"iso": ("iso", "iso"), "f_number": ("f_number", "aperture_f"),
                "exposure_time_s": ("exposure_time_s", "exposure_time_s"),
                "focal_length_mm": ("focal_length_mm", "focal_length_mm")}


def _log_positive(column: Column) -> Column:
    return F.when(column > 0, F.log(column))


def _family_share(family: str) -> Column:
    """The summed share of an image's dominant colours in ``family`` (0 when none)."""
    of_family = F.filter("dominant_colors", lambda c: c["family"] == F.lit(family))
    return F.coalesce(F.aggregate(of_family, F.lit(0.0), lambda total, c: total + c["share"]), F.lit(0.0))


def base_features(metadata: DataFrame, photos: DataFrame | None = None) -> DataFrame:
    """One row per readable image: EXIF (the file's, else the dataset's) on a log scale, brightness,
    colourfulness, colour-family shares, one-hot orientation and size category."""
    images = metadata.filter(F.col("status") == "ok")
    if photos is not None:
        dataset = photos.select("photo_id", *[F.col(c).alias(f"dataset_{c}") for _, c in EXIF_COLUMNS.values()])
        images = images.join(dataset, "photo_id", "left")
    exif = {name: _log_positive(F.coalesce(F.col(file_col), F.col(f"dataset_{dataset_col}")) if photos is not None
                                else F.col(file_col)).alias(f"log_{name}")
            for name, (file_col, dataset_col) in EXIF_COLUMNS.items()}
    family_shares = [_family_share(name).alias(f"color_{name}") for name in COLOR_FAMILIES]
    return images.select(
        "photo_id", *exif.values(),
        F.coalesce("brightness", F.lit(0.5)).alias("brightness"),
        F.log1p(F.coalesce("colorfulness", F.lit(0.0))).alias("log_colorfulness"),
        *family_shares,
        *[(F.col("orientation_class") == o).cast("double").alias(f"orientation_{o}") for o in ORIENTATIONS],
        *[(F.col("size_category") == s).cast("double").alias(f"size_{s}") for s in SIZE_CATEGORIES])


def impute_median(features: DataFrame, columns: list[str]) -> DataFrame:
    """Nulls replaced by the column's median, with a 0/1 ``<name>_missing`` flag so the model knows."""
    medians = features.approxQuantile(columns, [0.5], 0.01)
    out = features
    for name, median in zip(columns, medians):
        fill = median[0] if median else 0.0
        out = (out.withColumn(f"{name}_missing", F.col(name).isNull().cast("double"))
               .withColumn(name, F.coalesce(F.col(name), F.lit(fill))))
    return out


def object_counts(detections: DataFrame, top: int) -> tuple[DataFrame, list[str]]:
    """log1p(count) of each of the ``top`` most frequent detected classes per photo."""
    objects = (detections.filter(F.col("status") == "ok")
               .select("photo_id", F.explode("objects").alias("o")).select("photo_id", F.col("o.label").alias("label")))
    counted = objects.groupBy("label").count().orderBy(F.desc("count"), "label")
    labels = [r["label"] for r in counted.limit(top).collect()]
    if not labels:
        return detections.select("photo_id").limit(0), []
    counts = (objects.filter(F.col("label").isin(labels)).groupBy("photo_id").pivot("label", labels).count())
    return counts.select("photo_id", *[F.log1p(F.coalesce(F.col(f"`{label}`"), F.lit(0))).alias(object_column(label))
                                       for label in labels]), labels


def object_column(label: str) -> str:
    return "objects_" + "".join(ch if ch.isalnum() else "_" for ch in label)


def photo_features(metadata: DataFrame, photos: DataFrame | None = None, detections: DataFrame | None = None,
                   tags: DataFrame | None = None, top_objects: int = 20) -> tuple[DataFrame, list[str]]:
    """(features, numeric column names): photo_id, the numeric columns, and ``tags`` (array, maybe empty)."""
    features = base_features(metadata, photos)
    log_exif = [f"log_{name}" for name in EXIF_COLUMNS]
    features = impute_median(features, log_exif)
    numeric = [c for c in features.columns if c != "photo_id"]
    if detections is not None:
        counts, labels = object_counts(detections, top_objects)
        if labels:
            columns = [object_column(label) for label in labels]
            features = features.join(counts, "photo_id", "left").fillna(0.0, subset=columns)
            numeric += columns
    if tags is not None:
        per_photo = tags.groupBy("photo_id").agg(F.array_distinct(F.collect_list("tag")).alias("tags"))
        features = features.join(per_photo, "photo_id", "left")
    else:
        features = features.withColumn("tags", F.lit(None).cast("array<string>"))
    return features.withColumn("tags", F.coalesce("tags", F.array().cast("array<string>"))), numeric
