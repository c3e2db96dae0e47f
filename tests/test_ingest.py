"""Sample release -> ingest -> lake: exact counts, every injected defect in _rejects, quirks preserved,
schemas as the contract says, atomic replace, and releases 1.0.x / 1.4.x / multi-part / zip."""

from __future__ import annotations

import csv
import json
import os
import zipfile
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from photolake import lake
from photolake.ingest.load import ingest_release
from photolake.ingest.release import find_release
from photolake.sample.release import QUIRKS_PHOTO, SampleOptions, generate_release, photo_id
from photolake.schemas import DATASET_TABLES, LAKE_TABLES

PHOTOS = 60


def ingest(spark, dataset: Path, lake_dir: Path, run_id: str = "run1", tables: list[str] | None = None, **options):
    release = find_release(str(dataset))
    counts = ingest_release(spark, release.only(tables) if tables else release, str(lake_dir), run_id,
                            batch_rows=5000, **options)
    return {c.table: c for c in counts}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "sample"
    generate_release(out, SampleOptions(photos=PHOTOS, seed=7, images=False))
    return out, json.loads((out / "sample-manifest.json").read_text())


@pytest.fixture(scope="module")
def ingested(spark, sample, tmp_path_factory):
    out, manifest = sample
    lake_dir = tmp_path_factory.mktemp("lake")
    return lake_dir, ingest(spark, out, lake_dir), manifest


def test_counts_in_equal_counts_out_plus_rejects(ingested):
    _, counts, manifest = ingested
    assert set(counts) == set(DATASET_TABLES)
    for table, c in counts.items():
        row_defects = [d for d in manifest["row_defects"] if d["table"] == table]
        assert c.rows_in == manifest["records"][table], table
        assert c.rows_rejected == len(row_defects), table
        assert c.rows_out == c.rows_in - c.rows_rejected, table
        assert c.values_rejected == len([d for d in manifest["value_defects"] if d["table"] == table]), table
    assert counts["photos"].rows_out == PHOTOS + len([d for d in manifest["value_defects"] if d["table"] == "photos"])


def test_tables_on_disk_have_the_contract_schema_and_counts(spark, ingested):
    lake_dir, counts, _ = ingested
    for table in DATASET_TABLES:
        df = lake.read_table(spark, str(lake_dir), table)
        # Parquet reads every column back as nullable: compare names and types
        assert [(f.name, f.dataType) for f in df.schema] == [(f.name, f.dataType) for f in LAKE_TABLES[table]]
        assert df.count() == counts[table].rows_out, table


def test_every_injected_defect_is_in_rejects_with_file_and_line(spark, ingested):
    lake_dir, _, manifest = ingested
    found = [r.asDict() for r in lake.read_table(spark, str(lake_dir), "_rejects").collect()]
    rows = {(r["table"], os.path.basename(r["source_file"]), r["line"]): r for r in found if r["row_rejected"]}
    values = {(r["table"], os.path.basename(r["source_file"]), r["line"], r["column"]) for r in found
              if not r["row_rejected"]}
    for defect in manifest["row_defects"]:
        key = (defect["table"], defect["file"], defect["line"])
        assert key in rows, defect
        assert defect["reason"] in rows[key]["reason"], (defect, rows[key])
        assert rows[key]["photo_id"] == defect["photo_id"]
    assert len(rows) == len(manifest["row_defects"])
    expected_values = {(d["table"], d["file"], d["line"], d["column"]) for d in manifest["value_defects"]}
    assert values == expected_values


def test_quirks_survive(spark, ingested):
    lake_dir, _, _ = ingested
    keywords = lake.read_table(spark, str(lake_dir), "keywords")
    words = {r.keyword for r in keywords.select("keyword").distinct().collect()}
    assert "fujisan\nmount fuji" in words and "tab\tinside" in words and 'the "best" view' in words
    assert {"東京", "🌊", "서울"} & words
    photos = lake.read_table(spark, str(lake_dir), "photos")
    text_columns = [f.name for f in photos.schema.fields if f.dataType.simpleString() == "string"]
    untrimmed = photos.filter(F.greatest(*[F.col(c).rlike(r"^\s|\s$").cast("int") for c in text_columns]) == 1)
    assert untrimmed.count() == 0
    # the generator's quirks photo: 'LONDON ', ' United Kingdom', a multi-line CJK description
    quirky = photos.filter(F.col("photo_id") == photo_id(7, QUIRKS_PHOTO)).first()
    assert (quirky.photo_location_name, quirky.photo_location_country) == ("LONDON", "United Kingdom")
    assert quirky.photo_description == '富士山 🗻 at dawn\nsecond line\twith a tab and "quotes"'
    assert quirky.photo_location_latitude == pytest.approx(51.5074, abs=0.5)
    assert photos.filter(F.col("photo_submitted_at").isNull()).count() == 1  # the injected 'yesterday'
    assert photos.agg(F.max("stats_views")).first()[0] > 1000 * photos.agg(F.min("stats_views")).first()[0]


