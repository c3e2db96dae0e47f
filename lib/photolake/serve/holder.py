"""The lake version being served, and the watcher that swaps in a new one without a restart.

The watcher polls the lake's version marker (photolake.lake_version). When a new run has finished and the
files are still as it left them, the new version is loaded aside, checked, and swapped in by one reference
assignment: a request holds the version it started with, so requests in flight finish on the old one. A
lake a job is still writing (files differ from the marker's) is left alone until its marker comes.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
import weakref
from concurrent.futures import Future
from dataclasses import dataclass

from photolake import lake_version
from photolake.serve import store

log = logging.getLogger("photolake.serve")


@dataclass(frozen=True)
class ServiceSettings:
    lake: str
    images: str | None = None  # the images folder: files outside it are never served
    cache_dir: str = "output/cache"  # thumbnails, the loaded versions (index/), DuckDB's sorts past table_memory_mb
    reload_s: float = 5.0  # 0: never look for a new version
    cors_origins: tuple[str, ...] = ()
    detect_model: str = ""
    query_threads: int = 0
    table_memory_mb: int = 1024
    threads: int = 4

    @property
    def thumbs_dir(self) -> str:
        return os.path.join(self.cache_dir, "thumbs")


class LakeHolder:
    def __init__(self, settings: ServiceSettings):
        self.settings = settings
        self.current: store.LoadedLake | None = None
        self.problem: str | None = None  # why nothing is served, or why the last new version was refused
        self._refused: str | None = None  # the version that failed to load
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._swapped: Future | None = None  # done once the version served as loaded is saved and swapped

    def load(self) -> store.LoadedLake:
        s = self.settings
        return store.load(s.lake, s.cache_dir, s.images, s.detect_model, s.query_threads, s.table_memory_mb,
                          save_aside=True)

    def _serve(self, lake: store.LoadedLake) -> None:
        """Serve ``lake``; one served as loaded is replaced by its saved files once they are written, the same
        version whose arrays are then the OS's shared file pages."""
        self.current, self._swapped = lake, None
        if lake.saving is not None:
            self._swapped = swapped = Future()
            lake.saving.add_done_callback(functools.partial(self._saved, weakref.ref(lake), swapped))

    def _saved(self, served: weakref.ref, swapped: Future, saving: Future) -> None:
        saved = saving.result()
        if saved is not None and self.current is served():
            self.current = saved
            store.release_freed_memory()  # what the loaded one held, unless a request still has it
        swapped.set_result(saved is not None)

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until the version served as loaded is saved and its saved files are served; whether they are."""
        swapped = self._swapped
        try:
            return swapped is None or swapped.result(timeout)
        except TimeoutError:
            return False

    def start(self, required: bool = True) -> None:
        """Load the lake now (``required``: a missing or damaged lake raises LakeUnavailable), then watch it."""
        try:
            self._serve(self.load())
            if not self.current.settled:
                log.warning("serving %s as it is: its files differ from its last finished run's (a job may be "
                            "writing it); the next finished run is loaded when it ends", self.settings.lake)
        except store.LakeUnavailable as exc:
            if required:
                raise
            self.problem = str(exc)
        if self.settings.reload_s > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="lake-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def check_now(self) -> bool:
        """Look for a new finished version and swap it in; returns whether it swapped."""
        version, settled = lake_version.current(self.settings.lake)
        loaded = self.current
        if not settled or version.tag in (loaded and loaded.tag, self._refused):
            return False
        try:
            fresh = self.load()
        except store.LakeUnavailable as exc:
            self._refused = version.tag  # not tried again until another run finishes
            self.problem = f"the new lake version could not be loaded, still serving the old one: {exc}" \
                if loaded else str(exc)
            log.warning("%s", self.problem)
            return False
        after, still = lake_version.current(self.settings.lake)
        if loaded is not None and (not still or after.files != fresh.version.files):
            log.info("the lake changed while it was loading: trying again at the next look")
            return False
        self._serve(fresh)
        self.problem = None
        log.info("serving lake version %s (run %s, %s in %.1f s)", fresh.tag, fresh.version.run_id,
                 "opened from the cache" if fresh.from_cache else "loaded", fresh.load_seconds)
        return True

    def _watch(self) -> None:
        while not self._stop.wait(self.settings.reload_s):
            try:
                self.check_now()
            except Exception:  # noqa: BLE001 - the watcher must outlive any one bad look
                log.exception("looking for a new lake version failed")
                time.sleep(self.settings.reload_s)

