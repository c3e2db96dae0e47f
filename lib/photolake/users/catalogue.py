"""The catalogue: what each photo is about, from whatever the lake holds, for the synthetic users' tastes,
the user profiles and the content recommender.

``photo_attributes`` gives one row per photo and attribute (photo_id, kind, value): its tags (keywords
and detected labels), colour families, detected objects, orientation, size category, cluster and camera.
``build_catalogue`` turns that into numpy arrays on the driver, small enough to broadcast: a 0/1 matrix of
photos x features and an L2-normalised, IDF-weighted copy of it for cosine similarity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from photolake.extract.colors import COLOR_FAMILIES
from photolake.extract.image import SQUARE_TOLERANCE
from photolake.session import cached

# Attribute kinds that describe what a photo looks like (the content recommender's features), with the weight
# of each kind's block: tags say most, orientation and cluster least.
CONTENT_KINDS = {"tag": 1.0, "color_family": 1.0, "object": 1.0, "orientation": 0.5, "cluster": 0.5}
# A colour family counts as a photo's when its dominant colours of that family cover this share of it.
MIN_FAMILY_SHARE = 0.2
# A keyword counts as a tag when people suggested it or an AI service is at least this confident (0-1).
MIN_TAG_CONFIDENCE = 0.3


def _orientation(width, height):
    ratio = width / height
    return (F.when((width <= 0) | (height <= 0), None)
            .when(F.abs(ratio - 1) <= SQUARE_TOLERANCE, "square")
            .when(ratio > 1, "landscape").otherwise("portrait"))


def photo_attributes(spark: SparkSession, tables: list[str]) -> DataFrame:
    """(photo_id, kind, value), distinct, for every registered table that says something about photos."""
    parts = [spark.table("photos").select("photo_id", F.lit("camera").alias("kind"),
                                          F.col("camera_make").alias("value"))]
    if "image_metadata" in tables:
        metadata = spark.table("image_metadata").filter(F.col("status") == "ok")
        families = (metadata.select("photo_id", F.explode("dominant_colors").alias("c"))
                    .groupBy("photo_id", F.col("c.family").alias("value")).agg(F.sum("c.share").alias("share"))
                    .filter(F.col("share") >= MIN_FAMILY_SHARE))
        parts += [families.select("photo_id", F.lit("color_family").alias("kind"), "value"),
                  metadata.select("photo_id", F.lit("orientation").alias("kind"),
                                  F.col("orientation_class").alias("value")),
                  metadata.select("photo_id", F.lit("size_category").alias("kind"),
                                  F.col("size_category").alias("value"))]
    else:  # the release's own pixel sizes still say the orientation
        parts.append(spark.table("photos").select("photo_id", F.lit("orientation").alias("kind"),
                                                  _orientation(F.col("photo_width"),
                                                               F.col("photo_height")).alias("value")))
    if "photo_tags" in tables:
        tags = spark.table("photo_tags").filter(F.col("confidence").isNull()
                                                | (F.col("confidence") >= MIN_TAG_CONFIDENCE))
        parts.append(tags.select("photo_id", F.lit("tag").alias("kind"), F.col("tag").alias("value")))
    if "detections" in tables:
        parts.append(spark.table("detections").filter(F.col("status") == "ok")
                     .select("photo_id", F.lit("object").alias("kind"), F.explode("labels").alias("value")))
    if "clusters" in tables:
        parts.append(spark.table("clusters").select("photo_id", F.lit("cluster").alias("kind"),
                                                    F.col("cluster").cast("string").alias("value")))
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    return union.filter(F.col("value").isNotNull() & (F.length("value") > 0)).distinct()


def photo_popularity(spark: SparkSession) -> DataFrame:
    """(photo_id, popularity): the release's download count, the best public signal of appeal."""
    return spark.table("photos").select("photo_id", F.coalesce(F.col("stats_downloads"), F.lit(0))
                                        .cast("double").alias("popularity"))


@dataclass
class Catalogue:
    photo_ids: np.ndarray  # n photos, sorted; a photo's index is its position
    kinds: np.ndarray  # d features: the attribute kind of each
    values: np.ndarray  # d features: the attribute value of each
    binary: np.ndarray  # n x d, uint8: 1 where the photo has the feature
    content: np.ndarray  # n x d, float32: IDF-weighted, kind-weighted, L2-normalised rows (cosine = dot product)
    popularity: np.ndarray  # n, the release's downloads
    frequency: np.ndarray  # d, how many photos have each feature

    @property
    def size(self) -> int:
        return len(self.photo_ids)

    def features_of(self, kind: str) -> np.ndarray:
        return np.flatnonzero(self.kinds == kind)

    def index(self) -> dict[str, int]:
        return {photo_id: i for i, photo_id in enumerate(self.photo_ids)}


