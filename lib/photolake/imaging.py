"""Opening image files with Pillow for every job that reads pixels, HEIC/HEIF included (pillow-heif)."""

from __future__ import annotations

import io

from PIL import Image

try:  # optional so the rest works where the wheel is missing
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover
    pillow_heif = None


def open_image(data: bytes) -> Image.Image:
    """A lazily decoded Pillow image of a file's bytes (use as a context manager)."""
    return Image.open(io.BytesIO(data))
