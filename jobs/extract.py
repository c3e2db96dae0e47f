"""Extract EXIF, image properties and dominant colours from the images, on the executors.

Reads the downloads table's ok rows (or, with --from-dir DIR, every image file under DIR, photo_id being
the path relative to DIR) and writes the image_metadata table: pixel and display size, format, EXIF by tag
name with typed camera columns, dominant colours with CSS names, brightness, colourfulness, a perceptual
hash, and a status and error for every file that cannot be read.
"""

from photolake.cli import run_job
from photolake.stage import stage_job
from photolake.stages import STAGES


def main(argv=None) -> int:
    return stage_job(STAGES["extract"], __doc__, argv)


if __name__ == "__main__":
    run_job("extract", main)
