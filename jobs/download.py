"""Download the photos' images over HTTP on the executors: fast, politely, resumably.

Fetches each photos.photo_image_url (filtered by --where / --limit) into <images>/<shard>/<photo_id>.jpg,
written atomically, and records every attempt's outcome in the downloads table (one row per photo:
status ok, http_error, timeout, connection_error, not_image, too_large, invalid_url or disallowed_host).
A rerun fetches only photos with no ok row (or whose file is gone); --retry-failed retries failures.
"""

from photolake import lake
from photolake.cli import job_parser, log_config, resolve_config, run_job
from photolake.download.fetch import FetchSettings
from photolake.download.plan import merge, photos_in_scope, plan
from photolake.download.run import download_counts, fetch_all
from photolake.errors import LakeTableMissing, PhotolakeError
from photolake.runs import RunSummary, new_run_id
from photolake.schemas import DOWNLOADS
from photolake.session import build_session
from photolake import storage

JOB = "download"


def settings_from(config, extra_hosts: list[str]) -> FetchSettings:
    width = str(config["download.width"]).strip().lower()
    if width != "original" and not width.isdigit():
        raise PhotolakeError(f"--width must be a number of pixels or 'original', not {width!r}")
    return FetchSettings(
        width=None if width == "original" else int(width), quality=config["download.quality"],
        timeout_s=config["download.timeout_s"], retries=config["download.retries"],
        backoff_s=config["download.backoff_s"], max_redirects=config["download.max_redirects"],
        allow_hosts=tuple(dict.fromkeys([*config["download.allow_hosts"], *extra_hosts])),
        imgix_hosts=tuple(config["download.imgix_hosts"]), resize_local=config["download.resize_local"],
        user_agent=config["download.user_agent"], max_bytes=config["download.max_bytes"],
        max_pixels=config["download.max_pixels"], respect_opt_out=config["download.respect_opt_out"],
    )


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--limit", type=int, metavar="N", help="fetch at most N photos this run (by photo_id)")
    parser.add_argument("--where", metavar="SQL", help="a SQL condition on photos, e.g. \"camera_make = 'Canon'\"")
    parser.add_argument("--width", metavar="PX|original",
                        help="imgix hosts: ask for this width; other hosts: resize locally to this longest side "
                             "(default 1080; 'original' keeps the file as served)")
    parser.add_argument("--threads", type=int, metavar="N", help="requests in flight per partition (default 16)")
    parser.add_argument("--timeout", type=float, metavar="S", help="seconds to connect and between bytes (default 10)")
    parser.add_argument("--retries", type=int, metavar="N", help="retries on timeouts, connection errors, 429, 5xx "
                                                                 "(default 3)")
    parser.add_argument("--allow-hosts", metavar="H1,H2", default="",
                        help="hosts to allow besides download.allow_hosts (images.unsplash.com); host or host:port")
    parser.add_argument("--retry-failed", action="store_true", help="fetch photos whose last attempt failed again")
    args = parser.parse_args(argv)
    config = resolve_config(args, {
        "download.width": args.width, "download.threads": args.threads, "download.timeout_s": args.timeout,
        "download.retries": args.retries,
    })
    log_config(JOB, config)
    settings = settings_from(config, [h.strip() for h in args.allow_hosts.split(",") if h.strip()])
    lake_dir, images = config["paths.lake"], storage.absolute(config["paths.images"])
    spark = build_session(JOB, config)
    summary = RunSummary(JOB, new_run_id(JOB), config)
    with summary.recorded(spark, lake_dir):
        photos = lake.read_table(spark, lake_dir, "photos")
        try:
            previous = lake.read_table(spark, lake_dir, "downloads", DOWNLOADS)
        except LakeTableMissing:
            previous = None
        work = plan(photos_in_scope(photos, args.where), previous, args.retry_failed, args.limit)
        results, total = fetch_all(spark, work, settings, images, config["download.rate_per_host"],
                                   config["download.connections_per_host"], config["download.threads"],
                                   config["download.rows_per_partition"], config["download.progress_every_s"])
        lake.write_table(merge(previous, results), lake_dir, "downloads", summary.run_id)
        counts = download_counts(results, total, summary.elapsed_s)
        results.unpersist()
        summary.add(counts)
    spark.stop()
    return 0


if __name__ == "__main__":
    run_job(JOB, main)
