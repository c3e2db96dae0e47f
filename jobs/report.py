"""Draw the report: charts of the lake (matplotlib PNGs) and an index.html that shows them at a glance.

Shapes, formats, cameras, EXIF distributions, photos over time, locations, colour palettes and families,
tags and detected objects, clusters (PCA scatter and a thumbnail montage), an image with its detected
boxes, and, when those tables exist, users' preferences and recommendation metrics. A chart whose
tables are missing is listed with what it needs instead of failing the report.
"""

from photolake import lake, storage
from photolake.cli import job_parser, log_config, resolve_config, run_job
from photolake.report.build import write_report
from photolake.runs import RunSummary, TableCounts, new_run_id
from photolake.session import build_session

JOB = "report"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--out", metavar="DIR", help="where index.html and charts/ go (default output/report)")
    args = parser.parse_args(argv)
    config = resolve_config(args, {"paths.report": args.out})
    log_config(JOB, config)
    lake_dir, out = config["paths.lake"], storage.absolute(config["paths.report"])
    spark = build_session(JOB, config)
    summary = RunSummary(JOB, new_run_id(JOB), config)
    with summary.recorded(spark, lake_dir):
        present = lake.register_views(spark, lake_dir)
        made = write_report(spark, present, storage.absolute(lake_dir), out)
        drawn = [c for c in made if c.png]
        counts = TableCounts("report charts", len(made), len(drawn), len(made) - len(drawn), elapsed_s=summary.elapsed_s)
        counts.notes += [f"not drawn: {c.title}: {c.missing}" for c in made if not c.png]
        summary.add(counts)
        summary.notes.append(f"report: {out}/index.html")
    spark.stop()
    return 0


if __name__ == "__main__":
    run_job(JOB, main)
