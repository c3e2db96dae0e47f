"""The sample generator (deterministic, every quirk, images with EXIF) and the local image server."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

import pytest
import requests
from PIL import Image

from photolake.ingest.reader import TsvDialect
from photolake.sample.release import PREMIUM_404_EVERY, SampleOptions, generate_release, photo_id
from photolake.sample.server import ImageServer


def digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def read_table(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, dialect=TsvDialect))


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("s") / "r"
    manifest = generate_release(out, SampleOptions(photos=40, seed=11, image_long_side=(320, 480)))
    return out, manifest


def test_same_seed_same_bytes_other_seed_other_bytes(release, tmp_path):
    out, _ = release
    generate_release(tmp_path / "again", SampleOptions(photos=40, seed=11, image_long_side=(320, 480)))
    generate_release(tmp_path / "other", SampleOptions(photos=40, seed=12, image_long_side=(320, 480)))
    assert digest(out) == digest(tmp_path / "again")
    assert digest(out)["photos.csv000"] != digest(tmp_path / "other")["photos.csv000"]


def test_photo_rows_do_not_depend_on_how_many_photos_are_made(tmp_path):
    generate_release(tmp_path / "small", SampleOptions(photos=10, seed=1, images=False, defects=False))
    generate_release(tmp_path / "large", SampleOptions(photos=600, seed=1, images=False, defects=False))
    small = read_table(tmp_path / "small" / "photos.csv000")
    large = read_table(tmp_path / "large" / "photos.csv000")
    assert small == large[:10]


def test_format_quirks(release):
    out, manifest = release
    photos = read_table(out / "photos.csv000")
    assert list(photos[0]) == ["photo_id", "photo_url", "photo_image_url", "photo_submitted_at", "photo_featured",
                               "photo_width", "photo_height", "photo_aspect_ratio", "photo_description",
                               "photographer_username", "photographer_first_name", "photographer_last_name",
                               "exif_camera_make", "exif_camera_model", "exif_iso", "exif_aperture_value",
                               "exif_focal_length", "exif_exposure_time", "photo_location_name",
                               "photo_location_latitude", "photo_location_longitude", "photo_location_country",
                               "photo_location_city", "stats_views", "stats_downloads", "ai_description",
                               "ai_primary_landmark_name", "ai_primary_landmark_latitude",
                               "ai_primary_landmark_longitude", "ai_primary_landmark_confidence", "blur_hash"]
    good = [p for p in photos if re.fullmatch(r"[A-Za-z0-9_-]{11}", p["photo_id"] or "")]
    assert {p["photo_featured"] for p in good} <= {"t", "f", "maybe"}
    fractions = {len(p["photo_submitted_at"].partition(".")[2]) for p in good if p["photo_submitted_at"] != "yesterday"}
    assert len(fractions) >= 4 and fractions <= set(range(7))
    raw = (out / "photos.csv000").read_text(encoding="utf-8")
    assert '"富士山 🗻 at dawn\nsecond line\twith a tab and ""quotes"""' in raw
    assert "\tLONDON \t" in raw and "\t United Kingdom\t" in raw
    assert all(p["photo_url"] == f"https://unsplash.com/photos/{p['photo_id']}" for p in good)
    links = {p["photo_id"] for p in good}
    for table in ("keywords.tsv000", "collections.csv000", "conversions.tsv000", "colors.csv000"):
        rows = [r for r in read_table(out / table) if re.fullmatch(r"[A-Za-z0-9_-]{11}", r["photo_id"] or "")]
        assert rows and {r["photo_id"] for r in rows} <= links, table
    colors = read_table(out / "colors.csv000")
    assert all(re.fullmatch(r"[0-9A-F]{6}", c["hex"]) for c in colors)
    users = {r["anonymous_user_id"] for r in read_table(out / "conversions.tsv000")}
    assert all(re.fullmatch(r"[0-9a-f-]{36}", u) for u in users if u)
    keywords = read_table(out / "keywords.tsv000")
    assert 60 <= len(keywords) / len(good) <= 140  # ~100 keywords per photo
    assert manifest.records["photos"] == len(photos)


def test_images_match_rows_and_carry_exif(release):
    out, manifest = release
    photos = {p["photo_id"]: p for p in read_table(out / "photos.csv000")}
    images = [p for p in (out / "images").rglob("*") if p.is_file()]
    assert len(images) == manifest.images == 40 - len(manifest.missing_images)
    with_exif = 0
    for path in images:
        with Image.open(path) as image:
            exif = image.getexif()
            assert image.format == "JPEG" and max(image.size) in (320, 480)
            if exif.get(0x010F):
                with_exif += 1
                row = next(p for p in photos.values() if p["photo_image_url"].endswith(path.name))
                assert exif[0x010F] == row["exif_camera_make"]
                assert exif.get_ifd(0x8769)[0x8827] == int(row["exif_iso"] or exif.get_ifd(0x8769)[0x8827])
                if exif.get(0x0112) in (6, 8):  # stored turned: the row has the display size
                    assert (image.width > image.height) != (int(row["photo_width"]) > int(row["photo_height"]))
    assert with_exif >= 5


def test_premium_photos_have_no_image(tmp_path):
    manifest = generate_release(tmp_path, SampleOptions(photos=PREMIUM_404_EVERY, seed=2, keywords_per_photo=1,
                                                        image_long_side=(16,)))
    assert photo_id(2, PREMIUM_404_EVERY - 1) in manifest.missing_images


def test_server_serves_resizes_and_404s(release):
    out, _ = release
    path = next(p for p in sorted((out / "images").iterdir()) if p.is_file())
    with ImageServer(out / "images") as server:
        original = requests.get(f"{server.url}/{path.name}", timeout=10)
        assert original.status_code == 200 and original.content == path.read_bytes()
        assert original.headers["Content-Type"] == "image/jpeg"
        small = requests.get(f"{server.url}/{path.name}?w=100&q=80&fm=jpg", timeout=10)
        with Image.open(io.BytesIO(small.content)) as image:
            assert image.width == 100  # imgix: w sets the width, the height follows the aspect ratio
        assert requests.get(f"{server.url}/nope", timeout=10).status_code == 404
        assert requests.get(f"{server.url}/../../etc/passwd", timeout=10).status_code == 404
        assert server.requests == 4
