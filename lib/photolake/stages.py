"""The pipeline's steps: each a function of (session, effective config, run summary) that writes lake
tables, and its declaration (photolake.stage.Stage) in ``STAGES``, in the pipeline's order. A job in jobs/
runs one step (photolake.stage.stage_job); the pipeline job runs them all in one Spark application."""

from __future__ import annotations

from itertools import product

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from photolake import lake, storage
from photolake.cli import Flag
from photolake.config import Config, bind
from photolake.detect.models import ModelFileError, ModelPaths, resolve_model
from photolake.detect.run import DetectSettings, detect_all, detect_counts
from photolake.download.fetch import FetchSettings
from photolake.download.plan import merge, photos_in_scope, plan
from photolake.download.run import download_counts, fetch_all, storage_failure
from photolake.errors import LakeTableMissing, PhotolakeError, StepSkipped
from photolake.export import (
    JSON_EXPORTS,
    SQLITE_TABLES,
    write_json_records,
    write_sqlite,
)
from photolake.extract.run import extract_all, extract_counts, observe_statuses
from photolake.image_files import files_from_dir, files_from_downloads
from photolake.ingest.load import ingest_release
from photolake.ingest.reader import ZipLimits
from photolake.ingest.release import Release, find_release
from photolake.progress import Progress, driver_host
from photolake.runs import RunSummary, TableCounts
from photolake.sample.release import PAINTED_NOTE, painted_images
from photolake.schemas import DATASET_TABLES, DOWNLOADS, LAKE_TABLES, RECOMMEND_MODELS
from photolake.stage import Stage
from photolake.users.run import make_users
from photolake.users.synthetic import SyntheticOptions

# cluster, recommend and report import Spark ML and matplotlib (about 1.2 s) inside their functions, so
# the other jobs start without them.

ARROW_BATCH = "spark.sql.execution.arrow.maxRecordsPerBatch"


def release_of(config: Config) -> Release:
    """The release ingest reads, restricted to ingest.tables; a missing one is a one-line error."""
    release = find_release(config.paths.dataset)
    return release.only(config.ingest.tables) if config.ingest.tables else release


def ingest(spark: SparkSession, config: Config, summary: RunSummary) -> None:
    release = release_of(config)
    summary.notes.append(f"release at {release.location}; lake at {lake.table_path(config.paths.lake, '')}")
    if not storage.has_scheme(release.location) and painted_images(release.location):
        summary.notes.append(PAINTED_NOTE)
    limits = ZipLimits(config.ingest.max_member_bytes, config.ingest.max_zip_ratio)
    for counts in ingest_release(spark, release, config.paths.lake, summary.run_id, config.ingest.batch_rows,
                                 config.ingest.release, limits, config.ingest.lat_lon):
        summary.add(counts)


def fetch_settings(config: Config) -> FetchSettings:
    width = config.download.width
    return bind(FetchSettings, config, "download", width=None if width == "original" else int(width),
                allow_hosts=tuple(dict.fromkeys([*config.download.allow_hosts, *config.download.extra_hosts])))


def download(spark: SparkSession, config: Config, summary: RunSummary) -> None:
    settings = fetch_settings(config)
    lake_dir, images = config.paths.lake, storage.absolute(config.paths.images)
    photos = lake.read_table(spark, lake_dir, "photos")
    try:
        previous = lake.read_table(spark, lake_dir, "downloads", DOWNLOADS)
    except LakeTableMissing:
        previous = None
    work = plan(photos_in_scope(photos, config.download.where or None), previous, config.download.retry_failed,
                config.download.limit or None)
    # Each task costs Spark 0.1-0.2 s of a core: tasks that only store bytes are made large; a local resize
    # costs ~20 ms a photo, so there smaller tasks balance the cores and report progress sooner.
    rows_per_task = (config.download.resize_rows_per_partition if settings.resizes_locally
                     else config.download.rows_per_partition)
    results, total, by_status = fetch_all(spark, work, settings, images, config.download.rate_per_host,
                                          config.download.connections_per_host, config.download.threads,
                                          rows_per_task, config.progress.every_s)
    lake.write_table(merge(previous, results), lake_dir, "downloads", summary.run_id)
    summary.add(download_counts(by_status, total, summary.elapsed_s))
    failure = storage_failure(by_status, images)
    if failure:
        raise PhotolakeError(failure)


