"""Draw the report: charts of the lake (matplotlib PNGs) and an index.html that shows them at a glance.

Shapes, formats, cameras, EXIF distributions, photos over time, locations, colour palettes and families,
tags and detected objects, clusters (PCA scatter and a thumbnail montage), an image with its detected
boxes, and, when those tables exist, users' preferences and recommendation metrics. A chart whose
tables are missing is listed with what it needs instead of failing the report.
"""

from photolake import stages
from photolake.cli import job_parser, resolve_config, run_job, run_step

JOB = "report"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--out", metavar="DIR", help="where index.html and charts/ go (default output/report)")
    args = parser.parse_args(argv)
    config = resolve_config(args, {"paths.report": args.out})
    return run_step(JOB, config, stages.report)


if __name__ == "__main__":
    run_job(JOB, main)
