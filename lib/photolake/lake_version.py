"""The lake's version: a marker a job writes when it has finished, naming its run and the lake's files as
it left them, so a reader (the service) can tell a finished lake from one a job is still writing.

``<lake>/_lake_version.json`` holds the run id, when it finished, and a hash of every table file's path,
size and modification time. The lake is *settled* when the files on disk still hash to that value; a job
that is writing (or was killed) leaves them different until its own marker is written. No Spark here: the
service reads it too.
"""

from __future__ import annotations

import functools
import hashlib
import json
import posixpath
import sys
from dataclasses import dataclass
from datetime import datetime, timezone

from photolake import storage

MARKER = "_lake_version.json"
_NOT_TABLE_FILES = (MARKER, "_pipeline.json")


@dataclass(frozen=True)
class LakeVersion:
    run_id: str
    finished_at: str
    files: str  # the hash of the lake's files when the run finished

    @functools.cached_property  # every answer's ETag, and every image URL of a page of cards
    def tag(self) -> str:
        """A short name for this version, for ETags and logs."""
        return hashlib.sha256(f"{self.run_id}/{self.files}".encode()).hexdigest()[:16]


def files_hash(lake: str) -> str:
    """A hash of every table file (path, size, mtime) under ``lake``, staging and trash left out."""
    entries = [entry for entry in storage.file_listing(lake)
               if entry[0] not in _NOT_TABLE_FILES and not entry[0].startswith((".staging", ".trash"))]
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


def mark(lake: str, run_id: str, at: datetime | None = None) -> LakeVersion:
    """Record that ``run_id`` has finished with the lake as it is now."""
    version = LakeVersion(run_id, (at or datetime.now(timezone.utc)).isoformat(timespec="seconds"), files_hash(lake))
    storage.write_atomic(posixpath.join(storage.absolute(lake), MARKER),
                         json.dumps(version.__dict__, indent=2).encode())
    return version


def mark_finished(lake: str, run_id: str) -> None:
    """``mark`` at the end of a successful job or pipeline; a marker that cannot be written is a warning, since
    the run itself succeeded."""
    try:
        mark(lake, run_id)
    except OSError as exc:
        print(f"photolake: warning: the lake's version marker could not be written ({exc}); the service keeps "
              f"serving the lake's previous version", file=sys.stderr)


def read(lake: str) -> LakeVersion | None:
    """The marker, or None when there is none (a lake from before markers) or it is not one."""
    path = posixpath.join(storage.absolute(lake), MARKER)
    try:
        data = json.loads(storage.read_bytes(path).decode("utf-8"))
        return LakeVersion(str(data["run_id"]), str(data["finished_at"]), str(data["files"]))
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None


def current(lake: str) -> tuple[LakeVersion, bool]:
    """(version, settled): the marker's version and whether the files are still as its run left them; a lake
    without a marker gets a version named after its files' hash, never settled."""
    files = files_hash(lake)
    marker = read(lake)
    if marker is None:
        return LakeVersion("unmarked", "", files), False
    return (marker, True) if marker.files == files else (LakeVersion(marker.run_id, marker.finished_at, files), False)
