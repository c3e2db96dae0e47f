"""Running the fetches on the executors (mapInPandas, many threads per partition over one pool of
connections) with the politeness budget split across the tasks that run at once, and progress on the driver."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Iterator

import cv2
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, StructField, StructType

from photolake.download.fetch import (
    DownloadResult,
    Fetcher,
    FetchFailure,
    FetchSettings,
    HostLimiter,
    StoredImages,
)
from photolake.download.plan import KEPT
from photolake.progress import Progress, driver_host, reporter
from photolake.runs import TableCounts, by_status_note
from photolake.schemas import DOWNLOAD_STATUSES, DOWNLOADS
from photolake.session import cached, partitions_for

log = logging.getLogger(__name__)

# A kept row (its file still there) carries only photo_id and _kept: every other field may be null here.
RESULT_SCHEMA = StructType([StructField(f.name, f.dataType, True) for f in DOWNLOADS.fields]
                           + [StructField(KEPT, BooleanType(), False)])


@dataclass(frozen=True)
class Budget:
    """What one task may use: its share of the per-host rate and connections, and its threads."""
    rate_per_host: float
    connections_per_host: int
    threads: int


def task_budget(rate_per_host: float, connections_per_host: int, threads: int, concurrent_tasks: int) -> Budget:
    """Split the per-host budget over the tasks that run at the same time, so it holds for the whole job."""
    tasks = max(1, concurrent_tasks)
    rate = rate_per_host / tasks if rate_per_host > 0 else 0.0
    connections = max(1, connections_per_host // tasks) if connections_per_host > 0 else 0
    return Budget(rate, connections, max(1, min(threads, connections) if connections else threads))


def handle(fetcher: Fetcher, stored: StoredImages, photo_id: str, url: str | None, prev_path: str | None,
           work: str) -> dict:
    """One photo: keep an ok row whose file is there, adopt a complete file a killed run left, else fetch."""
    try:
        if work == "check" and prev_path and stored.has(prev_path):
            return {"photo_id": photo_id, KEPT: True}
        existing = stored.find(photo_id)
        result = fetcher.adopt(photo_id, url, existing) if existing else None
        if result is None:
            result = fetcher.fetch(photo_id, url)
    except FetchFailure as failure:
        result = DownloadResult(photo_id, url, status=failure.status, error=failure.error)
    except OSError as exc:  # the images folder itself: unreadable, gone
        result = DownloadResult(photo_id, url, status="write_error", error=f"the images folder: {exc.strerror or exc}")
    return {**asdict(result), KEPT: False}


def result_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows as a frame Arrow converts exactly: object columns (None stays null, never NaN), UTC times."""
    frame = pd.DataFrame([{name: row.get(name) for name in RESULT_SCHEMA.fieldNames()} for row in rows],
                         columns=RESULT_SCHEMA.fieldNames(), dtype=object)
    frame["downloaded_at"] = pd.to_datetime(frame["downloaded_at"], utc=True)
    frame[KEPT] = frame[KEPT].astype(bool)
    return frame


def download_function(settings: FetchSettings, images_root: str, budget: Budget, progress_address: str | None):
    """The mapInPandas function: one Fetcher (connection pool, limiter) per task, ``threads`` in flight, each
    photo reported to the driver's progress as it is done."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        cv2.setNumThreads(1)  # parallelism comes from the task's threads; OpenCV's own would oversubscribe
        limiter = HostLimiter(budget.rate_per_host, budget.connections_per_host)
        fetcher = Fetcher(settings, images_root, limiter, pool_size=budget.threads)
        stored = StoredImages(images_root)
        report = reporter(progress_address)

        def one(row) -> dict:
            result = handle(fetcher, stored, row.photo_id, row.url, row.prev_path, row.work)
            if report:
                report.add(1, ok=int(result[KEPT] or result.get("status") == "ok"),
                           bytes=0 if result[KEPT] else result.get("bytes") or 0)
            return result

        try:
            with ThreadPoolExecutor(budget.threads) as pool:
                for batch in batches:
                    yield result_frame(list(pool.map(one, batch.itertuples(index=False))))
        finally:
            fetcher.close()

    return run


def download_figures(counts: dict, seconds: float) -> str:
    """The download's own figures on the progress line: ok, failed, MB/s."""
    ok = counts.get("ok", 0)
    return (f"ok {ok:,.0f}, failed {counts['done'] - ok:,.0f}, "
            f"{counts.get('bytes', 0) / max(seconds, 1e-9) / 1e6:,.2f} MB/s")


def fetch_all(spark: SparkSession, work: DataFrame, settings: FetchSettings, images_root: str,
              rate_per_host: float, connections_per_host: int, threads: int, rows_per_partition: int,
              progress_every_s: float) -> tuple[DataFrame, int, list[Row]]:
    """Run the fetches once (results persisted: later reads must not fetch again), counting them by status
    in the same Spark job; returns the results, the number of photos worked on and the counts."""
    total = work.count()
    parallelism = spark.sparkContext.defaultParallelism
    partitions = partitions_for(spark, total, rows_per_partition)
    budget = task_budget(rate_per_host, connections_per_host, threads, min(partitions, parallelism))
    log.debug("download: %d photos in %d partitions; per task: %.1f requests/s per host, %d connections, %d threads",
              total, partitions, budget.rate_per_host, budget.connections_per_host, budget.threads)
    with Progress("download", total, "images", progress_every_s, extra=download_figures,
                  host=driver_host(spark)) as progress:
        function = download_function(settings, images_root, budget, progress.address)
        results = work.repartition(partitions).mapInPandas(function, RESULT_SCHEMA)
        results = cached(results, StorageLevel.DISK_ONLY)
        by_status = results.groupBy("status").agg(F.count(F.lit(1)).alias("n"), F.sum("attempts").alias("requests"),
                                                  F.sum("bytes").alias("bytes"),
                                                  F.first("error", ignorenulls=True).alias("an_error")).collect()
        progress.finish(total, ok=sum(r["n"] for r in by_status if r["status"] in ("ok", None)),
                        bytes=sum(r["bytes"] or 0 for r in by_status))
    return results, total, by_status


def download_counts(by_status: list[Row], total: int, elapsed_s: float) -> TableCounts:
    """The run summary's row from fetch_all's counts (status null: a kept row): ok (fetched, adopted or
    already there) vs failed, counts per status, and one error of each failing status."""
    photos = {r["status"] or "kept": r["n"] for r in by_status}
    requests = sum(r["requests"] or 0 for r in by_status)
    kept = photos.pop("kept", 0)
    ok = photos.get("ok", 0)
    counts = TableCounts("downloads", total, ok + kept, sum(n for s, n in photos.items() if s != "ok"),
                         elapsed_s=elapsed_s)
    counts.notes.append(f"already there: {kept:,}; fetched or adopted: {ok:,}; requests made: {requests:,}")
    counts.notes.append(by_status_note(photos, DOWNLOAD_STATUSES))
    counts.notes += [f"{r['status']}, e.g.: {r['an_error']}" for r in sorted(by_status, key=lambda r: -r["n"])
                     if r["status"] not in (None, "ok") and r["an_error"]]
    return counts


def storage_failure(by_status: list[Row], images_root: str) -> str | None:
    """The one-line error of a run that could not store some images (a full disk, no permission), or None."""
    failed = next((r for r in by_status if r["status"] == "write_error"), None)
    if failed is None:
        return None
    return (f"{failed['n']:,} images could not be stored under {images_root} ({failed['an_error']}); the downloads "
            f"table records them as write_error and keeps every image stored. Free space or fix the permissions, "
            f"then run download again: it fetches only what is missing")
