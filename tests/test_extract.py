"""extract: per-file functions against ExifTool's reading of real camera files, bad files, colour
features; then the Spark job over a folder."""

from __future__ import annotations

import io
import shutil
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import pytest
from PIL import Image

from photolake import lake
from photolake.extract.accuracy import compare, render
from photolake.extract.colors import color_features, dominant_colors, hamming, nearest_css_name, small_rgb
from photolake.extract.image import extract_file, orientation_class, size_category
from photolake.extract.run import extract_all, extract_counts, observe_statuses
from photolake.image_files import IMAGE_EXTENSIONS, files_from_dir
from photolake.sample.images import CameraExif, sample_jpeg
from photolake.schemas import IMAGE_METADATA
from tests.http_servers import png_header_only


@pytest.fixture(scope="module")
def samples(shared) -> Path:
    return shared / "data" / "exif-samples"


def test_agreement_with_exiftool_is_at_least_99_percent(samples, shared, capsys):
    result = compare(samples, shared / "data" / "exif-samples.exiftool.json")
    with capsys.disabled():
        print("\n" + render(result))
    assert len(result["files"]) >= 80 and all(error is None for _, error in result["files"])
    assert result["matched"] / result["expected"] >= 0.99, [
        (name, f["misses"][:3]) for name, f in result["fields"].items() if f["misses"]]
    for name, field in result["fields"].items():
        assert field["expected"] > 0, name  # every field is exercised by the samples


def test_every_file_gives_a_row_never_an_exception(samples):
    files = [p for p in samples.rglob("*") if p.is_file()]
    rows = [extract_file(str(p.relative_to(samples)), str(p)) for p in files]
    assert len(rows) == len(files)
    broken = [r for r in rows if r["status"] != "ok"]
    assert all(r["error"] for r in broken)
    images = [r for r in rows if Path(r["path"]).suffix.lower() in (".jpg", ".jpeg", ".tiff", ".heic")]
    assert all(r["status"] == "ok" for r in images if "invalid" not in r["path"])


def test_heic_is_read_with_its_exif(samples):
    heic = next(samples.rglob("*.HEIC"))
    row = extract_file("h", str(heic))
    assert (row["status"], row["format"], row["make"]) == ("ok", "HEIF", "Apple")
    assert row["datetime_offset"] == "-05:00" and row["datetime_original"] == datetime(2021, 4, 11, 15, 47, 53)


@pytest.mark.parametrize("content, status, error_part", [
    (b"", "unreadable", "empty file"),
    (b"<html>not an image</html>", "unreadable", "not an image"),
    (png_header_only(40000, 40000), "too_large", "over the limit"),
])
def test_bad_files(tmp_path, content, status, error_part):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    row = extract_file("bad", str(path))
    assert row["status"] == status and error_part in row["error"]


