"""Normalising camera text: one spelling per brand, and numbers out of the free-text EXIF that cameras
and people typed (``5,6``, ``f/2.8``, ``1 / 200s``, ``30"``, ``18-55mm``).

Plain functions on strings, shared by ingest (the dataset's exif_* columns) and extract (the files' EXIF).
Each parser returns None for a value it cannot read; ``is_no_value`` tells a deliberate "no value"
marker (``undef``, ``inf``, ``-``) from garbage, so only garbage is reported as a reject.
"""

from __future__ import annotations

import math
import re

# Markers that cameras and the dataset use for "no value": null without a reject.
NO_VALUE_MARKERS = frozenset({"", "-", "--", "undef", "undefined", "inf", "+inf", "-inf", "infinity", "nan",
                              "n/a", "na", "none", "null", "unknown", "?"})

# Brand spellings -> one name.  Checked in order against the lower-cased make; first match wins, so
# longer / more specific keys come before the ones they contain.
BRANDS: tuple[tuple[str, str], ...] = (
    ("om digital", "OM System"),
    ("olympus", "Olympus"),
    ("hmd global", "HMD"),
    ("nikon", "Nikon"),
    ("canon", "Canon"),
    ("sony", "Sony"),
    ("fujifilm", "Fujifilm"),
    ("fuji photo film", "Fujifilm"),
    ("fuji", "Fujifilm"),
    ("panasonic", "Panasonic"),
    ("leica", "Leica"),
    ("samsung", "Samsung"),
    ("apple", "Apple"),
    ("google", "Google"),
    ("huawei", "Huawei"),
    ("xiaomi", "Xiaomi"),
    ("oneplus", "OnePlus"),
    ("lg electronics", "LG"),
    ("lge", "LG"),
    ("motorola", "Motorola"),
    ("ricoh imaging", "Pentax"),
    ("pentax", "Pentax"),
    ("asahi optical", "Pentax"),
    ("ricoh", "Ricoh"),
    ("hasselblad", "Hasselblad"),
    ("kodak", "Kodak"),
    ("dji", "DJI"),
    ("gopro", "GoPro"),
    ("sigma", "Sigma"),
    ("konica minolta", "Konica Minolta"),
    ("minolta", "Minolta"),
    ("casio", "Casio"),
    ("phase one", "Phase One"),
    ("mamiya", "Mamiya"),
    ("nokia", "Nokia"),
    ("htc", "HTC"),
    ("blackberry", "BlackBerry"),
    ("zeiss", "Zeiss"),
    ("yi technology", "YI"),
    ("parrot", "Parrot"),
    ("insta360", "Insta360"),
    ("arashi vision", "Insta360"),
    ("sharp", "Sharp"),
    ("epson", "Epson"),
    ("realme", "realme"),
    ("oppo", "OPPO"),
    ("vivo", "vivo"),
    ("honor", "HONOR"),
)

# Makers whose cameras carry more than one brand: the model says which (first pattern that matches the
# lower-cased model), else the maker's own brand above. RICOH IMAGING makes Pentax and Ricoh cameras,
# OM Digital Solutions kept making Olympus-branded bodies (E-M1 Mark III) beside its OM System ones (OM-1),
# HMD Global makes Nokia phones.
BRANDS_BY_MODEL: dict[str, tuple[tuple[str, str], ...]] = {
    "Pentax": ((r"^ricoh|^gr\b|theta|caplio", "Ricoh"),),
    "OM System": ((r"^(olympus|e-|tg-[1-6]\b)", "Olympus"),),
    "HMD": ((r"nokia", "Nokia"),),
}

