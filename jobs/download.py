"""Download the photos' images over HTTP on the executors: fast, politely, resumably.

Fetches each photos.photo_image_url (filtered by --where / --limit) into <images>/<shard>/<photo_id>.jpg,
written atomically, and records every attempt's outcome in the downloads table (one row per photo:
status ok, http_error, timeout, connection_error, not_image, too_large, invalid_url or disallowed_host).
A rerun fetches only photos with no ok row (or whose file is gone); --retry-failed retries failures.
"""

from photolake.cli import run_job
from photolake.stage import stage_job
from photolake.stages import STAGES


def main(argv=None) -> int:
    return stage_job(STAGES["download"], __doc__, argv)


if __name__ == "__main__":
    run_job("download", main)
