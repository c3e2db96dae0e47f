"""Service benchmark: the API under load on generated lakes (photolake.sample.lake), load generator included.

    .venv/bin/python bench/serve.py                          # 25,000 and 1,000,000 photos
    .venv/bin/python bench/serve.py --photos 25000 --seconds 10
    .venv/bin/python bench/serve.py --photos 1000000 --workers 2  # two service processes (the default on 2 cores)

For each lake size: generate the lake once (kept in --dir for the next run), start ``./spark-submit.sh serve``
on 127.0.0.1 as a user would, and measure its start-up (process start to /readyz 200, and the load and index
time it reports) twice: first with an empty cache, when it loads the lake and saves the loaded version, then
again, when it opens that version from the cache (photolake.serve.snapshot), with --workers processes. Then
drive the second one from this process with keep-alive HTTP/1.1 connections over asyncio, and report its
memory (the resident set of its processes once warm, pages they share counted once, of which file pages; the
largest process's peak; and the first start's peak):

- the mix, closed loop at 16 and 64 connections: each connection sends its next request when the last
  answer is in, for --seconds; requests/s and p50/p95/p99 per endpoint;
- the mix offered at --rate requests/s (default 100; open loop, 64 connections): latency is counted from when each
  request was due, so time spent waiting for a free connection is included.

The mix (by request count): photo 25%, search with facets 20% (one to three filters drawn from every kind:
words, keyword, object, colour name or hex, camera, orientation, size, country, date range, cluster,
location; every sort), similar 15% (every way), user 10%, recommendations 20%, duplicates 5%, stats and
clusters 5%. Ids and filters are drawn with a fixed seed. Every answer must be 200 or the run fails.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from photolake import lake_version  # noqa: E402
from photolake.sample.lake import OBJECTS, LakeShape, generate_lake  # noqa: E402
from photolake.sample.vocabulary import CAMERAS, COMMON_KEYWORDS, PLACES  # noqa: E402

MIX = {"photo": 25, "search": 20, "similar": 15, "user": 10, "recommendations": 20, "duplicates": 5, "stats": 5}
WAYS = ("visual", "colour", "objects", "tags", "mixed")


def lake_for(folder: Path, photos: int) -> Path:
    lake = folder / f"lake-{photos}"
    if lake_version.read(str(lake)) is None or lake_version.read(str(lake)).run_id != f"generated-7-{photos}":
        started = time.time()
        print(f"generating a {photos:,}-photo lake in {lake} ...", flush=True)
        generate_lake(lake, LakeShape(photos=photos))
        print(f"  {time.time() - started:.0f} s", flush=True)
    return lake


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_service(lake: Path, port: int, cache: Path, workers: int) -> tuple[subprocess.Popen, float]:
    started = time.time()
    process = subprocess.Popen([str(ROOT / "spark-submit.sh"), "serve", "--lake", str(lake), "--port", str(port),
                                "--images", str(lake / "images"), "--set", "serve.reload_s=0",
                                "--set", f"serve.cache_dir={cache}", "--set", f"serve.workers={workers}"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    while True:
        if process.poll() is not None:
            raise SystemExit(f"the service stopped: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
                if answer.status == 200:
                    return process, time.time() - started
        except OSError:
            time.sleep(0.1)


def _tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(p for child in children for p in _tree(int(child)))]


def _fields(path: str) -> dict[str, float]:
    """A /proc status-like file's kB fields, in MB."""
    return {name: int(value.split()[0]) / 1024 for name, value in
            (line.split(":", 1) for line in Path(path).read_text().splitlines() if ":" in line)
            if value.strip().endswith("kB")}


def memory_mb(pid: int) -> tuple[float, float, float]:
    """(resident now, of which mapped files, the largest process's peak) of a process and its children (the
    workers), in MB; pages the processes share are counted once (proportional set size)."""
    tree = _tree(pid)
    rollups = [_fields(f"/proc/{p}/smaps_rollup") for p in tree]
    return (sum(r["Pss"] for r in rollups), sum(r["Pss_File"] for r in rollups),
            max(_fields(f"/proc/{p}/status")["VmHWM"] for p in tree))


