"""imaging: the reduced decode gives exactly the pixels of an ordinary 1/8-scale decode, for less work."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from photolake.imaging import jpeg_dc_only, jpeg_without_last_refinement, open_image, open_reduced

SIZE = (128, 128)


def drafted(data: bytes) -> np.ndarray:
    with open_image(data) as image:
        image.draft("RGB", SIZE)
        return np.asarray(image.convert("RGB"))


def reduced(data: bytes) -> np.ndarray:
    with open_reduced(data, SIZE) as image:
        return np.asarray(image.convert("RGB"))


def jpeg(width: int, height: int, mode: str = "RGB", **options) -> bytes:
    """A photo-like picture (smooth gradients and detail), so every scan carries data."""
    y, x = np.mgrid[0:height, 0:width]
    noise = np.random.default_rng(1).integers(0, 40, (height, width))
    rgb = np.stack([(x * 255 // width + noise) % 256, (y * 255 // height + noise) % 256, (x + y + noise) % 256], -1)
    image = Image.fromarray(rgb.astype(np.uint8), "RGB").convert(mode)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, **options)
    return out.getvalue()


@pytest.mark.parametrize("options", [
    {"progressive": True},                                   # 4:2:0, Pillow's default
    {"progressive": True, "subsampling": "4:4:4"},
    {"progressive": True, "subsampling": "4:2:2"},
    {"progressive": True, "restart_marker_rows": 2},         # restart markers inside the scans
], ids=["420", "444", "422", "restarts"])
def test_progressive_jpeg_decodes_to_the_same_pixels(options):
    data = jpeg(1031, 1029, **options)  # sizes that are not multiples of the block size
    cut = jpeg_dc_only(data, SIZE)
    assert cut is not None and len(cut) < len(data) / 2
    assert np.array_equal(reduced(data), drafted(data))


def test_greyscale_progressive_jpeg():
    data = jpeg(1100, 1040, mode="L", progressive=True)
    assert jpeg_dc_only(data, SIZE) is not None
    assert np.array_equal(reduced(data), drafted(data))


@pytest.mark.parametrize("data", [
    jpeg(1031, 1029),                                       # baseline: every coefficient is in one scan
    jpeg(900, 1200, progressive=True),                      # 900 // 128 < 8: Pillow drafts at 1/4
    b"", b"\xff\xd8\xff", b"not a jpeg",
], ids=["baseline", "too small for 1/8", "empty", "header only", "not jpeg"])
def test_files_it_does_not_rewrite(data):
    assert jpeg_dc_only(data, SIZE) is None


def test_a_truncated_progressive_jpeg_fails_as_it_would_anyway():
    data = jpeg(1031, 1029, progressive=True)
    truncated = data[:2000]
    with pytest.raises(OSError):
        drafted(truncated)
    with pytest.raises(OSError):
        reduced(truncated)


def test_real_unsplash_photos(shared):
    photos = sorted((shared / "data" / "unsplash-photos").glob("*.jpg"))
    assert photos
    rewritten = 0
    for photo in photos:
        data = photo.read_bytes()
        rewritten += jpeg_dc_only(data, SIZE) is not None
        assert np.array_equal(reduced(data), drafted(data)), photo.name
    assert rewritten == len(photos)  # all of them are 1920 px progressive JPEGs


def test_a_jpeg_cut_short_is_left_to_the_ordinary_decode():
    data = jpeg(1031, 1029, progressive=True)
    assert jpeg_dc_only(data[: len(data) // 2], SIZE) is None
    assert jpeg_dc_only(data[:-2], SIZE) is None  # no end-of-image marker


def scan_parameters(data: bytes) -> list[tuple[int, int, int, int]]:
    """(Ss, Se, Ah, Al) of each scan, read independently of photolake's own parser."""
    found, pos = [], 2
    while data[pos + 1] != 0xD9:
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if data[pos + 1] == 0xDA:
            at = pos + 5 + 2 * data[pos + 4]
            found.append((data[at], data[at + 1], data[at + 2] >> 4, data[at + 2] & 15))
            pos += 2 + length
            while data[pos] != 0xFF or data[pos + 1] == 0 or 0xD0 <= data[pos + 1] <= 0xD7:
                pos += 1
            continue
        pos += 2 + length
    return found


def decoded(data: bytes, scale: int) -> np.ndarray:
    with open_image(data) as image:
        image.draft("RGB", (image.width // scale, image.height // scale))
        return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.mark.parametrize("options", [
    {"progressive": True},
    {"progressive": True, "subsampling": "4:4:4"},
    {"progressive": True, "restart_marker_rows": 2},
    {"progressive": True, "mode": "L"},
], ids=["420", "444", "restarts", "grey"])
def test_last_refinement_scans_are_left_out(options):
    data = jpeg(1031, 1029, **options)
    coarse = jpeg_without_last_refinement(data)
    assert coarse is not None
    last_refinement = [s for s in scan_parameters(data) if s[0] > 0 and s[2] > 0 and s[3] == 0]
    assert last_refinement  # libjpeg's progressive script ends each component's AC with one
    assert scan_parameters(coarse) == [s for s in scan_parameters(data) if s not in last_refinement]
    exact, approximate = decoded(data, 2), decoded(coarse, 2)
    assert approximate.shape == exact.shape
    assert 0 < np.abs(approximate - exact).mean() < 8  # this picture is noise-like: the worst case for it


@pytest.mark.parametrize("data", [
    jpeg(1031, 1029),  # baseline
    b"", b"\xff\xd8\xff", b"not a jpeg",
], ids=["baseline", "empty", "header only", "not jpeg"])
def test_files_without_a_last_refinement_are_not_rewritten(data):
    assert jpeg_without_last_refinement(data) is None


def test_a_progressive_jpeg_cut_short_is_not_rewritten():
    data = jpeg(1031, 1029, progressive=True)
    assert jpeg_without_last_refinement(data[: len(data) // 2]) is None
    assert jpeg_without_last_refinement(data[:-2]) is None


def test_real_unsplash_photos_without_their_last_refinement(shared):
    """mozjpeg's scripts: luma AC in two bands one bit short, then one refinement scan of it all."""
    photos = sorted((shared / "data" / "unsplash-photos").glob("*.jpg"))
    differences, rewritten = [], 0
    for photo in photos:
        data = photo.read_bytes()
        coarse = jpeg_without_last_refinement(data)
        if coarse is None:  # one photo sends every coefficient whole: nothing to leave out
            assert not [s for s in scan_parameters(data) if s[2] or s[3]], photo.name
            continue
        rewritten += 1
        assert len(coarse) < 0.7 * len(data), photo.name
        differences.append(np.abs(decoded(coarse, 2) - decoded(data, 2)).mean())
    assert rewritten == len(photos) - 1
    assert max(differences) < 3 and np.mean(differences) < 1.5
