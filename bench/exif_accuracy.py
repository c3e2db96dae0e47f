"""EXIF accuracy: photolake's reading of real camera files vs ExifTool's (`exiftool -json -n -G1`).

    .venv/bin/python bench/exif_accuracy.py [--misses]

Uses $PHOTOLAKE_SHARED/data/exif-samples and exif-samples.exiftool.json; prints the per-field table.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from photolake.extract.accuracy import compare, render  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--misses", action="store_true", help="list every value that differs")
    args = parser.parse_args()
    shared = Path(os.environ.get("PHOTOLAKE_SHARED", ROOT.parent / "shared"))
    result = compare(shared / "data" / "exif-samples", shared / "data" / "exif-samples.exiftool.json")
    print(f"{len(result['files'])} files, {sum(1 for _, e in result['files'] if e)} unreadable")
    print(render(result))
    if args.misses:
        for name, field in result["fields"].items():
            for source, ours, theirs in field["misses"]:
                print(f"  {name}: {source}: photolake {ours!r}, ExifTool {theirs!r}")


if __name__ == "__main__":
    main()
