"""Ingest a release's TSV tables (photos, keywords, collections, conversions, colors) into the Parquet lake.

Reads every part of each table ({table}.tsvNNN / .csvNNN, any release 1.0.x-1.4.x, Lite or Full, a folder
or the release zip), types every column by the lake schema, writes <lake>/<table>/ and the rows and
values it could not load to <lake>/_rejects/, and appends its run summary to <lake>/_runs/.
"""

from photolake import lake
from photolake.cli import job_parser, log_config, resolve_config, run_job
from photolake.ingest.load import ingest_release
from photolake.ingest.release import find_release
from photolake.runs import RunSummary, new_run_id
from photolake.session import build_session

JOB = "ingest"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--tables", metavar="T1,T2", help="only these tables (default: all the release has)")
    parser.add_argument("--release", metavar="VERSION",
                        help="the release's version when its folder name does not say (e.g. 1.2.0): "
                             "before 1.3.0 latitude and longitude are swapped back")
    args = parser.parse_args(argv)
    config = resolve_config(args, {"ingest.release": args.release})
    log_config(JOB, config)
    release = find_release(config["paths.dataset"])
    if args.tables:
        release = release.only([t.strip() for t in args.tables.split(",")])
    spark = build_session(JOB, config)
    summary = RunSummary(JOB, new_run_id(JOB), config)
    summary.notes.append(f"release at {release.location}; lake at {lake.table_path(config['paths.lake'], '')}")
    with summary.recorded(spark, config["paths.lake"]):
        for counts in ingest_release(spark, release, config["paths.lake"], summary.run_id,
                                     config["ingest.batch_rows"], config["ingest.release"]):
            summary.add(counts)
    spark.stop()
    return 0


if __name__ == "__main__":
    run_job(JOB, main)
