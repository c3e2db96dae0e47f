"""Opening image files with Pillow for every job that reads pixels, HEIC/HEIF included (pillow-heif), and
decoding no more of a file than a small copy needs."""

from __future__ import annotations

import io
import re
import struct
from typing import Iterator

from PIL import Image

try:  # optional so the rest works where the wheel is missing
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover
    pillow_heif = None


def open_image(data: bytes) -> Image.Image:
    """A lazily decoded Pillow image of a file's bytes (use as a context manager)."""
    return Image.open(io.BytesIO(data))


def open_reduced(data: bytes, size: tuple[int, int]) -> Image.Image:
    """The image decoded at no less than ``size`` and as little above it as JPEG's DCT scaling allows.

    A progressive JPEG large enough for 1/8 scale is decoded from its DC scans (``jpeg_dc_only``): the same
    pixels for a fraction of the entropy decoding, which dominates the cost of a small copy.
    """
    reduced = jpeg_dc_only(data, size)
    if reduced is not None:
        image = open_image(reduced)
        image.draft("RGB", size)
        try:
            image.load()
            return image
        except Exception:  # noqa: BLE001 - a damaged file: decode it whole, which reports what is wrong
            image.close()
    image = open_image(data)
    image.draft("RGB", size)
    return image


_ENTROPY_END = re.compile(rb"\xff[^\x00\xd0-\xd7]")  # the marker after a scan's data (not a stuffed byte or RSTn)
_SOF_OTHER = {0xC0, 0xC1, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_EMPTY_AC_TABLE = 3  # the Huffman table slot the synthetic scans use
_DCT_SCALE = 8  # libjpeg's smallest scale, 1/8: a full-resolution component is then one pixel per block's DC


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def jpeg_segment(marker: int, body: bytes) -> bytes:
    """A JPEG marker segment: the marker, its length, its body."""
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def _empty_ac_scan(component: int, blocks: int) -> bytes:
    """A progressive AC scan (coefficients 1-63) saying every block of ``component`` has none: EOB runs only,
    so libjpeg knows the coefficients (no inter-block smoothing, which would cost time and change pixels)."""
    bits = value = 0
    out = bytearray()
    while blocks:
        run = min(blocks, 32767)
        r = run.bit_length() - 1
        for code, length in ((r, 4), (run - (1 << r), r)):  # EOBr symbol (4-bit code r), then r extra bits
            value, bits = (value << length) | code, bits + length
            while bits >= 8:
                bits -= 8
                out.append((value >> bits) & 0xFF)
                if out[-1] == 0xFF:
                    out.append(0)
        blocks -= run
    if bits:
        out.append(((value << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xFF)
        if out[-1] == 0xFF:
            out.append(0)
    return jpeg_segment(0xDA, bytes((1, component, _EMPTY_AC_TABLE, 1, 63, 0))) + bytes(out)


def _jpeg_parts(data: bytes) -> Iterator[tuple[int, int, int]]:
    """Each marker segment of a JPEG before its end marker as (marker, start, end), a scan together with its
    entropy-coded data, read as the caller goes.  ValueError (or struct.error, IndexError) when it is not
    laid out so or is cut short."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    pos = 2
    while pos + 2 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError(f"no marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            return
        end = pos + 2 + struct.unpack_from(">H", data, pos + 2)[0]
        if marker == 0xDA:
            found = _ENTROPY_END.search(data, end)
            if found is None:
                raise ValueError("a scan cut short")
            end = found.start()
        yield marker, pos, end
        pos = end
    raise ValueError("no end of image")


_MALFORMED = (ValueError, struct.error, IndexError)


def jpeg_dc_only(data: bytes, size: tuple[int, int]) -> bytes | None:
    """A progressive JPEG rewritten so a 1/8-scale decode gives the same pixels with far less work, or None.

    At 1/8 scale libjpeg computes each pixel of a full-resolution component (luma) from its blocks' DC
    coefficient alone, so those components keep only their DC scans and get an empty AC scan instead of
    the rest; subsampled components (chroma), which libjpeg upsamples in the IDCT, keep all their scans.
    None when the file is not a Huffman-coded progressive JPEG, is too small for Pillow's draft to pick
    1/8 scale for ``size``, is cut short, or is not laid out as expected.
    """
    out, frame, covered = [data[:2]], None, set()
    try:
        for marker, start, end in _jpeg_parts(data):
            if marker in _SOF_OTHER:
                return None
            if marker == 0xC2:
                height, width, count = struct.unpack_from(">HHB", data, start + 5)
                components = [(data[start + 10 + 3 * i], data[start + 11 + 3 * i] >> 4,
                               data[start + 11 + 3 * i] & 15) for i in range(count)]
                if min(width // size[0], height // size[1]) < _DCT_SCALE:
                    return None
                top = (max(c[1] for c in components), max(c[2] for c in components))
                subsampled = {c[0] for c in components if (c[1], c[2]) != top}
                frame = (width, height, components, top)
            if marker == 0xDA:
                if frame is None:
                    return None
                ids = [data[start + 5 + 2 * i] for i in range(data[start + 4])]
                spectral_start = data[start + 5 + 2 * len(ids)]
                if spectral_start == 0 or subsampled.issuperset(ids):
                    out.append(data[start:end])
                    if spectral_start:
                        covered.update(ids)
                continue
            out.append(data[start:end])
    except _MALFORMED:
        return None
    if frame is None:
        return None
    width, height, components, (h_top, v_top) = frame
    out.append(jpeg_segment(0xDD, struct.pack(">H", 0)))  # no restart markers in the synthetic scans
    out.append(jpeg_segment(0xC4, bytes([0x10 | _EMPTY_AC_TABLE, 0, 0, 0, 15] + [0] * 12)
                        + bytes(r << 4 for r in range(15))))  # EOB0..EOB14, 4-bit codes
    for component, h, v in components:
        if component not in covered:
            blocks_x = _ceil_div(_ceil_div(width * h, h_top), 8)  # the component's size, in 8x8 blocks
            blocks_y = _ceil_div(_ceil_div(height * v, v_top), 8)
            out.append(_empty_ac_scan(component, blocks_x * blocks_y))
    out.append(b"\xff\xd9")
    return b"".join(out)


def jpeg_without_last_refinement(data: bytes) -> bytes | None:
    """A progressive JPEG without its last AC refinement scans, or None when it has none, is not a
    Huffman-coded progressive JPEG, or is cut short.

    Successive approximation sends the AC coefficients short of their least significant bit first and that
    bit in the last refinement scans (Ah=1, Al=0), which take about half the decoding time of a Unsplash
    photo.  Without them each AC coefficient misses only that bit (libjpeg's block smoothing estimates it
    for the lowest ones).  In a copy at half the size or less, re-encoded, that is about one JPEG quality
    step (docs/benchmarks.md); at full size it would show.
    """
    kept, dropped, progressive = [data[:2]], False, False
    try:
        for marker, start, end in _jpeg_parts(data):
            if marker in _SOF_OTHER:
                return None
            progressive = progressive or marker == 0xC2
            if marker == 0xDA:
                parameters = start + 5 + 2 * data[start + 4]  # Ss, Se, Ah/Al after the component list
                spectral_start, approximation = data[parameters], data[parameters + 2]
                if spectral_start and approximation >> 4 and not approximation & 15:
                    dropped = True
                    continue
            kept.append(data[start:end])
    except _MALFORMED:
        return None
    return b"".join(kept) + b"\xff\xd9" if progressive and dropped else None


# ---- completeness: is the whole image there? Read from the format's structure, without decoding pixels --

def incomplete_reason(data: bytes, fmt: str) -> str | None:
    """Why an image of format ``fmt`` (Pillow's name) is not complete, or None when it is: the end marker
    or the last structure the format declares is in the bytes.  Formats without such a structure are
    decoded whole."""
    check = _COMPLETENESS.get(fmt, _decodes_whole)
    try:
        return check(data)
    except _MALFORMED as exc:
        return f"its structure is broken ({exc})"


def _jpeg_complete(data: bytes) -> str | None:
    scans = 0
    try:
        for marker, _, _ in _jpeg_parts(data):
            scans += marker == 0xDA
    except ValueError as exc:
        if "cut short" in str(exc) or "end of image" in str(exc):
            return "no end-of-image marker: the data stops inside the image"
        # stray bytes between segments, which decoders skip: is there an end marker after the image data?
        first_scan = data.find(b"\xff\xda")
        return None if 0 < first_scan < data.rfind(b"\xff\xd9") else "no end-of-image marker"
    return None if scans else "no image data (no scan)"


def _png_complete(data: bytes) -> str | None:
    pos = 8
    while pos + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        pos += 12 + length
        if pos > len(data):
            break
        if kind == b"IEND":
            return None
    return "no IEND chunk: the data stops inside the image"


def _gif_complete(data: bytes) -> str | None:
    return None if data.rstrip(b"\x00").endswith(b"\x3b") else "no GIF trailer"


def _riff_complete(data: bytes) -> str | None:
    declared = struct.unpack_from("<I", data, 4)[0] + 8
    return None if len(data) >= declared else f"the RIFF header declares {declared:,} bytes"


def _bmp_complete(data: bytes) -> str | None:
    declared = struct.unpack_from("<I", data, 2)[0]  # 0 is allowed by writers that leave it unset
    return None if len(data) >= declared else f"the header declares {declared:,} bytes"


def _boxes_complete(data: bytes) -> str | None:
    """ISO base media (HEIF, AVIF): every top-level box within the bytes."""
    pos = 0
    while pos < len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        if size == 1:
            size = struct.unpack_from(">Q", data, pos + 8)[0]
        elif size == 0:  # to the end of the file
            return None
        if size < 8 or pos + size > len(data):
            return f"the {kind.decode('latin-1')!r} box needs {size:,} bytes from byte {pos:,}"
        pos += size
    return None


def _tiff_complete(data: bytes) -> str | None:
    with open_image(data) as image:
        tags = image.tag_v2
        offsets = tags.get(273) or tags.get(324) or ()
        counts = tags.get(279) or tags.get(325) or ()
    ends = [offset + count for offset, count in zip(offsets, counts)]
    return None if ends and max(ends) <= len(data) else "its strips or tiles end beyond the data"


def _decodes_whole(data: bytes) -> str | None:
    try:
        with open_image(data) as image:
            image.load()
    except OSError as exc:
        return str(exc)
    return None


_COMPLETENESS = {"JPEG": _jpeg_complete, "MPO": _jpeg_complete, "PNG": _png_complete, "GIF": _gif_complete,
                 "WEBP": _riff_complete, "BMP": _bmp_complete, "HEIF": _boxes_complete, "AVIF": _boxes_complete,
                 "TIFF": _tiff_complete}