def first_start(lake: Path, cache: Path) -> tuple[float, float, float]:
    """(ready s, load s, peak MB) of a service that finds nothing of the lake in its cache. One worker: with more,
    the first process builds it just the same, and the workers it starts then open it."""
    shutil.rmtree(cache / "index", ignore_errors=True)
    port = free_port()
    process, ready_s = start_service(lake, port, cache, 1)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/version") as answer:
            return ready_s, json.load(answer)["loaded_in_s"], memory_mb(process.pid)[2]
    finally:
        process.terminate()
        process.wait(10)


def requests_for(lake: Path, count: int, seed: int = 1) -> list[tuple[str, str]]:
    """(endpoint, path) drawn by the mix's weights."""
    rng = random.Random(seed)
    ids = pq.read_table(lake / "photos", columns=["photo_id"])["photo_id"].to_pylist()
    users = pq.read_table(lake / "users", columns=["user_id"])["user_id"].to_pylist()
    filters = [
        lambda: {"q": rng.choice(["mountain", "city night", "nature", "coffee book", "dog grass", "sky", "lake"])},
        lambda: {"keyword": rng.choice(COMMON_KEYWORDS[:40])},
        lambda: {"object": rng.choice(OBJECTS), "min_score": rng.choice([0, 0.5, 0.8])},
        lambda: {"color": rng.choice(["blue", "red", "green", "navy", "#1e90ff", "#ffcc00", "white"])},
        lambda: {"camera_make": rng.choice(CAMERAS)[0].split()[0].title()},
        lambda: {"orientation": rng.choice(["landscape", "portrait"])},
        lambda: {"size": rng.choice(["thumbnail", "medium", "large"])},
        lambda: {"country": rng.choice(PLACES)[2]},
        lambda: {"date_from": f"{rng.randint(2014, 2022)}-01-01", "date_to": f"{rng.randint(2022, 2023)}-06-30"},
        lambda: {"cluster": rng.randrange(8)},
        lambda: {"has_location": rng.choice(["true", "false"])},
    ]
    endpoints, weights = list(MIX), list(MIX.values())
    out = []
    for _ in range(count):
        kind = rng.choices(endpoints, weights)[0]
        photo, user = quote(rng.choice(ids)), rng.choice(users)
        if kind == "photo":
            path = f"/api/v1/photos/{photo}"
        elif kind == "search":
            params = {}
            for make in rng.sample(filters, rng.randint(1, 3)):
                params.update(make())
            params["sort"] = rng.choice(["newest", "most_viewed", "most_downloaded"] +
                                        (["relevance"] if "q" in params else []))
            path = f"/api/v1/photos?{urlencode(params)}"
        elif kind == "similar":
            path = f"/api/v1/photos/{photo}/similar?by={rng.choice(WAYS)}"
        elif kind == "user":
            path = f"/api/v1/users/{user}"
        elif kind == "recommendations":
            path = f"/api/v1/users/{user}/recommendations"
        elif kind == "duplicates":
            path = f"/api/v1/photos/{photo}/duplicates"
        else:
            path = rng.choice(["/api/v1/stats", "/api/v1/clusters"])
        out.append((kind, path))
    return out


async def _one(reader, writer, path: str) -> int:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    await reader.readexactly(length)
    return status


async def drive(port: int, connections: int, next_request) -> dict:
    """Send ``next_request()``'s (due time, endpoint, path) on keep-alive connections until it gives None;
    latency counts from when each request was due."""
    latencies, bad = defaultdict(list), []

    async def connection():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (request := next_request()) is not None:
            due, kind, path = request
            if due > time.perf_counter():
                await asyncio.sleep(due - time.perf_counter())
            status = await _one(reader, writer, path)
            latencies[kind].append(time.perf_counter() - due)
            if status != 200:
                bad.append((status, path))
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return {"latencies": latencies, "bad": bad, "seconds": time.perf_counter() - began}


