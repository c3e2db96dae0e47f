"""How good the recommendations are, on photos the recommenders never saw.

Ranking metrics are Spark MLlib's RankingEvaluator (binary relevance: a held-out photo is relevant):
precision@k (hits in the top k / k), recall@k (hits / held-out photos), NDCG@k and MAP@k (the mean over
users of the precisions at each hit, over min(k, held-out photos)). Beside them:

- coverage: the share of the catalogue that appears in anyone's list;
- diversity: the mean pairwise content dissimilarity (1 - cosine) within a list;
- taste_match (synthetic users): the share of recommended photos that have one of the user's hidden tastes.

ALS's hyper-parameters are chosen by NDCG@k on a validation split carved from the training data the same
way the test split is carved from all of it, so the test photos never steer the choice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import pandas as pd
from pyspark.ml.evaluation import RankingEvaluator
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from photolake.recommend.models import (
    ALSFactors,
    ALSParams,
    RecommendSettings,
    fit_als,
    item_users,
    recommend,
    score_block,
    users_per_block,
)
from photolake.recommend.scoring import intra_list_diversity
from photolake.recommend.split import holdout
from photolake.session import broadcast
from photolake.users.catalogue import Catalogue

log = logging.getLogger("photolake.recommend")
CONCURRENT_FITS = 4
LOCAL_SCORES = 20_000_000  # validation users x photos that tuning scores on the driver (80 MB of float32)

METRICS = {"precision_at_k": "precisionAtK", "recall_at_k": "recallAtK", "ndcg_at_k": "ndcgAtK",
           "map_at_k": "meanAveragePrecisionAtK"}


def ranked_lists(scored: DataFrame) -> DataFrame:
    """(model, user_id, items): each user's list as catalogue indices, best first."""
    return scored.groupBy("model", "user_id").agg(
        F.transform(F.sort_array(F.collect_list(F.struct("rank", "item"))), lambda r: r["item"]).alias("items"))


def ranking_frame(scored: DataFrame, test: DataFrame) -> DataFrame:
    """(model, user_id, prediction, label) for RankingEvaluator: every test user under every model, an empty
    prediction where a model had nothing for them."""
    relevant = test.groupBy("user_id").agg(F.collect_set(F.col("item").cast("double")).alias("label"))
    models = scored.select("model").distinct()
    lists = ranked_lists(scored).select("model", "user_id", F.transform("items", lambda i: i.cast("double"))
                                        .alias("prediction"))
    return (relevant.crossJoin(models).join(lists, ["model", "user_id"], "left")
            .withColumn("prediction", F.coalesce("prediction", F.array().cast("array<double>"))))


def ranking_metrics(frame: DataFrame, k: int, metrics: tuple[str, ...] = tuple(METRICS)) -> dict[str, dict[str, float]]:
    """model -> {precision_at_k, recall_at_k, ndcg_at_k, map_at_k, users} (or just ``metrics``)."""
    frame = frame.cache()
    out = {}
    for (model,) in frame.select("model").distinct().collect():
        mine = frame.filter(F.col("model") == model)
        out[model] = {name: RankingEvaluator(k=k, metricName=METRICS[name]).evaluate(mine) for name in metrics}
        out[model]["users"] = mine.count()
    frame.unpersist()
    return out


def diversity(spark: SparkSession, scored: DataFrame, catalogue: Catalogue) -> dict[str, float]:
    """model -> mean intra-list diversity over users (lists of two or more photos)."""
    shared = broadcast(spark, catalogue)

    def per_list(batches):
        cat = shared.value
        for batch in batches:
            values = [intra_list_diversity(cat, np.asarray(items, dtype=np.int64)) for items in batch["items"]]
            yield pd.DataFrame({"model": batch["model"], "diversity": values})

    lists = ranked_lists(scored).mapInPandas(per_list, "model string, diversity double")
    means = lists.groupBy("model").agg(F.avg("diversity").alias("diversity"))
    return {r["model"]: r["diversity"] for r in means.collect()}


def taste_match(scored: DataFrame, tastes: DataFrame, attributes: DataFrame) -> dict[str, float]:
    """model -> the share of recommended photos that have at least one of their user's hidden tastes."""
    recommended = scored.select("model", "user_id", "photo_id").distinct()
    matches = (recommended.join(tastes.select("user_id", "kind", "value"), "user_id", "inner")
               .join(attributes.withColumn("match", F.lit(1)), ["photo_id", "kind", "value"], "left")
               .groupBy("model", "user_id", "photo_id").agg(F.max(F.coalesce("match", F.lit(0))).alias("match")))
    return {r["model"]: r["share"] for r in matches.groupBy("model").agg(F.avg("match").alias("share")).collect()}


