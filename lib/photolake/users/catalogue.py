"""The catalogue: what each photo is about, from whatever the lake holds, for the synthetic users' tastes,
the user profiles and the content recommender.

``photo_attributes`` gives one row per photo and attribute (photo_id, kind, value): its tags (keywords
and detected labels), colour families, detected objects, orientation, size category, cluster and camera.
``collect_catalogue`` turns that into sparse arrays, small enough to broadcast: a 0/1 matrix of photos x
features and an L2-normalised, IDF-weighted copy of it for cosine similarity. Both grow with the (photo,
feature) pairs, about 15 a photo, not with photos x features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from scipy import sparse

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
    binary: sparse.csr_matrix  # n x d, uint8: 1 where the photo has the feature
    content: sparse.csr_matrix  # n x d, float32: IDF-weighted, kind-weighted, L2-normalised rows (cosine = dot)
    popularity: np.ndarray  # n, the release's downloads
    frequency: np.ndarray  # d, how many photos have each feature

    @property
    def size(self) -> int:
        return len(self.photo_ids)

    def features_of(self, kind: str) -> np.ndarray:
        return np.flatnonzero(self.kinds == kind)

    def index(self) -> dict[str, int]:
        return {photo_id: i for i, photo_id in enumerate(self.photo_ids)}

    def vectors(self, photos) -> np.ndarray:
        """The content rows of ``photos`` (indices), dense: len(photos) x d float32."""
        return self.content[np.atleast_1d(photos)].toarray()

    def features(self, photo: int) -> np.ndarray:
        """The feature indices ``photo`` has."""
        return self.binary.indices[self.binary.indptr[photo]:self.binary.indptr[photo + 1]]

    def having(self, photos: np.ndarray, feature: int) -> int:
        """How many of ``photos`` have ``feature``."""
        return int(self.binary[photos, feature].sum()) if len(photos) else 0

    def share_of(self, features: np.ndarray) -> np.ndarray:
        """Per photo, the share of ``features`` (distinct indices) it has: n floats."""
        if len(features) == 0:
            return np.zeros(self.size)
        wanted = np.zeros(len(self.kinds), dtype=np.float64)
        wanted[features] = 1.0 / len(features)
        return self.binary @ wanted


def select_features(frequency: pd.DataFrame, photos: int, max_tags: int, max_tag_share: float) -> pd.DataFrame:
    """The features kept from (kind, value, photos) rows, sorted by kind and value: tags on at least two
    photos and at most ``max_tag_share`` of them (a tag on every photo says nothing), the ``max_tags`` most
    frequent of those; every value of the other kinds. Applied to any part of the rows and then to the union
    of the parts it keeps, it keeps what it keeps from all of them (so Spark runs it on each batch first)."""
    tags = frequency[frequency["kind"] == "tag"]
    tags = tags[(tags["photos"] >= 2) & (tags["photos"] <= max(2, max_tag_share * photos))]
    tags = tags.sort_values(["photos", "value"], ascending=[False, True]).head(max_tags)
    return (pd.concat([tags, frequency[frequency["kind"] != "tag"]]).sort_values(["kind", "value"])
            .reset_index(drop=True))


def assemble_catalogue(photo_ids: np.ndarray, popularity: np.ndarray, features: pd.DataFrame, rows: np.ndarray,
                       columns: np.ndarray) -> Catalogue:
    """The catalogue from the sorted photo ids and their popularity, the kept ``features`` (kind, value,
    photos) and the (row, column) pairs where a photo has a feature (distinct): sparse, so memory grows with
    the pairs, not photos x features."""
    n, d = len(photo_ids), len(features)
    # scipy's COO to CSR conversion is a counting sort by row: no n log n sort, and int32 indices
    binary = sparse.coo_matrix((np.ones(len(rows), dtype=np.uint8), (np.asarray(rows, dtype=np.int32),
                                                                      np.asarray(columns, dtype=np.int32))),
                               shape=(n, d)).tocsr()
    binary.sort_indices()
    columns, row_of = binary.indices, np.repeat(np.arange(n, dtype=np.int32), np.diff(binary.indptr))
    kinds = features["kind"].to_numpy(dtype=object)
    frequency = features["photos"].to_numpy(dtype=np.float64)
    weights = (np.log((1 + n) / (1 + frequency)) + 1).astype(np.float32)[columns]  # IDF
    # each kind's block has norm `weight` in each row, so no kind drowns the rest; then each row has norm 1
    codes = pd.factorize(kinds)[0].astype(np.int64)
    block_of = row_of.astype(np.int64) * (int(codes.max(initial=0)) + 1) + codes[columns]
    block_norms = np.sqrt(np.bincount(block_of, weights=np.square(weights)))
    kind_weight = np.array([CONTENT_KINDS[k] for k in kinds], dtype=np.float32)
    weights *= kind_weight[columns] / block_norms[block_of].astype(np.float32)
    del block_of, block_norms
    weights /= np.sqrt(np.bincount(row_of, weights=np.square(weights), minlength=n)).astype(np.float32)[row_of]
    content = sparse.csr_matrix((weights, columns, binary.indptr), shape=(n, d))  # the same index arrays
    return Catalogue(photo_ids, kinds, features["value"].to_numpy(dtype=object), binary, content,
                     np.asarray(popularity, dtype=np.float64), np.bincount(columns, minlength=d).astype(np.float64))


def build_catalogue(attributes: pd.DataFrame, popularity: pd.DataFrame, max_tags: int = 200,
                    max_tag_share: float = 0.5) -> Catalogue:
    """The catalogue from pandas frames of (photo_id, kind, value) and (photo_id, popularity): for
    catalogues without a lake (tests, benchmarks); ``collect_catalogue`` builds a lake's with Spark."""
    ranked = popularity.sort_values("photo_id")
    photo_ids = ranked["photo_id"].to_numpy(dtype=object)
    items = pd.Series(np.arange(len(photo_ids)), index=photo_ids)
    content = attributes[attributes["kind"].isin(list(CONTENT_KINDS)) & attributes["photo_id"].isin(items.index)]
    frequency = content.groupby(["kind", "value"]).size().rename("photos").reset_index()
    features = select_features(frequency, len(photo_ids), max_tags, max_tag_share)
    pairs = content.merge(features.reset_index(names="feature"), on=["kind", "value"], how="inner")
    return assemble_catalogue(photo_ids, ranked["popularity"].fillna(0).to_numpy(), features,
                              items[pairs["photo_id"]].to_numpy(), pairs["feature"].to_numpy())


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


