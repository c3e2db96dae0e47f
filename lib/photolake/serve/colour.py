"""Colours as people compare them: sRGB to CIELAB, where a Euclidean distance (CIE76 delta E) follows how
different two colours look (about 2.3 is just noticeable; 10-20 reads as "the same colour family")."""

from __future__ import annotations

import re

import numpy as np
from PIL import ImageColor

_WHITE = np.array([0.95047, 1.0, 1.08883])  # D65
_RGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) sRGB values 0-255 -> (N, 3) L*, a*, b*."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _RGB_TO_XYZ.T / _WHITE
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def parse_colour(text: str) -> tuple[int, int, int] | None:
    """``#1e90ff``, ``1e90ff``, ``#19f`` or a CSS colour name -> RGB; None when it is none of those."""
    value = text.strip().lower()
    if re.fullmatch(r"[0-9a-f]{6}|[0-9a-f]{3}", value):
        value = "#" + value
    try:
        return ImageColor.getrgb(value)[:3] if re.fullmatch(r"#[0-9a-f]{3}|#[0-9a-f]{6}|[a-z]+", value) else None
    except ValueError:
        return None
