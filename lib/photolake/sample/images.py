"""Synthetic pictures for the sample photos: colour regions, gradients and shapes in the photo's own
palette (so the colors table describes the image), with real EXIF where the row has camera data."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from PIL import Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational

# EXIF tag ids (Pillow writes them by number)
MAKE, MODEL, ORIENTATION, SOFTWARE, DATETIME = 0x010F, 0x0110, 0x0112, 0x0131, 0x0132
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
EXPOSURE_TIME, F_NUMBER, ISO_SPEED, DATETIME_ORIGINAL = 0x829A, 0x829D, 0x8827, 0x9003
OFFSET_TIME_ORIGINAL, FOCAL_LENGTH = 0x9011, 0x920A
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON, GPS_ALT_REF, GPS_ALT = 1, 2, 3, 4, 5, 6

# Orientation tags whose stored pixels are the display image turned by 90 degrees.
TRANSPOSED_ORIENTATIONS = {5, 6, 7, 8}


@dataclass
class CameraExif:
    make: str
    model: str
    exposure: Fraction
    f_number: float
    iso: int
    focal_length: float
    taken_at: datetime
    orientation: int = 1
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None


def _rational(value: float | Fraction, max_denominator: int = 10_000) -> IFDRational:
    fraction = Fraction(value).limit_denominator(max_denominator)
    return IFDRational(fraction.numerator, fraction.denominator)


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = (value - degrees - minutes / 60) * 3600
    return _rational(degrees), _rational(minutes), _rational(seconds)


def exif_bytes(camera: CameraExif) -> bytes:
    exif = Image.Exif()
    exif[MAKE] = camera.make
    exif[MODEL] = camera.model
    exif[ORIENTATION] = camera.orientation
    exif[SOFTWARE] = "photolake sample"
    exif[DATETIME] = camera.taken_at.strftime("%Y:%m:%d %H:%M:%S")
    sub = exif.get_ifd(EXIF_IFD)
    sub[EXPOSURE_TIME] = _rational(camera.exposure)
    sub[F_NUMBER] = _rational(camera.f_number, 100)
    sub[ISO_SPEED] = camera.iso
    sub[DATETIME_ORIGINAL] = camera.taken_at.strftime("%Y:%m:%d %H:%M:%S")
    sub[OFFSET_TIME_ORIGINAL] = "+00:00"
    sub[FOCAL_LENGTH] = _rational(camera.focal_length, 100)
    if camera.latitude is not None and camera.longitude is not None:
        gps = exif.get_ifd(GPS_IFD)
        gps[GPS_LAT_REF] = "N" if camera.latitude >= 0 else "S"
        gps[GPS_LAT] = _dms(camera.latitude)
        gps[GPS_LON_REF] = "E" if camera.longitude >= 0 else "W"
        gps[GPS_LON] = _dms(camera.longitude)
        if camera.altitude is not None:
            gps[GPS_ALT_REF] = b"\x00" if camera.altitude >= 0 else b"\x01"
            gps[GPS_ALT] = _rational(abs(camera.altitude), 100)
    return exif.tobytes()


def paint(width: int, height: int, palette: list[tuple[tuple[int, int, int], float]], seed: int) -> Image.Image:
    """A picture whose colours cover roughly their palette shares: a gradient of the two main colours,
    then bands and shapes in the others."""
    rng = random.Random(seed)
    colours = [rgb for rgb, _ in palette] or [(128, 128, 128)]
    first, second = colours[0], colours[1 % len(colours)]
    gradient = Image.linear_gradient("L").resize((width, height))
    if rng.random() < 0.5:
        gradient = gradient.transpose(Image.Transpose.ROTATE_90).resize((width, height))
    image = Image.composite(Image.new("RGB", (width, height), second), Image.new("RGB", (width, height), first),
                            gradient.point(lambda v: min(255, v // 3)))
    draw = ImageDraw.Draw(image)
    for rgb, share in palette[1:]:
        # a band across the picture sized by the colour's share, then a shape or two
        band = max(1, int(height * share * 0.7))
        top = rng.randrange(0, max(1, height - band))
        draw.rectangle([0, top, width, top + band], fill=rgb)
        for _ in range(rng.randint(1, 2)):
            x, y = rng.randrange(width), rng.randrange(height)
            r = max(2, int(min(width, height) * rng.uniform(0.05, 0.2)))
            shape = rng.choice(("ellipse", "rectangle", "triangle"))
            if shape == "triangle":
                draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=rgb)
            else:
                getattr(draw, shape)([x - r, y - r, x + r, y + r], fill=rgb)
    return image


def sample_jpeg(width: int, height: int, palette, seed: int, camera: CameraExif | None, quality: int = 85) -> bytes:
    """The stored JPEG: ``width`` x ``height`` as displayed; with an orientation tag that turns the
    picture, the stored pixels are turned the other way, as a camera stores them."""
    image = paint(width, height, palette, seed)
    kwargs = {"quality": quality}
    if camera is not None:
        if camera.orientation in TRANSPOSED_ORIENTATIONS:
            image = image.transpose(Image.Transpose.ROTATE_90 if camera.orientation == 6
                                    else Image.Transpose.ROTATE_270)
        elif camera.orientation == 3:
            image = image.transpose(Image.Transpose.ROTATE_180)
        kwargs["exif"] = exif_bytes(camera)
    out = io.BytesIO()
    image.save(out, "JPEG", **kwargs)
    return out.getvalue()
