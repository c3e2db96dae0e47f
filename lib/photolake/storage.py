"""Files by path or URI through pyarrow's filesystem layer, so ``/data``, ``file://``, ``hdfs://`` and
``s3://`` all work the same on the driver and the executors.  A member of a zip archive is named
``<archive.zip>!<member>``.
"""

from __future__ import annotations

import io
import os
import uuid
import zipfile
from contextlib import contextmanager
from typing import BinaryIO, Iterator

from pyarrow import fs as pafs

ZIP_SEPARATOR = "!"


def has_scheme(path: str) -> bool:
    return "://" in path


def absolute(path: str | os.PathLike) -> str:
    """A local path made absolute (executors may run elsewhere); a URI as it is."""
    text = os.fspath(path)
    return text if has_scheme(text) else os.path.abspath(text)


def filesystem(path: str) -> tuple[pafs.FileSystem, str]:
    if has_scheme(path):
        if path.startswith("file://"):
            return pafs.LocalFileSystem(), path[len("file://"):]
        return pafs.FileSystem.from_uri(path)
    return pafs.LocalFileSystem(), os.path.abspath(path)


def _join(base: str, path: str) -> str:
    """The URI of ``path`` (as returned by a filesystem made from ``base``)."""
    if not has_scheme(base) or base.startswith("file://"):
        return path
    scheme, rest = base.split("://", 1)
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


def list_files(path: str, recursive: bool = False) -> list[str]:
    """Files under a directory (sorted), as paths/URIs in the same style as ``path``."""
    fs, inner = filesystem(path)
    infos = fs.get_file_info(pafs.FileSelector(inner, recursive=recursive))
    return sorted(_join(path, i.path) for i in infos if i.type == pafs.FileType.File)


def list_dirs(path: str) -> list[str]:
    fs, inner = filesystem(path)
    infos = fs.get_file_info(pafs.FileSelector(inner, recursive=False))
    return sorted(_join(path, i.path) for i in infos if i.type == pafs.FileType.Directory)


def zip_members(archive: str) -> list[str]:
    with open_binary(archive) as stream, zipfile.ZipFile(stream) as zf:
        return [f"{archive}{ZIP_SEPARATOR}{name}" for name in zf.namelist() if not name.endswith("/")]


@contextmanager
def open_binary(path: str) -> Iterator[BinaryIO]:
    """A readable, seekable binary stream of a file or of a zip member (``archive.zip!member``)."""
    archive, sep, member = path.partition(ZIP_SEPARATOR)
    if sep and archive.lower().endswith(".zip"):
        with open_binary(archive) as stream, zipfile.ZipFile(stream) as zf, zf.open(member) as inner:
            yield inner
        return
    fs, inner_path = filesystem(path)
    with fs.open_input_file(inner_path) as stream:
        yield stream


@contextmanager
def open_text(path: str, encoding: str = "utf-8-sig") -> Iterator[io.TextIOWrapper]:
    """Text for the csv module: newline='' keeps newlines inside quoted fields; bad bytes are replaced."""
    with open_binary(path) as stream:
        text = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")
        try:
            yield text
        finally:
            text.detach()


def read_bytes(path: str) -> bytes:
    with open_binary(path) as stream:
        return stream.read()


def write_atomic(path: str, data: bytes) -> None:
    """Write via a temporary name in the same folder and rename: the final name never holds a half file."""
    fs, inner = filesystem(path)
    folder, _, name = inner.rpartition("/")
    temporary = f"{folder}/.{name}.{uuid.uuid4().hex}.part"
    if isinstance(fs, pafs.LocalFileSystem):
        os.makedirs(folder, exist_ok=True)
        with open(temporary, "wb") as f:
            f.write(data)
        os.replace(temporary, inner)
        return
    fs.create_dir(folder, recursive=True)
    with fs.open_output_stream(temporary) as stream:
        stream.write(data)
    fs.move(temporary, inner)
