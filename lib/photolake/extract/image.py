"""Everything extract records about one image file, as plain Python: properties, EXIF, colours."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from PIL import Image

from photolake import storage
from photolake.extract.colors import SAMPLE_SIDE, color_features
from photolake.extract.exif import DECODED_TURNED, read_image
from photolake.imaging import open_reduced

SQUARE_TOLERANCE = 0.05


def orientation_class(width: int | None, height: int | None, tolerance: float = SQUARE_TOLERANCE) -> str | None:
    if not width or not height:
        return None
    ratio = width / height
    return "square" if abs(ratio - 1) <= tolerance else "landscape" if ratio > 1 else "portrait"


def size_category(width: int | None, height: int | None) -> str | None:
    """thumbnail (< 500 px on the long side), medium (500-1500), large (> 1500)."""
    if not width or not height:
        return None
    longest = max(width, height)
    return "thumbnail" if longest < 500 else "medium" if longest <= 1500 else "large"


# how to turn stored pixels as each EXIF orientation says (as Pillow's ImageOps.exif_transpose does)
TURNS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
         5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
         8: Image.Transpose.ROTATE_90}


def displayed(image: Image.Image, row: dict[str, Any]) -> Image.Image:
    """The pixels as a viewer shows them, for the inputs that depend on the shape (the perceptual hash): a
    HEIF image comes decoded that way, a JPEG's are turned here by its EXIF orientation."""
    turn = TURNS.get(row.get("orientation"))
    return image if turn is None or row.get("format") in DECODED_TURNED else image.transpose(turn)


def extract_file(photo_id: str, path: str, k: int = 5, open_path: str | None = None,
                 skipped: str | None = None) -> dict[str, Any]:
    """One image_metadata row; a missing, empty or unreadable file gives its status and error, never raises.
    ``open_path``: the file's exact OS path when ``path`` (the text stored) is not it; ``skipped``: why the
    file is not read."""
    row: dict[str, Any] = {"photo_id": photo_id, "path": path, "status": "ok", "error": None,
                           "extracted_at": datetime.now(timezone.utc)}
    if skipped:
        return {**row, "status": "skipped", "error": skipped}
    try:
        data = storage.read_bytes(open_path or path)
    except (FileNotFoundError, OSError) as exc:
        return {**row, "status": "missing", "error": f"cannot read the file: {exc}"}
    if not data:
        return {**row, "status": "unreadable", "error": "empty file (0 bytes)", "file_size": 0}
    row.update(read_image(data))
    if row["error"]:
        row["status"] = "too_large" if "over the limit" in row["error"] else "unreadable"
        return row
    datetime_original = row.pop("datetime_original", None)
    if datetime_original is not None:
        offset = datetime_original.utcoffset()
        row["datetime_offset"] = None if offset is None else _offset_text(offset.total_seconds())
        row["datetime_original"] = datetime_original.replace(tzinfo=None)
    row["orientation_class"] = orientation_class(row.get("display_width"), row.get("display_height"))
    row["size_category"] = size_category(row.get("display_width"), row.get("display_height"))
    try:
        with open_reduced(data, (2 * SAMPLE_SIDE, 2 * SAMPLE_SIDE)) as image:
            row.update(color_features(displayed(image, row), k))
    except Exception as exc:  # noqa: BLE001 - the header read but the pixels do not (truncated data)
        row["status"], row["error"] = "unreadable", f"pixels: {type(exc).__name__}: {exc}"[:300]
    return row


def _offset_text(seconds: float) -> str:
    sign = "+" if seconds >= 0 else "-"
    minutes = int(abs(seconds)) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
