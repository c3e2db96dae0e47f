"""Start the service from a job's configuration: load the lake, then serve with uvicorn until interrupted."""

from __future__ import annotations

import ctypes
import dataclasses
import json
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time

from photolake.config import Config
from photolake.serve.holder import LakeHolder, ServiceSettings

log = logging.getLogger("photolake.serve")
SETTINGS_VARIABLE = "PHOTOLAKE_SERVE_SETTINGS"  # how serve.workers' processes get their settings
THREADS_ALONE, THREADS_EACH = 4, 1  # serve.threads 0: with one process, and with each of several
MOST_WORKERS = 4  # serve.workers 0: one per core up to this (at 1M photos each holds about 0.2 GB of its own)
FAILED_START_S = 20  # a worker that stops this soon after it started would not start again either


def workers_for(config: Config) -> int:
    return config.serve.workers or max(1, min(os.cpu_count() or 1, MOST_WORKERS))


def settings_from(config: Config) -> ServiceSettings:
    return ServiceSettings(
        lake=config.paths.lake, images=config.paths.images, cache_dir=config.serve.cache_dir,
        reload_s=config.serve.reload_s, cors_origins=tuple(config.serve.cors_origins),
        detect_model=config.serve.detect_model, query_threads=config.serve.query_threads,
        table_memory_mb=config.serve.table_memory_mb,
        threads=config.serve.threads or (THREADS_ALONE if workers_for(config) == 1 else THREADS_EACH))


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
        workers = workers_for(config)
        print(f"serving {len(lake.ids):,} photos (lake version {lake.tag}, run {lake.version.run_id}; {how} in "
              f"{time.time() - started:.1f} s) at {url}/ with {workers} worker process{'es' * (workers > 1)}  "
              f"(API docs at {url}/docs; Ctrl-C stops)", flush=True)
        if lake.missing:
            print(f"  not in this lake: {', '.join(lake.missing)} (their endpoints answer with nothing)", flush=True)
    logging.getLogger("photolake.serve").setLevel(logging.INFO)
    keep_freed_memory()  # after the load, whose temporaries are handed back (store.load)
    listen = {"host": config.serve.host, "port": config.serve.port, "log_level": "warning",
              "access_log": config.serve.access_log, "server_header": False}
    try:
        if workers_for(config) == 1:
            uvicorn.run(create_app(holder), **listen)
        else:
            # each worker opens the loaded version in the cache (once it is saved there), sharing its pages,
            # and this process only looks after them
            holder.stop()
            holder.current = lake = None
            os.environ[SETTINGS_VARIABLE] = json.dumps(dataclasses.asdict(settings))
            return _supervise(workers_for(config), listen)
    finally:
        holder.stop()
    return 0


def _supervise(workers: int, listen: dict) -> int:
    """Run serve.workers' processes until interrupted, starting another for one that stops; each listens on the
    port itself (SO_REUSEPORT), so the kernel spreads new connections evenly over them. With one socket shared,
    as uvicorn's own workers have it, the first to wake accepted a burst of connections: of 16 opened at once,
    one worker often got most and the other cores idled (bench/serve.py: 217-307 requests/s against 490-503)."""
    # first without SO_REUSEPORT, so that another service on the port is an error, not a share of its requests
    _bound(listen["host"], listen["port"], shared=False).close()
    spawn = multiprocessing.get_context("spawn")
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())

    def start() -> tuple:
        process = spawn.Process(target=_worker, args=(listen,), name="photolake-serve-worker")
        process.start()
        return process, time.monotonic()

    processes = [start() for _ in range(workers)]
    try:
        while not stopping.wait(0.5):
            for n, (process, started) in enumerate(processes):
                if process.is_alive():
                    continue
                if time.monotonic() - started < FAILED_START_S:
                    print(f"serve: a worker stopped {time.monotonic() - started:.0f} s after it started (exit code "
                          f"{process.exitcode}); stopping", file=sys.stderr, flush=True)
                    return 1
                log.warning("a worker stopped (exit code %s); starting another", process.exitcode)
                processes[n] = start()
    finally:
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            process.join(30)
    return 0


def _worker(listen: dict) -> None:
    """One of serve.workers' processes: its own socket on the shared port, and uvicorn on it."""
    import uvicorn

    sock = _bound(listen["host"], listen["port"], shared=True)
    sock.listen(2048)
    config = uvicorn.Config(f"{__name__}:worker_app", factory=True, **listen)
    uvicorn.Server(config).run(sockets=[sock])


def _bound(host: str, port: int, shared: bool) -> socket.socket:
    """A socket bound to the port, which the other workers' bind too when ``shared`` (SO_REUSEPORT); exits
    with a one-line error when the port is taken."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn's: a restart need not wait
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"serve: cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


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
