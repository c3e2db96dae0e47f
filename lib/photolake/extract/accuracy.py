"""Agreement with ExifTool: the fields photolake reads, compared with `exiftool -json -n -G1` output."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

from photolake.extract.exif import read_image


def _same_number(tolerance: float) -> Callable[[Any, Any], bool]:
    def same(ours: Any, theirs: Any) -> bool:
        try:
            a, b = float(ours), float(theirs)
        except (TypeError, ValueError):
            return False
        return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)
    return same


def _same_text(ours: Any, theirs: Any) -> bool:
    return ours is not None and str(ours).strip() == str(theirs).strip()


def _same_time(ours: Any, theirs: Any) -> bool:
    return ours is not None and ours.strftime("%Y:%m:%d %H:%M:%S") == str(theirs).strip()[:19]


# field shown, ExifTool's key (-G1), our column, comparison
FIELDS: tuple[tuple[str, str, str, Callable[[Any, Any], bool]], ...] = (
    ("Make", "IFD0:Make", "make", _same_text),
    ("Model", "IFD0:Model", "model", _same_text),
    ("DateTimeOriginal", "ExifIFD:DateTimeOriginal", "datetime_original", _same_time),
    ("ExposureTime", "ExifIFD:ExposureTime", "exposure_time_s", _same_number(1e-3)),
    ("FNumber", "ExifIFD:FNumber", "f_number", _same_number(1e-2)),
    ("ISO", "ExifIFD:ISO", "iso", _same_number(0)),
    ("FocalLength", "ExifIFD:FocalLength", "focal_length_mm", _same_number(1e-2)),
    ("Orientation", "IFD0:Orientation", "orientation", _same_number(0)),
    ("GPSLatitude", "Composite:GPSLatitude", "gps_latitude", _same_number(1e-6)),
    ("GPSLongitude", "Composite:GPSLongitude", "gps_longitude", _same_number(1e-6)),
    ("LensModel", "ExifIFD:LensModel", "lens_model", _same_text),
    ("ImageWidth", "File:ImageWidth", "width", _same_number(0)),
    ("ImageHeight", "File:ImageHeight", "height", _same_number(0)),
)


def compare(samples_root: Path, reference_json: Path) -> dict[str, Any]:
    """Per field: how many of ExifTool's values photolake matches, the misses, and the files read."""
    reference = json.loads(reference_json.read_text(encoding="utf-8"))
    base = samples_root.parent
    per_field = {name: {"expected": 0, "matched": 0, "misses": []} for name, *_ in FIELDS}
    per_format: dict[str, dict[str, int]] = {}
    files = []
    for entry in reference:
        path = base / entry["SourceFile"]
        if not path.is_file():
            continue
        row = read_image(path.read_bytes())
        files.append((entry["SourceFile"], row.get("error")))
        file_type = per_format.setdefault(entry.get("File:FileType") or path.suffix.lstrip(".").upper(),
                                          {"files": 0, "expected": 0, "matched": 0})
        file_type["files"] += 1
        for name, key, column, same in FIELDS:
            if key not in entry:
                continue
            per_field[name]["expected"] += 1
            file_type["expected"] += 1
            if same(row.get(column), entry[key]):
                per_field[name]["matched"] += 1
                file_type["matched"] += 1
            else:
                per_field[name]["misses"].append((entry["SourceFile"], row.get(column), entry[key]))
    expected = sum(f["expected"] for f in per_field.values())
    matched = sum(f["matched"] for f in per_field.values())
    return {"fields": per_field, "formats": per_format, "expected": expected, "matched": matched, "files": files}


def render(result: dict[str, Any]) -> str:
    lines = [f"{'field':<18}{'ExifTool has':>13}{'matched':>9}{'agreement':>11}"]
    for name, f in result["fields"].items():
        share = f["matched"] / f["expected"] if f["expected"] else 1.0
        lines.append(f"{name:<18}{f['expected']:>13}{f['matched']:>9}{share:>10.1%}")
    total = result["matched"] / result["expected"] if result["expected"] else 1.0
    lines.append(f"{'all':<18}{result['expected']:>13}{result['matched']:>9}{total:>10.1%}")
    lines.append(f"\n{'format':<18}{'files':>13}{'values':>9}{'matched':>9}{'agreement':>11}")
    for name, f in sorted(result["formats"].items()):
        share = f["matched"] / f["expected"] if f["expected"] else 1.0
        lines.append(f"{name:<18}{f['files']:>13}{f['expected']:>9}{f['matched']:>9}{share:>10.1%}")
    return "\n".join(lines)
