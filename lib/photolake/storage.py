"""Files by path or URI through pyarrow's filesystem layer, so ``/data``, ``file://``, ``s3a://``, ``gs://``,
``abfs://`` and ``hdfs://`` all work the same on the driver and the executors.  A member of a zip archive is
named ``<archive.zip>!<member>``.

Spark reads and writes the lake's tables through Hadoop's FileSystem (photolake.lake); everything else the
driver and the executors do with lake paths and image files goes through here, by the same URIs. Hadoop
knows S3 as ``s3a://`` (``s3://`` is made ``s3a://`` by ``absolute``, so both sides use one name); pyarrow
knows it as ``s3://`` and finds the credentials, region and endpoint (``AWS_ENDPOINT_URL`` for MinIO or
another S3-compatible store) the way the AWS tools do. ``hdfs://`` needs libhdfs, as pyarrow does.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import io
import os
import posixpath
import shutil
import stat
import uuid
import zipfile
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from pyarrow import fs as pafs

ZIP_SEPARATOR = "!"


def has_scheme(path: str) -> bool:
    return "://" in path


# Hadoop's name for a store -> pyarrow's
PYARROW_SCHEMES = {"s3a": "s3", "s3n": "s3", "gcs": "gs"}
# Stores whose paths pyarrow names <bucket or container>/<key>: one filesystem serves every bucket
BUCKET_STORES = ("s3", "gs")


def absolute(path: str | os.PathLike) -> str:
    """A local path made absolute (executors may run elsewhere); a URI as it is, but ``s3://`` as Hadoop's
    ``s3a://``."""
    text = os.fspath(path)
    if not has_scheme(text):
        return os.path.abspath(text)
    return "s3a://" + text[len("s3://"):] if text.lower().startswith("s3://") else text


@functools.lru_cache(maxsize=64)
def _bucket_store(scheme: str, bucket: str) -> pafs.FileSystem:
    """One client per bucket and process: making one costs more than a request (and finds the bucket's region)."""
    return pafs.FileSystem.from_uri(f"{scheme}://{bucket}/")[0]


