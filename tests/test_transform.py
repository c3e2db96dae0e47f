"""The typing and checking transforms on small DataFrames (DataFrame in, DataFrame out)."""

from datetime import datetime

from pyspark.sql import Row
from pyspark.testing import assertDataFrameEqual

from photolake.ingest.load import raw_schema, typed_rows
from photolake.ingest.transform import lake_rows, rejects
from photolake.schemas import COLORS, PHOTOS


def raw_frame(spark, table, rows):
    """Raw reader output: given columns as text, the rest null."""
    names = raw_schema(table).fieldNames()
    full = [tuple(r.get(n) for n in names) for r in rows]
    return spark.createDataFrame(full, raw_schema(table))


def test_types_trimming_and_value_rejects(spark):
    raw = raw_frame(spark, COLORS, [
        {"photo_id": " aaaaaaaaaaa ", "hex": "1F3E42", "red": "31", "green": "62.0", "blue": "x", "keyword": "  teal\t",
         "coverage": "0.031466666609048843", "score": "NaN", "_source_file": "colors.tsv000", "_line": 2},
    ])
    typed = typed_rows(raw, COLORS)
    assertDataFrameEqual(
        typed.transform(lake_rows(COLORS)),
        [Row(photo_id="aaaaaaaaaaa", hex="1F3E42", red=31, green=62, blue=None, keyword="teal",
             coverage=0.031466666609048843, score=None, extra_columns=None)],
    )
    assertDataFrameEqual(
        typed.transform(rejects("r1")).select("line", "column", "raw_value", "reason", "row_rejected"),
        [Row(line=2, column="blue", raw_value="x", reason="not an integer", row_rejected=False),
         Row(line=2, column="score", raw_value="NaN", reason="not a finite number", row_rejected=False)],
    )


def test_row_rejects_missing_invalid_and_duplicate_ids(spark):
    raw = raw_frame(spark, PHOTOS, [
        {"photo_id": "aaaaaaaaaaa", "photo_featured": "t", "_source_file": "p", "_line": 2},
        {"photo_id": None, "_source_file": "p", "_line": 3},
        {"photo_id": "../../etc/x", "_source_file": "p", "_line": 4},
        {"photo_id": "aaaaaaaaaaa", "photo_featured": "f", "_source_file": "p", "_line": 5},
        {"photo_id": "bbbbbbbbbbb", "_source_file": "p", "_line": 6, "_error": "too few fields: 2 of 31",
         "_raw": "bbbbbbbbbbb\tx"},
    ])
    typed = typed_rows(raw, PHOTOS)
    assertDataFrameEqual(typed.transform(lake_rows(PHOTOS)).select("photo_id", "photo_featured"),
                         [Row(photo_id="aaaaaaaaaaa", photo_featured=True)])
    assertDataFrameEqual(
        typed.transform(rejects("r1")).select("line", "photo_id", "raw_value", "reason"),
        [Row(line=3, photo_id=None, raw_value=None, reason="missing photo_id"),
         Row(line=4, photo_id="../../etc/x", raw_value="../../etc/x",
             reason="invalid photo_id: not 11 characters of [A-Za-z0-9_-]"),
         Row(line=5, photo_id="aaaaaaaaaaa", raw_value="aaaaaaaaaaa", reason="duplicate photo_id"),
         Row(line=6, photo_id="bbbbbbbbbbb", raw_value="bbbbbbbbbbb\tx", reason="too few fields: 2 of 31")],
    )


def test_photos_timestamps_booleans_and_camera_columns(spark):
    raw = raw_frame(spark, PHOTOS, [
        {"photo_id": "_-8vigsqYux", "photo_submitted_at": "2015-07-08 05:54:38.486126", "photo_featured": "t",
         "photo_location_latitude": "96.990119934082003", "photo_location_longitude": "-0.12",
         "exif_camera_make": "NIKON CORPORATION", "exif_camera_model": "NIKON D750 ", "exif_iso": "100",
         "exif_aperture_value": "5,6", "exif_focal_length": "4.0 ~ 28mm", "exif_exposure_time": "1 / 200s",
         "_source_file": "p", "_line": 2},
        {"photo_id": "oSf8ePoG9NU", "photo_submitted_at": "2013-12-04 14:58:49", "photo_featured": "f",
         "exif_camera_make": "SONY", "exif_aperture_value": "undef", "exif_exposure_time": "fast",
         "_source_file": "p", "_line": 3},
        {"photo_id": "gr3aaaaaaaa", "exif_camera_make": "RICOH IMAGING COMPANY, LTD.",
         "exif_camera_model": "RICOH GR III", "_source_file": "p", "_line": 4},
        {"photo_id": "k1aaaaaaaaa", "exif_camera_make": "RICOH IMAGING COMPANY, LTD.",
         "exif_camera_model": "PENTAX K-1", "_source_file": "p", "_line": 5},
    ])
    typed = typed_rows(raw, PHOTOS)
    assertDataFrameEqual(
        typed.transform(lake_rows(PHOTOS)).select(
            "photo_id", "photo_submitted_at", "photo_featured", "photo_location_latitude", "camera_make",
            "camera_model", "iso", "aperture_f", "focal_length_mm", "exposure_time_s", "exif_aperture_value"),
        [Row(photo_id="_-8vigsqYux", photo_submitted_at=datetime(2015, 7, 8, 5, 54, 38, 486126), photo_featured=True,
             photo_location_latitude=None, camera_make="Nikon", camera_model="NIKON D750", iso=100, aperture_f=5.6,
             focal_length_mm=4.0, exposure_time_s=0.005, exif_aperture_value="5,6"),
         Row(photo_id="oSf8ePoG9NU", photo_submitted_at=datetime(2013, 12, 4, 14, 58, 49), photo_featured=False,
             photo_location_latitude=None, camera_make="Sony", camera_model=None, iso=None, aperture_f=None,
             focal_length_mm=None, exposure_time_s=None, exif_aperture_value="undef"),
         # one maker, two brands: the model tells them apart
         Row(photo_id="gr3aaaaaaaa", photo_submitted_at=None, photo_featured=None, photo_location_latitude=None,
             camera_make="Ricoh", camera_model="RICOH GR III", iso=None, aperture_f=None, focal_length_mm=None,
             exposure_time_s=None, exif_aperture_value=None),
         Row(photo_id="k1aaaaaaaaa", photo_submitted_at=None, photo_featured=None, photo_location_latitude=None,
             camera_make="Pentax", camera_model="PENTAX K-1", iso=None, aperture_f=None, focal_length_mm=None,
             exposure_time_s=None, exif_aperture_value=None)],
    )
    # 'undef' is a no-value marker; 'fast' and a latitude of 97 are bad values
    assertDataFrameEqual(
        typed.transform(rejects("r1")).select("line", "column", "raw_value"),
        [Row(line=2, column="photo_location_latitude", raw_value="96.990119934082003"),
         Row(line=3, column="exif_exposure_time", raw_value="fast")],
    )
