"""The command line every job shares: common options, config resolution, logging, exit codes."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, Callable, Mapping

from photolake.config import DEFAULT_CONF_FILE, Config, load_config, parse_set_options
from photolake.errors import PhotolakeError

log = logging.getLogger("photolake")

# Flags every job understands, and the config key each one sets.
COMMON_FLAG_KEYS = {
    "master": "spark.master",
    "lake": "paths.lake",
    "images": "paths.images",
    "dataset": "paths.dataset",
}


def job_parser(job: str, doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every job has; the job adds its own."""
    summary, _, details = (doc or job).strip().partition("\n")
    parser = argparse.ArgumentParser(
        prog=f"./spark-submit.sh {job}",
        description=summary,
        epilog=details.strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = parser.add_argument_group("options every job has")
    common.add_argument("--config", dest="conf_file", metavar="FILE", default=None,
                        help=f"config file (TOML), default {DEFAULT_CONF_FILE}")
    common.add_argument("--master", metavar="URL", help="Spark master: local[*] (default), spark://host:7077, yarn, k8s://...")
    common.add_argument("--lake", metavar="DIR", help="the Parquet lake (default output/lake)")
    common.add_argument("--images", metavar="DIR", help="where images are stored (default output/images)")
    common.add_argument("--dataset", metavar="DIR", help="the dataset release directory (default output/sample)")
    common.add_argument("--set", dest="set_options", metavar="KEY=VALUE", action="append", default=[],
                        help="set any config key, e.g. --set ingest.batch_rows=20000 (repeatable)")
    return parser


def resolve_config(args: argparse.Namespace, job_keys: Mapping[str, Any] | None = None) -> Config:
    """The effective config: defaults < file < env < --set < explicit flags (common and the job's own)."""
    overrides = parse_set_options(args.set_options)
    for flag, key in COMMON_FLAG_KEYS.items():
        if getattr(args, flag, None) is not None:
            overrides[key] = getattr(args, flag)
    overrides.update({k: v for k, v in (job_keys or {}).items() if v is not None})
    return load_config(args.conf_file, overrides)


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    # py4j chatters at INFO about every callback; PySpark logs every failed query as a JSON stack trace,
    # which the job reports itself in one line
    logging.getLogger("py4j").setLevel(logging.WARNING)
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)


def run_job(job: str, main: Callable[[], int | None]) -> None:
    """Run a job's main: user errors become one line on stderr and exit status 2."""
    setup_logging()
    try:
        code = main()
    except PhotolakeError as exc:
        print(f"photolake {job}: error: {exc}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code or 0)


def log_config(job: str, config: Config) -> None:
    log.info("%s: effective configuration\n%s", job, config.describe())


def run_step(job: str, config: Config, step: Callable, **options: Any) -> int:
    """Run one pipeline step (photolake.stages) as a job: its own session, its run summary recorded."""
    from photolake.runs import RunSummary, new_run_id
    from photolake.session import build_session

    spark = build_session(job, config)
    summary = RunSummary(job, new_run_id(job), config)
    with summary.recorded(spark, config["paths.lake"]):
        step(spark, config, summary, **options)
    spark.stop()
    return 0
