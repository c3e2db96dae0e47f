"""Which photos a download run works on, and how its results merge into the downloads table.
DataFrame in, DataFrame out.

Work per photo:
  fetch  no ok row yet (or a failed one with --retry-failed): fetch it (or adopt a file a killed run left)
  check  an ok row: make sure its file is still there; refetch only if it is gone
A failed row without --retry-failed, and every photo outside --where, keeps its row as it is.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from photolake.errors import PhotolakeError
from photolake.schemas import DOWNLOADS

KEPT = "_kept"  # a check that found its file: the previous row stands


def photos_in_scope(photos: DataFrame, where: str | None) -> DataFrame:
    """photo_id and url of the photos selected by ``--where`` (a SQL condition on the photos table)."""
    selected = photos
    if where:
        try:
            selected = photos.filter(F.expr(where))
            selected.schema  # noqa: B018 - analyse now, so a bad condition is a clear error
        except Exception as exc:  # noqa: BLE001 - Spark's parse and analysis errors
            raise PhotolakeError(f"--where {where!r} is not a valid condition on photos: "
                                 f"{str(exc).splitlines()[0]}") from None
    return selected.select("photo_id", F.col("photo_image_url").alias("url"))


def plan(scope: DataFrame, previous: DataFrame | None, retry_failed: bool, limit: int | None) -> DataFrame:
    """photo_id, url, prev_path, work ('fetch' | 'check'); at most ``limit`` fetches, by photo_id order."""
    if previous is None:
        fetch = scope.withColumn("prev_path", F.lit(None).cast("string"))
        check = None
    else:
        joined = scope.join(previous.select("photo_id", F.col("status").alias("prev_status"),
                                            F.col("path").alias("prev_path")), "photo_id", "left")
        needs_fetch = F.col("prev_status").isNull()
        if retry_failed:
            needs_fetch = needs_fetch | (F.col("prev_status") != "ok")
        fetch = joined.filter(needs_fetch).drop("prev_status")
        check = joined.filter(F.col("prev_status") == "ok").drop("prev_status")
    if limit is not None:
        fetch = fetch.orderBy("photo_id").limit(limit)
    work = fetch.withColumn("work", F.lit("fetch"))
    if check is not None:
        work = work.unionByName(check.withColumn("work", F.lit("check")))
    return work


def merge(previous: DataFrame | None, results: DataFrame) -> DataFrame:
    """The new downloads table: one row per photo, this run's rows replacing the previous ones."""
    fresh = results.filter(~F.col(KEPT)).select(*DOWNLOADS.fieldNames())
    if previous is None:
        return fresh
    return previous.select(*DOWNLOADS.fieldNames()).join(fresh.select("photo_id"), "photo_id", "left_anti") \
        .unionByName(fresh)