def progress(spark: SparkSession, config: Config, label: str, total: int | None, unit: str = "images",
             **options) -> Progress:
    """A step's progress line, which the executors report to."""
    return Progress(label, total, unit, config.progress.every_s, host=driver_host(spark), **options)


def image_files(spark: SparkSession, config: Config, section: str) -> tuple[DataFrame, list[str]]:
    """The files extract and detect read: the downloads' ok rows, or the image files of <section>.from_dir;
    and notes on what a folder's walk left out."""
    settings = getattr(config, section)
    if settings.from_dir:
        return files_from_dir(spark, settings.from_dir, settings.follow_links)
    return files_from_downloads(lake.read_table(spark, config.paths.lake, "downloads")), []


def extract(spark: SparkSession, config: Config, summary: RunSummary) -> None:
    lake_dir = config.paths.lake
    files, notes = image_files(spark, config, "extract")
    total = files.count()
    with progress(spark, config, "extract", total) as shown:
        rows, observed = observe_statuses(extract_all(files, config.extract.colors,
                                                      config.extract.rows_per_partition, total, shown.address))
        lake.write_table(rows, lake_dir, "image_metadata", summary.run_id)
        shown.finish(total)
    counts = extract_counts(observed.get, summary.elapsed_s)
    counts.notes += notes
    summary.add(counts)


def model_paths(config: Config) -> ModelPaths:
    return resolve_model(config.detect.model, weights=config.detect.weights or None,
                         cfg=config.detect.cfg or None,
                         models_dir=config.detect.models_dir or None, cache_dir=config.detect.cache_dir,
                         mirror=config.detect.mirror or None)


def check_model(config: Config) -> None:
    """A required model whose files can be neither found nor downloaded: one line before Spark starts."""
    if config.detect.required:
        model_paths(config)


def detect(spark: SparkSession, config: Config, summary: RunSummary) -> None:
    try:
        paths = model_paths(config)
    except ModelFileError as missing:
        if config.detect.required:
            raise
        raise StepSkipped(f"no detections: {missing} (detect.required = false lets the pipeline go on without "
                          f"them)") from None
    annotate = config.detect.annotate_dir
    lake_dir = config.paths.lake
    settings = bind(DetectSettings, config, "detect", model=paths.spec.name,
                    threads=int(spark.conf.get("spark.task.cpus", "1")),
                    annotate_dir=storage.absolute(annotate) if annotate else None)
    files, notes = image_files(spark, config, "detect")
    total = files.count()
    with progress(spark, config, f"detect ({settings.model})", total) as shown:
        rows = detect_all(files, paths, settings, config.detect.rows_per_partition, total, shown.address)
        lake.replace_partitions(rows, lake_dir, "detections", summary.run_id, [(settings.model,)])
        shown.finish(total)
    counts = detect_counts(lake.read_table(spark, lake_dir, "detections").filter(f"model = '{settings.model}'"),
                           summary.elapsed_s)
    counts.notes += notes
    summary.add(counts)


