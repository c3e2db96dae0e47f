"""A loaded lake version kept on disk in the service's cache (``serve.cache_dir``/index/<key>), so that a
restart, another replica on the same machine, or the next start on an unchanged lake opens it in seconds
instead of loading the lake again (18-23 s at 1M photos on 2 cores).

A version's folder holds its row files (photolake.serve.rows), one file of every array's bytes, and a
pickle of the rest that refers to them (protocol 5: the arrays travel out of band). Opening maps the bytes
file, so numpy and Arrow read the arrays in place, read-only: the pages are the OS's file cache, shared by
every process that maps them and given back under memory pressure. A folder counts once its manifest is
written; a lock on it keeps two services from building the same one at once. Only the service writes its
cache folder (a pickle from anyone else could run code): it is made readable by its owner only.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import mmap
import os
import pickle
import shutil
from typing import Any

from photolake.serve.rows import KeyedRows

FORMAT = 9  # raised whenever what a loaded version holds changes: older folders are then built again
ALIGN = 64
MANIFEST, STATE, ARRAYS = "manifest.json", "state.pickle", "arrays.bin"


def folder_for(cache_dir: str, lake_files: str, detect_model: str) -> str:
    """The folder of one lake content (its files' hash) served with one detector setting."""
    key = hashlib.sha256(json.dumps([FORMAT, lake_files, detect_model]).encode()).hexdigest()[:20]
    return os.path.join(cache_dir, "index", key)


@contextlib.contextmanager
def locked(folder: str):
    """Hold the folder's lock: one service builds a version while the others wait, then open it."""
    os.makedirs(os.path.dirname(folder), mode=0o700, exist_ok=True)
    descriptor = os.open(folder + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def fresh(folder: str) -> str:
    """An empty folder to build a version in (what a build that died left there is removed)."""
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, mode=0o700)
    return folder


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj: Any):
        if isinstance(obj, KeyedRows):  # its file is in the folder already; its positions go with the arrays
            return ("rows", os.path.basename(obj.path), obj.columns, obj.starts, obj.batch_starts, obj.offsets,
                    obj.ends, obj.places)
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, folder: str, buffers: list):
        super().__init__(file, buffers=buffers)
        self.folder = folder

    def persistent_load(self, pid):
        _, name, *positions = pid
        return KeyedRows.open(os.path.join(self.folder, name), *positions)


def save(state: Any, folder: str, about: dict) -> None:
    """Write ``state`` (whose row files are in ``folder``) and, last, the manifest that makes it count."""
    buffers: list[pickle.PickleBuffer] = []
    with open(os.path.join(folder, STATE), "wb") as file:
        _Pickler(file, protocol=5, buffer_callback=buffers.append).dump(state)
    spans, at = [], 0
    with open(os.path.join(folder, ARRAYS), "wb") as file:
        for buffer in buffers:
            raw = buffer.raw()
            file.write(b"\0" * (-at % ALIGN))  # aligned, as numpy's vector loops like them
            at += -at % ALIGN
            file.write(raw)
            spans.append((at, raw.nbytes))
            at += raw.nbytes
    manifest = os.path.join(folder, MANIFEST)
    with open(manifest + ".part", "w", encoding="utf-8") as file:
        json.dump({"format": FORMAT, "spans": spans, **about}, file)
    os.replace(manifest + ".part", manifest)


def _manifest(folder: str) -> dict:
    try:
        with open(os.path.join(folder, MANIFEST), encoding="utf-8") as file:
            manifest = json.load(file)
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def about(folder: str) -> dict | None:
    """The manifest of a complete folder of this FORMAT, or None."""
    manifest = _manifest(folder)
    return manifest if manifest.get("format") == FORMAT else None


def open_saved(folder: str) -> Any | None:
    """The state saved in ``folder``, its arrays mapped read-only; None when the folder is not complete."""
    manifest = about(folder)
    if manifest is None:
        return None
    with open(os.path.join(folder, ARRAYS), "rb") as file:
        size = os.fstat(file.fileno()).st_size
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    if size:
        mapped.madvise(mmap.MADV_WILLNEED)  # read ahead now, not page by page in the first requests
    view = memoryview(mapped)
    buffers = [view[start:start + length] for start, length in manifest["spans"]]
    with open(os.path.join(folder, STATE), "rb") as file:
        return _Unpickler(file, folder, buffers).load()


def prune(folder: str, lake: str) -> None:
    """Remove the other folders of the same lake: older versions, and folders of an older FORMAT (a service
    still serving one keeps its mapped files until it lets them go)."""
    parent = os.path.dirname(folder)
    for name in os.listdir(parent):
        other = os.path.join(parent, name)
        if other != folder and os.path.isdir(other) and _manifest(other).get("lake") == lake:
            with locked(other):  # its lock file stays: removing it would let two builders in
                shutil.rmtree(other, ignore_errors=True)
