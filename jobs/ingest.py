"""Ingest a release's TSV tables (photos, keywords, collections, conversions, colors) into the Parquet lake.

Reads every part of each table ({table}.tsvNNN / .csvNNN, any release 1.0.x-1.4.x, Lite or Full, a folder
or the release zip), types every column by the lake schema, writes <lake>/<table>/ and the rows and
values it could not load to <lake>/_rejects/, and appends its run summary to <lake>/_runs/.
"""

from photolake.cli import run_job
from photolake.stage import stage_job
from photolake.stages import STAGES


def main(argv=None) -> int:
    return stage_job(STAGES["ingest"], __doc__, argv)


if __name__ == "__main__":
    run_job("ingest", main)