# Corporate words dropped from brands we do not know, so "ACME IMAGING CORP." and "Acme" agree.
_CORPORATE_WORDS = re.compile(
    r"[\s,]+(corporation|corp\.?|co\.?,?\s*ltd\.?|company|ltd\.?|limited|inc\.?|gmbh|ag|s\.?a\.?|"
    r"imaging|optical|electronics|digital\s+solutions|camera)\b\.?",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")


def clean_text(value: str | None) -> str | None:
    """Trim, cut at the first NUL (cameras pad fixed-size fields) and collapse inner whitespace."""
    if value is None:
        return None
    text = _SPACES.sub(" ", value.split("\x00", 1)[0]).strip()
    return text or None


def is_no_value(value: str | None) -> bool:
    return value is None or value.strip().lower() in NO_VALUE_MARKERS


def normalise_make(make: str | None, model: str | None = None) -> str | None:
    """One spelling per brand, from the make and, where the maker sells several brands, the model:
    ``NIKON CORPORATION`` and ``Nikon`` -> ``Nikon``; ``RICOH IMAGING COMPANY, LTD.`` -> ``Pentax`` for a
    ``PENTAX K-1`` and ``Ricoh`` for a ``RICOH GR III``. Unknown brands lose corporate suffixes, and one
    written all in capitals or all in lower case is title-cased, so its spellings agree (``ACME CORP.``,
    ``acme`` -> ``Acme``)."""
    text = clean_text(make)
    if text is None or is_no_value(text):
        return None
    lowered = text.lower()
    for key, brand in BRANDS:
        if re.search(rf"(^|[^a-z]){re.escape(key)}($|[^a-z])", lowered):
            return _brand_of_model(brand, clean_text(model))
    stripped = _CORPORATE_WORDS.sub("", text).strip(" ,.") or text
    uniform = stripped.isupper() or stripped.islower()
    return stripped.title() if uniform and len(stripped) > 3 else stripped


def _brand_of_model(brand: str, model: str | None) -> str:
    for pattern, other in BRANDS_BY_MODEL.get(brand, ()):
        if model and re.search(pattern, model.lower()):
            return other
    return brand


def normalise_model(model: str | None) -> str | None:
    """The model as the camera wrote it, trimmed, NUL-cut and with whitespace collapsed."""
    text = clean_text(model)
    return None if text is None or is_no_value(text) else text


_NUMBER = r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)"
_FIRST_NUMBER = re.compile(_NUMBER)


def _to_float(text: str) -> float:
    return float(text.replace(",", "."))


def _finite(value: float | None, low: float, high: float) -> float | None:
    if value is None or math.isnan(value) or not (low <= value <= high):
        return None
    return value


def parse_iso(text: str | None) -> int | None:
    """``100``, ``100.0``, ``ISO 400``, ``200, 400`` (first) -> int; out of 1..10,000,000 -> None."""
    if is_no_value(text):
        return None
    match = re.fullmatch(rf"\s*(?:iso\s*)?({_NUMBER})(?:\s*[,/;]\s*{_NUMBER})*\s*", text, re.IGNORECASE)
    if not match:
        return None
    value = _finite(_to_float(match.group(1)), 1, 10_000_000)
    return None if value is None or value != int(value) else int(value)


def parse_aperture(text: str | None) -> float | None:
    """f-number: ``1.8``, ``5,6``, ``f/2.8``, ``f4.0``, ``F14``, ``28/10`` -> float; ``undef``, ``inf`` -> None."""
    if is_no_value(text):
        return None
    match = re.fullmatch(rf"\s*(?:f\s*/?\s*)?({_NUMBER})(?:\s*/\s*({_NUMBER}))?\s*", text, re.IGNORECASE)
    if not match:
        return None
    value = _to_float(match.group(1))
    if match.group(2) is not None:
        denominator = _to_float(match.group(2))
        if denominator == 0:
            return None
        value /= denominator
    return _finite(value, 0.5, 256)


def parse_focal_length(text: str | None) -> float | None:
    """Millimetres: ``50.0``, ``91 mm``, ``50mm``; a range (``18-55mm``, ``4.0 ~ 28mm``) gives its first number."""
    if is_no_value(text):
        return None
    match = re.fullmatch(
        rf"\s*({_NUMBER})\s*(?:mm)?\s*(?:(?:-|~|to)\s*{_NUMBER}\s*(?:mm)?\s*)?", text, re.IGNORECASE)
    if not match:
        return None
    return _finite(_to_float(match.group(1)), 0.1, 10_000)


_EXPOSURE_UNITS = {
    "": 1.0, "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0, '"': 1.0, "''": 1.0,
    "ms": 1e-3, "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0, "'": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
}
_EXPOSURE = re.compile(
    rf"\s*({_NUMBER})\s*(?:/\s*({_NUMBER}))?\s*([a-z]*|\"|'{{1,2}})\.?\s*", re.IGNORECASE)


def parse_exposure(text: str | None) -> float | None:
    """Seconds: ``1/125``, ``1 / 200s``, ``15s``, ``0.5``, ``63 Seconds``, ``30"``, ``1.6"``, ``2h`` -> float."""
    if is_no_value(text):
        return None
    match = _EXPOSURE.fullmatch(text)
    if not match:
        return None
    number, denominator, unit = match.groups()
    scale = _EXPOSURE_UNITS.get(unit.lower())
    if scale is None:
        return None
    value = _to_float(number)
    if denominator is not None:
        divisor = _to_float(denominator)
        if divisor == 0:
            return None
        value /= divisor
    return _finite(value * scale, 1e-6, 86_400)
