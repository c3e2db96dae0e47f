"""Detection accuracy on COCO: the detect job over $PHOTOLAKE_SHARED/data/coco128, then mAP@0.5 and
mAP@0.5:0.95 (COCO-style, 101-point interpolated AP) against its labels.

    .venv/bin/python bench/detect_map.py --model yolov3-tiny [--conf 0.001] [--size 416]
                                         [--backends onnxruntime,opencv]

Runs ./spark-submit.sh detect --from-dir on the images (the job's own code path, local[*]) with each
backend, reads the detections table it wrote and scores it.  Model files come from
$PHOTOLAKE_SHARED/models, then the usual places (see the detect job).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
SHARED = Path(os.environ.get("PHOTOLAKE_SHARED", ROOT.parent / "shared"))

from photolake.detect.evaluate import evaluate_rows  # noqa: E402
from photolake.detect.models import BACKENDS, MODELS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=list(MODELS), default="yolov3-tiny")
    parser.add_argument("--conf", type=float, default=0.001)
    parser.add_argument("--size", type=int, default=416)
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "coco128")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated")
    args = parser.parse_args()
    images, labels = args.data / "images" / "train2017", args.data / "labels" / "train2017"
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as work:
            lake = Path(work) / "lake"
            started = time.perf_counter()
            subprocess.run([str(ROOT / "spark-submit.sh"), "detect", "--from-dir", str(images), "--lake", str(lake),
                            "--model", args.model, "--conf", str(args.conf), "--size", str(args.size),
                            "--backend", backend, "--set", f"detect.models_dir={SHARED / 'models'}",
                            "--set", f"detect.cache_dir={Path(work) / 'conversions'}"], check=True, cwd=ROOT,
                           stdout=subprocess.DEVNULL)
            elapsed = time.perf_counter() - started
            rows = pq.read_table(lake / "detections" / f"model={args.model}").to_pylist()
        scores = evaluate_rows(rows, labels)
        print(f"model {args.model}, {backend}, conf {args.conf}, size {args.size}: {len(rows)} images, "
              f"{scores['boxes']} boxes, {scores['classes']} classes, job {elapsed:.1f} s")
        print(f"  mAP@0.5      {scores['map50']:.1f}")
        print(f"  mAP@0.5:0.95 {scores['map50_95']:.1f}")


if __name__ == "__main__":
    main()