def filesystem(path: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem of a path or URI, and the path inside it."""
    if not has_scheme(path):
        return pafs.LocalFileSystem(), os.path.abspath(path)
    scheme, rest = path.split("://", 1)
    scheme = PYARROW_SCHEMES.get(scheme.lower(), scheme.lower())
    if scheme == "file":
        return pafs.LocalFileSystem(), rest
    if scheme in BUCKET_STORES and "?" not in rest:
        return _bucket_store(scheme, rest.split("/", 1)[0]), rest.rstrip("/")
    return pafs.FileSystem.from_uri(f"{scheme}://{rest}")


def _join(base: str, path: str) -> str:
    """The URI of ``path`` (as returned by a filesystem made from ``base``)."""
    if not has_scheme(base) or base.startswith("file://"):
        return path
    scheme, rest = base.split("://", 1)
    if scheme.lower() in ("abfs", "abfss"):  # pyarrow's path is <container>/<key>; the URI's authority is
        authority = rest.split("/", 1)[0]  # <container>@<account host>
        return f"{scheme}://{authority}/{path.partition('/')[2]}"
    authority = rest.split("/", 1)[0] if scheme in ("hdfs", "viewfs") else ""
    return f"{scheme}://{authority}{path if path.startswith('/') or not authority else '/' + path}"


def exists(path: str) -> bool:
    if not has_scheme(path):  # a local path: one stat, not a filesystem object (download checks 9 a photo)
        return os.path.exists(path)
    fs, inner = filesystem(path)
    return fs.get_file_info(inner).type != pafs.FileType.NotFound


def is_dir(path: str) -> bool:
    fs, inner = filesystem(path)
    return fs.get_file_info(inner).type == pafs.FileType.Directory


def list_files(path: str, recursive: bool = False, allow_missing: bool = False) -> list[str]:
    """Files under a directory (sorted), as paths/URIs in the same style as ``path``; none for a directory that
    is not there when ``allow_missing``."""
    fs, inner = filesystem(path)
    infos = fs.get_file_info(pafs.FileSelector(inner, recursive=recursive, allow_not_found=allow_missing))
    return sorted(_join(path, i.path) for i in infos if i.type == pafs.FileType.File)


def file_listing(path: str) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime ns) of every file under ``path`` (or of ``path`` itself), sorted: what
    changes when any file is rewritten (the pipeline's fingerprints, the lake's version marker)."""
    fs, inner = filesystem(absolute(path))
    info = fs.get_file_info(inner)
    if info.type == pafs.FileType.NotFound:
        return []
    if info.type == pafs.FileType.File:
        return [(info.base_name, info.size, info.mtime_ns or 0)]
    return sorted((posixpath.relpath(f.path, inner), f.size, f.mtime_ns or 0)
                  for f in fs.get_file_info(pafs.FileSelector(inner, recursive=True)) if f.type == pafs.FileType.File)


def parquet_dataset(folder: str):
    """The Parquet files under ``folder`` (hive partitions as columns; ``_``/``.`` files such as _SUCCESS and
    checksums left out) as a pyarrow dataset on their store: a table read in batches without Spark."""
    import pyarrow.dataset as ds

    fs, inner = filesystem(absolute(folder))
    return ds.dataset(inner, filesystem=fs, format="parquet", partitioning="hive")


def list_dirs(path: str) -> list[str]:
    fs, inner = filesystem(path)
    infos = fs.get_file_info(pafs.FileSelector(inner, recursive=False))
    return sorted(_join(path, i.path) for i in infos if i.type == pafs.FileType.Directory)


@dataclass(frozen=True)
class FoundFile:
    """A file under a walked folder: its path relative to the folder and in full, as text (bytes of a name
    that is not UTF-8 shown as \\xNN), the exact OS path when that text is not it, and why it is not read
    (None when it is)."""

    relative: str
    path: str
    os_path: bytes | None = None
    skipped: str | None = None


def _shown(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def walk_files(root: str, follow_links: bool = False) -> tuple[list[FoundFile], list[str]]:
    """Every file under a local folder, each real file once, sorted; with notes on what was not walked.

    Links are followed only where they stay inside the folder, unless ``follow_links``; a link out of it is
    listed as skipped.  A folder is entered once however many links lead to it, so link loops end.  Names
    are taken as the OS gives them, whatever their encoding.  A URI (hdfs://, s3://...) is listed by its
    filesystem, which has no links."""
    if has_scheme(root):
        return [FoundFile(p[len(root.rstrip("/")) + 1:], p) for p in list_files(root, recursive=True)], []
    top = os.fsencode(os.path.abspath(root))
    real_top = os.path.realpath(top)
    inside = lambda target: target == real_top or target.startswith(real_top.rstrip(b"/") + b"/")  # noqa: E731
    found: dict[tuple[int, int], tuple[bool, bytes]] = {}  # (device, inode) -> (reached by a link, path)
    skipped: list[FoundFile] = []
    notes: list[str] = []
    folders_seen: set[tuple[int, int]] = set()
    pending = collections.deque([(top, False)])  # breadth first: a file's shortest name is met first
    while pending:
        folder, via_link = pending.popleft()
        try:
            info = os.stat(folder)
            if (info.st_dev, info.st_ino) in folders_seen:
                notes.append(f"{_shown(folder)}: a link to a folder already walked (a loop?), not entered again")
                continue
            folders_seen.add((info.st_dev, info.st_ino))
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            notes.append(f"{_shown(folder)}: cannot be read ({exc.strerror or exc})")
            continue
        for entry in entries:
            linked = via_link or entry.is_symlink()
            target = os.path.realpath(entry.path) if entry.is_symlink() else entry.path
            if entry.is_symlink() and not follow_links and not inside(target):
                if os.path.isdir(target):
                    notes.append(f"{_shown(entry.path)}: a link to the folder {_shown(target)} outside "
                                 f"{_shown(top)}, not entered (--follow-links enters it)")
                else:
                    skipped.append(_found(top, entry.path, f"a link to {_shown(target)}, outside {_shown(top)}: "
                                                            f"not read (--follow-links reads it)"))
                continue
            try:
                info = os.stat(entry.path)
            except OSError as exc:
                skipped.append(_found(top, entry.path, f"cannot be read: {exc.strerror or exc}"
                                                       + (" (a broken link)" if entry.is_symlink() else "")))
                continue
            if stat.S_ISDIR(info.st_mode):
                pending.append((entry.path, linked))
            elif stat.S_ISREG(info.st_mode):
                key = (info.st_dev, info.st_ino)
                if key not in found or (found[key][0] and not linked):  # the file's own name beats a link's
                    found[key] = (linked, entry.path)
    files = [_found(top, path) for _, path in found.values()] + skipped
    return sorted(files, key=lambda f: f.relative), notes


def _found(top: bytes, path: bytes, skipped: str | None = None) -> FoundFile:
    relative = os.path.relpath(path, top)
    shown = _shown(path)
    return FoundFile(_shown(relative), shown, None if os.fsencode(shown) == path else path, skipped)


def zip_members(archive: str) -> list[str]:
    with open_binary(archive) as stream, zipfile.ZipFile(stream) as zf:
        return [f"{archive}{ZIP_SEPARATOR}{name}" for name in zf.namelist() if not name.endswith("/")]


@contextlib.contextmanager
def open_binary(path: str) -> Iterator[BinaryIO]:
    """A readable, seekable binary stream of a file or of a zip member (``archive.zip!member``)."""
    archive, sep, member = path.partition(ZIP_SEPARATOR)
    if sep and archive.lower().endswith(".zip"):
        with open_binary(archive) as stream, zipfile.ZipFile(stream) as zf, zf.open(member) as inner:
            yield inner
        return
    if not has_scheme(path):  # Python's own open takes any name the OS has, UTF-8 or not
        with open(path, "rb") as stream:
            yield stream
        return
    fs, inner_path = filesystem(path)
    with fs.open_input_file(inner_path) as stream:
        yield stream


def zip_member_size(path: str) -> tuple[int, int] | None:
    """(uncompressed, compressed) bytes of a zip member (``archive.zip!member``) as its archive declares them,
    or None for a plain file.  The declared size bounds what reading yields (zipfile stops there)."""
    archive, sep, member = path.partition(ZIP_SEPARATOR)
    if not (sep and archive.lower().endswith(".zip")):
        return None
    with open_binary(archive) as stream, zipfile.ZipFile(stream) as zf:
        info = zf.getinfo(member)
        return info.file_size, info.compress_size


@contextlib.contextmanager
def open_text(path: str, encoding: str = "utf-8-sig") -> Iterator[io.TextIOWrapper]:
    """Text for the csv module: newline='' keeps newlines inside quoted fields; bytes that are not valid in
    the encoding become lone surrogates (U+DC80-U+DCFF) for the reader to find and report."""
    with open_binary(path) as stream:
        text = io.TextIOWrapper(stream, encoding=encoding, errors="surrogateescape", newline="")
        try:
            yield text
        finally:
            text.detach()


def read_bytes(path: str) -> bytes:
    with open_binary(path) as stream:
        return stream.read()


def write_atomic(path: str, data: bytes | BinaryIO) -> None:
    """Write ``data`` (bytes, or a stream copied in pieces) via a temporary name in the same folder and rename:
    the final name never holds a half file, and a write that fails (a full disk, no permission) leaves no
    temporary file behind.  On an object store the rename is a copy, and the final object appears whole."""
    fs, inner = filesystem(path)
    folder, _, name = inner.rpartition("/")
    temporary = f"{folder}/.{name}.{uuid.uuid4().hex}.part"
    local = isinstance(fs, pafs.LocalFileSystem)
    try:
        if local:
            os.makedirs(folder, exist_ok=True)
            with open(temporary, "wb") as f:
                _copy(data, f)
            os.replace(temporary, inner)
        else:
            fs.create_dir(folder, recursive=True)
            with fs.open_output_stream(temporary) as stream:
                _copy(data, stream)
            fs.move(temporary, inner)
    except BaseException:
        with contextlib.suppress(OSError, FileNotFoundError):
            os.remove(temporary) if local else fs.delete_file(temporary)
        raise


def _copy(data: bytes | BinaryIO, target) -> None:
    if isinstance(data, (bytes, bytearray, memoryview)):
        target.write(data)
    else:
        shutil.copyfileobj(data, target, 8 << 20)


def remove(path: str) -> None:
    """Delete a file if it is there."""
    fs, inner = filesystem(path)
    with contextlib.suppress(FileNotFoundError):
        fs.delete_file(inner)
