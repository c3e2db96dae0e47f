"""Download benchmark: photolake's download job vs img2dataset on the same URLs, same thread count.

    .venv/bin/python bench/download.py [--images 2000] [--threads 16] [--img2dataset PATH]

A server process on 127.0.0.1 serves N images: the real Unsplash photos in $PHOTOLAKE_SHARED/data/
unsplash-photos (1920 px progressive JPEGs), cycled under distinct names.  Two modes:
  originals  photolake --width original  vs  img2dataset --resize_mode=no --disable_all_reencoding=True
  resize     photolake --width 640 (local, longest side)  vs  img2dataset --resize_mode=keep_ratio --image_size=640;
             photolake also with download.draft_decode=false (every scan decoded), to show what the draft saves
Each tool's wall time covers its whole command (Spark's JVM start included).  MB/s counts the bytes the
server sent.  img2dataset runs from its own environment (pandas < 3, NO_ALBUMENTATIONS_UPDATE=1): pass
its executable with --img2dataset (default: /tmp/i2d-venv/bin/img2dataset).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PHOTOLAKE_SHARED", ROOT.parent / "shared"))


def serve(port: int, photos: list[str], sent, window) -> None:
    blobs = [Path(p).read_bytes() for p in photos]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            try:
                index = int(self.path.rsplit("/", 1)[1].split(".")[0])
            except ValueError:
                self.send_error(404)
                return
            body = blobs[index % len(blobs)]
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            started = time.time()
            self.wfile.write(body)
            with sent.get_lock():
                sent.value += len(body)
                window[0] = started if window[0] == 0 else min(window[0], started)
                window[1] = max(window[1], time.time())

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    server.serve_forever()


def make_lake(lake: Path, urls: list[str]) -> None:
    sys.path.insert(0, str(ROOT / "lib"))
    from pyspark.sql import functions as F

    from photolake import lake as lake_io
    from photolake.config import load_config
    from photolake.schemas import LAKE_TABLES
    from photolake.session import build_session

    spark = build_session("bench-setup", load_config(env={}))
    rows = [(f"b{n:010d}", url) for n, url in enumerate(urls)]
    df = spark.createDataFrame(rows, "photo_id string, photo_image_url string")
    schema = LAKE_TABLES["photos"]  # the lake's contract: every column, null where the bench has nothing
    df = df.select(*[(F.col(f.name) if f.name in df.columns else F.lit(None)).cast(f.dataType).alias(f.name)
                     for f in schema.fields])
    lake_io.write_table(df, str(lake), "photos", "bench")
    spark.stop()


def timed(command: list[str], env: dict | None = None) -> float:
    started = time.time()
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.time() - started


def count_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*.jpg"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--img2dataset", default="/tmp/i2d-venv/bin/img2dataset")
    parser.add_argument("--modes", default="originals,resize")
    parser.add_argument("--workdir", default=str(ROOT / "output" / "bench-download"))
    args = parser.parse_args()

    photos = sorted(str(p) for p in (SHARED / "data" / "unsplash-photos").glob("*.jpg"))
    if not photos:
        raise SystemExit(f"no photos in {SHARED}/data/unsplash-photos: set PHOTOLAKE_SHARED")
    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sent = multiprocessing.Value("q", 0)
    window = multiprocessing.Array("d", 2)  # first request, last response (server clock)
    server = multiprocessing.Process(target=serve, args=(args.port, photos, sent, window), daemon=True)
    server.start()
    time.sleep(0.5)
    urls = [f"http://127.0.0.1:{args.port}/img/{n}.jpg" for n in range(args.images)]
    (work / "urls.txt").write_text("\n".join(urls) + "\n")
    make_lake(work / "lake", urls)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.images} images ({len(photos)} distinct 1920 px JPEGs), {args.threads} threads")
    print("wall: the whole command; transfer: the server's first request to its last response")
    print(f"{'mode':<10} {'tool':<16} {'wall s':>7} {'images':>7} {'images/s':>9} {'transfer s':>11} "
          f"{'images/s':>9} {'MB/s':>7}")
    submit_env = {"PHOTOLAKE_PYTHON": sys.executable}
    shards = max(1, args.images // 8)
    for mode in args.modes.split(","):
        width = "original" if mode == "originals" else "640"
        i2d_resize = (["--resize_mode", "no", "--disable_all_reencoding", "True"] if mode == "originals"
                      else ["--resize_mode", "keep_ratio", "--image_size", "640"])
        figures = {}
        tools = ("photolake", "photolake-exact", "img2dataset") if mode == "resize" else ("photolake", "img2dataset")
        for tool in tools:
            out = work / f"{tool}-{mode}"
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(work / "lake" / "downloads", ignore_errors=True)
            os.sync()  # the last run's files written back now, so their writeback slows neither tool
            before = sent.value
            window[0], window[1] = 0.0, 0.0
            if tool.startswith("photolake"):
                exact = ["--set", "download.draft_decode=false"] if tool == "photolake-exact" else []
                seconds = timed([str(ROOT / "spark-submit.sh"), "download", "--lake", str(work / "lake"),
                                 "--images", str(out), "--width", width, "--threads", str(args.threads),
                                 "--allow-hosts", f"127.0.0.1:{args.port}", "--retries", "0",
                                 "--set", "download.rate_per_host=0", "--set", "download.connections_per_host=0",
                                 *exact], submit_env)
            else:
                seconds = timed([args.img2dataset, "--url_list", str(work / "urls.txt"), "--input_format", "txt",
                                 "--output_folder", str(out), "--output_format", "files", "--processes_count", "2",
                                 "--thread_count", str(args.threads), "--number_sample_per_shard", str(shards),
                                 "--timeout", "10", "--retries", "0", "--enable_wandb", "False", *i2d_resize],
                                {"NO_ALBUMENTATIONS_UPDATE": "1"})
            stored = count_files(out)
            megabytes = (sent.value - before) / 1e6
            transfer = window[1] - window[0]
            figures[tool] = (stored / seconds, stored / transfer)
            print(f"{mode:<10} {tool:<16} {seconds:>7.1f} {stored:>7} {stored / seconds:>9.1f} {transfer:>11.1f} "
                  f"{stored / transfer:>9.1f} {megabytes / transfer:>7.1f}", flush=True)
        theirs = figures.pop("img2dataset")
        for tool, ours in figures.items():
            print(f"{mode:<10} {tool} / img2dataset: wall {ours[0] / theirs[0]:.2f}x, "
                  f"transfer {ours[1] / theirs[1]:.2f}x", flush=True)
    server.terminate()


if __name__ == "__main__":
    main()
