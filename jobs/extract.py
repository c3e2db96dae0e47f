"""Extract EXIF, image properties and dominant colours from the images, on the executors.

Reads the downloads table's ok rows (or, with --from-dir DIR, every image file under DIR, photo_id being
the path relative to DIR) and writes the image_metadata table: pixel and display size, format, EXIF by tag
name with typed camera columns, dominant colours with CSS names, brightness, colourfulness, a perceptual
hash, and a status and error for every file that cannot be read.
"""

from photolake import lake
from photolake.cli import job_parser, log_config, resolve_config, run_job
from photolake.extract.run import extract_all, extract_counts, files_from_dir, files_from_downloads
from photolake.runs import RunSummary, new_run_id
from photolake.session import build_session

JOB = "extract"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--from-dir", metavar="DIR", help="extract every image file under DIR instead of downloads")
    parser.add_argument("--colors", type=int, metavar="K", help="dominant colours per image (k-means k, default 5)")
    args = parser.parse_args(argv)
    config = resolve_config(args, {"extract.colors": args.colors})
    log_config(JOB, config)
    lake_dir = config["paths.lake"]
    spark = build_session(JOB, config, extra_conf={
        # image rows are heavy: small Arrow batches keep a worker's memory flat
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(config["extract.arrow_batch_rows"])})
    summary = RunSummary(JOB, new_run_id(JOB), config)
    with summary.recorded(spark, lake_dir):
        files = (files_from_dir(spark, args.from_dir) if args.from_dir
                 else files_from_downloads(lake.read_table(spark, lake_dir, "downloads")))
        rows = extract_all(files, config["extract.colors"], config["extract.rows_per_partition"])
        lake.write_table(rows, lake_dir, "image_metadata", summary.run_id)
        counts = extract_counts(lake.read_table(spark, lake_dir, "image_metadata"), summary.elapsed_s)
        summary.add(counts)
    spark.stop()
    return 0


if __name__ == "__main__":
    run_job(JOB, main)