def closed_loop(port: int, work: list, connections: int, seconds: float):
    """Each connection sends its next request as soon as the last answer is in."""
    cursor, deadline = itertools.cycle(work), time.perf_counter() + seconds
    return drive(port, connections, lambda: (time.perf_counter(), *next(cursor))
                 if time.perf_counter() < deadline else None)


def open_loop(port: int, work: list, connections: int, rate: float, seconds: float):
    """Requests due at ``rate`` a second, whether or not the earlier ones are answered."""
    start = time.perf_counter() + 0.2
    schedule = iter([(start + n / rate, *work[n % len(work)]) for n in range(int(rate * seconds))])
    return drive(port, connections, lambda: next(schedule, None))


def report(title: str, result: dict) -> dict:
    if result["bad"]:
        raise SystemExit(f"{title}: {len(result['bad'])} answers were not 200, e.g. {result['bad'][:3]}")
    every = [x for values in result["latencies"].values() for x in values]
    print(f"\n{title}: {len(every):,} requests in {result['seconds']:.1f} s = {len(every) / result['seconds']:,.0f} "
          f"requests/s")
    print(f"  {'endpoint':<16}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    rows = {}
    for kind in [*MIX, "all"]:
        values = np.array(every if kind == "all" else result["latencies"].get(kind, [])) * 1000
        if not len(values):
            continue
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        rows[kind] = {"requests": len(values), "p50": p50, "p95": p95, "p99": p99}
        print(f"  {kind:<16}{len(values):>9,}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}")
    return {"requests_per_s": len(every) / result["seconds"], "endpoints": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default="25000,1000000", help="lake sizes, comma-separated")
    parser.add_argument("--dir", default="/tmp/photolake-bench-serve", help="where the generated lakes are kept")
    parser.add_argument("--seconds", type=float, default=20, help="length of each load run")
    parser.add_argument("--rate", type=float, default=100, help="the open-loop run's requests/s")
    parser.add_argument("--workers", type=int, default=1, help="the service's processes (serve.workers; the "
                        "service's own default is one per core)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; the load "
          f"generator runs on the same cores; the service with {args.workers} worker process(es)")
    figures = {}
    for photos in (int(p) for p in args.photos.split(",")):
        lake = lake_for(Path(args.dir), photos)
        cache = Path(args.dir) / f"cache-{photos}"
        first_ready_s, first_load_s, first_peak = first_start(lake, cache)
        port = free_port()
        process, ready_s = start_service(lake, port, cache, args.workers)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/version") as answer:
                version = json.load(answer)
            work = requests_for(lake, 20_000)
            asyncio.run(closed_loop(port, work[:2000], 8, 3))  # warm-up: thumbnails and caches as in use
            print(f"\n== {photos:,} photos: first start (empty cache) ready in {first_ready_s:.1f} s after the "
                  f"process started (load and index {first_load_s:.1f} s, peak {first_peak:,.0f} MB); "
                  f"restarted (from the cache) ready in {ready_s:.1f} s (opened in {version['loaded_in_s']:.1f} s)")
            runs = {}
            for connections in (16, 64):
                runs[f"closed_{connections}"] = report(
                    f"{photos:,} photos, the mix, {connections} connections, closed loop",
                    asyncio.run(closed_loop(port, work, connections, args.seconds)))
            runs["open"] = report(f"{photos:,} photos, the mix offered at {args.rate:g} requests/s, 64 connections",
                                  asyncio.run(open_loop(port, work, 64, args.rate, args.seconds)))
            resident, files, peak = memory_mb(process.pid)
            print(f"\nmemory: {resident:,.0f} MB resident after the runs, shared pages counted once (of which "
                  f"{files:,.0f} MB mapped files); the largest process's peak {peak:,.0f} MB, the first start's "
                  f"{first_peak:,.0f} MB")
            figures[photos] = {"first_ready_s": first_ready_s, "first_load_s": first_load_s,
                               "first_peak_mb": first_peak, "ready_s": ready_s, "load_s": version["loaded_in_s"],
                               "resident_mb": resident, "resident_file_mb": files, "peak_mb": peak,
                               "workers": args.workers, **runs}
        finally:
            process.terminate()
            process.wait(10)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