def cluster(spark: SparkSession, config: Config, summary: RunSummary) -> None:
    from photolake.cluster.features import photo_features
    from photolake.cluster.model import fit_clusters, summarise

    lake_dir = config.paths.lake
    present = lake.register_views(spark, lake_dir)
    metadata = lake.read_table(spark, lake_dir, "image_metadata")
    optional = {name: spark.table(name) if name in present else None for name in ("photos", "detections", "photo_tags")}
    features, numeric = photo_features(metadata, optional["photos"], optional["detections"], optional["photo_tags"],
                                       config.cluster.top_objects)
    result = fit_clusters(features, numeric, config.cluster.k or None, (config.cluster.k_min, config.cluster.k_max),
                          config.cluster.tag_dimensions, config.cluster.seed)
    lake.write_table(result.clusters, lake_dir, "clusters", summary.run_id)
    clusters = lake.read_table(spark, lake_dir, "clusters")
    lake.write_table(summarise(clusters, metadata, optional["photo_tags"], optional["detections"]), lake_dir,
                     "cluster_summary", summary.run_id)
    images, clustered = metadata.count(), clusters.count()
    counts = TableCounts("clusters", images, clustered, images - clustered, elapsed_s=summary.elapsed_s)
    counts.notes.append(f"k = {result.k}" + ("" if config.cluster.k else " (best silhouette: " + ", ".join(
        f"k={k} {s:.3f}" for k, s in result.silhouettes.items()) + ")"))
    counts.notes.append(f"not clustered: {images - clustered:,} images whose status is not ok")
    counts.notes.append("features: " + ", ".join(numeric[:6]) + f"... ({len(numeric)} numeric)"
                        + (", tags" if optional["photo_tags"] is not None else ""))
    summary.add(counts)
    for row in lake.read_table(spark, lake_dir, "cluster_summary").orderBy(F.desc("size")).collect():
        summary.notes.append(f"cluster {row['cluster']}: {row['description']}")


def users(spark: SparkSession, config: Config, summary: RunSummary) -> None:
    options = bind(SyntheticOptions, config, "users")
    make_users(spark, config.paths.lake, config.users.source, options, config.users.max_tags, summary,
               config.progress.every_s)


def recommend(spark: SparkSession, config: Config, summary: RunSummary) -> None:
    from photolake.recommend.models import ALSParams, RecommendSettings
    from photolake.recommend.run import Holdout, run_recommend

    models = RECOMMEND_MODELS if config.recommend.model == "all" else (config.recommend.model,)
    settings = bind(RecommendSettings, config, "recommend")
    grid = [ALSParams(int(rank), float(reg), float(alpha), config.recommend.max_iter) for rank, reg, alpha in
            product(config.recommend.ranks, config.recommend.reg_params, config.recommend.alphas)]
    split = bind(Holdout, config, "recommend")
    run_recommend(spark, config.paths.lake, models, settings, grid, split, config.users.max_tags, summary,
                  config.progress.every_s)


def report(spark: SparkSession, config: Config, summary: RunSummary) -> None:
    from photolake.report.build import write_report

    lake_dir, out = config.paths.lake, storage.absolute(config.paths.report)
    present = lake.register_views(spark, lake_dir)
    made = write_report(spark, present, storage.absolute(lake_dir), out)
    shown = [c for c in made if c.png or c.statement]  # a chart of one value is said in a sentence instead
    counts = TableCounts("report charts", len(made), len(shown), len(made) - len(shown), elapsed_s=summary.elapsed_s)
    counts.notes += [f"not drawn: {c.title}: {c.missing}" for c in made if c.missing]
    summary.add(counts)
    summary.notes.append(f"report: {out}/index.html")


def export(spark: SparkSession, config: Config, summary: RunSummary) -> None:
    lake_dir, out = config.paths.lake, storage.absolute(config.paths.export).rstrip("/")
    present = lake.register_views(spark, lake_dir)
    rows_per_partition = config.export.rows_per_partition
    for name, (needs, sql, order) in JSON_EXPORTS.items():
        missing = [t for t in needs if t not in present]
        if missing:
            summary.notes.append(f"{name}: skipped, the lake has no {', '.join(missing)} table")
            continue
        records = write_json_records(spark.sql(sql), f"{out}/{name}", rows_per_partition, order)
        summary.add(TableCounts(name, records, records, 0, elapsed_s=summary.elapsed_s))
    written = write_sqlite(lake_dir, [t for t in SQLITE_TABLES if t in present], f"{out}/photolake.sqlite")
    database = TableCounts("photolake.sqlite", sum(written.values()), sum(written.values()), 0,
                           elapsed_s=summary.elapsed_s)
    database.notes.append("tables: " + ", ".join(f"{table} {rows:,}" for table, rows in written.items()))
    summary.add(database)
    summary.notes.append(f"exports: {out}")


