"""export: JSON lists of records and a SQLite database that match the lake."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from datetime import datetime, timezone

from pyspark.sql import functions as F

from photolake import lake
from photolake.export import JSON_EXPORTS, SQLITE_TABLES, write_json_records, write_sqlite


def test_exports_match_the_lake(spark, analysed_lake, tmp_path):
    present = lake.register_views(spark, analysed_lake)
    for name in ("images_metadata.json", "images_labels.json", "users.json", "recommendations.json"):
        _, sql, order = JSON_EXPORTS[name]
        # parts of 7 rows: the records arrive in many parts, and still in order
        assert write_json_records(spark.sql(sql), str(tmp_path / name), 7, order) == spark.sql(sql).count()
    metadata = json.loads((tmp_path / "images_metadata.json").read_text())
    assert [m["photo_id"] for m in metadata] == sorted(m["photo_id"] for m in metadata) and len(metadata) > 14
    lake_rows = {r.photo_id: r for r in spark.table("image_metadata").collect()}
    assert {m["photo_id"] for m in metadata} == set(lake_rows)
    first = metadata[0]
    assert first["width"] == lake_rows[first["photo_id"]].width
    assert isinstance(first["dominant_colors"], list) and {"hex", "family", "share"} <= set(first["dominant_colors"][0])
    labels = json.loads((tmp_path / "images_labels.json").read_text())
    with_objects = next(r for r in labels if r["objects"])
    assert {"label", "confidence", "x", "y", "w", "h"} <= set(with_objects["objects"][0])

    users = json.loads((tmp_path / "users.json").read_text())
    assert {u["user_id"] for u in users} == {r.user_id for r in spark.table("profiles").collect()}
    assert {"favourite_colors", "favourite_tags", "favourite_images", "top_cluster"} <= set(users[0])
    recommendations = json.loads((tmp_path / "recommendations.json").read_text())
    assert {r["model"] for r in recommendations} == {"als", "popularity", "content", "hybrid"}
    assert all(r["reason"] and 1 <= r["rank"] <= 5 for r in recommendations)
    keys = [(r["user_id"], r["model"], r["rank"]) for r in recommendations]
    assert keys == sorted(keys) and len(keys) > 7

    tables = [t for t in SQLITE_TABLES if t in present]
    # batches of 7 rows: every table arrives in many batches
    counts = write_sqlite(analysed_lake, tables, str(tmp_path / "photolake.sqlite"), batch_rows=7)
    with sqlite3.connect(tmp_path / "photolake.sqlite") as db:
        for table in tables:
            assert db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == spark.table(table).count() \
                == counts[table]
            columns = [c[1] for c in db.execute(f'PRAGMA table_info("{table}")')]
            assert columns == spark.table(table).columns  # partition columns included, last, as Spark reads them
        colours = db.execute("SELECT dominant_colors FROM image_metadata WHERE status = 'ok' LIMIT 1").fetchone()[0]
        assert json.loads(colours)[0]["family"]
        exif = db.execute("SELECT photo_id, exif FROM image_metadata WHERE exif LIKE '{\"%' LIMIT 1").fetchone()
        assert json.loads(exif[1]) == lake_rows[exif[0]].exif  # a map becomes a JSON object
        photo, stamp = db.execute("SELECT photo_id, photo_submitted_at FROM photos "
                                  "WHERE photo_submitted_at IS NOT NULL LIMIT 1").fetchone()
        submitted = spark.table("photos").where(F.col("photo_id") == photo).first().photo_submitted_at
        assert datetime.fromisoformat(stamp) == submitted.astimezone(timezone.utc) and stamp.endswith("+00:00")
        models = {m for (m,) in db.execute("SELECT DISTINCT model FROM detections")}
        assert models == {r.model for r in spark.table("detections").select("model").distinct().collect()}
        assert db.execute("SELECT typeof(width) FROM image_metadata WHERE width IS NOT NULL").fetchone() == \
            ("integer",)
    assert {"photos", "image_metadata", "detections", "clusters", "cluster_summary", "users", "interactions",
            "profiles", "recommendations", "rec_metrics"} <= set(counts)


def test_an_empty_result_is_an_empty_list(spark, tmp_path):
    empty = spark.createDataFrame([], "photo_id string")
    umask = os.umask(0o022)
    try:
        assert write_json_records(empty, str(tmp_path / "none.json"), 100) == 0
    finally:
        os.umask(umask)
    assert json.loads((tmp_path / "none.json").read_text()) == []
    assert stat.S_IMODE((tmp_path / "none.json").stat().st_mode) == 0o644  # readable by others, as files are
