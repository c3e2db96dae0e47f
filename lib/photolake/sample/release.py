"""A sample release in the real Unsplash format (see ../shared/reference/unsplash-dataset-format.md).

All five tables linked by photo_id, written as the real files are: TAB-separated CSV with a header in
every part, ``t``/``f`` booleans, timestamps with 0-6 fractional digits, quoted fields holding newlines,
tabs and quotes, CJK and emoji text, the messy free-text EXIF, stray spaces, broken image URLs, real
null rates and heavy-tailed stats.  Defects that ingest must reject are injected at known places and
listed, with file and line, in ``sample-manifest.json`` (the real release has no such file; ingest
ignores it).

Deterministic per seed: photo ``i`` draws from its own random stream, so the output does not depend on
chunking, and rows are streamed chunk by chunk so memory stays bounded at any size.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import logging
import math
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from photolake.sample import vocabulary as V
from photolake.sample.images import CameraExif, sample_jpeg

log = logging.getLogger(__name__)

PHOTOS_COLUMNS_13 = [
    "photo_id", "photo_url", "photo_image_url", "photo_submitted_at", "photo_featured", "photo_width",
    "photo_height", "photo_aspect_ratio", "photo_description", "photographer_username", "photographer_first_name",
    "photographer_last_name", "exif_camera_make", "exif_camera_model", "exif_iso", "exif_aperture_value",
    "exif_focal_length", "exif_exposure_time", "photo_location_name", "photo_location_latitude",
    "photo_location_longitude", "photo_location_country", "photo_location_city", "stats_views", "stats_downloads",
    "ai_description", "ai_primary_landmark_name", "ai_primary_landmark_latitude", "ai_primary_landmark_longitude",
    "ai_primary_landmark_confidence", "blur_hash",
]
PHOTOS_COLUMNS = {
    # 1.0.x had 26 columns: none of the five added later
    "1.0": [c for c in PHOTOS_COLUMNS_13 if c not in
            ("photo_width", "photo_height", "photo_aspect_ratio", "photo_description", "blur_hash")],
    "1.3": PHOTOS_COLUMNS_13,
    "1.4": PHOTOS_COLUMNS_13,
}
KEYWORDS_COLUMNS = {
    "1.0": ["photo_id", "keyword", "ai_service_1_confidence", "ai_service_2_confidence", "suggested_by_user"],
    "1.3": ["photo_id", "keyword", "ai_service_1_confidence", "ai_service_2_confidence", "suggested_by_user",
            "user_suggestion_source"],
    "1.4": ["photo_id", "keyword", "ai_service_1_confidence", "ai_service_2_confidence", "suggested_by_user",
            "user_suggestion_source", "suggested_by_ai_service_3", "confirmed_by_ai_service_3"],
}
COLLECTIONS_COLUMNS = ["photo_id", "collection_id", "collection_title", "photo_collected_at", "collection_type"]
CONVERSIONS_COLUMNS = {
    "1.3": ["converted_at", "conversion_type", "keyword", "photo_id", "anonymous_user_id", "conversion_country"],
    "1.4": ["converted_at", "conversion_type", "keyword", "photo_id", "anonymous_user_id", "conversion_country",
            "device_type", "search_orientation_filter", "search_ordering"],
}
COLORS_COLUMNS = ["photo_id", "hex", "red", "green", "blue", "keyword", "coverage", "score"]
TABLES = ("photos", "keywords", "collections", "conversions", "colors")

MANIFEST = "sample-manifest.json"
PAINTED_NOTE = "photolake's sample release: its images are generated shapes painted in each photo's palette"
CHUNK_PHOTOS = 500
PREMIUM_404_EVERY = 1250  # ~20 premium photos in 25,000 answer 404
BROKEN_URL_EVERY = 997
QUIRKS_PHOTO = 1  # the photo that always has stray spaces, a multi-line CJK description and a location


@dataclass
class SampleOptions:
    photos: int = 200
    seed: int = 42
    release: str = "1.3.0"
    image_base_url: str = "http://127.0.0.1:8765"
    keywords_per_photo: float = 100.0
    collections_per_photo: float = 4.0
    conversions_per_photo: float = 6.0
    colors_per_photo: float = 5.0
    users: int = 400
    rows_per_part: int = 0  # 0: one part per table (Lite); N: a new part every N records (Full)
    defects: bool = True
    images: bool = True
    images_from: str | None = None
    image_long_side: tuple[int, ...] = (480, 640, 800, 1024, 1280)

    @property
    def major_minor(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.release.split(".")[:2])

    @property
    def swapped_coordinates(self) -> bool:
        """1.2.x releases have the photos' latitude and longitude swapped (the dataset's issue #63, fixed in
        1.3.0); 1.0.x rows have them right."""
        return (1, 2) <= self.major_minor < (1, 3)

    @property
    def columns_release(self) -> str:
        major_minor = self.major_minor
        return "1.0" if major_minor < (1, 1) else "1.4" if major_minor >= (1, 4) else "1.3"


@dataclass
class Defect:
    table: str
    file: str
    line: int
    photo_id: str | None
    column: str | None
    reason: str  # a word or two; the test matches it against the ingest's reason


@dataclass
class Manifest:
    options: dict
    records: dict[str, int] = field(default_factory=lambda: {t: 0 for t in TABLES})
    row_defects: list[Defect] = field(default_factory=list)
    value_defects: list[Defect] = field(default_factory=list)
    images: int = 0
    missing_images: list[str] = field(default_factory=list)
    broken_urls: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({
            "options": self.options, "records": self.records, "images": self.images,
            "row_defects": [d.__dict__ for d in self.row_defects],
            "value_defects": [d.__dict__ for d in self.value_defects],
            "missing_images": self.missing_images, "broken_urls": self.broken_urls,
        }, indent=1, ensure_ascii=False)


class PartWriter:
    """One table's part files: a header in every part, a new part every ``rows_per_part`` records, and the
    line number each record starts on (for the manifest)."""

    def __init__(self, out: Path, table: str, suffix: str, header: list[str], rows_per_part: int):
        self.out, self.table, self.suffix, self.header, self.rows_per_part = out, table, suffix, header, rows_per_part
        self.part = -1
        self.records_in_part = 0
        self.file = None
        self._open_next()

    def _open_next(self) -> None:
        if self.file:
            self.file.close()
        self.part += 1
        self.name = f"{self.table}.{self.suffix}{self.part:03d}"
        self.file = open(self.out / self.name, "w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.file, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        self.writer.writerow(self.header)
        self.line = 2  # the line the next record starts on
        self.records_in_part = 0

    def write(self, row: list[str], track_lines: bool = False) -> tuple[str, int]:
        """Write a record; returns (file name, line it starts on).  Lines are only counted exactly while
        ``track_lines`` (or the part is still being tracked): counting newlines in every field costs time."""
        if self.rows_per_part and self.records_in_part >= self.rows_per_part:
            self._open_next()
        where = (self.name, self.line)
        self.writer.writerow(row)
        self.records_in_part += 1
        if self.line > 0:
            if track_lines:
                self.line += 1 + sum(v.count("\n") for v in row)
            else:
                self.line = -1  # past the tracked region: later positions are not needed
        return where

    def close(self) -> None:
        self.file.close()


def photo_id(seed: int, index: int | str) -> str:
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=9).digest()
    return base64.urlsafe_b64encode(digest).decode()[:11]


def _timestamp(moment: datetime, digits: int) -> str:
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{moment.microsecond:06d}"[: len(text) + 1 + digits] if digits else text


def _float(x: float) -> str:
    return f"{x:.17g}"  # the release keeps long precision: 96.990119934082003


def _maybe(rng: np.random.Generator, null_rate: float, value: str) -> str:
    return "" if rng.random() < null_rate else value


def _exif_texts(rng: np.random.Generator, make: str, model: str, iso: int, aperture: float, focal: float,
                exposure: tuple[int, int]) -> tuple[str, str, str, str, str, str]:
    """The free-text EXIF the dataset carries: the same values typed many ways."""
    a = rng.integers(6)
    aperture_text = [f"{aperture:g}", f"{aperture:.1f}".replace(".", ","), f"f/{aperture:g}", f"f{aperture:.1f}",
                     f"{aperture:.1f}", f"{aperture:g}"][a]
    f = rng.integers(5)
    focal_text = [f"{focal:.1f}", f"{focal:g} mm", f"{focal:g}mm", f"{focal:g}", f"{focal:.1f}"][f]
    num, den = exposure
    e = rng.integers(6)
    if den == 1:
        exposure_text = [f"{num}", f"{num}s", f'{num}"', f"{num} Seconds", f"{num}", f"{num}s"][e]
    else:
        exposure_text = [f"{num}/{den}", f"{num}/{den}s", f"{num} / {den}s", f"{num}/{den}", f"{num}/{den}",
                         f"{num / den:g}"][e]
    return make, model, str(iso), aperture_text, focal_text, exposure_text


class ReleaseGenerator:
    def __init__(self, out: str | os.PathLike, options: SampleOptions):
        self.out = Path(out)
        self.opt = options
        self.words, self.word_p = V.keyword_vocabulary()
        user_rng = np.random.default_rng([options.seed, 1])
        self.users = [str(uuid.UUID(bytes=user_rng.bytes(16), version=4)) for _ in range(options.users)]
        self.user_weights = 1.0 / np.arange(1, options.users + 1) ** 0.8
        self.user_weights /= self.user_weights.sum()
        self.collections = [(str(1000 + c), V.COLLECTION_TITLES[c % len(V.COLLECTION_TITLES)]
                             + ("" if c < len(V.COLLECTION_TITLES) else f" {c}")) for c in range(300)]
        self.manifest = Manifest(options=options.__dict__ | {"image_long_side": list(options.image_long_side)})
        self.image_sources = sorted(Path(options.images_from).iterdir()) if options.images_from else []
        self.image_sources = [p for p in self.image_sources if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp")]

    # ---- one photo ----------------------------------------------------------------------------------

    def _photo(self, i: int, rng: np.random.Generator) -> dict:
        pid = photo_id(self.opt.seed, i)
        submitted = datetime(2013, 1, 1) + timedelta(seconds=float(rng.uniform(0, 11 * 365 * 86400)))
        shape = rng.choice(["landscape", "portrait", "square"], p=[0.55, 0.35, 0.10])
        long_side = int(rng.choice([3000, 4000, 5472, 6000, 6720, 8256]))
        ratio = {"landscape": 1.5, "portrait": 1 / 1.5, "square": 1.0}[shape] * float(rng.uniform(0.9, 1.1))
        width, height = (long_side, round(long_side / ratio)) if ratio >= 1 else (round(long_side * ratio), long_side)
        n_colors = max(2, int(rng.poisson(self.opt.colors_per_photo - 2)) + 2)
        shares = rng.dirichlet(np.ones(n_colors) * 1.2)
        order = np.argsort(-shares)
        palette = [(tuple(int(v) for v in rng.integers(0, 256, 3)), float(shares[k])) for k in order]
        url_id = f"photo-{int(submitted.timestamp() * 1000)}-{rng.bytes(6).hex()}"
        if i % 41 == 5:
            url_id = f"reserve/{rng.bytes(5).hex()}_IMG_{rng.integers(1000, 9999)}.JPG"
        elif i % 53 == 7:
            url_id = f"uploads/{rng.integers(10**11, 10**12)}{rng.bytes(4).hex()}"
        return {"index": i, "id": pid, "submitted": submitted, "width": width, "height": height,
                "palette": palette, "url_path": url_id,
                "keywords": self._keywords(rng), "has_camera": rng.random() > 0.113}

    def _keywords(self, rng: np.random.Generator) -> list[str]:
        count = int(min(len(self.words) - 1, max(5, rng.normal(self.opt.keywords_per_photo,
                                                               self.opt.keywords_per_photo * 0.25))))
        if self.opt.keywords_per_photo <= 0:
            return []
        # sampling without replacement from a Zipf-like law, in one vectorised step (Gumbel top-k)
        keys = np.log(self.word_p) - np.log(-np.log(rng.random(len(self.words))))
        chosen = np.argpartition(-keys, count)[:count]
        return [self.words[k] for k in chosen]

    def _photo_row(self, p: dict, rng: np.random.Generator) -> tuple[list[str], CameraExif | None, str]:
        i, pid = p["index"], p["id"]
        base = self.opt.image_base_url.rstrip("/")
        url = f"{base}/{p['url_path']}"
        if i % BROKEN_URL_EVERY == 11:  # the real release's broken URLs
            url = [f"{base}-grass-sun.jpg/", f"{base}ompany%20by%20someone.jpg"][(i // BROKEN_URL_EVERY) % 2]
            self.manifest.broken_urls.append(pid)
        first = V.FIRST_NAMES[int(rng.integers(len(V.FIRST_NAMES)))]
        last = "" if rng.random() < 0.066 else V.LAST_NAMES[int(rng.integers(len(V.LAST_NAMES)))]
        username = f"{first.lower()}{last.lower().replace(' ', '').replace(chr(39), '')}{int(rng.integers(100))}"
        camera = None
        exif_text = ("", "", "", "", "", "")
        if p["has_camera"]:
            make, model, (lo, hi) = V.CAMERAS[int(rng.integers(len(V.CAMERAS)))]
            iso = int(rng.choice(V.ISOS))
            aperture = float(rng.choice(V.APERTURES))
            focal = float(rng.integers(lo, hi + 1))
            exposure = V.EXPOSURES[int(rng.integers(len(V.EXPOSURES)))]
            exif_text = _exif_texts(rng, make, model, iso, aperture, focal, exposure)
            if rng.random() < 0.13:
                exif_text = exif_text[:2] + ("",) + exif_text[3:]  # iso missing
            if rng.random() < 0.03:  # cameras that wrote no value
                exif_text = exif_text[:3] + (str(rng.choice(["undef", "inf", "Inf"])),) + exif_text[4:]
            if rng.random() < 0.02:
                lens = f"{focal:g}-{focal * 3:g}mm" if rng.random() < .5 else f"{focal:.1f} ~ {focal * 3:g}mm"
                exif_text = exif_text[:4] + (lens,) + exif_text[5:]
            if rng.random() < 0.01:
                exif_text = exif_text[:5] + (str(rng.choice(["-", "2h", "1.6\"", "63 Seconds"])),)
            camera = CameraExif(make, model, Fraction(*exposure), aperture, iso, focal,
                                p["submitted"] - timedelta(days=float(rng.uniform(0, 400))),
                                orientation=int(rng.choice([1, 1, 1, 1, 3, 6, 8])))
        place = None
        if rng.random() < 0.38:
            place = V.PLACES[int(rng.integers(len(V.PLACES)))]
        # The first photos always carry the quirks, so even a tiny sample has each of them.
        stray_spaces = rng.random() < 0.05 or i == QUIRKS_PHOTO
        if i == QUIRKS_PHOTO:
            place = V.PLACES[0]
        lat = lon = ""
        if place and (rng.random() < 0.73 or i == QUIRKS_PHOTO):
            lat_v = place[3] + float(rng.normal(0, 0.05))
            lon_v = place[4] + float(rng.normal(0, 0.05))
            if self.opt.swapped_coordinates:
                lat_v, lon_v = lon_v, lat_v
            lat, lon = _float(lat_v), _float(lon_v)
            if camera is not None:
                camera.latitude, camera.longitude = place[3], place[4]
                camera.altitude = float(rng.uniform(0, 2500))
        location_name = place[0] if place else ""
        country = place[2] if place else ""
        if place and stray_spaces:  # 'LONDON ', ' United Kingdom' as the early releases had
            location_name = f"{place[1] or place[0]} ".upper()
            country = f" {country}"
        city = (place[1] or "") if place and rng.random() < 0.63 else ""
        views = int(min(1e9, max(1e3, math.exp(rng.normal(11.5, 2.2)))))
        downloads = int(max(0, views * math.exp(rng.normal(-4.5, 1.0))))
        landmark = V.LANDMARKS[int(rng.integers(len(V.LANDMARKS)))] if rng.random() < 0.04 else None
        description = _maybe(rng, 0.45, V.DESCRIPTIONS[int(rng.integers(len(V.DESCRIPTIONS)))])
        if i == QUIRKS_PHOTO:
            description = "富士山 🗻 at dawn\nsecond line\twith a tab and \"quotes\""
        values = {
            "photo_id": pid,
            "photo_url": f"https://unsplash.com/photos/{pid}",
            "photo_image_url": url,
            "photo_submitted_at": _timestamp(p["submitted"], int(rng.integers(0, 7))),
            "photo_featured": "t",
            "photo_width": str(p["width"]),
            "photo_height": str(p["height"]),
            "photo_aspect_ratio": _float(p["width"] / p["height"]),
            "photo_description": description,
            "photographer_username": username,
            "photographer_first_name": first,
            "photographer_last_name": last,
            "exif_camera_make": exif_text[0],
            "exif_camera_model": exif_text[1],
            "exif_iso": exif_text[2],
            "exif_aperture_value": exif_text[3],
            "exif_focal_length": exif_text[4],
            "exif_exposure_time": exif_text[5],
            "photo_location_name": location_name,
            "photo_location_latitude": lat,
            "photo_location_longitude": lon,
            "photo_location_country": country,
            "photo_location_city": city,
            "stats_views": str(views),
            "stats_downloads": str(downloads),
            "ai_description": _maybe(rng, 0.055, V.AI_DESCRIPTIONS[int(rng.integers(len(V.AI_DESCRIPTIONS)))]),
            "ai_primary_landmark_name": landmark[0] if landmark else "",
            "ai_primary_landmark_latitude": _float(landmark[1]) if landmark else "",
            "ai_primary_landmark_longitude": _float(landmark[2]) if landmark else "",
            "ai_primary_landmark_confidence": _float(float(rng.uniform(0.3, 1))) if landmark else "",
            "blur_hash": "".join(V.BLURHASH_ALPHABET[k] for k in rng.integers(0, len(V.BLURHASH_ALPHABET), 28)),
        }
        return [values[c] for c in PHOTOS_COLUMNS[self.opt.columns_release]], camera, url

    # ---- the other tables -------------------------------------------------------------------------------

    def _keyword_rows(self, p: dict, rng: np.random.Generator) -> Iterator[list[str]]:
        columns = KEYWORDS_COLUMNS[self.opt.columns_release]
        n = len(p["keywords"])
        c1 = rng.uniform(10, 100, n)
        c2 = rng.uniform(10, 100, n)
        null1 = rng.random(n) < 0.3
        null2 = rng.random(n) < 0.55
        by_user = rng.random(n) < 0.1
        for k, word in enumerate(p["keywords"]):
            if rng.random() < 0.002:
                word = f" {word} "  # stray spaces
            row = [p["id"], word, "" if null1[k] else _float(c1[k]), "" if null2[k] else _float(c2[k]),
                   "t" if by_user[k] else "f"]
            if len(columns) > 5:
                row.append("search" if by_user[k] and k % 2 else ("manual" if by_user[k] else ""))
            if len(columns) > 6:
                row += ["t" if k % 3 == 0 else "f", "t" if k % 5 == 0 else "f"]
            yield row

    def _collection_rows(self, p: dict, rng: np.random.Generator) -> Iterator[list[str]]:
        for c in rng.choice(len(self.collections), size=min(len(self.collections),
                                                            int(rng.poisson(self.opt.collections_per_photo))),
                            replace=False):
            cid, title = self.collections[int(c)]
            collected = p["submitted"] + timedelta(seconds=float(rng.uniform(60, 3 * 365 * 86400)))
            yield [p["id"], cid, title, _timestamp(collected, int(rng.integers(0, 7))),
                   "featured" if int(c) % 7 == 0 else "user"]

    def _conversion_rows(self, p: dict, rng: np.random.Generator, popularity: float) -> Iterator[list[str]]:
        columns = CONVERSIONS_COLUMNS["1.4" if self.opt.columns_release == "1.4" else "1.3"]
        count = int(rng.poisson(self.opt.conversions_per_photo * popularity))
        users = rng.choice(len(self.users), size=count, p=self.user_weights)
        for u in users:
            at = p["submitted"] + timedelta(seconds=float(rng.uniform(3600, 4 * 365 * 86400)))
            keyword = (p["keywords"][int(rng.integers(len(p["keywords"])))]
                       if p["keywords"] and rng.random() < .8 else "")
            row = [_timestamp(at, int(rng.integers(0, 7))), "download", keyword, p["id"], self.users[int(u)],
                   V.COUNTRIES[int(rng.integers(len(V.COUNTRIES)))]]
            if len(columns) > 6:
                row += [str(rng.choice(["desktop", "mobile", "tablet"])),
                        str(rng.choice(["", "landscape", "portrait", "squarish"])),
                        str(rng.choice(["relevant", "latest"]))]
            yield row

    def _color_rows(self, p: dict, rng: np.random.Generator) -> Iterator[list[str]]:
        for rgb, share in p["palette"]:
            yield [p["id"], "%02X%02X%02X" % rgb, str(rgb[0]), str(rgb[1]), str(rgb[2]), V.nearest_color_name(rgb),
                   _float(share), _float(float(rng.uniform(0.001, 0.4)))]

    # ---- defects ----------------------------------------------------------------------------------------

    def _defect_rows(self, table: str, valid_row: list[str], columns: list[str]) -> list[tuple[list[str], str | None,
                                                                                               str, str | None]]:
        """(row, photo_id, reason, column) for rows that must be rejected whole or in one value."""
        pid_at = columns.index("photo_id")

        def with_(column: str, value: str) -> list[str]:
            row = list(valid_row)
            row[columns.index(column)] = value
            return row

        defects: list[tuple[list[str], str | None, str, str | None]] = [
            (valid_row[: max(1, len(valid_row) // 2)], valid_row[pid_at] if pid_at < len(valid_row) // 2 else None,
             "too few fields", None),
            (valid_row + ["surplus"], valid_row[pid_at], "too many fields", None),
            (with_("photo_id", ""), None, "missing photo_id", None),
            (with_("photo_id", "not/valid"), "not/valid", "invalid photo_id", None),
        ]
        value_defects = {
            "photos": [("photo_featured", "maybe"), ("photo_width", "wide"), ("photo_submitted_at", "yesterday"),
                       ("stats_views", "many"), ("exif_exposure_time", "fast"), ("exif_aperture_value", "wide open")],
            "keywords": [("ai_service_1_confidence", "high"), ("suggested_by_user", "yes please")],
            "collections": [("photo_collected_at", "2020-13-45 99:99:99")],
            "conversions": [("converted_at", "soon")],
            "colors": [("red", "reddish"), ("coverage", "NaN")],
        }[table]
        # a latitude out of range, in the column the file keeps latitudes in (a swapped release's longitude one);
        # the reject names the lake's column
        in_file = {"photo_location_longitude": "photo_location_latitude"} if self.opt.swapped_coordinates else {}
        if "photo_location_latitude" in columns:
            value_defects.append(("photo_location_longitude" if in_file else "photo_location_latitude", "123.4"))
        for k, (column, value) in enumerate(value_defects):
            if column in columns:
                row = with_(column, value)
                if table == "photos":  # a row of its own, so it loads (with the bad value as null)
                    row[pid_at] = photo_id(self.opt.seed, f"value-defect-{k}")
                    row[columns.index("photo_url")] = f"https://unsplash.com/photos/{row[pid_at]}"
                defects.append((row, row[pid_at], "value", in_file.get(column, column)))
        return defects

    # ---- driving it --------------------------------------------------------------------------------------

    def generate(self) -> Manifest:
        self.out.mkdir(parents=True, exist_ok=True)
        images_dir = self.out / "images"
        if self.opt.images:
            images_dir.mkdir(exist_ok=True)
        release = self.opt.columns_release
        suffix = {t: ("tsv" if release == "1.0" or self.opt.rows_per_part else "csv") for t in TABLES}
        if release != "1.0":  # keep both naming styles in one sample so every reader path is exercised
            suffix["keywords"] = suffix["conversions"] = "tsv"
        headers = {"photos": PHOTOS_COLUMNS[release], "keywords": KEYWORDS_COLUMNS[release],
                   "collections": COLLECTIONS_COLUMNS,
                   "conversions": CONVERSIONS_COLUMNS["1.4" if release == "1.4" else "1.3"], "colors": COLORS_COLUMNS}
        writers = {t: PartWriter(self.out, t, suffix[t], headers[t], self.opt.rows_per_part) for t in TABLES}
        for old in self.out.glob("*.[tc]sv[0-9]*"):
            if old.name not in {w.name for w in writers.values()} and old.name.split(".")[0] in TABLES:
                old.unlink()
        try:
            for start in range(0, self.opt.photos, CHUNK_PHOTOS):
                self._chunk(start, min(self.opt.photos, start + CHUNK_PHOTOS), writers, headers, images_dir)
                log.info("sample: %d of %d photos", min(self.opt.photos, start + CHUNK_PHOTOS), self.opt.photos)
        finally:
            for w in writers.values():
                w.close()
        (self.out / MANIFEST).write_text(self.manifest.to_json(), encoding="utf-8")
        return self.manifest

    def _chunk(self, start: int, stop: int, writers: dict[str, PartWriter], headers: dict[str, list[str]],
               images_dir: Path) -> None:
        first_chunk = start == 0
        for i in range(start, stop):
            rng = np.random.default_rng([self.opt.seed, 7, i])
            p = self._photo(i, rng)
            photo_row, camera, _ = self._photo_row(p, rng)
            rows = {
                "photos": [photo_row],
                "keywords": list(self._keyword_rows(p, rng)),
                "collections": list(self._collection_rows(p, rng)),
                "conversions": list(self._conversion_rows(p, rng, popularity=float(rng.lognormal(0, 0.8)))),
                "colors": list(self._color_rows(p, rng)),
            }
            for table, table_rows in rows.items():
                for row in table_rows:
                    writers[table].write(row, track_lines=first_chunk)
                self.manifest.records[table] += len(table_rows)
            if self.opt.defects and first_chunk and i == min(stop - 1, 3):
                self._write_defects(rows, writers, headers)
                if stop - start > 4:  # a second row for an id already written
                    file, line = writers["photos"].write(rows["photos"][0], track_lines=True)
                    self.manifest.records["photos"] += 1
                    self.manifest.row_defects.append(Defect("photos", file, line, p["id"], None, "duplicate photo_id"))
            if self.opt.images:
                self._write_image(p, camera, images_dir)

    def _write_defects(self, rows: dict[str, list[list[str]]], writers: dict[str, PartWriter],
                       headers: dict[str, list[str]]) -> None:
        for table, table_rows in rows.items():
            if not table_rows:
                continue
            for row, pid, reason, column in self._defect_rows(table, table_rows[0], headers[table]):
                file, line = writers[table].write(row, track_lines=True)
                self.manifest.records[table] += 1
                defect = Defect(table, file, line, pid, column, reason)
                (self.manifest.value_defects if column else self.manifest.row_defects).append(defect)

    def _write_image(self, p: dict, camera: CameraExif | None, images_dir: Path) -> None:
        if p["index"] % PREMIUM_404_EVERY == PREMIUM_404_EVERY - 1 or p["index"] % BROKEN_URL_EVERY == 11:
            self.manifest.missing_images.append(p["id"])
            return
        target = images_dir / p["url_path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.image_sources:
            source = self.image_sources[p["index"] % len(self.image_sources)]
            target.write_bytes(source.read_bytes())
        else:
            long_side = self.opt.image_long_side[p["index"] % len(self.opt.image_long_side)]
            scale = long_side / max(p["width"], p["height"])
            width, height = max(1, round(p["width"] * scale)), max(1, round(p["height"] * scale))
            with_exif = camera if p["index"] % 2 == 0 else None
            target.write_bytes(sample_jpeg(width, height, p["palette"], p["index"], with_exif))
        self.manifest.images += 1


def generate_release(out: str | os.PathLike, options: SampleOptions) -> Manifest:
    return ReleaseGenerator(out, options).generate()


def painted_images(release_location: str) -> bool:
    """Whether a release folder is a sample whose images are generated shapes (not --images-from photos)."""
    manifest = Path(release_location) / MANIFEST
    try:
        options = json.loads(manifest.read_text(encoding="utf-8"))["options"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(options.get("images")) and not options.get("images_from")
