"""Extract benchmark: the extract job vs a plain single-process loop doing the same work, and (EXIF only)
photolake's reader vs ExifTool.

    .venv/bin/python bench/extract.py [--files 3000]

Builds a folder of N files by hard-linking, cycled, the camera files of $PHOTOLAKE_SHARED/data/exif-samples
and the real Unsplash photos.  Then times:
  job          ./spark-submit.sh extract --from-dir (local[*]; wall time, JVM start included)
  loop         photolake.extract.image.extract_file over every file, one process
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
SHARED = Path(os.environ.get("PHOTOLAKE_SHARED", ROOT.parent / "shared"))

from photolake.extract.exif import read_image  # noqa: E402
from photolake.extract.image import extract_file  # noqa: E402
from photolake.extract.run import IMAGE_EXTENSIONS  # noqa: E402


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


def rate(label: str, count: int, seconds: float) -> float:
    print(f"{label:<34} {seconds:>8.1f} s {count / seconds:>9.1f} files/s", flush=True)
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--workdir", default=str(ROOT / "output" / "bench-extract"))
    args = parser.parse_args()
    work = Path(args.workdir)
    files = build_folder(work / "files", args.files)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{len(files)} files")

    started = time.time()
    subprocess.run([str(ROOT / "spark-submit.sh"), "extract", "--from-dir", str(work / "files"),
                    "--lake", str(work / "lake")], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "PHOTOLAKE_PYTHON": sys.executable})
    job = rate("extract job (local[*])", len(files), time.time() - started)

    started = time.time()
    for path in files:
        extract_file(path.name, str(path))
    loop = rate("plain loop, 1 process", len(files), time.time() - started)

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
    print(f"job / plain loop = {job / loop:.2f}x")


if __name__ == "__main__":
    main()
