"""Image files for the service: found through the lake (never a path from the client), kept inside the
images folder, and resized once per size into a cache."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PIL import Image, ImageOps

from photolake.imaging import open_image

SIZES = {"thumb": 320, "small": 1080}  # the longest side; "full" is the file itself


class ImageMissing(LookupError):
    pass


def checked_path(path: str | None, images_root: str | None) -> str:
    """The file's real path, if it exists and (when the service has an images folder) lies inside it."""
    if not path:
        raise ImageMissing("this photo has no downloaded image")
    local = path.removeprefix("file://")
    real = os.path.realpath(local)
    if images_root and os.path.commonpath([real, images_root]) != images_root:
        raise ImageMissing("this photo's image is outside the service's images folder")
    if not os.path.isfile(real):
        raise ImageMissing("this photo's image file is not on disk")
    return real


def etag(real: str, size: str) -> str:
    stat = os.stat(real)
    return hashlib.sha256(f"{real}:{stat.st_size}:{stat.st_mtime_ns}:{size}".encode()).hexdigest()[:20]


def resized(real: str, size: str, cache_dir: str, tag: str) -> Path:
    """The cached copy of ``real`` at ``size`` (made now if it is not there yet), a JPEG."""
    target = Path(cache_dir) / tag[:2] / f"{tag}.jpg"
    if target.exists():
        return target
    side = SIZES[size]
    with open(real, "rb") as f:
        data = f.read()
    with open_image(data) as image:
        image.draft("RGB", (side, side))
        shown = ImageOps.exif_transpose(image).convert("RGB")
        shown.thumbnail((side, side), Image.Resampling.LANCZOS)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{os.getpid()}.part")
        shown.save(temporary, "JPEG", quality=82, optimize=True)
        os.replace(temporary, target)
    return target
