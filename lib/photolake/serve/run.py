"""Start the service from a job's configuration: load the lake, then serve with uvicorn until interrupted."""

from __future__ import annotations

import ctypes
import dataclasses
import json
import logging
import os
import time

from photolake.config import Config
from photolake.serve.holder import LakeHolder, ServiceSettings

log = logging.getLogger("photolake.serve")
SETTINGS_VARIABLE = "PHOTOLAKE_SERVE_SETTINGS"  # how serve.workers' processes get their settings


def settings_from(config: Config) -> ServiceSettings:
    return ServiceSettings(
        lake=config.paths.lake, images=config.paths.images, cache_dir=config.serve.cache_dir,
        reload_s=config.serve.reload_s, cors_origins=tuple(config.serve.cors_origins),
        detect_model=config.serve.detect_model, query_threads=config.serve.query_threads,
        table_memory_mb=config.serve.table_memory_mb, threads=config.serve.threads)


def keep_freed_memory() -> None:
    """Let glibc keep the requests' freed temporaries for the next ones instead of handing them back to the OS:
    a 1M-photo score array is 4 MB, and fresh pages cost a fault each (similar photos at 1M: colour 9.3 -> 6.4
    ms, tags 10.5 -> 6.7). Past 64 MB an allocation is mapped on its own, and freed memory above 256 MB is
    returned."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return
    for option, value in ((-3, 64 << 20), (-1, 256 << 20), (-2, 64 << 20)):  # M_MMAP_THRESHOLD, M_TRIM_, M_TOP_PAD
        mallopt(option, value)


def serve(config: Config, wait: bool = False) -> int:
    import uvicorn

    from photolake.serve.app import create_app

    settings = settings_from(config)
    holder = LakeHolder(settings)
    started = time.time()
    print(f"loading the lake at {config.paths.lake} ...", flush=True)
    holder.start(required=not wait)
    lake = holder.current
    url = f"http://{config.serve.host}:{config.serve.port}"
    if lake is None:
        print(f"no lake yet ({holder.problem}); serving at {url} and looking again every "
              f"{config.serve.reload_s:g} s", flush=True)
    else:
        how = "opened from the cache" if lake.from_cache else "loaded"
        print(f"serving {len(lake.ids):,} photos (lake version {lake.tag}, run {lake.version.run_id}; {how} in "
              f"{time.time() - started:.1f} s) at {url}/  (API docs at {url}/docs; Ctrl-C stops)", flush=True)
        if lake.missing:
            print(f"  not in this lake: {', '.join(lake.missing)} (their endpoints answer with nothing)", flush=True)
    logging.getLogger("photolake.serve").setLevel(logging.INFO)
    keep_freed_memory()  # after the load, whose temporaries are handed back (store.load)
    listen = {"host": config.serve.host, "port": config.serve.port, "log_level": "warning",
              "access_log": config.serve.access_log, "server_header": False}
    try:
        if config.serve.workers == 1:
            uvicorn.run(create_app(holder), **listen)
        else:
            # the loaded version is in the cache now: each worker opens it there, sharing its pages, and this
            # process only looks after them
            holder.stop()
            holder.current = None
            os.environ[SETTINGS_VARIABLE] = json.dumps(dataclasses.asdict(settings))
            uvicorn.run(f"{__name__}:worker_app", factory=True, workers=config.serve.workers, **listen)
    finally:
        holder.stop()
    return 0


def worker_app():
    """The app of one of serve.workers' processes, with the settings of the process that started it."""
    from photolake.cli import setup_logging
    from photolake.serve.app import create_app

    setup_logging()
    settings = json.loads(os.environ[SETTINGS_VARIABLE])
    holder = LakeHolder(ServiceSettings(**{**settings, "cors_origins": tuple(settings["cors_origins"])}))
    holder.start(required=False)
    logging.getLogger("photolake.serve").setLevel(logging.INFO)
    keep_freed_memory()
    return create_app(holder)
