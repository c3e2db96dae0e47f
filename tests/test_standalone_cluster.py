"""Cluster mode for real: the pipeline submitted to a Spark standalone master with two workers on 127.0.0.1
(tests/standalone.py runs it in the background from the start of the session); its lake must match the
local[*] run of the same release and config (the analysed lake)."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from photolake import lake

pytestmark = pytest.mark.slow


def test_the_pipeline_on_a_standalone_cluster_matches_local(spark, analysed, cluster_run):
    local_lake, _ = analysed
    output = cluster_run.wait()
    assert "export     ran" in output
    out = cluster_run.out
    cluster_lake = str(out / "lake")

    def table(lake_dir, name):
        return lake.read_table(spark, lake_dir, name)

    for name in ("photos", "keywords", "conversions", "downloads", "image_metadata", "detections", "clusters",
                 "cluster_summary", "users", "interactions", "profiles", "recommendations", "rec_metrics"):
        assert table(cluster_lake, name).count() == table(local_lake, name).count(), name
    for name, columns in {"downloads": ["photo_id", "status", "width", "height", "sha256"],
                          "image_metadata": ["photo_id", "status", "width", "height", "make", "phash", "brightness"],
                          "detections": ["photo_id", "status", "labels"],
                          "interactions": ["user_id", "photo_id", "event", "weight", "at"]}.items():
        local_rows = table(local_lake, name).select(*columns)
        cluster_rows = table(cluster_lake, name).select(*columns)
        assert local_rows.exceptAll(cluster_rows).count() == 0 and cluster_rows.exceptAll(local_rows).count() == 0, name
    assert (table(cluster_lake, "recommendations").groupBy("model").agg(F.count("*")).collect()
            == table(local_lake, "recommendations").groupBy("model").agg(F.count("*")).collect())
    assert (out / "report" / "index.html").exists() and (out / "export" / "photolake.sqlite").exists()