def evaluate(spark: SparkSession, scored: DataFrame, test: DataFrame, catalogue: Catalogue, k: int,
             tastes: DataFrame | None = None, attributes: DataFrame | None = None) -> pd.DataFrame:
    """One REC_METRICS row per model (as a pandas frame, evaluated_at left to the writer)."""
    scored = scored.cache()
    metrics = ranking_metrics(ranking_frame(scored, test), k)
    coverage = {r["model"]: r["photos"] / max(catalogue.size, 1)
                for r in scored.groupBy("model").agg(F.countDistinct("item").alias("photos")).collect()}
    spread = diversity(spark, scored, catalogue)
    matched = taste_match(scored, tastes, attributes) if tastes is not None and attributes is not None else {}
    scored.unpersist()
    rows = [{"model": model, "k": k, **values, "coverage": coverage.get(model, 0.0), "diversity": spread.get(model),
             "taste_match": matched.get(model)} for model, values in sorted(metrics.items())]
    return pd.DataFrame(rows)


def ndcg_at_k(predictions: list[list[int]], relevant: list[set[int]], k: int) -> float:
    """The mean NDCG@k with binary relevance, as Spark's RankingMetrics.ndcgAt computes it (a user with no
    prediction scores 0)."""
    scores = []
    for predicted, truth in zip(predictions, relevant):
        n = min(max(len(predicted), len(truth)), k)
        gains = 1.0 / np.log(np.arange(n) + 2.0)
        dcg = sum(g for g, item in zip(gains, predicted) if item in truth)
        scores.append(dcg / gains[:len(truth)].sum() if truth else 0.0)
    return float(np.mean(scores)) if scores else float("nan")


@dataclass
class LocalValidation:
    """A validation split small enough to score on the driver: each validation user's training photos
    (user_id, seen, weights), their held-out photos, and the photos' popularity in training."""

    users: pd.DataFrame
    relevant: list[set[int]]
    popularity: np.ndarray


def local_validation(fit: DataFrame, valid: DataFrame, catalogue: Catalogue) -> LocalValidation | None:
    """The split for driver-side scoring, or None when its users x photos are more than LOCAL_SCORES."""
    held = valid.groupBy("user_id").agg(F.collect_set("item").alias("relevant"))
    if held.count() * catalogue.size > LOCAL_SCORES:
        return None
    seen = (fit.join(held.select("user_id"), "user_id", "inner")
            .groupBy("user_id").agg(F.collect_list("item").alias("seen"), F.collect_list("weight").alias("weights")))
    users = held.join(seen, "user_id", "left").orderBy("user_id").toPandas()
    return LocalValidation(users[["user_id", "seen", "weights"]], [set(r) for r in users["relevant"]],
                           item_users(fit, catalogue))


def local_ndcg(validation: LocalValidation, factors: ALSFactors, catalogue: Catalogue,
               settings: RecommendSettings) -> float:
    """Validation NDCG@k of ALS (cold users get its fallbacks, as in recommend), scored on the driver."""
    factor_of = {r.user_id: r.factor for r in factors.users.collect()}
    users = validation.users.assign(factor=[factor_of.get(u) for u in validation.users["user_id"]])
    ranked: dict[str, list[tuple[int, int]]] = defaultdict(list)
    block_size = users_per_block(catalogue.size)
    for start in range(0, len(users), block_size):
        block = users.iloc[start:start + block_size].reset_index(drop=True)
        for user, _, rank, item, *_ in score_block(block, catalogue, factors.items, validation.popularity, ("als",),
                                                   settings):
            ranked[user].append((rank, item))
    predictions = [[item for _, item in sorted(ranked[u])] for u in users["user_id"]]
    return ndcg_at_k(predictions, validation.relevant, settings.k)


def tune_als(spark: SparkSession, train: DataFrame, catalogue: Catalogue, grid: list[ALSParams],
             settings: RecommendSettings, fraction: float, min_photos: int, seed: int,
             on_step: Callable[[], None] = lambda: None) -> tuple[ALSParams, pd.DataFrame]:
    """(the best parameters by validation NDCG@k, one row per grid point: its parameters and NDCG@k);
    ``on_step`` is called after each grid point."""
    fit, valid = holdout(train, fraction, min_photos)
    fit, valid = fit.cache(), valid.cache()
    local = local_validation(fit, valid, catalogue)  # small: scored on the driver, no Spark job per grid point

    def score(params: ALSParams) -> dict:
        factors = fit_als(fit, catalogue.size, params, seed)
        if local is not None:
            ndcg = local_ndcg(local, factors, catalogue, settings)
        else:
            scored = recommend(spark, fit, valid, catalogue, ("als",), settings, factors)
            ndcg = ranking_metrics(ranking_frame(scored, valid), settings.k, ("ndcg_at_k",))["als"]["ndcg_at_k"]
        log.info("ALS %s: validation NDCG@%d %s", params, settings.k, ndcg)
        on_step()
        return {**asdict(params), "k": settings.k, "ndcg_at_k": ndcg}

    # Each grid point is a chain of small Spark jobs; side by side they keep the cores busy (36 -> 25 s for
    # 8 points on the demo's 1,000 users, 2 cores)
    with ThreadPoolExecutor(max_workers=min(len(grid), CONCURRENT_FITS)) as pool:
        rows = list(pool.map(score, grid))
    fit.unpersist()
    valid.unpersist()
    table = pd.DataFrame(rows)
    best = int(table["ndcg_at_k"].fillna(-1).idxmax())
    table["chosen"] = table.index == best
    return grid[best], table
