"""Draw the report: charts of the lake (matplotlib PNGs) and an index.html that shows them at a glance.

Shapes, formats, cameras, EXIF distributions, photos over time, locations, colour palettes and families,
tags and detected objects, clusters (PCA scatter and a thumbnail montage), an image with its detected
boxes, and, when those tables exist, users' preferences and recommendation metrics. A chart whose
tables are missing is listed with what it needs instead of failing the report.
"""

from photolake.cli import run_job
from photolake.stage import stage_job
from photolake.stages import STAGES


def main(argv=None) -> int:
    return stage_job(STAGES["report"], __doc__, argv)


if __name__ == "__main__":
    run_job("report", main)
