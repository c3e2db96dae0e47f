"""Run the whole pipeline in one Spark application: ingest, download, extract, detect, cluster, users,
recommend, report, export.

A step whose inputs (the tables it reads, the release for ingest, its config section) have not changed
since its last successful run is skipped unless --force. A failed step stops the run with one error line;
the next run skips what succeeded and resumes there. --from and --to run a part of it. Every step takes
its settings from the config (--set detect.model=yolov3-tiny, --set users.source=both...). --sql FILE
then runs the statements of FILE over the lake in the same application, as the sql job would.
"""

import sys

from photolake.cli import Flag, add_flags, flag_values, job_parser, resolve_config, run_job
from photolake.pipeline import STEPS, run_pipeline, select_steps
from photolake.session import build_session
from photolake.sql import read_statements, run_statements

JOB = "pipeline"
FLAGS = (Flag("--allow-hosts", "download.extra_hosts", "H1,H2"),)


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--from", dest="first", metavar="STEP", help=f"start at this step ({', '.join(STEPS)})")
    parser.add_argument("--to", dest="last", metavar="STEP", help="stop after this step")
    parser.add_argument("--force", action="store_true", help="run the steps even if their inputs are unchanged")
    parser.add_argument("--sql", metavar="FILE", help="then run the statements of FILE over the lake (';' between "
                                                      "them), each result under its '--' title")
    add_flags(parser, FLAGS, "step options")
    args = parser.parse_args(argv)
    config = resolve_config(args, flag_values(args, FLAGS))
    steps = select_steps(args.first, args.last)
    statements = read_statements([], args.sql)
    spark = build_session(JOB, config)
    try:
        run_pipeline(spark, config, steps, args.force)
        if statements:
            print(flush=True)
            run_statements(spark, config.paths.lake, statements, "table", sys.stdout)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    run_job(JOB, main)