def test_camera_columns_are_normalised(spark, ingested):
    lake_dir, _, _ = ingested
    photos = lake.read_table(spark, str(lake_dir), "photos")
    makes = {r.camera_make for r in photos.select("camera_make").distinct().collect()} - {None}
    assert makes <= {"Nikon", "Canon", "Sony", "Fujifilm", "Olympus", "Apple", "Samsung", "Panasonic", "Leica",
                     "DJI", "Google", "Pentax", "Hasselblad", "GoPro"}
    assert photos.filter(F.col("exif_camera_make").isin("NIKON CORPORATION", "Nikon")).select("camera_make") \
        .distinct().collect() in ([], [("Nikon",)])
    numeric = photos.filter(F.col("exif_aperture_value").isNotNull()
                            & ~F.lower("exif_aperture_value").isin("undef", "inf", "wide open"))
    assert numeric.filter(F.col("aperture_f").isNull()).count() == 0


def test_rerun_replaces_tables_and_appends_runs(spark, sample, tmp_path):
    out, manifest = sample
    first = ingest(spark, out, tmp_path, "first")
    second = ingest(spark, out, tmp_path, "second")
    assert {t: c.rows_out for t, c in first.items()} == {t: c.rows_out for t, c in second.items()}
    assert lake.read_table(spark, str(tmp_path), "photos").count() == second["photos"].rows_out
    rejects = lake.read_table(spark, str(tmp_path), "_rejects")
    assert {r.run_id for r in rejects.select("run_id").distinct().collect()} == {"second"}
    assert not list((tmp_path / ".staging").glob("*")) and not list((tmp_path / ".trash").glob("*"))


def test_failed_write_leaves_the_old_table_readable(spark, tmp_path):
    lake.write_table(spark.range(5), str(tmp_path), "numbers", "ok-run")

    @F.udf("long")
    def explode_on_three(x):
        if x == 3:
            raise ValueError("boom")
        return x

    with pytest.raises(Exception, match="boom"):
        lake.write_table(spark.range(10).select(explode_on_three("id").alias("id")), str(tmp_path), "numbers", "bad")
    assert sorted(r.id for r in lake.read_table(spark, str(tmp_path), "numbers").collect()) == [0, 1, 2, 3, 4]
    assert not list((tmp_path / ".staging").glob("*"))


COORDINATES = ["photo_id", "photo_location_latitude", "photo_location_longitude"]


def coordinates(spark, lake_dir: Path) -> list:
    return sorted(lake.read_table(spark, str(lake_dir), "photos").select(COORDINATES).collect())


def photos_note(counts, start: str) -> str:
    return next(n for n in counts["photos"].notes if n.startswith(start))


def test_coordinates_are_decided_from_the_rows_not_the_version(spark, tmp_path):
    """1.0.x rows have latitude and longitude right, 1.2.x rows have them swapped: each loads as 1.3.0 does."""
    releases = {v: tmp_path / v for v in ("1.0.0", "1.2.2", "1.3.0")}
    for version, folder in releases.items():
        generate_release(folder, SampleOptions(photos=40, seed=3, release=version, images=False, defects=False))
    assert len((releases["1.0.0"] / "photos.tsv000").read_text().split("\n", 1)[0].split("\t")) == 26
    counts = {v: ingest(spark, folder, tmp_path / f"lake-{v}", tables=["photos"]) for v, folder in releases.items()}
    truth = coordinates(spark, tmp_path / "lake-1.3.0")
    located = [r for r in truth if r.photo_location_latitude is not None]
    assert len(located) >= 5

    assert coordinates(spark, tmp_path / "lake-1.0.0") == truth
    as_given = photos_note(counts["1.0.0"], "latitude/longitude as given (")
    assert f"only as given {len(located)}" in as_given and "only swapped 0" in as_given
    assert any("photo_width" in n for n in counts["1.0.0"]["photos"].notes)

    assert coordinates(spark, tmp_path / "lake-1.2.2") == truth
    swapped = photos_note(counts["1.2.2"], "latitude/longitude were swapped in this release and are swapped back")
    assert f"only swapped {len(located)}" in swapped and f"{len(located)} rows moved" in swapped


