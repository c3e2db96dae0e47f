"""Download the photos' images over HTTP on the executors: fast, politely, resumably.

Fetches each photos.photo_image_url (filtered by --where / --limit) into <images>/<shard>/<photo_id>.jpg,
written atomically, and records every attempt's outcome in the downloads table (one row per photo:
status ok, http_error, timeout, connection_error, not_image, too_large, invalid_url or disallowed_host).
A rerun fetches only photos with no ok row (or whose file is gone); --retry-failed retries failures.
"""

from photolake import stages
from photolake.cli import (
    host_list,
    job_parser,
    resolve_config,
    run_job,
    run_step,
    whole_number,
)

JOB = "download"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--limit", type=whole_number(1), metavar="N",
                        help="fetch at most N photos this run (by photo_id)")
    parser.add_argument("--where", metavar="SQL", help="a SQL condition on photos, e.g. \"camera_make = 'Canon'\"")
    parser.add_argument("--width", metavar="PX|original",
                        help="imgix hosts: ask for this width; other hosts: resize locally to this longest side "
                             "(default 1080; 'original' keeps the file as served)")
    parser.add_argument("--threads", type=int, metavar="N", help="requests in flight per partition (default 16)")
    parser.add_argument("--timeout", type=float, metavar="S", help="seconds to connect and between bytes (default 10)")
    parser.add_argument("--retries", type=int, metavar="N", help="retries on timeouts, connection errors, 429, 5xx "
                                                                 "(default 3)")
    parser.add_argument("--allow-hosts", metavar="H1,H2", type=host_list, default=[],
                        help="hosts to allow besides download.allow_hosts (images.unsplash.com); host or host:port")
    parser.add_argument("--retry-failed", action="store_true", help="fetch photos whose last attempt failed again")
    args = parser.parse_args(argv)
    config = resolve_config(args, {
        "download.width": args.width, "download.threads": args.threads, "download.timeout_s": args.timeout,
        "download.retries": args.retries,
    })
    return run_step(JOB, config, stages.download, extra_hosts=args.allow_hosts, where=args.where, limit=args.limit,
                    retry_failed=args.retry_failed)


if __name__ == "__main__":
    run_job(JOB, main)
