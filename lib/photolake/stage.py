"""The stage contract and its runner.

Each pipeline step is declared once, as a ``Stage`` (photolake.stages.STAGES): the function that does its
work, the lake tables it reads and writes, the config keys whose values change what it writes, the files
outside the lake it reads, its command-line flags (each one config key, whose declaration in
photolake.config gives the type, range, default and help), and the Spark settings it runs with. From these
come its job's command line (``stage_job``), the README's option tables (photolake.docs), and the
pipeline's order, dependencies and fingerprints (photolake.pipeline).

``run_stage`` runs one step in a session and leaves the session as it found it: the step's Spark settings
are restored, what it cached is unpersisted and what it broadcast destroyed, whether it succeeds or fails,
and its run is recorded in ``_runs`` with its true status.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Callable, Mapping

from pyspark.sql import SparkSession

from photolake import lake, lake_version
from photolake.cli import Flag, add_flags, flag_values, job_parser, resolve_config
from photolake.config import Config
from photolake.errors import StepSkipped
from photolake.runs import RunSummary, new_run_id
from photolake.session import build_session, released


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[SparkSession, Config, RunSummary], None]
    reads: tuple[str, ...] = ()  # lake tables
    writes: tuple[str, ...] = ()  # lake tables, or <paths key>:<file> for files outside the lake
    optional_writes: tuple[str, ...] = ()  # lake tables it writes when its input has them
    settings: tuple[str, ...] = ()  # config keys, or sections ("download."), whose values change its output
    inputs: tuple[str, ...] = ()  # config keys naming files or folders outside the lake that it reads
    flags: tuple[Flag, ...] = ()
    spark_conf: Mapping[str, str] = field(default_factory=dict)  # Spark setting -> the config key of its value
    check: Callable[[Config], None] | None = None  # before Spark starts: what is missing is said without a JVM

    def setting_keys(self, config: Config) -> list[str]:
        """The config keys whose values are part of the step's fingerprint."""
        return sorted(key for key in config if key.startswith(self.settings))


def run_stage(spark: SparkSession, stage: Stage, config: Config, summary: RunSummary) -> None:
    """Run ``stage`` in ``spark``; the summary is printed and recorded in ``_runs`` however it ends, and the
    step's own error, if any, is what is raised."""
    saved = {key: spark.conf.get(key, None) for key in stage.spark_conf}
    for key, setting in stage.spark_conf.items():
        spark.conf.set(key, str(config[setting]))
    try:
        with summary.recorded(spark, config.paths.lake), released(spark), lake.reading(stage.reads):
            stage.run(spark, config, summary)
    finally:
        for key, value in saved.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def stage_job(stage: Stage, doc: str | None, argv: list[str] | None = None) -> int:
    """A stage as a job: its flags and the common ones, its checks, its own session, its run recorded and the
    lake's version marked once it has finished."""
    parser = job_parser(stage.name, doc)
    add_flags(parser, stage.flags, f"{stage.name} options")
    args = parser.parse_args(argv)
    config = resolve_config(args, flag_values(args, stage.flags))
    if stage.check:
        stage.check(config)
    spark = build_session(stage.name, config)
    summary = RunSummary(stage.name, new_run_id(stage.name), config)
    try:
        run_stage(spark, stage, config, summary)
    except StepSkipped as skipped:
        print(f"photolake {stage.name}: skipped: {skipped}", file=sys.stderr)
    finally:
        spark.stop()
    lake_version.mark_finished(config.paths.lake, summary.run_id)
    return 0
