"""Extract EXIF, image properties and dominant colours from the images, on the executors.

Reads the downloads table's ok rows (or, with --from-dir DIR, every image file under DIR, photo_id being
the path relative to DIR) and writes the image_metadata table: pixel and display size, format, EXIF by tag
name with typed camera columns, dominant colours with CSS names, brightness, colourfulness, a perceptual
hash, and a status and error for every file that cannot be read.
"""

from photolake import stages
from photolake.cli import existing_folder, job_parser, resolve_config, run_job, run_step

JOB = "extract"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--from-dir", metavar="DIR", type=existing_folder,
                        help="extract every image file under DIR instead of downloads")
    parser.add_argument("--colors", type=int, metavar="K", help="dominant colours per image (k-means k, default 5)")
    parser.add_argument("--follow-links", action="store_true",
                        help="with --from-dir: also read files and folders that links under DIR lead out to")
    args = parser.parse_args(argv)
    config = resolve_config(args, {"extract.colors": args.colors})
    return run_step(JOB, config, stages.extract, from_dir=args.from_dir, follow_links=args.follow_links)


if __name__ == "__main__":
    run_job(JOB, main)
