"""Start the service from a job's configuration: load the lake, then serve with uvicorn until interrupted."""

from __future__ import annotations

import logging
import time

from photolake.config import Config
from photolake.serve.holder import LakeHolder, ServiceSettings

log = logging.getLogger("photolake.serve")


def settings_from(config: Config) -> ServiceSettings:
    return ServiceSettings(
        lake=config.paths.lake, images=config.paths.images, cache_dir=config.serve.cache_dir,
        reload_s=config.serve.reload_s, cors_origins=tuple(config.serve.cors_origins),
        detect_model=config.serve.detect_model, query_threads=config.serve.query_threads,
        table_memory_mb=config.serve.table_memory_mb, threads=config.serve.threads)


def serve(config: Config, wait: bool = False) -> int:
    import uvicorn

    from photolake.serve.app import create_app

    holder = LakeHolder(settings_from(config))
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
    try:
        uvicorn.run(create_app(holder), host=config.serve.host, port=config.serve.port, log_level="warning",
                    access_log=config.serve.access_log, server_header=False)
    finally:
        holder.stop()
    return 0
