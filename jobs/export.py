"""Export the lake for people without Spark: JSON files (lists of records) and one SQLite database.

Writes images_metadata.json, images_labels.json, users.json and recommendations.json (each when its table
exists) and photolake.sqlite with the main tables (nested values as JSON text, timestamps as ISO text).
"""

from photolake import stages
from photolake.cli import job_parser, resolve_config, run_job, run_step

JOB = "export"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--out", metavar="DIR", help="where the files go (default output/export)")
    args = parser.parse_args(argv)
    config = resolve_config(args, {"paths.export": args.out})
    return run_step(JOB, config, stages.export)


if __name__ == "__main__":
    run_job(JOB, main)
