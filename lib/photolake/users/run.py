"""The users stage as the job runs it: the catalogue, users from the chosen source, their interactions,
hidden tastes and profiles, written to the lake with their counts in the run summary."""

from __future__ import annotations

import contextlib

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from photolake import lake
from photolake.errors import PhotolakeError
from photolake.progress import Progress, driver_host
from photolake.runs import RunSummary, TableCounts
from photolake.schemas import USER_TASTES
from photolake.users.catalogue import collect_catalogue
from photolake.users.conversions import conversion_interactions
from photolake.users.profiles import profiles, users_table
from photolake.users.synthetic import (
    SyntheticOptions,
    synthetic_interactions,
    synthetic_tastes,
)


def make_users(spark: SparkSession, lake_dir: str, source: str, options: SyntheticOptions, max_tags: int,
               summary: RunSummary, progress_every_s: float = 5.0) -> None:
    """Write users, user_tastes, interactions and profiles for ``source`` (one of USER_SOURCE_CHOICES)."""
    present = lake.register_views(spark, lake_dir)
    if "photos" not in present:
        raise PhotolakeError(f"the lake at {lake_dir} has no photos table: run ingest first")
    catalogue, attributes = collect_catalogue(spark, present, max_tags)
    if catalogue.size == 0:
        raise PhotolakeError("the photos table is empty: there is nothing for users to like")
    summary.notes.append(f"catalogue: {catalogue.size:,} photos, {len(catalogue.kinds):,} features ("
                         + ", ".join(f"{k} {int((catalogue.kinds == k).sum())}" for k in sorted(set(catalogue.kinds)))
                         + ")")
    parts, tastes, rejected, reasons = [], None, 0, []
    if source in ("conversions", "both"):
        if "conversions" not in present:
            raise PhotolakeError(f"--source {source} needs the conversions table: ingest the release with it")
        real, rejects = conversion_interactions(spark.table("conversions"), spark.table("photos"))
        parts.append(real)
        rejects = rejects.groupBy("reason").count().collect()
        rejected = sum(r["count"] for r in rejects)
        reasons = [f"conversions rejected: {r['count']:,} with {r['reason']}" for r in rejects]
    synthetic = source in ("synthetic", "both")
    shown = Progress("users", options.users, "users", progress_every_s, host=driver_host(spark)) if synthetic else None
    with shown or contextlib.nullcontext():
        if synthetic:
            lake.write_table(synthetic_tastes(spark, catalogue, options), lake_dir, "user_tastes", summary.run_id)
            tastes = lake.read_table(spark, lake_dir, "user_tastes")
            parts.insert(0, synthetic_interactions(spark, catalogue, options, shown.address))
        interactions = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
        lake.write_table(interactions, lake_dir, "interactions", summary.run_id)
        if shown:
            shown.finish(options.users)
    interactions = lake.read_table(spark, lake_dir, "interactions")
    activity = tastes.groupBy("user_id").agg(F.first("activity").alias("activity")) if tastes is not None else None
    if tastes is None:  # no synthetic users this run: no hidden tastes either
        lake.write_table(spark.createDataFrame([], USER_TASTES), lake_dir, "user_tastes", summary.run_id)
    lake.write_table(users_table(interactions, activity), lake_dir, "users", summary.run_id)
    users = lake.read_table(spark, lake_dir, "users")
    lake.write_table(profiles(users, interactions, attributes), lake_dir, "profiles", summary.run_id)

    written = interactions.count()
    counts = TableCounts("interactions", written + rejected, written, rejected, elapsed_s=summary.elapsed_s)
    counts.notes += reasons + [f"{r['source']}: {r['count']:,} interactions" for r in
                               interactions.groupBy("source").count().orderBy("source").collect()]
    summary.add(counts)
    n_users = users.count()
    summary.add(TableCounts("users", n_users, n_users, 0, elapsed_s=summary.elapsed_s))
    n_profiles = lake.read_table(spark, lake_dir, "profiles").count()
    summary.add(TableCounts("profiles", n_users, n_profiles, n_users - n_profiles, elapsed_s=summary.elapsed_s))
    spread = users.agg(F.expr("percentile_approx(photos, array(0.5, 0.9, 0.99))").alias("p"),
                       F.max("photos").alias("most")).first()
    if spread["p"]:
        summary.notes.append(f"photos per user: median {spread['p'][0]}, 90% {spread['p'][1]}, "
                             f"99% {spread['p'][2]}, most {spread['most']}")
