"""Ingest benchmark: generate Lite-sized releases and time the ingest job on them.

    .venv/bin/python bench/ingest.py                      # 25,000 photos (Lite-like volumes)
    .venv/bin/python bench/ingest.py --sizes 25000,250000 # does rows/s hold as the release grows?

Runs the real command (./spark-submit.sh ingest) and prints, per size, the records, the wall time of the
job (JVM start included), the ingest's own time from the lake's _runs table, and records/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from photolake.sample.release import SampleOptions, generate_release  # noqa: E402


def run(*args: str) -> str:
    env = {**os.environ, "PHOTOLAKE_PYTHON": sys.executable}
    return subprocess.run([str(ROOT / "spark-submit.sh"), *args], cwd=ROOT, env=env, text=True, check=True,
                          capture_output=True).stdout


def bench(photos: int, workdir: Path, keep: bool) -> dict:
    dataset, lake_dir = workdir / f"release-{photos}", workdir / f"lake-{photos}"
    if not (dataset / "sample-manifest.json").exists():
        started = time.time()
        generate_release(dataset, SampleOptions(photos=photos, seed=1, images=False))
        generated_s = time.time() - started
    else:
        generated_s = float("nan")
    shutil.rmtree(lake_dir, ignore_errors=True)
    started = time.time()
    run("ingest", "--dataset", str(dataset), "--lake", str(lake_dir))
    wall_s = time.time() - started
    runs = [json.loads(line) for line in run(
        "sql", "--lake", str(lake_dir), "--format", "json",
        "SELECT table, rows_in, elapsed_s FROM _runs").splitlines()]
    records = sum(r["rows_in"] for r in runs)
    ingest_s = max(r["elapsed_s"] for r in runs)
    size_mb = sum(p.stat().st_size for p in dataset.glob("*.[tc]sv*")) / 1e6
    if not keep:
        shutil.rmtree(lake_dir, ignore_errors=True)
    return {"photos": photos, "records": records, "mb": size_mb, "generate_s": generated_s, "wall_s": wall_s,
            "ingest_s": ingest_s, "records_per_s": records / ingest_s,
            "tables": {r["table"]: r["rows_in"] for r in runs}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="25000", help="photos per release, comma-separated")
    parser.add_argument("--workdir", default=str(ROOT / "output" / "bench"))
    parser.add_argument("--keep", action="store_true", help="keep the lakes")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'photos':>8} {'records':>11} {'MB':>7} {'generate s':>11} {'job wall s':>11} {'ingest s':>9} "
          f"{'records/s':>10}")
    for size in (int(s) for s in args.sizes.split(",")):
        r = bench(size, workdir, args.keep)
        print(f"{r['photos']:>8,} {r['records']:>11,} {r['mb']:>7.0f} {r['generate_s']:>11.1f} {r['wall_s']:>11.1f} "
              f"{r['ingest_s']:>9.1f} {r['records_per_s']:>10,.0f}   {r['tables']}", flush=True)


if __name__ == "__main__":
    main()
