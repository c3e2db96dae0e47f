"""Extract benchmark: the extract job vs a plain single-process loop doing the same work, and (EXIF only)
photolake's reader vs ExifTool.

    .venv/bin/python bench/extract.py [--files 3000] [--small 100]

Builds a folder of N files by hard-linking, cycled, the camera files of $PHOTOLAKE_SHARED/data/exif-samples
and the real Unsplash photos.  Then times:
  job          ./spark-submit.sh extract --from-dir (local[*]; wall time, JVM start included), on N files
               and on --small files: the difference is the rate past Spark's fixed cost; and on N files
               with local[1], to show how it grows with cores
  loop         photolake.extract.image.extract_file over every file, one process
  plain loop   the plainest way to do that work, as the issue describes it: Pillow open, EXIF (IFD0, Exif,
               GPS, Interop), thumbnail to 64 px, numpy k-means (k=5) on the 64x64 copy, one process
  exif only    photolake.extract.exif.read_image over every file, one process
  exiftool     exiftool -json -n -G1 -r over the folder, one process and two (apt-get install libimage-exiftool-perl)
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
SHARED = Path(os.environ.get("PHOTOLAKE_SHARED", ROOT.parent / "shared"))

from photolake.extract.exif import read_image  # noqa: E402
from photolake.extract.image import extract_file  # noqa: E402
from photolake.image_files import IMAGE_EXTENSIONS  # noqa: E402
from photolake.imaging import pillow_heif  # noqa: E402,F401 - registers the HEIF opener


def build_folder(folder: Path, count: int) -> list[Path]:
    sources = sorted(p for p in (SHARED / "data" / "exif-samples").rglob("*")
                     if p.suffix.lower() in IMAGE_EXTENSIONS and "invalid" not in p.parts)
    sources += sorted((SHARED / "data" / "unsplash-photos").glob("*.jpg"))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    files = []
    for n in range(count):
        source = sources[n % len(sources)]
        target = folder / f"{n // 500:03d}" / f"{n:06d}{source.suffix.lower()}"
        target.parent.mkdir(exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        files.append(target)
    return files


def plain_kmeans(pixels: np.ndarray, k: int = 5, iterations: int = 10) -> np.ndarray:
    centres = pixels[np.random.default_rng(0).choice(len(pixels), k, replace=False)]
    for _ in range(iterations):
        labels = ((pixels[:, None, :] - centres[None]) ** 2).sum(2).argmin(1)
        centres = np.array([pixels[labels == j].mean(0) if (labels == j).any() else centres[j] for j in range(k)])
    return centres


def plain_extract(path: Path) -> None:
    """The reference loop's work on one file: what a user would write without photolake."""
    try:
        with Image.open(path) as image:
            exif = image.getexif()
            tags = {ExifTags.TAGS.get(t, t): v for t, v in exif.items()}
            for ifd in (ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo, ExifTags.IFD.Interop):
                tags.update({ExifTags.TAGS.get(t, t): v for t, v in exif.get_ifd(ifd).items()})
            image.thumbnail((64, 64))
            plain_kmeans(np.asarray(image.convert("RGB"), dtype=np.float32).reshape(-1, 3))
    except Exception:  # noqa: BLE001 - a damaged file counts as done, as in the job
        pass


def run_job(folder: Path, lake_dir: Path, master: str = "local[*]") -> float:
    started = time.time()
    subprocess.run([str(ROOT / "spark-submit.sh"), "extract", "--from-dir", str(folder), "--lake", str(lake_dir),
                    "--master", master],
                   cwd=ROOT, check=True, capture_output=True, env={**os.environ, "PHOTOLAKE_PYTHON": sys.executable})
    return time.time() - started


def rate(label: str, count: int, seconds: float) -> float:
    print(f"{label:<42} {seconds:>8.1f} s {count / seconds:>9.1f} files/s", flush=True)
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--small", type=int, default=100, help="files of the run that measures the fixed cost")
    parser.add_argument("--workdir", default=str(ROOT / "output" / "bench-extract"))
    args = parser.parse_args()
    work = Path(args.workdir)
    files = build_folder(work / "files", args.files)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{len(files)} files")

    small = build_folder(work / "small", args.small)
    small_s, job_s = (run_job(folder, work / "lake") for folder in (work / "small", work / "files"))
    rate(f"extract job on {len(small)} files (fixed cost)", len(small), small_s)
    job = rate("extract job (local[*])", len(files), job_s)
    rate("extract job past its fixed cost", len(files) - len(small), job_s - small_s)
    one_core = rate("extract job on 1 core (local[1])", len(files), run_job(work / "files", work / "lake", "local[1]"))

    started = time.time()
    for path in files:
        plain_extract(path)
    plain = rate("plain loop (issue's reference), 1 process", len(files), time.time() - started)

    started = time.time()
    for path in files:
        extract_file(path.name, str(path))
    loop = rate("extract_file loop, 1 process", len(files), time.time() - started)

    started = time.time()
    for path in files:
        read_image(path.read_bytes())
    exif_only = rate("EXIF + properties only, 1 process", len(files), time.time() - started)

    exiftool = shutil.which("exiftool")
    if exiftool:
        started = time.time()
        subprocess.run([exiftool, "-json", "-n", "-G1", "-r", "-q", str(work / "files")], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        one = rate("exiftool -json -n -G1, 1 process", len(files), time.time() - started)
        halves = sorted((work / "files").iterdir())
        started = time.time()
        procs = [subprocess.Popen([exiftool, "-json", "-n", "-G1", "-r", "-q", *map(str, halves[k::2])],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for k in range(2)]
        for p in procs:
            p.wait()
        two = rate("exiftool -json -n -G1, 2 processes", len(files), time.time() - started)
        print(f"EXIF: photolake 1 process / exiftool 1 process = {exif_only / one:.2f}x "
              f"(exiftool 2 processes: {two:.1f} files/s)")
    else:
        print("exiftool not found: apt-get install libimage-exiftool-perl to compare")
    print(f"job / plain loop = {job / plain:.2f}x; job / extract_file loop = {job / loop:.2f}x; "
          f"job on {os.cpu_count()} cores / on 1 core = {job / one_core:.2f}x")


if __name__ == "__main__":
    main()
