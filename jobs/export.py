"""Export the lake for people without Spark: JSON files (lists of records) and one SQLite database.

Writes images_metadata.json, images_labels.json, users.json and recommendations.json (each when its table
exists) and photolake.sqlite with the main tables (nested values as JSON text, timestamps as ISO text).
"""

from photolake.cli import run_job
from photolake.stage import stage_job
from photolake.stages import STAGES


def main(argv=None) -> int:
    return stage_job(STAGES["export"], __doc__, argv)


if __name__ == "__main__":
    run_job("export", main)
