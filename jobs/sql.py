"""Run Spark SQL over the lake: every table is a view named after it (photos, keywords, _runs, ...).

  ./spark-submit.sh sql "SELECT camera_make, count(*) n FROM photos GROUP BY 1 ORDER BY n DESC"
  ./spark-submit.sh sql --format json "SELECT * FROM _runs"      # one JSON object per row
  ./spark-submit.sh sql --file queries.sql                       # several statements, one application

Several queries (arguments, or the statements of --file separated by ';') run in one Spark application;
each result is headed by its title: the '--' comment lines just before it in the file. A table of the
lake's contract that the lake does not have yet (detections before detect has run) reads as empty.
"""

import sys

from photolake.cli import job_parser, resolve_config, run_job, whole_number
from photolake.session import build_session
from photolake.sql import read_statements, run_statements

JOB = "sql"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("query", nargs="*", help="the SQL queries")
    parser.add_argument("--file", metavar="FILE", help="run the statements of this file (';' between them)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    parser.add_argument("--max-rows", type=whole_number(1), default=1000,
                        help="rows shown by --format table (default 1000)")
    args = parser.parse_args(argv)
    statements = read_statements(args.query, args.file)
    if not statements:
        parser.error("give a query, or --file with statements")
    config = resolve_config(args)
    spark = build_session(JOB, config)
    try:  # stdout carries only the results (spark-submit merges the driver's stderr into it): it can be piped
        run_statements(spark, config.paths.lake, statements, args.format, sys.stdout, args.max_rows)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    run_job(JOB, main)
