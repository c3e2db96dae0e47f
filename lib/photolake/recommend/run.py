"""The recommend stage as the job runs it: pairs from interactions, a time-based holdout, ALS tuned on a
validation split, every model evaluated on the held-out photos, then refitted on everything and the top k
written per user with reasons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from photolake import lake
from photolake.config import DEFAULTS
from photolake.errors import PhotolakeError
from photolake.progress import Progress
from photolake.recommend.evaluate import evaluate, tune_als
from photolake.recommend.models import ALSParams, RecommendSettings, fit_als, recommend
from photolake.recommend.split import holdout, user_photos
from photolake.runs import RunSummary, TableCounts
from photolake.schemas import REC_METRICS, REC_TUNING, RECOMMENDATIONS
from photolake.session import cached
from photolake.users.catalogue import collect_catalogue, item_frame


@dataclass(frozen=True)
class Holdout:
    """The time-based split: recommend.test_fraction, min_test_photos, seed (photolake.config)."""

    test_fraction: float = DEFAULTS["recommend.test_fraction"]  # of each user's photos, the latest
    min_test_photos: int = DEFAULTS["recommend.min_test_photos"]  # users with fewer photos are not tested
    seed: int = DEFAULTS["recommend.seed"]


def _replace_models(frame, lake_dir: str, table: str, models: tuple[str, ...], run_id: str, schema) -> None:
    """Write ``frame`` (rows of ``models``) as ``table``'s parts of those models, keeping the other models'."""
    lake.replace_partitions(frame.select(*[f.name for f in schema.fields]), lake_dir, table, run_id,
                            [(m,) for m in models])


RANK_SHARE = 0.1  # an ALS rank above this share of the photos only overfits: that many factors per photo


def sized_grid(grid: list[ALSParams], photos: int) -> tuple[list[ALSParams], list[int]]:
    """The grid without ranks over a tenth of the photos (the smallest rank stays), and the ranks left out."""
    smallest = min(p.rank for p in grid)
    kept = [p for p in grid if p.rank <= max(smallest, RANK_SHARE * photos)]
    return kept, sorted({p.rank for p in grid} - {p.rank for p in kept})


def run_recommend(spark: SparkSession, lake_dir: str, models: tuple[str, ...], settings: RecommendSettings,
                  grid: list[ALSParams], split: Holdout, max_tags: int, summary: RunSummary,
                  progress_every_s: float = 5.0) -> None:
    """Write rec_tuning (when ALS is among ``models``), rec_metrics and recommendations for ``models``."""
    with Progress("recommend", None, "steps", progress_every_s, serve=False) as shown:
        _recommend(spark, lake_dir, models, settings, grid, split, max_tags, summary, shown)


def _recommend(spark: SparkSession, lake_dir: str, models: tuple[str, ...], settings: RecommendSettings,
               grid: list[ALSParams], split: Holdout, max_tags: int, summary: RunSummary, shown: Progress) -> None:
    present = lake.register_views(spark, lake_dir)
    if "interactions" not in present:
        raise PhotolakeError(f"the lake at {lake_dir} has no interactions table: run the users job first")
    catalogue, attributes = collect_catalogue(spark, present, max_tags)
    interactions = spark.table("interactions")
    all_pairs = cached(user_photos(interactions))
    pairs = cached(all_pairs.join(item_frame(spark, catalogue.photo_ids), "photo_id", "inner"))
    n_pairs, n_all = pairs.count(), all_pairs.count()
    train, test = holdout(pairs, split.test_fraction, split.min_test_photos)
    train, test = cached(train), cached(test)
    now = datetime.now(timezone.utc)

    grid, dropped = sized_grid(grid, catalogue.size)
    if dropped:
        summary.notes.append(f"ALS ranks over a tenth of the {catalogue.size:,} photos left out of the grid: "
                             + ", ".join(map(str, dropped)))
    uses_als = bool({"als", "hybrid"} & set(models))
    shown.total = (len(grid) if uses_als else 0) + 2  # the grid, the evaluation, the final lists
    params = grid[0]
    if uses_als:
        params, tuning = tune_als(spark, train, catalogue, grid, settings, split.test_fraction, split.min_test_photos,
                                  split.seed, shown.add)
        tuning["tuned_at"] = now
        lake.write_table(spark.createDataFrame(tuning[[f.name for f in REC_TUNING.fields]], REC_TUNING),
                         lake_dir, "rec_tuning", summary.run_id, files=1)
        summary.notes.append(f"ALS chosen by validation NDCG@{settings.k}: rank {params.rank}, regParam "
                             f"{params.reg_param}, alpha {params.alpha}, maxIter {params.max_iter} "
                             f"(of {len(grid)} tried)")
    factors = fit_als(train, catalogue.size, params, split.seed) if uses_als else None
    scored = recommend(spark, train, test, catalogue, models, settings, factors)
    tastes = spark.table("user_tastes") if "user_tastes" in present else None
    metrics = evaluate(spark, scored, test, catalogue, settings.k, tastes, attributes)
    metrics["evaluated_at"] = now
    shown.add()
    _replace_models(spark.createDataFrame(metrics[[f.name for f in REC_METRICS.fields]], REC_METRICS),
                    lake_dir, "rec_metrics", models, summary.run_id, REC_METRICS)
    for row in metrics.itertuples():
        summary.notes.append(f"{row.model:<10} P@{row.k} {row.precision_at_k:.3f}  R@{row.k} {row.recall_at_k:.3f}  "
                             f"NDCG@{row.k} {row.ndcg_at_k:.3f}  MAP@{row.k} {row.map_at_k:.3f}  coverage "
                             f"{row.coverage:.2f}  diversity {row.diversity or 0:.2f}"
                             + (f"  taste match {row.taste_match:.2f}" if pd.notna(row.taste_match) else "")
                             + f"  ({row.users:,} test users)")

    final = fit_als(pairs, catalogue.size, params, split.seed) if uses_als else None
    users = spark.table("users") if "users" in present else interactions.select("user_id").distinct()
    recommendations = recommend(spark, pairs, users, catalogue, models, settings, final)
    _replace_models(recommendations, lake_dir, "recommendations", models, summary.run_id, RECOMMENDATIONS)
    shown.add()
    written = lake.read_table(spark, lake_dir, "recommendations").filter(F.col("model").isin(list(models)))
    n_users = users.select("user_id").distinct().count()
    counts = TableCounts("recommendations", n_users * len(models),
                         written.select("user_id", "model").distinct().count(), 0, elapsed_s=summary.elapsed_s)
    counts.rows_rejected = counts.rows_in - counts.rows_out
    if counts.rows_rejected:
        counts.notes.append(f"{counts.rows_rejected:,} user lists empty: they have seen every photo")
    counts.notes += [f"{r['model']}: {r['n']:,} rows, {r['cold']:,} cold-start ({r['strategies']})" for r in
                     written.groupBy("model").agg(F.count("*").alias("n"), F.count_if("cold_start").alias("cold"),
                                                  F.concat_ws(", ", F.array_sort(F.collect_set("strategy")))
                                                  .alias("strategies")).orderBy("model").collect()]
    counts.notes.append(f"user-photo pairs: {n_pairs:,} learnt from, {n_all - n_pairs:,} with photos not in the "
                        f"catalogue left out; {test.count():,} held out for testing")
    summary.add(counts)
