"""Scale benchmark: generated releases through the pipeline's stages, time per stage and peak memory.

    .venv/bin/python bench/scale.py                                  # ingest 1k,10k,100k; images 1k,10k
    .venv/bin/python bench/scale.py --ingest-sizes 1000,10000 --image-sizes 1000
    .venv/bin/python bench/scale.py --ingest-sizes "" --image-sizes "" --driver-sizes 100000,1000000

For each ingest size a release without images goes through ./spark-submit.sh pipeline --to ingest; for each
image size a release with images is served on 127.0.0.1 and goes through --to detect (download, extract,
detect with yolov3-tiny). Per stage: seconds and rows/s from the lake's _runs table; per run: the peak
resident memory of the whole process tree (driver JVM, Python driver and workers), sampled every 0.5 s.

For each driver size a whole lake is generated without Spark (photolake.sample.lake: photos, keywords,
image_metadata, detections, clusters, users, interactions...) and the steps whose work has been bound to the
driver run on it one by one: recommend (one ALS point: the catalogue, not the grid, is what grows with the
photos), report and export. Per step: wall seconds, and the peak resident memory of the job's Python driver
(where the work bound to the driver happens) and of the whole tree (the JVM, which in local mode also runs
the executors, and the Python workers). ``--root`` runs them from another checkout
(an older commit) for the figures before a change.
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

from photolake import lake_version  # noqa: E402
from photolake.sample.lake import LakeShape, generate_lake  # noqa: E402
from photolake.sample.release import SampleOptions, generate_release  # noqa: E402
from photolake.sample.server import ImageServer  # noqa: E402


def tree_rss_mb(pid: int, only: bytes = b"") -> float:
    """Resident memory of ``pid`` and all its descendants, from /proc; with ``only``, of the processes whose
    command line holds it (b"jobs/": the job's Python driver)."""
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
            command = Path(f"/proc/{current}/cmdline").read_bytes()
            # the JVM's command line names the job's script too
            counted = not only or (only in command and not command.split(b"\0")[0].endswith(b"java"))
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:") and counted:
                    total += int(line.split()[1])
        except OSError:
            pass
        todo += children.get(current, [])
    return total / 1024


def run_job(job: str, args: list[str], root: Path = ROOT) -> tuple[float, float, float]:
    """(wall seconds, peak MB of the job's Python driver, peak MB of the whole process tree: the JVM, which in
    local mode holds the executors too, and the Python workers) of one ./spark-submit.sh run."""
    env = {**os.environ, "PHOTOLAKE_PYTHON": sys.executable}
    started = time.time()
    process = subprocess.Popen([str(root / "spark-submit.sh"), job, *args], cwd=root, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0.0, 0.0]

    def sample():
        while process.poll() is None:
            peak[0] = max(peak[0], tree_rss_mb(process.pid, only=f"jobs/{job}.py".encode()))
            peak[1] = max(peak[1], tree_rss_mb(process.pid))
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = process.communicate()[0]
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{job} {' '.join(args)} failed:\n{output[-3000:]}")
    return time.time() - started, peak[0], peak[1]


def run_pipeline(args: list[str]) -> tuple[float, float]:
    """(wall seconds, peak MB of the process tree) of one ./spark-submit.sh pipeline run."""
    wall, _, tree = run_job("pipeline", args)
    return wall, tree


def driver_bound(work: Path, photos: int, root: Path, steps: list[str]) -> None:
    """recommend, report and export on a generated lake of ``photos``: seconds and peak memory each."""
    lake = work / f"lake-driver-{photos}"
    if lake_version.read(str(lake)) is None:
        started = time.time()
        generate_lake(lake, LakeShape(photos=photos))
        print(f"  (generated a {photos:,}-photo lake in {time.time() - started:.0f} s)", flush=True)
    one_als = ["--set", "recommend.ranks=[10]", "--set", "recommend.reg_params=[0.1]", "--set",
               "recommend.alphas=[10.0]", "--set", "recommend.max_iter=5"]
    options = {"recommend": one_als, "report": ["--out", str(work / f"report-{photos}")],
               "export": ["--out", str(work / f"export-{photos}")]}
    for job in steps:
        extra = options[job]
        wall, driver, tree = run_job(job, ["--lake", str(lake), *extra], root)
        print(f"{photos:>8,} {job:<22}{wall:>8.0f}{tree:>9,.0f}  the Python driver's peak {driver:,.0f} MB",
              flush=True)


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
    parser.add_argument("--driver-sizes", default="100000,1000000",
                        help="lake sizes for recommend, report and export (generated lakes)")
    parser.add_argument("--driver-steps", default="recommend,report,export")
    parser.add_argument("--workdir", default="/tmp/photolake-scale")
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose spark-submit.sh runs the driver steps")
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
    for photos in [int(s) for s in args.driver_sizes.split(",") if s]:
        driver_bound(work, photos, Path(args.root), args.driver_steps.split(","))


if __name__ == "__main__":
    main()