def test_truncated_and_missing_files(tmp_path):
    full = sample_jpeg(800, 600, [((200, 30, 30), 1.0)], 1, None)
    (tmp_path / "cut.jpg").write_bytes(full[: len(full) // 3])
    cut = extract_file("cut", str(tmp_path / "cut.jpg"))
    assert cut["status"] in ("ok", "unreadable") and (cut["status"] == "ok" or cut["error"])
    missing = extract_file("gone", str(tmp_path / "gone.jpg"))
    assert missing["status"] == "missing" and "cannot read" in missing["error"]


def test_sample_exif_round_trip_and_display_size(tmp_path):
    camera = CameraExif("NIKON CORPORATION", "NIKON D750", Fraction(1, 250), 5.6, 400, 35.0,
                        datetime(2019, 5, 1, 12, 30, 0), orientation=6, latitude=-33.8688, longitude=151.2093,
                        altitude=42.0)
    path = tmp_path / "turned.jpg"
    path.write_bytes(sample_jpeg(600, 400, [((10, 10, 200), 0.7), ((250, 250, 250), 0.3)], 2, camera))
    row = extract_file("t", str(path))
    assert (row["width"], row["height"], row["display_width"], row["display_height"]) == (400, 600, 600, 400)
    assert row["orientation_class"] == "landscape" and row["size_category"] == "medium"
    assert (row["make"], row["camera_make"], row["iso"], row["orientation"]) == ("NIKON CORPORATION", "Nikon", 400, 6)
    assert row["exposure_time_s"] == pytest.approx(0.004) and row["f_number"] == pytest.approx(5.6)
    assert row["gps_latitude"] == pytest.approx(-33.8688, abs=1e-4)
    assert row["gps_longitude"] == pytest.approx(151.2093, abs=1e-4)
    assert row["gps_altitude"] == pytest.approx(42.0)
    assert row["exif"]["Make"] == "NIKON CORPORATION" and row["exif"]["GPSLatitudeRef"] == "S"
    assert row["exif"]["ExposureTime"] == "0.004"


def test_colour_features_find_the_palette():
    image = Image.new("RGB", (200, 100), (0, 0, 255))
    image.paste((255, 255, 0), (0, 0, 50, 100))  # a quarter yellow
    features = color_features(image, k=3)
    top = features["dominant_colors"]
    assert [c["name"] for c in top[:2]] == ["blue", "yellow"]
    assert top[0]["share"] == pytest.approx(0.75, abs=0.03) and top[1]["share"] == pytest.approx(0.25, abs=0.03)
    assert sum(c["share"] for c in top) == pytest.approx(1.0, abs=1e-3)
    grey = color_features(Image.new("RGB", (64, 64), (128, 128, 128)))
    assert grey["colorfulness"] == pytest.approx(0, abs=1e-6) and grey["brightness"] == pytest.approx(128 / 255)
    assert features["colorfulness"] > 50
    assert nearest_css_name((250, 128, 114)) == "salmon"


@pytest.mark.parametrize("mode", ["RGB", "P", "CMYK", "L"])
def test_small_copy_of_a_large_image_without_draft(mode):
    image = Image.new("RGB", (1000, 800), (0, 0, 255))
    image.paste((255, 255, 0), (0, 0, 250, 800))  # a quarter yellow
    image = image.convert(mode)
    pixels = small_rgb(image)
    assert pixels.shape == (51, 64, 3) and image.size == (1000, 800)  # the caller's image is left as it was
    if mode != "L":
        top = dominant_colors(pixels, 3)
        assert [c["family"] for c in top[:2]] == ["blue", "yellow"]
        assert top[0]["share"] == pytest.approx(0.75, abs=0.03)


def test_phash_finds_near_duplicates():
    base = sample_jpeg(640, 480, [((20, 120, 40), 0.5), ((240, 200, 10), 0.3), ((30, 30, 200), 0.2)], 5, None)
    with Image.open(io.BytesIO(base)) as image:
        original = color_features(image)["phash"]
        smaller = image.resize((320, 240))
        other = Image.new("RGB", (640, 480), (255, 255, 255))
        other.paste((0, 0, 0), (0, 0, 320, 480))
        assert hamming(original, color_features(smaller)["phash"]) <= 6
        assert hamming(original, color_features(other)["phash"]) > 12


def turned_files(tmp_path: Path, orientation: int) -> dict[str, Path]:
    """The same 480x320 stored picture (an asymmetric pattern) as JPEG, HEIC and HEIF, each with
    EXIF Orientation ``orientation`` (pillow-heif writes it as the container's rotation too)."""
    base = Image.open(io.BytesIO(sample_jpeg(480, 320, [((20, 120, 40), 0.5), ((240, 200, 10), 0.3),
                                                         ((30, 30, 200), 0.2)], 7, None))).convert("RGB")
    base.paste((250, 250, 250), (0, 0, 160, 60))  # a bright bar in a corner: a turn moves it
    exif = Image.Exif()
    exif[0x0112], exif[0x010F] = orientation, "Apple"
    files = {}
    for suffix, format_ in (("jpg", "JPEG"), ("heic", "HEIF"), ("heif", "HEIF")):
        files[suffix] = tmp_path / f"turned-{orientation}.{suffix}"
        base.save(files[suffix], format=format_, exif=exif.tobytes(), quality=95)
    return files


@pytest.mark.parametrize("orientation, shown", [(6, "portrait"), (8, "portrait"), (3, "landscape"),
                                                (1, "landscape")])
def test_heif_size_and_orientation_mean_what_they_mean_for_jpeg(tmp_path, orientation, shown):
    """width/height the stored size and orientation the tag, as ExifTool reports them, whatever the format;
    what depends on the displayed shape uses the turned picture."""
    rows = {suffix: extract_file(suffix, str(path)) for suffix, path in turned_files(tmp_path, orientation).items()}
    for suffix, row in rows.items():
        assert row["status"] == "ok", row
        assert (row["width"], row["height"], row["orientation"]) == (480, 320, orientation), suffix
        assert row["exif"]["Orientation"] == str(orientation), suffix
        turned = orientation in (5, 6, 7, 8)
        assert (row["display_width"], row["display_height"]) == ((320, 480) if turned else (480, 320)), suffix
        assert row["orientation_class"] == shown, suffix
    assert rows["heic"]["format"] == rows["heif"]["format"] == "HEIF"
    # the same picture as a viewer sees it: the same perceptual hash (give or take compression)
    assert hamming(rows["jpg"]["phash"], rows["heic"]["phash"]) <= 4
    assert hamming(rows["heic"]["phash"], rows["heif"]["phash"]) <= 4


def test_classes():
    assert [orientation_class(w, h) for w, h in ((1920, 1080), (1080, 1920), (1000, 1030), (None, 5))] == \
        ["landscape", "portrait", "square", None]
    assert [size_category(w, h) for w, h in ((499, 300), (500, 100), (1500, 900), (1501, 10))] == \
        ["thumbnail", "medium", "medium", "large"]


def test_extract_job_over_a_folder(spark, samples, tmp_path):
    folder = tmp_path / "photos"
    shutil.copytree(samples / "jpg" / "gps", folder / "gps")
    (folder / "broken.jpg").write_bytes(b"not really a jpeg")
    (folder / "empty.png").write_bytes(b"")
    files, _ = files_from_dir(spark, str(folder))
    written, observed = observe_statuses(extract_all(files, 4, 3))
    lake.write_table(written, str(tmp_path / "lake"), "image_metadata", "t")
    counts = extract_counts(observed.get, 1.0)
    table = lake.read_table(spark, str(tmp_path / "lake"), "image_metadata")
    assert [(f.name, f.dataType) for f in table.schema] == [(f.name, f.dataType) for f in IMAGE_METADATA]
    rows = {r.photo_id: r for r in table.collect()}
    expected = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS}
    assert "gps/README" not in expected and "broken.jpg" in expected
    assert set(rows) == expected
    assert rows["broken.jpg"].status == "unreadable" and rows["empty.png"].status == "unreadable"
    gps = [r for pid, r in rows.items() if pid.startswith("gps/")]
    assert gps and all(r.status == "ok" and r.gps_latitude is not None and len(r.dominant_colors) <= 4 for r in gps)
    assert (counts.rows_in, counts.rows_out, counts.rows_rejected) == (len(expected), len(expected) - 2, 2)
    assert counts.notes == [f"by status: ok {len(expected) - 2:,}, unreadable 2"]


def test_exif_comparison_view(spark, tmp_path):
    from pyspark.sql import functions as F

    from photolake.schemas import PHOTOS

    photos = spark.createDataFrame([("aaaaaaaaaaa", "Nikon", 400, 5.6), ("bbbbbbbbbbb", "Canon", 100, 2.8)],
                                   "photo_id string, camera_make string, iso int, aperture_f double")
    for field in PHOTOS.schema.fields:
        if field.name not in photos.columns:
            photos = photos.withColumn(field.name, F.lit(None).cast(field.dataType))
    lake.write_table(photos.select(*PHOTOS.schema.fieldNames()), str(tmp_path), "photos", "t")
    metadata = spark.createDataFrame([("aaaaaaaaaaa", "ok", "NIKON", "Nikon", 400, 5.6),
                                      ("bbbbbbbbbbb", "ok", "Canon", "Canon", 200, 2.8)],
                                     "photo_id string, status string, make string, camera_make string, iso int, "
                                     "f_number double")
    for field in IMAGE_METADATA.fields:
        if field.name not in metadata.columns:
            metadata = metadata.withColumn(field.name, F.lit(None).cast(field.dataType))
    lake.write_table(metadata.select(*IMAGE_METADATA.fieldNames()), str(tmp_path), "image_metadata", "t")
    assert "photo_exif_comparison" in lake.register_views(spark, str(tmp_path))
    rows = {r.photo_id: r for r in spark.sql("SELECT * FROM photo_exif_comparison").collect()}
    assert rows["aaaaaaaaaaa"].make_agrees and rows["aaaaaaaaaaa"].iso_agrees and rows["aaaaaaaaaaa"].f_number_agrees
    assert rows["bbbbbbbbbbb"].make_agrees and not rows["bbbbbbbbbbb"].iso_agrees


@pytest.mark.parametrize("rgb, family", [
    ((0, 0, 0), "black"), ((255, 255, 255), "white"), ((128, 128, 128), "gray"), ((220, 20, 20), "red"),
    ((255, 140, 0), "orange"), ((120, 70, 20), "brown"), ((250, 230, 40), "yellow"), ((30, 160, 40), "green"),
    ((40, 200, 210), "cyan"), ((30, 60, 200), "blue"), ((130, 40, 180), "purple"), ((240, 100, 180), "pink")])
def test_colour_families(rgb, family):
    from photolake.extract.colors import COLOR_FAMILIES, color_family

    assert color_family(*rgb) == family and family in COLOR_FAMILIES
