"""Run Spark SQL over the lake: every table is a view named after it (photos, keywords, _runs, ...).

  ./spark-submit.sh sql "SELECT camera_make, count(*) n FROM photos GROUP BY 1 ORDER BY n DESC"
  ./spark-submit.sh sql --format json "SELECT * FROM _runs"      # one JSON object per row
  ./spark-submit.sh sql --file queries.sql                       # several statements, one application

Several queries (arguments, or the statements of --file separated by ';') run in one Spark application;
each result is headed by its title: the '--' comment lines just before it in the file. A table of the
lake's contract that the lake does not have yet (detections before detect has run) reads as empty.
"""

import sys
from pathlib import Path

from pyspark.errors import AnalysisException, ParseException

from photolake import lake
from photolake.cli import job_parser, resolve_config, run_job, whole_number
from photolake.errors import PhotolakeError
from photolake.session import build_session
from photolake.sql import split_statements, write_result

JOB = "sql"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("query", nargs="*", help="the SQL queries")
    parser.add_argument("--file", metavar="FILE", help="run the statements of this file (';' between them)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    parser.add_argument("--max-rows", type=whole_number(1), default=1000,
                        help="rows shown by --format table (default 1000)")
    args = parser.parse_args(argv)
    statements = [(None, q) for q in args.query]
    if args.file:
        try:
            statements += split_statements(Path(args.file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            parser.error(f"--file {args.file}: {exc}")
    if not statements:
        parser.error("give a query, or --file with statements")
    config = resolve_config(args)
    spark = build_session(JOB, config)
    # stdout carries only the results (spark-submit merges the driver's stderr into it), so it can be piped
    views = lake.register_views(spark, config["paths.lake"], empty_for_missing=True)
    try:
        for n, (title, statement) in enumerate(statements):
            if len(statements) > 1 and args.format == "table":
                print(f"{chr(10) if n else ''}-- {title or statement.splitlines()[0][:100]}", flush=True)
            try:
                result = spark.sql(statement)
            except (AnalysisException, ParseException) as exc:
                raise PhotolakeError(f"{exc.getMessage().splitlines()[0]} (tables in {config['paths.lake']}: "
                                     f"{', '.join(views) or 'none'})") from None
            write_result(result, args.format, sys.stdout, args.max_rows)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    run_job(JOB, main)