def build_catalogue(attributes: pd.DataFrame, popularity: pd.DataFrame, max_tags: int = 200,
                    max_tag_share: float = 0.5) -> Catalogue:
    """The catalogue's arrays from (photo_id, kind, value) and (photo_id, popularity) frames.

    Tags are kept when at least two photos and at most ``max_tag_share`` of them have one (a tag on every
    photo says nothing), the ``max_tags`` most frequent of those; other kinds are all kept."""
    photo_ids = np.array(sorted(popularity["photo_id"]), dtype=object)
    row_of = {p: i for i, p in enumerate(photo_ids)}
    content = attributes[attributes["kind"].isin(list(CONTENT_KINDS)) & attributes["photo_id"].isin(row_of)]
    frequency = content.groupby(["kind", "value"]).size().rename("photos").reset_index()
    tags = frequency[frequency["kind"] == "tag"]
    tags = tags[(tags["photos"] >= 2) & (tags["photos"] <= max(2, max_tag_share * len(photo_ids)))]
    tags = tags.sort_values(["photos", "value"], ascending=[False, True]).head(max_tags)
    features = pd.concat([tags, frequency[frequency["kind"] != "tag"]]).sort_values(["kind", "value"])
    features = features.reset_index(drop=True)
    column_of = {(k, v): j for j, (k, v) in enumerate(zip(features["kind"], features["value"]))}
    binary = np.zeros((len(photo_ids), len(features)), dtype=np.uint8)
    keys = list(zip(content["kind"], content["value"]))
    rows = [row_of[p] for p, key in zip(content["photo_id"], keys) if key in column_of]
    columns = [column_of[key] for key in keys if key in column_of]
    binary[rows, columns] = 1
    kinds = features["kind"].to_numpy(dtype=object)
    idf = np.log((1 + len(photo_ids)) / (1 + features["photos"].to_numpy(dtype=np.float64))) + 1
    # one float32 copy beside the 0/1 matrix, scaled in place: photos x features floats are the driver's
    # largest arrays (a float64 copy and its temporaries were three times this)
    weighted = np.multiply(binary, idf.astype(np.float32), dtype=np.float32)
    for kind, weight in CONTENT_KINDS.items():  # each kind's block has norm `weight`, so no kind drowns the rest
        block = np.flatnonzero(kinds == kind)
        if len(block):
            _scale_rows(weighted, block, weight)
    _scale_rows(weighted, slice(None), 1.0)
    pop = popularity.set_index("photo_id")["popularity"].reindex(photo_ids).fillna(0).to_numpy(dtype=np.float64)
    return Catalogue(photo_ids, kinds, features["value"].to_numpy(dtype=object), binary, weighted, pop,
                     binary.sum(axis=0, dtype=np.int64).astype(np.float64))


def _scale_rows(matrix: np.ndarray, columns, norm: float, rows_at_once: int = 65_536) -> None:
    """Scale each row's ``columns`` in place to the L2 norm ``norm`` (rows that are all zero stay so), a slab
    of rows at a time so the temporaries stay small."""
    for start in range(0, len(matrix), rows_at_once):
        part = matrix[start:start + rows_at_once, columns]
        lengths = np.linalg.norm(part, axis=1, keepdims=True)
        np.divide(part * np.float32(norm), lengths, out=part, where=lengths > 0)
        matrix[start:start + rows_at_once, columns] = part


# Named themes for catalogues without a lake (tests, benchmarks): tags, colour family, object.
THEMES = {
    "beach": (["beach", "sea", "sand"], "blue", "umbrella"),
    "forest": (["forest", "tree", "moss"], "green", "bird"),
    "city": (["city", "street", "night"], "black", "car"),
    "food": (["food", "coffee", "table"], "brown", "cup"),
    "desert": (["desert", "dune", "sun"], "orange", "camel"),
}


def themed_catalogue(photos_per_theme: int, themes: int = 5, seed: int = 0) -> tuple[Catalogue, pd.DataFrame]:
    """A catalogue of photos in planted themes, with no lake: each photo has 2 of its theme's 3 tags, its
    theme's colour family (90%), its object (50%) and a random orientation; popularity is heavy-tailed and
    unrelated to theme. The five named THEMES come first (photo ids start with the theme's first four
    letters), then ``t005``, ``t006``... Returns (catalogue, its (photo_id, kind, value) attributes)."""
    rng = np.random.default_rng(seed)
    named = list(THEMES.items())
    rows, popularity = [], []
    for number in range(themes):
        name, (tags, family, obj) = named[number] if number < len(named) else (
            f"t{number:03d}", ([f"t{number}-{c}" for c in "abc"], COLOR_FAMILIES[number % len(COLOR_FAMILIES)],
                               f"object{number}"))
        for n in range(photos_per_theme):
            photo = f"{name[:4]}{n:07d}"
            rows += [(photo, "tag", t) for t in rng.choice(tags, 2, replace=False)]
            rows.append((photo, "color_family", family if rng.random() < 0.9 else "gray"))
            if rng.random() < 0.5:
                rows.append((photo, "object", obj))
            rows.append((photo, "orientation", rng.choice(["landscape", "portrait", "square"])))
            popularity.append((photo, float(rng.pareto(1.5) * 100)))
    attributes = pd.DataFrame(rows, columns=["photo_id", "kind", "value"])
    return build_catalogue(attributes, pd.DataFrame(popularity, columns=["photo_id", "popularity"]),
                           max_tags=max(200, 3 * themes)), attributes


def collect_catalogue(spark: SparkSession, tables: list[str], max_tags: int = 200) -> tuple[Catalogue, DataFrame]:
    """(the catalogue on the driver, the long attributes frame it came from)."""
    attributes = cached(photo_attributes(spark, tables))
    content = attributes.filter(F.col("kind").isin(list(CONTENT_KINDS))).toPandas()
    return build_catalogue(content, photo_popularity(spark).toPandas(), max_tags), attributes
