"""Scale benchmark: generated releases through the pipeline's stages, time per stage and peak memory.

    .venv/bin/python bench/scale.py                                  # ingest 1k,10k,100k; images 1k,10k
    .venv/bin/python bench/scale.py --ingest-sizes 1000,10000 --image-sizes 1000

For each ingest size a release without images goes through ./spark-submit.sh pipeline --to ingest; for each
image size a release with images is served on 127.0.0.1 and goes through --to detect (download, extract,
detect with yolov3-tiny). Per stage: seconds and rows/s from the lake's _runs table; per run: the peak
resident memory of the whole process tree (driver JVM, Python driver and workers), sampled every 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from photolake.sample.release import SampleOptions, generate_release  # noqa: E402
from photolake.sample.server import ImageServer  # noqa: E402


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
        todo += children.get(current, [])
    return total / 1024


def run_pipeline(args: list[str]) -> tuple[float, float]:
    """(wall seconds, peak MB of the process tree) of one ./spark-submit.sh pipeline run."""
    env = {**os.environ, "PHOTOLAKE_PYTHON": sys.executable}
    started = time.time()
    process = subprocess.Popen([str(ROOT / "spark-submit.sh"), "pipeline", *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0.0]

    def sample():
        while process.poll() is None:
            peak[0] = max(peak[0], tree_rss_mb(process.pid))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = process.communicate()[0]
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"pipeline {' '.join(args)} failed:\n{output[-3000:]}")
    return time.time() - started, peak[0]


def stage_times(lake: Path) -> dict[str, tuple[float, int]]:
    """job -> (seconds, rows in) from _runs (the largest table's count for jobs with several)."""
    out = subprocess.run([str(ROOT / "spark-submit.sh"), "sql", "--lake", str(lake), "--format", "json",
                          "SELECT job, max(elapsed_s) AS s, sum(rows_in) AS rows FROM _runs GROUP BY job"],
                         cwd=ROOT, env={**os.environ, "PHOTOLAKE_PYTHON": sys.executable}, text=True,
                         capture_output=True, check=True).stdout
    return {r["job"]: (r["s"], r["rows"]) for r in map(json.loads, out.splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ingest-sizes", default="1000,10000,100000")
    parser.add_argument("--image-sizes", default="1000,10000")
    parser.add_argument("--workdir", default="/tmp/photolake-scale")
    args = parser.parse_args()
    work = Path(args.workdir)
    models = os.environ.get("PHOTOLAKE_MODELS") or str(ROOT.parent / "shared" / "models")
    print(f"{'photos':>8} {'stages':<22}{'wall s':>8}{'peak MB':>9}  per stage: seconds (rows/s)")
    for photos in [int(s) for s in args.ingest_sizes.split(",") if s]:
        release, lake = work / f"tables-{photos}", work / f"lake-tables-{photos}"
        if not release.exists():
            generate_release(release, SampleOptions(photos=photos, seed=3, images=False))
        wall, peak = run_pipeline(["--dataset", str(release), "--lake", str(lake), "--to", "ingest", "--force"])
        times = stage_times(lake)
        print(f"{photos:>8,} {'ingest':<22}{wall:>8.0f}{peak:>9,.0f}  "
              + ", ".join(f"{job} {s:.0f} s ({rows / s:,.0f} rows/s)" for job, (s, rows) in times.items()), flush=True)
    for photos in [int(s) for s in args.image_sizes.split(",") if s]:
        release, lake = work / f"images-{photos}", work / f"lake-images-{photos}"
        (release / "images").mkdir(parents=True, exist_ok=True)
        with ImageServer(release / "images", port=8791) as server:  # a fixed port: the release keeps its URLs
            if not (release / "sample-manifest.json").exists():
                generate_release(release, SampleOptions(photos=photos, seed=3, image_base_url=server.url))
            host = server.url.split("//", 1)[1]
            wall, peak = run_pipeline([
                "--dataset", str(release), "--lake", str(lake), "--images", str(work / f"img-{photos}"),
                "--to", "detect", "--force", "--allow-hosts", host, "--set", "detect.model=yolov3-tiny",
                "--set", f"detect.models_dir={models}"])
        times = stage_times(lake)
        print(f"{photos:>8,} {'ingest..detect':<22}{wall:>8.0f}{peak:>9,.0f}  "
              + ", ".join(f"{job} {s:.0f} s ({rows / s:,.1f} rows/s)" for job, (s, rows) in times.items()), flush=True)


if __name__ == "__main__":
    main()
