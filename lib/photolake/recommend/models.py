"""The recommenders, fitted with Spark and scored on the executors.

- **als**: Spark MLlib ALS with implicit feedback (a user's summed event weights are the confidence).
- **popularity**: the photos most users interacted with (the release's downloads break ties).
- **content**: cosine similarity between the user's profile (the weighted mean of their photos' content
  vectors: tags, colour families, objects, orientation, cluster) and every photo's.
- **hybrid**: ``w * z(als) + (1 - w) * z(content)``, each score standardised per user.

Scoring is one pass over the users (mapInPandas): the catalogue and the item factors are broadcast, a block
of users is scored against every photo with one matrix product, the photos they have seen are masked,
and the top k get a reason. A cold-start user (fewer than ``min_interactions`` photos, or none that ALS
learnt) gets content, or popularity when they have no photos at all, and the row says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.ml.feature import StringIndexer
from pyspark.ml.recommendation import ALS
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from photolake.config import DEFAULTS
from photolake.ranking import top_unseen
from photolake.recommend.scoring import (
    Standardised,
    als_reason,
    content_profile,
    content_reason,
    mixed,
    popularity_reason,
)
from photolake.session import broadcast
from photolake.users.catalogue import Catalogue

SCORED_SCHEMA = ("user_id string, model string, rank int, item int, photo_id string, score double, reason string, "
                 "reason_kind string, strategy string, cold_start boolean")
SCORED_COLUMNS = [column.split()[0] for column in SCORED_SCHEMA.split(", ")]
SCORES_PER_BLOCK = 8_000_000  # users x photos scored by one matrix product (32 MB of float32 a model)


def users_per_block(photos: int) -> int:
    """Users scored together: up to 256, fewer as the catalogue grows, so a block's scores stay small."""
    return int(np.clip(SCORES_PER_BLOCK // max(photos, 1), 1, 256))


@dataclass(frozen=True)
class ALSParams:
    """One point of the ALS grid (recommend.ranks x reg_params x alphas)."""

    rank: int = DEFAULTS["recommend.ranks"][0]
    reg_param: float = DEFAULTS["recommend.reg_params"][-1]
    alpha: float = DEFAULTS["recommend.alphas"][-1]
    max_iter: int = DEFAULTS["recommend.max_iter"]


@dataclass(frozen=True)
class RecommendSettings:
    """The recommenders' settings: recommend.* (photolake.config, where the defaults and their meaning are)."""

    k: int = DEFAULTS["recommend.k"]
    min_interactions: int = DEFAULTS["recommend.min_interactions"]
    hybrid_weight: float = DEFAULTS["recommend.hybrid_weight"]


@dataclass
class ALSFactors:
    users: DataFrame  # user_id, factor (array<float>)
    items: np.ndarray  # catalogue size x rank; zeros for photos nobody interacted with


def fit_als(train: DataFrame, catalogue_size: int, params: ALSParams, seed: int = 42) -> ALSFactors:
    """ALS on (user_id, item, weight) pairs."""
    indexer = StringIndexer(inputCol="user_id", outputCol="user_index", stringOrderType="alphabetAsc").fit(train)
    indexed = indexer.transform(train).withColumn("user", F.col("user_index").cast("int"))
    blocks = max(2, train.sparkSession.sparkContext.defaultParallelism)  # one block per core: fewer, fuller tasks
    als = ALS(userCol="user", itemCol="item", ratingCol="weight", implicitPrefs=True, rank=params.rank,
              numUserBlocks=blocks, numItemBlocks=blocks,
              regParam=params.reg_param, alpha=params.alpha, maxIter=params.max_iter, seed=seed,
              coldStartStrategy="drop")
    model = als.fit(indexed)
    items = np.zeros((catalogue_size, params.rank), dtype=np.float32)
    learnt = model.itemFactors.toArrow()  # columnar: a million factors arrive in seconds, not minutes of Rows
    if learnt.num_rows:
        flat = learnt.column("features").combine_chunks()
        items[learnt.column("id").to_numpy()] = flat.values.to_numpy().reshape(learnt.num_rows, params.rank)
    users = (model.userFactors.withColumnRenamed("id", "user")
             .join(indexed.select("user_id", "user").distinct(), "user", "inner")
             .select("user_id", F.col("features").alias("factor")))
    return ALSFactors(users, items)


def item_users(train: DataFrame, catalogue: Catalogue) -> np.ndarray:
    """How many users interacted with each photo in ``train`` (a float per catalogue photo)."""
    counts = np.zeros(catalogue.size, dtype=np.float64)
    per_item = train.groupBy("item").agg(F.countDistinct("user_id").alias("users")).toArrow()
    counts[per_item.column("item").to_numpy()] = per_item.column("users").to_numpy()
    return counts


def popularity_ranking(popularity: np.ndarray, catalogue: Catalogue) -> np.ndarray:
    """The popularity model's scores: users in the training data, then the release's downloads to break ties."""
    return popularity + catalogue.popularity / (1.0 + catalogue.popularity.max(initial=0)) * 0.5


def score_block(users: pd.DataFrame, catalogue: Catalogue, item_factors: np.ndarray | None,
                popularity: np.ndarray, models: tuple[str, ...], settings: RecommendSettings,
                ranking: np.ndarray | None = None) -> list[tuple]:
    """SCORED_SCHEMA rows for a block of users (user_id, seen, weights, factor): plain numpy, run by the
    executors (recommend) and, for a small validation, by the driver (evaluate.tune_als). ``ranking``: the
    popularity_ranking, when the caller made it once for many blocks."""
    seen = [np.asarray(s if s is not None else [], dtype=np.int64) for s in users["seen"]]
    weights = [np.asarray(w if w is not None else [], dtype=np.float64) for w in users["weights"]]
    profiles = np.stack([content_profile(catalogue, s, w) for s, w in zip(seen, weights)])
    # one matrix product for the block when a content model is asked for; else only for cold-start users
    content_scores = (catalogue.content @ profiles.T).T if {"content", "hybrid"} & set(models) else None

    def content_of(u: int) -> np.ndarray:
        return content_scores[u] if content_scores is not None else catalogue.content @ profiles[u]
    has_factor = np.array([f is not None for f in users["factor"]])
    als_scores = None
    if item_factors is not None and has_factor.any():
        missing = np.zeros(item_factors.shape[1], np.float32)
        factors = np.stack([np.asarray(f, dtype=np.float32) if f is not None else missing
                            for f in users["factor"]])
        als_scores = factors @ item_factors.T
    mixing = "hybrid" in models and als_scores is not None and content_scores is not None
    als_z, content_z = (Standardised.of(als_scores), Standardised.of(content_scores)) if mixing else (None, None)
    by_popularity = popularity_ranking(popularity, catalogue) if ranking is None else ranking
    rows = []
    for u, user in enumerate(users["user_id"]):
        mine, has_content = seen[u], profiles[u].any()
        warm = len(mine) >= settings.min_interactions
        for model in models:
            strategy = model
            if model in ("als", "hybrid") and not (warm and has_factor[u] and als_scores is not None):
                strategy = "content" if has_content else "popularity"
            elif model == "content" and not has_content:
                strategy = "popularity"
            cold = strategy != model or not warm
            if strategy == "als":
                scores = als_scores[u]
            elif strategy == "content":
                scores = content_of(u)
            elif strategy == "hybrid":
                w = settings.hybrid_weight
                scores = mixed(als_scores[u], content_scores[u], w, als_z, content_z, u)
            else:
                scores = by_popularity
            for rank, photo in enumerate(top_unseen(scores, mine, settings.k), start=1):
                if strategy == "als" or (strategy == "hybrid" and w * als_z.z(u, als_scores[u, photo])
                                         >= (1 - w) * content_z.z(u, content_scores[u, photo])):
                    reason = als_reason(catalogue, item_factors, photo, mine)
                elif strategy in ("content", "hybrid"):
                    reason = content_reason(catalogue, profiles[u], photo, mine)
                else:
                    reason = popularity_reason(popularity[photo])
                rows.append((user, model, rank, int(photo), str(catalogue.photo_ids[photo]), float(scores[photo]),
                             reason.text, reason.kind, strategy, bool(cold)))
    return rows


def recommend(spark: SparkSession, train: DataFrame, for_users: DataFrame, catalogue: Catalogue,
              models: tuple[str, ...], settings: RecommendSettings, als: ALSFactors | None = None) -> DataFrame:
    """The top ``settings.k`` unseen photos per user of ``for_users`` (user_id) and model, with score, reason,
    strategy and cold_start (SCORED_SCHEMA), learning from ``train`` (user_id, item, weight)."""
    seen = train.groupBy("user_id").agg(F.collect_list("item").alias("seen"), F.collect_list("weight").alias("weights"))
    users = for_users.select("user_id").distinct().join(seen, "user_id", "left")
    if als is not None:
        users = users.join(als.users, "user_id", "left")
    else:
        users = users.withColumn("factor", F.lit(None).cast("array<float>"))
    shared_catalogue = broadcast(spark, catalogue)  # once a step, whatever the number of calls
    shared = broadcast(spark, (als.items if als is not None else None, item_users(train, catalogue)))

    block_size = users_per_block(catalogue.size)

    def score(batches):
        cat, (item_factors, popularity) = shared_catalogue.value, shared.value
        ranking = popularity_ranking(popularity, cat)  # once a task, not once a block
        for batch in batches:
            for start in range(0, len(batch), block_size):
                block = batch.iloc[start:start + block_size].reset_index(drop=True)
                rows = score_block(block, cat, item_factors, popularity, models, settings, ranking)
                if rows:
                    yield pd.DataFrame(rows, columns=SCORED_COLUMNS)

    return users.select("user_id", "seen", "weights", "factor").mapInPandas(score, SCORED_SCHEMA)
