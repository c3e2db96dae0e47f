"""Detect benchmark: the detect job vs a bare per-image OpenCV loop (one process, OpenCV's own threads on all
cores: this machine's limit for the model), on the same images with the same model and input size.

    .venv/bin/python bench/detect.py [--model yolov3-tiny] [--images 1000] [--cores 1,2]

Builds a folder of N images by hard-linking, cycled, the COCO images of $PHOTOLAKE_SHARED/data/coco128
(640 px JPEGs).  Then times:
  bare loop     cv2.imread, letterbox, blobFromImage, net.forward and the output decoding, image after image
  job local[C]  ./spark-submit.sh detect --from-dir for each C in --cores (wall time, JVM start included,
                and the detections stage alone as the run summary reports it)
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
SHARED = Path(os.environ.get("PHOTOLAKE_SHARED", ROOT.parent / "shared"))

from photolake.detect.models import MODELS, resolve_model  # noqa: E402
from photolake.detect.yolo import DecodedImage, Detector  # noqa: E402


def build_folder(folder: Path, count: int) -> list[Path]:
    sources = sorted((SHARED / "data" / "coco128" / "images" / "train2017").glob("*.jpg"))
    folder.mkdir(parents=True)
    files = []
    for n in range(count):
        target = folder / f"{n // 500:03d}" / f"{n:06d}.jpg"
        target.parent.mkdir(exist_ok=True)
        try:
            os.link(sources[n % len(sources)], target)
        except OSError:
            shutil.copyfile(sources[n % len(sources)], target)
        files.append(target)
    return files


def bare_loop(files: list[Path], model: str, size: int) -> float:
    """Images/s of the plainest loop: OpenCV decodes the full image, the network runs on all cores."""
    detector = Detector(resolve_model(model, models_dir=str(SHARED / "models")), size=size)
    started = time.perf_counter()
    for path in files:
        bgr = cv2.imread(str(path))
        detector.detect(DecodedImage(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), bgr.shape[1], bgr.shape[0]))
    return len(files) / (time.perf_counter() - started)


def job(folder: Path, count: int, model: str, size: int, cores: int, work: Path) -> tuple[float, float]:
    """(images/s over the wall time of spark-submit, images/s of the detections stage alone)."""
    env = {**os.environ, "PHOTOLAKE_MODELS": str(SHARED / "models")}
    started = time.perf_counter()
    result = subprocess.run([str(ROOT / "spark-submit.sh"), "detect", "--from-dir", str(folder),
                             "--lake", str(work / f"lake-{cores}"), "--model", model, "--size", str(size),
                             "--master", f"local[{cores}]"], check=True, cwd=ROOT, env=env,
                            capture_output=True, text=True)
    wall = time.perf_counter() - started
    stage = re.search(r"^\s+detections\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+([\d.]+)", result.stdout, re.M)
    return count / wall, count / float(stage.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=list(MODELS), default="yolov3-tiny")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--size", type=int, default=416)
    parser.add_argument("--cores", default="1,2", help="local[C] runs of the job, comma-separated")
    args = parser.parse_args()
    print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, OpenCV {cv2.__version__}; "
          f"model {args.model} at {args.size} px, {args.images} COCO images")
    with tempfile.TemporaryDirectory() as work:
        files = build_folder(Path(work) / "images", args.images)
        bare = bare_loop(files, args.model, args.size)
        print(f"{'bare loop (1 process, OpenCV threads: ' + str(cv2.getNumThreads()) + ')':<44} {bare:8.1f} images/s")
        for cores in (int(c) for c in args.cores.split(",")):
            wall, stage = job(Path(work) / "images", args.images, args.model, args.size, cores, Path(work))
            print(f"{f'job local[{cores}], wall (JVM start included)':<44} {wall:8.1f} images/s  "
                  f"{wall / bare:5.2f}x bare")
            print(f"{f'job local[{cores}], detections stage':<44} {stage:8.1f} images/s  {stage / bare:5.2f}x bare")


if __name__ == "__main__":
    main()