def test_too_little_evidence_leaves_the_coordinates_and_a_setting_forces_them(spark, tmp_path):
    generate_release(tmp_path / "tiny", SampleOptions(photos=3, seed=1, release="1.2.2", images=False, defects=False))
    with open(next((tmp_path / "tiny").glob("photos.*")), newline="", encoding="utf-8") as tsv:
        in_file = {r["photo_id"]: r["photo_location_latitude"] for r in csv.DictReader(tsv, delimiter="\t")}
    left = ingest(spark, tmp_path / "tiny", tmp_path / "left", tables=["photos"])
    assert "too little evidence" in photos_note(left, "latitude/longitude left as given")
    kept = {r.photo_id: r.photo_location_latitude for r in coordinates(spark, tmp_path / "left")}
    assert any(kept.values()) and all(kept[p] == (float(v) if v else None) for p, v in in_file.items())

    forced = ingest(spark, tmp_path / "tiny", tmp_path / "forced", tables=["photos"], lat_lon="swapped")
    assert photos_note(forced, "latitude/longitude swapped back (ingest.lat_lon = swapped)")
    moved = {r.photo_id: r.photo_location_longitude for r in coordinates(spark, tmp_path / "forced")}
    assert moved == kept
    by_version = ingest(spark, tmp_path / "tiny", tmp_path / "by-version", tables=["photos"], release_setting="1.2.2")
    assert "--release 1.2.2" in photos_note(by_version, "latitude/longitude swapped back")


def test_release_1_4_in_parts_inside_a_zip(spark, tmp_path):
    out = tmp_path / "full"
    manifest = generate_release(out, SampleOptions(photos=30, seed=5, release="1.4.0", images=False,
                                                   rows_per_part=700))
    keyword_parts = sorted(p.name for p in out.glob("keywords.tsv*"))
    assert len(keyword_parts) > 2 and keyword_parts[0] == "keywords.tsv000"
    archive = tmp_path / "unsplash-research-dataset-full-1.4.0.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(out.glob("*.[tc]sv[0-9]*")):
            zf.write(path, f"full/{path.name}")
    counts = ingest(spark, archive, tmp_path / "lake")
    assert counts["keywords"].rows_in == manifest.records["keywords"]
    assert counts["keywords"].rows_rejected == len([d for d in manifest.row_defects if d.table == "keywords"])
    keywords = lake.read_table(spark, str(tmp_path / "lake"), "keywords")
    assert keywords.filter(F.col("confirmed_by_ai_service_3").isNotNull()).count() == keywords.count()
    conversions = lake.read_table(spark, str(tmp_path / "lake"), "conversions")
    assert conversions.filter(F.col("device_type").isNull()).count() == 0


def test_a_hostile_release_zip_loads_what_it_can_and_says_what_it_could_not(spark, tmp_path):
    """A zip bomb among the members is refused unread; bytes that are not UTF-8 are value rejects of rows that
    load; a duplicated header column is noted. Counts still balance."""
    archive = tmp_path / "unsplash-research-dataset-lite-1.3.0.zip"
    photos = ("photo_id\tphoto_url\tphoto_description\tphoto_description\n"
              "aaaaaaaaaaa\thttps://unsplash.com/photos/aaaaaaaaaaa\tcaf\udce9 in Paris\tsecond\n"
              "bbbbbbbbbbb\thttps://unsplash.com/photos/bbbbbbbbbbb\tfine\tsecond\n").encode("utf-8", "surrogateescape")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("lite/photos.tsv000", photos)
        zf.writestr("lite/keywords.tsv000", "photo_id\tkeyword\n" + "\0" * (32 << 20))
    counts = ingest(spark, archive, tmp_path / "lake")
    assert all(c.balanced for c in counts.values())
    assert (counts["photos"].rows_in, counts["photos"].rows_out, counts["photos"].values_rejected) == (2, 2, 1)
    assert any("not UTF-8: 1" in n for n in counts["photos"].notes)
    assert any("names 'photo_description' twice" in n for n in counts["photos"].notes)
    assert (counts["keywords"].rows_in, counts["keywords"].rows_rejected) == (1, 1)
    assert any("zip bomb" in n for n in counts["keywords"].notes)
    rejects = lake.read_table(spark, str(tmp_path / "lake"), "_rejects")
    (undecoded,) = rejects.filter("table = 'photos'").collect()
    assert (undecoded.photo_id, undecoded.column, undecoded.row_rejected, undecoded.line) == (
        "aaaaaaaaaaa", "photo_description", False, 2)
    assert "byte(s) e9 at byte 3" in undecoded.reason and undecoded.raw_value == "caf\\xe9 in Paris"
    described = lake.read_table(spark, str(tmp_path / "lake"), "photos").orderBy("photo_id").collect()
    assert described[0].photo_description == "caf\ufffd in Paris"
    assert described[0].extra_columns == {"photo_description(column 4)": "second"}