def item_frame(spark: SparkSession, photo_ids: np.ndarray) -> DataFrame:
    """(photo_id, item): each photo's index in the catalogue's arrays. From an Arrow table, not pandas: at 1M
    photos pandas' conversion took 13 s and 160 MB more of the driver, Arrow's 7.6 s and 67 MB."""
    return spark.createDataFrame(pa.table({"photo_id": pa.array(photo_ids, pa.string()),
                                           "item": pa.array(np.arange(len(photo_ids), dtype=np.int32))}))


FEATURE_FREQUENCY = "kind string, value string, photos long"


def collect_catalogue(spark: SparkSession, tables: list[str], max_tags: int = 200,
                      max_tag_share: float = 0.5) -> tuple[Catalogue, DataFrame]:
    """(the catalogue, the long attributes frame it came from). The executors join, count and choose the
    features; the driver receives only the sorted photo ids with their popularity, the kept features, and
    the (item, feature) pairs as two int32 columns, and assembles the sparse arrays."""
    attributes = cached(photo_attributes(spark, tables))
    ranked = photo_popularity(spark).orderBy("photo_id").toArrow()
    photo_ids = ranked.column("photo_id").to_numpy(zero_copy_only=False).astype(object)
    items = item_frame(spark, photo_ids)
    content = (attributes.filter(F.col("kind").isin(list(CONTENT_KINDS)))
               .join(items, "photo_id", "inner"))
    frequency = content.groupBy("kind", "value").agg(F.count("*").alias("photos"))
    n = len(photo_ids)

    def kept(batches):
        for batch in batches:
            yield select_features(batch, n, max_tags, max_tag_share)

    features = select_features(frequency.mapInPandas(kept, FEATURE_FREQUENCY).toPandas(), n, max_tags,
                               max_tag_share)
    numbered = spark.createDataFrame(features.reset_index(names="feature")[["kind", "value", "feature"]]
                                     .astype({"feature": "int32"}), "kind string, value string, feature int")
    pairs = content.join(F.broadcast(numbered), ["kind", "value"], "inner").select("item", "feature").toArrow()
    return assemble_catalogue(photo_ids, ranked.column("popularity").to_numpy(), features,
                              pairs.column("item").to_numpy(), pairs.column("feature").to_numpy()), attributes
