"""EXIF and image properties of one file, as plain Python on its bytes (no Spark), agreeing with ExifTool.

``read_image(data)`` returns the image_metadata fields: pixel size as stored and as displayed, format,
mode, frames, the EXIF of IFD0, Exif, GPS and Interop as a tag-name map of JSON-safe strings, and typed
camera columns.  A file Pillow cannot read gives an ``error`` instead of raising.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from PIL import ExifTags, Image, TiffImagePlugin

from photolake.camera import clean_text, normalise_make
from photolake.imaging import open_image

IFD0, EXIF_IFD, GPS_IFD, INTEROP_IFD = 0, 0x8769, 0x8825, 0xA005
MAKER_NOTE = 0x927C
TRANSPOSED = {5, 6, 7, 8}
DECODED_TURNED = {"HEIF"}  # formats whose decoder (pillow-heif) hands over the pixels already turned
MAX_VALUE_CHARS = 512

GPS_NAMES = ExifTags.GPSTAGS
TAG_NAMES = ExifTags.TAGS


def _number(value: Any) -> float | None:
    """A rational/number as float; None for 0/0 and non-numbers."""
    try:
        if isinstance(value, TiffImagePlugin.IFDRational):
            if value.denominator == 0:
                return None
            return float(value.numerator) / float(value.denominator)
        if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
            return value[0] / value[1] if value[1] else None
        number = float(value)
        return number if math.isfinite(number) else None
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _first(value: Any) -> Any:
    if isinstance(value, (tuple, list)) and value and not isinstance(value, TiffImagePlugin.IFDRational):
        return value[0]
    return value


def json_safe(value: Any) -> str:
    """A tag value as text: rationals as numbers, bytes decoded (or hex), sequences as JSON lists."""
    if isinstance(value, TiffImagePlugin.IFDRational):
        number = _number(value)
        return "null" if number is None else f"{number:.10g}"
    if isinstance(value, bytes):
        stripped = value.rstrip(b"\x00")
        try:
            text = stripped.decode("ascii")
            if text.isprintable():
                return text[:MAX_VALUE_CHARS]
        except UnicodeDecodeError:
            pass
        return stripped[:MAX_VALUE_CHARS // 2].hex()
    if isinstance(value, (tuple, list)):
        return json.dumps([json.loads(_as_json(v)) for v in value][:64])
    if isinstance(value, str):
        return (clean_text(value) or "")[:MAX_VALUE_CHARS]
    return str(value)[:MAX_VALUE_CHARS]


def _as_json(value: Any) -> str:
    text = json_safe(value)
    try:
        json.loads(text)
        return text
    except ValueError:
        return json.dumps(text)


def exif_map(exif: Image.Exif) -> dict[str, str]:
    """All of IFD0, Exif, GPS and Interop by tag name (Pillow's TAGS / GPSTAGS; unknown tags by hex id);
    the maker note summarised, not dumped."""
    out: dict[str, str] = {}
    ifds = [(IFD0, dict(exif), TAG_NAMES), (EXIF_IFD, _ifd(exif, EXIF_IFD), TAG_NAMES),
            (GPS_IFD, _ifd(exif, GPS_IFD), GPS_NAMES), (INTEROP_IFD, _ifd(exif, INTEROP_IFD), TAG_NAMES)]
    for ifd_id, tags, names in ifds:
        for tag, value in tags.items():
            if ifd_id == IFD0 and tag in (EXIF_IFD, GPS_IFD, INTEROP_IFD):
                continue
            name = names.get(tag, f"0x{tag:04X}")
            if ifd_id == GPS_IFD:
                name = f"GPS{name}" if not name.startswith("GPS") else name
            if tag == MAKER_NOTE:
                out[name] = f"(maker note, {len(value) if hasattr(value, '__len__') else '?'} bytes)"
            else:
                out[name] = json_safe(value)
    return out


def _ifd(exif: Image.Exif, ifd_id: int) -> dict:
    try:
        return dict(exif.get_ifd(ifd_id))
    except Exception:  # noqa: BLE001 - a broken offset: that IFD is simply absent
        return {}


def _datetime(value: Any, offset: Any) -> datetime | None:
    text = clean_text(value if isinstance(value, str) else None)
    if not text:
        return None
    match = re.match(r"(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})", text)
    if not match:
        return None
    try:
        moment = datetime(*(int(g) for g in match.groups()))
    except ValueError:
        return None
    zone = re.fullmatch(r"([+-])(\d{2}):(\d{2})", clean_text(offset) or "") if isinstance(offset, str) else None
    if zone:
        sign = 1 if zone.group(1) == "+" else -1
        moment = moment.replace(tzinfo=timezone(sign * timedelta(hours=int(zone.group(2)), minutes=int(zone.group(3)))))
    return moment


def _gps_degrees(value: Any, ref: Any) -> float | None:
    if not isinstance(value, (tuple, list)) or not value:
        return None
    parts = [_number(v) for v in value[:3]]
    if any(p is None for p in parts):
        return None
    degrees = parts[0] + (parts[1] if len(parts) > 1 else 0) / 60 + (parts[2] if len(parts) > 2 else 0) / 3600
    reference = ref.decode(errors="ignore") if isinstance(ref, bytes) else (ref or "")
    return -degrees if reference.strip().upper()[:1] in ("S", "W") else degrees


def camera_fields(exif: Image.Exif) -> dict[str, Any]:
    """The typed camera columns from a file's EXIF."""
    ifd0, sub, gps = dict(exif), _ifd(exif, EXIF_IFD), _ifd(exif, GPS_IFD)

    def text(tags: dict, tag: int) -> str | None:
        value = tags.get(tag)
        if isinstance(value, bytes):
            value = value.split(b"\x00", 1)[0].decode("utf-8", errors="replace")
        return clean_text(value) if isinstance(value, str) else None

    def number(tags: dict, tag: int) -> float | None:
        return _number(_first(tags.get(tag))) if tag in tags else None

    iso = number(sub, 0x8827)
    orientation = number(ifd0, 0x0112)
    altitude = number(gps, 6)
    if altitude is not None and gps.get(5) in (1, b"\x01"):
        altitude = -altitude
    return {
        "make": text(ifd0, 0x010F),
        "model": text(ifd0, 0x0110),
        "camera_make": normalise_make(text(ifd0, 0x010F), text(ifd0, 0x0110)),
        "lens_model": text(sub, 0xA434),
        "datetime_original": _datetime(sub.get(0x9003), sub.get(0x9011)),
        "exposure_time_s": number(sub, 0x829A),
        "f_number": number(sub, 0x829D),
        "iso": int(iso) if iso is not None and iso == int(iso) and iso > 0 else None,
        "focal_length_mm": number(sub, 0x920A),
        "focal_length_35mm": number(sub, 0xA405),
        "flash": int(number(sub, 0x9209)) if number(sub, 0x9209) is not None else None,
        "orientation": int(orientation) if orientation in (1, 2, 3, 4, 5, 6, 7, 8) else None,
        "software": text(ifd0, 0x0131),
        "gps_latitude": _gps_degrees(gps.get(2), gps.get(1)),
        "gps_longitude": _gps_degrees(gps.get(4), gps.get(3)),
        "gps_altitude": altitude,
    }


def decoder_orientation(image: Image.Image) -> int | None:
    """The EXIF orientation a decoder has already applied to the pixels, else None. pillow-heif decodes a
    HEIF image turned as its container says and resets the EXIF tag to 1, keeping the original in
    ``info["original_orientation"]``; ExifTool, and every JPEG row, report the stored size and that tag."""
    original = image.info.get("original_orientation") if image.format in DECODED_TURNED else None
    return int(original) if original in (1, 2, 3, 4, 5, 6, 7, 8) else None


def read_image(data: bytes, max_pixels: int = 200_000_000) -> dict[str, Any]:
    """Properties, the EXIF map and typed camera columns of one image file; ``error`` set when unreadable.
    ``width``/``height`` are the stored size and ``orientation`` the EXIF/HEIF tag, for every format;
    ``display_width``/``display_height`` the size once turned as the tag says."""
    row: dict[str, Any] = {"file_size": len(data), "error": None}
    try:
        with open_image(data) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ValueError(f"{width}x{height} pixels, over the limit of {max_pixels:,}")
            exif = image.getexif()
            row.update(format=image.format, mode=image.mode, frames=getattr(image, "n_frames", 1))
            row["exif"] = exif_map(exif)
            row.update(camera_fields(exif))
            applied = decoder_orientation(image)
            if applied is not None:
                row["orientation"] = applied
                row["exif"]["Orientation"] = json_safe(applied)
            turned = row.get("orientation") in TRANSPOSED
            stored = (height, width) if applied is not None and turned else (width, height)
            row["width"], row["height"] = stored
            row["display_width"], row["display_height"] = (stored[1], stored[0]) if turned else stored
    except Image.DecompressionBombError as exc:
        row["error"] = f"decompression bomb, over the limit: {exc}"[:300]
    except Image.UnidentifiedImageError:
        row["error"] = "not an image file Pillow can identify"
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a row with its error
        row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
    return row
