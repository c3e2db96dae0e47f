"""Run Spark SQL over the lake: every table is a view named after it (photos, keywords, _runs, ...).

  ./spark-submit.sh sql "SELECT camera_make, count(*) n FROM photos GROUP BY 1 ORDER BY n DESC"
  ./spark-submit.sh sql --format json "SELECT * FROM _runs"      # one JSON object per row
"""

import sys

from photolake import lake
from photolake.cli import job_parser, log_config, resolve_config, run_job, whole_number
from photolake.errors import PhotolakeError
from photolake.session import build_session
from photolake.sql import write_result
from pyspark.errors import AnalysisException

JOB = "sql"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("query", help="the SQL query")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    parser.add_argument("--max-rows", type=whole_number(1), default=1000,
                        help="rows shown by --format table (default 1000)")
    args = parser.parse_args(argv)
    config = resolve_config(args)
    if args.format == "table":  # csv and json output is for pipes: nothing but the rows on stdout
        log_config(JOB, config)
    spark = build_session(JOB, config)
    # stdout carries only the result (spark-submit merges the driver's stderr into it), so it can be piped
    views = lake.register_views(spark, config["paths.lake"])
    try:
        result = spark.sql(args.query)
    except AnalysisException as exc:
        raise PhotolakeError(f"{exc.getMessage().splitlines()[0]} (tables in {config['paths.lake']}: "
                             f"{', '.join(views) or 'none'})") from None
    write_result(result, args.format, sys.stdout, args.max_rows)
    spark.stop()
    return 0


if __name__ == "__main__":
    run_job(JOB, main)
