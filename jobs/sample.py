"""Make a sample release in the real Unsplash format, with images, and optionally serve the images.

Writes all five tables with every quirk of the real files (README, "sample"), deterministic per --seed,
plus synthetic images (or real ones cycled from --images-from) under OUT/images/, and sample-manifest.json
listing the defects it injected.  With --serve it then serves OUT/images on 127.0.0.1 until interrupted.
"""

import logging
import time

from photolake.cli import (
    existing_folder,
    job_parser,
    non_negative,
    release_version,
    resolve_config,
    run_job,
    whole_number,
)
from photolake.sample.release import SampleOptions, generate_release
from photolake.sample.server import ImageServer

JOB = "sample"
NEEDS_SPARK = False  # spark-submit.sh runs it with plain Python: no JVM to start
log = logging.getLogger("photolake.sample")


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--out", metavar="DIR", help="where to write the release (default: --dataset, output/sample)")
    parser.add_argument("--photos", type=int, help="number of photos (default 200)")
    parser.add_argument("--seed", type=int, help="random seed (default 42): the same seed gives the same files")
    parser.add_argument("--release", type=release_version, default="1.3.0",
                        help="columns and file names of this release: 1.0.0, 1.3.0 "
                                                           "(default) or 1.4.0")
    parser.add_argument("--keywords-per-photo", type=non_negative, default=100.0)
    parser.add_argument("--collections-per-photo", type=non_negative, default=4.0)
    parser.add_argument("--conversions-per-photo", type=non_negative, default=6.0)
    parser.add_argument("--colors-per-photo", type=non_negative, default=5.0)
    parser.add_argument("--users", type=whole_number(1), default=400, help="anonymous users behind the conversions")
    parser.add_argument("--rows-per-part", type=int, help="start a new part file every N records, as the Full "
                                                          "release does (default 0: one part per table)")
    parser.add_argument("--no-images", action="store_true", help="write the tables only")
    parser.add_argument("--images-from", metavar="DIR", type=existing_folder,
                        help="cycle real photos from DIR instead of painting images")
    parser.add_argument("--no-defects", action="store_true", help="do not inject rows and values to be rejected")
    parser.add_argument("--image-base-url", metavar="URL",
                        help="what photo_image_url starts with (default http://127.0.0.1:8765, the --serve address)")
    parser.add_argument("--serve", action="store_true", help="after writing, serve OUT/images until interrupted")
    parser.add_argument("--port", type=int, help="port for --serve (default 8765)")
    args = parser.parse_args(argv)
    config = resolve_config(args, {
        "paths.dataset": args.out, "sample.photos": args.photos, "sample.seed": args.seed,
        "sample.image_base_url": args.image_base_url, "sample.rows_per_part": args.rows_per_part,
        "image_server.port": args.port,
    })
    out = config.paths.dataset
    options = SampleOptions(
        photos=config.sample.photos, seed=config.sample.seed, release=args.release,
        image_base_url=config.sample.image_base_url, keywords_per_photo=args.keywords_per_photo,
        collections_per_photo=args.collections_per_photo, conversions_per_photo=args.conversions_per_photo,
        colors_per_photo=args.colors_per_photo, users=args.users, rows_per_part=config.sample.rows_per_part,
        defects=not args.no_defects, images=not args.no_images, images_from=args.images_from,
    )
    started = time.time()
    manifest = generate_release(out, options)
    elapsed = time.time() - started
    counts = ", ".join(f"{table} {n:,}" for table, n in manifest.records.items())
    records = sum(manifest.records.values())
    # The sample writes a release, not the lake, so its summary is printed only (no _runs row).
    print(f"sample release {options.release} in {out}: {counts}; {manifest.images:,} images; "
          f"{len(manifest.row_defects)} rows and {len(manifest.value_defects)} values to be rejected "
          f"(see sample-manifest.json); {elapsed:.1f} s, {records / max(elapsed, 1e-9):,.0f} records/s")
    if args.serve:
        server = ImageServer(f"{out}/images", config.image_server.host, config.image_server.port)
        print(f"serving {out}/images at {server.url} (Ctrl-C stops)", flush=True)
        server.serve_forever()
    return 0


if __name__ == "__main__":
    run_job(JOB, main)
