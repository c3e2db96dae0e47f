"""Colour features of one image, on a small downsampled copy (numpy, no Spark): dominant colours by
k-means with their nearest CSS colour names, brightness, colourfulness and a perceptual hash."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageColor

SAMPLE_SIDE = 64  # k-means on 64x64 pixels: colour shares are stable and the cost is negligible
HASH_SIDE = 32

_CSS_NAMES = sorted(set(ImageColor.colormap))
_CSS_RGB = np.array([ImageColor.getrgb(name)[:3] for name in _CSS_NAMES], dtype=np.float64)


def nearest_css_name(rgb: tuple[int, int, int] | np.ndarray) -> str:
    """The CSS colour name closest to ``rgb`` (Euclidean in RGB; grey and gray spellings both exist, the
    first in alphabetical order wins)."""
    distances = ((_CSS_RGB - np.asarray(rgb, dtype=np.float64)) ** 2).sum(axis=1)
    return _CSS_NAMES[int(distances.argmin())]


COLOR_FAMILIES = ("black", "white", "gray", "red", "orange", "brown", "yellow", "green", "cyan", "blue", "purple",
                  "pink")
_HUE_FAMILIES = ((15, "red"), (45, "orange"), (70, "yellow"), (165, "green"), (195, "cyan"), (255, "blue"),
                 (290, "purple"), (345, "pink"), (360, "red"))


def color_family(r: int, g: int, b: int) -> str:
    """One of COLOR_FAMILIES, from hue, saturation and value: the coarse colour words people search by
    (CSS names are too many to count by)."""
    top, bottom = max(r, g, b), min(r, g, b)
    value, spread = top / 255.0, top - bottom
    if value < 0.2:
        return "black"
    if spread / top < 0.15:
        return "white" if value > 0.85 else "gray"
    if top == r:
        hue = (60.0 * (g - b) / spread) % 360
    elif top == g:
        hue = 60.0 * (b - r) / spread + 120
    else:
        hue = 60.0 * (r - g) / spread + 240
    family = next(name for limit, name in _HUE_FAMILIES if hue < limit)
    return "brown" if family in ("orange", "red") and value < 0.6 and 10 <= hue < 45 else family


_REDUCIBLE_MODES = {"L", "LA", "RGB", "RGBA", "RGBa", "La", "I", "F", "CMYK"}  # what Image.reduce takes


def small_rgb(image: Image.Image, side: int = SAMPLE_SIDE) -> np.ndarray:
    """The image as an RGB array no larger than side x side (JPEG draft first: decode little).

    A large image that has no draft (HEIC, PNG, TIFF) is box-reduced first, to no less than twice the side,
    so the full-size pixels are never copied or converted."""
    image.draft("RGB", (side * 2, side * 2))
    factor = min(image.width, image.height) // (side * 2)
    small = image.reduce(factor) if factor > 1 and image.mode in _REDUCIBLE_MODES else image
    copy = small.convert("RGB") if small.mode != "RGB" else small.copy()
    copy.thumbnail((side, side), Image.Resampling.BILINEAR)
    return np.asarray(copy, dtype=np.float64)


FIT_PIXELS = 1024  # k-means is fitted on an even sample of the 64x64 copy; shares use every pixel


def _squared_distances(data: np.ndarray, data_norms: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return data_norms[:, None] - 2.0 * data @ centres.T + (centres * centres).sum(1)[None, :]


def _nearest(data: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Each point's nearest centre; the points' own norms do not change which one, so they are left out."""
    return ((centres * centres).sum(1)[None, :] - 2.0 * data @ centres.T).argmin(axis=1)


def dominant_colors(pixels: np.ndarray, k: int = 5, iterations: int = 10, seed: int = 0) -> list[dict]:
    """k-means (k-means++ start, fixed seed) on the pixels; clusters by share, largest first."""
    data = pixels.reshape(-1, 3).astype(np.float32)
    if len(data) == 0:
        return []
    fit = data[:: max(1, len(data) // FIT_PIXELS)]
    fit_norms = (fit * fit).sum(1)
    packed = fit.astype(np.int32) @ np.array([65536, 256, 1], dtype=np.int32)  # distinct colours, cheaply
    k = max(1, min(k, len(np.unique(packed))))
    rng = np.random.default_rng(seed)
    centres = fit[[rng.integers(len(fit))]]
    for _ in range(1, k):
        nearest = np.cumsum(_squared_distances(fit, fit_norms, centres).min(axis=1).clip(min=0))
        pick = np.searchsorted(nearest, rng.random() * nearest[-1], side="right") if nearest[-1] > 0 else 0
        centres = np.vstack([centres, fit[min(pick, len(fit) - 1)]])
    for _ in range(iterations):
        labels = _nearest(fit, centres)
        members = (labels[:, None] == np.arange(k)[None, :]).astype(np.float32)
        counts = members.sum(0)
        moved = np.where(counts[:, None] > 0, (members.T @ fit) / np.maximum(counts, 1)[:, None], centres)
        converged = np.abs(moved - centres).max() < 0.5
        centres = moved
        if converged:
            break
    shares = np.bincount(_nearest(data, centres), minlength=k) / len(data)
    colours = []
    for c in np.argsort(-shares, kind="stable"):
        if shares[c] == 0:
            continue
        r, g, b = (int(round(float(v))) for v in np.clip(centres[c], 0, 255))
        colours.append({"hex": f"{r:02X}{g:02X}{b:02X}", "r": r, "g": g, "b": b, "name": nearest_css_name((r, g, b)),
                        "family": color_family(r, g, b), "share": float(round(shares[c], 4))})
    return colours


def brightness(pixels: np.ndarray) -> float:
    """Mean perceived luminance (ITU-R BT.601), 0 (black) to 1 (white)."""
    luma = pixels[..., 0] * 0.299 + pixels[..., 1] * 0.587 + pixels[..., 2] * 0.114
    return float(luma.mean() / 255.0)


def colorfulness(pixels: np.ndarray) -> float:
    """Hasler and Süsstrunk's colourfulness: 0 for greys, about 100+ for saturated pictures."""
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def phash(pixels: np.ndarray) -> str:
    """64-bit perceptual hash (DCT of a 32x32 grey copy, the 8x8 low frequencies against their median),
    as 16 hex digits: near-duplicates differ in few bits."""
    grey = Image.fromarray(pixels.astype(np.uint8), "RGB").convert("L").resize((HASH_SIDE, HASH_SIDE),
                                                                               Image.Resampling.BILINEAR)
    values = np.asarray(grey, dtype=np.float64)
    n = HASH_SIDE
    basis = np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * np.arange(n)[:, None] / (2 * n))
    dct = basis @ values @ basis.T
    low = dct[:8, :8].flatten()
    bits = low > np.median(low[1:])
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def color_features(image: Image.Image, k: int = 5) -> dict:
    """dominant_colors, brightness, colorfulness and phash from one small decode of the image."""
    pixels = small_rgb(image)
    return {"dominant_colors": dominant_colors(pixels, k), "brightness": brightness(pixels),
            "colorfulness": colorfulness(pixels), "phash": phash(pixels)}
