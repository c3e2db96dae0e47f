"""What the download's local resize costs and how close its copies stay to the photo, per decode path.

    .venv/bin/python bench/resize_quality.py [--longest 640] [--quality 85]

On the real Unsplash photos in $PHOTOLAKE_SHARED/data/unsplash-photos, each path makes the stored copy
(longest side --longest, JPEG at --quality) and is compared with a reference: the whole photo decoded
by Pillow and reduced with Lanczos to the same size.  Error is the mean absolute difference per channel
(0-255) of the stored copy, decoded, against that reference; time is the best of three passes, one core.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
from photolake.download.fetch import resize_longest  # noqa: E402

SHARED = Path(os.environ.get("PHOTOLAKE_SHARED", ROOT.parent / "shared"))


def full_decode_area(data: bytes, size: tuple[int, int], quality: int) -> bytes:
    """img2dataset's way at photolake's size: the whole photo decoded, INTER_AREA, one encode."""
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--longest", type=int, default=640)
    parser.add_argument("--quality", type=int, default=85)
    args = parser.parse_args()
    photos = [p.read_bytes() for p in sorted((SHARED / "data" / "unsplash-photos").glob("*.jpg"))]
    if not photos:
        raise SystemExit(f"no photos in {SHARED}/data/unsplash-photos: set PHOTOLAKE_SHARED")
    cv2.setNumThreads(1)
    q = args.quality
    sizes = [resize_longest(data, args.longest, q, draft=False)[1:] for data in photos]
    paths = {
        f"photolake, every scan decoded, q{q}": lambda d, s: resize_longest(d, args.longest, q, draft=False)[0],
        f"photolake, draft decode (default), q{q}": lambda d, s: resize_longest(d, args.longest, q, draft=True)[0],
        f"photolake, every scan decoded, q{q - 1}": lambda d, s: resize_longest(d, args.longest, q - 1, draft=False)[0],
        f"whole photo + INTER_AREA, q{q}": lambda d, s: full_decode_area(d, s, q),
    }
    references = []
    for data, size in zip(photos, sizes):
        with Image.open(io.BytesIO(data)) as image:
            references.append(np.asarray(image.convert("RGB").resize(size, Image.LANCZOS), dtype=np.float32))

    print(f"{len(photos)} photos, longest side {args.longest}, one core")
    print(f"{'path':<44} {'ms/photo':>9} {'error':>7} {'worst vs exact':>15} {'KB':>6}")
    exact_errors = None
    for name, make in paths.items():
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            stored = [make(data, size) for data, size in zip(photos, sizes)]
            best = min(best, time.perf_counter() - started)
        errors = np.array([np.abs(pixels(s) - ref).mean() for s, ref in zip(stored, references)])
        exact_errors = errors if exact_errors is None else exact_errors  # the first path is the exact one
        worst = f"{(errors / exact_errors).max():.3f}x"
        print(f"{name:<44} {best / len(photos) * 1000:>9.1f} {errors.mean():>7.3f} {worst:>15} "
              f"{sum(map(len, stored)) / len(stored) / 1000:>6.1f}", flush=True)


if __name__ == "__main__":
    main()
