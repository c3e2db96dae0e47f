"""Ingest a release's TSV tables (photos, keywords, collections, conversions, colors) into the Parquet lake.

Reads every part of each table ({table}.tsvNNN / .csvNNN, any release 1.0.x-1.4.x, Lite or Full, a folder
or the release zip), types every column by the lake schema, writes <lake>/<table>/ and the rows and
values it could not load to <lake>/_rejects/, and appends its run summary to <lake>/_runs/.
"""

from photolake import stages
from photolake.cli import job_parser, release_version, resolve_config, run_job, run_step
from photolake.ingest.release import find_release

JOB = "ingest"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--tables", metavar="T1,T2", help="only these tables (default: all the release has)")
    parser.add_argument("--release", metavar="VERSION", type=release_version,
                        help="the release's version, to decide the photos' latitude/longitude by it: 1.2.x "
                             "(documented swapped) swaps them back, 1.3.0 and later keep them; by default the "
                             "rows decide")
    parser.add_argument("--lat-lon", choices=("auto", "swapped", "as_given"),
                        help="the photos' latitude/longitude: auto (default) decides from the rows; swapped or "
                             "as_given forces it")
    args = parser.parse_args(argv)
    config = resolve_config(args, {"ingest.release": args.release, "ingest.lat_lon": args.lat_lon})
    tables = [t.strip() for t in args.tables.split(",") if t.strip()] if args.tables else None
    release = find_release(config["paths.dataset"])  # a missing release is a one-line error before Spark starts
    if tables:
        release.only(tables)
    return run_step(JOB, config, stages.ingest, tables=tables)


if __name__ == "__main__":
    run_job(JOB, main)