# The pipeline, in order. Report and export read every table but the bookkeeping ones (_runs, _rejects).
EVERY_TABLE = tuple(t for t in LAKE_TABLES if not t.startswith("_"))
STAGES: dict[str, Stage] = {stage.name: stage for stage in (
    Stage("ingest", ingest, writes=("photos",), optional_writes=tuple(t for t in DATASET_TABLES if t != "photos"),
          settings=("ingest.", "paths.dataset"), inputs=("paths.dataset",), check=release_of,
          flags=(Flag("--tables", "ingest.tables", "T1,T2"), Flag("--release", "ingest.release", "VERSION"),
                 Flag("--lat-lon", "ingest.lat_lon", "auto|swapped|as_given"))),
    Stage("download", download, reads=("photos",), writes=("downloads",), settings=("download.", "paths.images"),
          flags=(Flag("--limit", "download.limit"), Flag("--where", "download.where", "SQL"),
                 Flag("--width", "download.width", "PX|original"), Flag("--threads", "download.threads"),
                 Flag("--timeout", "download.timeout_s", "S"), Flag("--retries", "download.retries"),
                 Flag("--allow-hosts", "download.extra_hosts", "H1,H2"),
                 Flag("--retry-failed", "download.retry_failed"))),
    Stage("extract", extract, reads=("downloads",), writes=("image_metadata",), settings=("extract.",),
          inputs=("extract.from_dir",), spark_conf={ARROW_BATCH: "extract.arrow_batch_rows"},
          flags=(Flag("--from-dir", "extract.from_dir", "DIR"), Flag("--colors", "extract.colors", "K"),
                 Flag("--follow-links", "extract.follow_links"))),
    Stage("detect", detect, reads=("downloads",), writes=("detections",), settings=("detect.",),
          inputs=("detect.from_dir", "detect.weights", "detect.cfg"), check=check_model,
          spark_conf={ARROW_BATCH: "detect.arrow_batch_rows"},
          flags=(Flag("--from-dir", "detect.from_dir", "DIR"), Flag("--model", "detect.model", "NAME"),
                 Flag("--conf", "detect.conf", "P"), Flag("--nms", "detect.nms", "IOU"),
                 Flag("--size", "detect.size", "PX"), Flag("--annotate", "detect.annotate_dir", "DIR"),
                 Flag("--weights", "detect.weights", "FILE"), Flag("--cfg", "detect.cfg", "FILE"),
                 Flag("--follow-links", "detect.follow_links"), Flag("--backend", "detect.backend", "ENGINE"),
                 Flag("--batch-size", "detect.batch_size"))),
    Stage("cluster", cluster, reads=("photos", "keywords", "image_metadata", "detections"),
          writes=("clusters", "cluster_summary"), settings=("cluster.",),
          flags=(Flag("--k", "cluster.k"), Flag("--k-min", "cluster.k_min"), Flag("--k-max", "cluster.k_max"))),
    Stage("users", users, reads=("photos", "keywords", "conversions", "image_metadata", "detections", "clusters"),
          writes=("users", "user_tastes", "interactions", "profiles"), settings=("users.",),
          flags=(Flag("--users", "users.users"), Flag("--source", "users.source", "SOURCE"),
                 Flag("--seed", "users.seed"))),
    Stage("recommend", recommend, reads=("photos", "keywords", "image_metadata", "detections", "clusters", "users",
                                         "user_tastes", "interactions"),
          writes=("recommendations", "rec_metrics"), optional_writes=("rec_tuning",),
          settings=("recommend.", "users.max_tags"),
          flags=(Flag("--k", "recommend.k"), Flag("--model", "recommend.model", "MODEL"))),
    Stage("report", report, reads=EVERY_TABLE, writes=("report:index.html",), settings=("paths.report",),
          flags=(Flag("--out", "paths.report", "DIR"),)),
    Stage("export", export, reads=EVERY_TABLE, writes=("export:photolake.sqlite",),
          settings=("paths.export", "export."),
          flags=(Flag("--out", "paths.export", "DIR"),)),
)}
