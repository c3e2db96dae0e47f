"""Failures of the world around a job (a full disk, no permission, a damaged lake file), recognised in the
exceptions the JVM and the OS raise and said as the one line a user can act on."""

from __future__ import annotations

import posixpath
import re

from photolake.errors import LakeDamaged, PhotolakeError, StorageFailed

# What the JVM or the OS says -> how the error line says it
OS_REASONS = (
    ("No space left on device", "no space left on the device"),
    ("Disk quota exceeded", "the disk quota is exceeded"),
    ("Read-only file system", "the filesystem is read-only"),
    ("Permission denied", "permission denied"),
    ("AccessDeniedException", "permission denied"),
    ("Too many open files", "too many open files (raise ulimit -n)"),
)
_DAMAGED = re.compile(r"FAILED_READ_FILE|CANNOT_READ_FILE_FOOTER|is not a Parquet file|Could not read footer|"
                      r"ParquetDecodingException|ChecksumException|Can not read value at|Invalid magic")
_PARQUET_FILE = re.compile(r"(?:file:|hdfs://|s3a?://|gs://|abfss?://|/)[^\s,;'\"]*?\.parquet")
_PARTITION = re.compile(r"^[^=/]+=[^/]*$")


def exception_text(exc: BaseException) -> str:
    """Everything an exception and its causes say (a Py4JJavaError's text holds the Java causes too)."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


def os_reason(exc: BaseException) -> str | None:
    """'no space left on the device', 'permission denied'... when that is what went wrong."""
    text = exception_text(exc)
    return next((said for marker, said in OS_REASONS if marker in text), None)


def damaged_file(exc: BaseException) -> str | None:
    """The lake file that could not be read, when a read failed on a damaged Parquet file."""
    text = exception_text(exc)
    if not _DAMAGED.search(text):
        return None
    found = _PARQUET_FILE.search(text)
    return found.group(0) if found else "(a file of the lake)"


def table_of(path: str) -> str:
    """The table a lake file belongs to: the folder above its partition folders."""
    folder = posixpath.dirname(path.split(":", 1)[-1] if path.startswith("file:") else path)
    while _PARTITION.match(posixpath.basename(folder)):
        folder = posixpath.dirname(folder)
    return posixpath.basename(folder)


def explain(exc: BaseException) -> PhotolakeError | None:
    """The user's error for a failure of the world around the job, or None for anything else (a bug)."""
    if isinstance(exc, PhotolakeError):
        return exc
    damaged = damaged_file(exc)
    if damaged:
        table = table_of(damaged)
        return LakeDamaged(f"the lake file {damaged} cannot be read: it is damaged or not Parquet. Run the job "
                           f"that writes the {table} table again (ingest for the dataset tables), which replaces it "
                           f"whole, or delete the {table} folder")
    reason = os_reason(exc)
    if reason:
        return StorageFailed(f"{reason} ({_first_line(exc)}): free space or fix the permissions and run again")
    return None


def _first_line(exc: BaseException) -> str:
    for line in exception_text(exc).splitlines():
        if any(marker in line for marker, _ in OS_REASONS):
            return line.split(": ", 1)[-1].strip()[:200]
    return type(exc).__name__
