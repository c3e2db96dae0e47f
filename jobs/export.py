"""Export the lake for people without Spark: JSON files (lists of records) and one SQLite database.

Writes images_metadata.json, images_labels.json, users.json and recommendations.json (each when its table
exists) and photolake.sqlite with the main tables (nested values as JSON text, timestamps as ISO text).
"""

from photolake import lake, storage
from photolake.cli import job_parser, log_config, resolve_config, run_job
from photolake.export import JSON_EXPORTS, SQLITE_TABLES, write_json_records, write_sqlite
from photolake.runs import RunSummary, TableCounts, new_run_id
from photolake.session import build_session

JOB = "export"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--out", metavar="DIR", help="where the files go (default output/export)")
    args = parser.parse_args(argv)
    config = resolve_config(args, {"paths.export": args.out})
    log_config(JOB, config)
    lake_dir, out = config["paths.lake"], storage.absolute(config["paths.export"]).rstrip("/")
    spark = build_session(JOB, config)
    summary = RunSummary(JOB, new_run_id(JOB), config)
    with summary.recorded(spark, lake_dir):
        present = lake.register_views(spark, lake_dir)
        for name, (needs, sql) in JSON_EXPORTS.items():
            missing = [t for t in needs if t not in present]
            if missing:
                summary.notes.append(f"{name}: skipped, the lake has no {', '.join(missing)} table")
                continue
            records = write_json_records(spark.sql(sql), f"{out}/{name}")
            summary.add(TableCounts(name, records, records, 0, elapsed_s=summary.elapsed_s))
        tables = {t: spark.table(t) for t in SQLITE_TABLES if t in present}
        for table, rows in write_sqlite(tables, f"{out}/photolake.sqlite").items():
            summary.add(TableCounts(f"photolake.sqlite:{table}", rows, rows, 0, elapsed_s=summary.elapsed_s))
        summary.notes.append(f"exports: {out}")
    spark.stop()
    return 0


if __name__ == "__main__":
    run_job(JOB, main)
