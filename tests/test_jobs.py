"""The command line as a user runs it: ./spark-submit.sh through Spark's own spark-submit."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys

import pytest
from pyspark.sql import functions as F

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def submit(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PHOTOLAKE_PYTHON": sys.executable, **(env or {})}
    result = subprocess.run([str(ROOT / "spark-submit.sh"), *args], cwd=ROOT, env=full_env, text=True,
                            capture_output=True, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}\n{result.stdout}\n{result.stderr[-4000:]}")
    return result


def test_help_lists_every_job():
    out = submit("--help").stdout
    jobs = sorted(p.stem.replace("_", "-") for p in (ROOT / "jobs").glob("*.py"))
    assert all(f"  {job} " in out for job in jobs)
    ingest_help = submit("ingest", "--help").stdout
    for option in ("--config", "--master", "--lake", "--images", "--dataset", "--set", "--tables", "--release"):
        assert option in ingest_help


def test_unknown_job_and_missing_dataset_are_one_line_errors(tmp_path):
    unknown = submit("nope", check=False)
    assert unknown.returncode == 2 and "no job named 'nope'" in unknown.stderr
    missing = submit("ingest", "--dataset", str(tmp_path / "absent"), "--lake", str(tmp_path / "lake"), check=False)
    assert missing.returncode == 2
    output = missing.stdout + missing.stderr  # spark-submit merges the Python driver's stderr into stdout
    error_lines = [line for line in output.splitlines() if "photolake ingest: error:" in line]
    assert len(error_lines) == 1 and "unsplash.com/data" in error_lines[0]
    assert "Traceback" not in output


def test_sample_ingest_sql_end_to_end(tmp_path):
    dataset, lake_dir = tmp_path / "release", tmp_path / "lake"
    made = submit("sample", "--out", str(dataset), "--photos", "25", "--seed", "4", "--no-images")
    assert "sample release 1.3.0" in made.stdout
    ran = submit("ingest", "--dataset", str(dataset), "--lake", str(lake_dir),
                 "--set", "ingest.batch_rows=1000", env={"PHOTOLAKE_IMAGES": str(tmp_path / "img")})
    assert "photolake ingest run" in ran.stdout and "counts do not add up" not in ran.stdout
    assert "ingest.batch_rows" in ran.stdout and "= 1000  (flag)" in ran.stdout  # effective config logged
    assert f'"{tmp_path / "img"}"  (env PHOTOLAKE_IMAGES)' in ran.stdout
    manifest = json.loads((dataset / "sample-manifest.json").read_text())

    as_json = submit("sql", "--lake", str(lake_dir), "--format", "json",
                     "SELECT table, rows_in, rows_out, rows_rejected FROM _runs ORDER BY table").stdout
    runs = [json.loads(line) for line in as_json.splitlines()]
    assert {r["table"]: r["rows_in"] for r in runs} == manifest["records"]
    assert all(r["rows_in"] == r["rows_out"] + r["rows_rejected"] for r in runs)

    as_csv = submit("sql", "--lake", str(lake_dir), "--format", "csv",
                    "SELECT photo_id, camera_make FROM photos ORDER BY photo_id LIMIT 3").stdout
    rows = list(csv.reader(io.StringIO(as_csv)))
    assert rows[0] == ["photo_id", "camera_make"] and len(rows) == 4

    table = submit("sql", "--lake", str(lake_dir), "SELECT count(*) AS n FROM photos").stdout.splitlines()
    header = table.index("n")
    assert table[header + 2].strip() == str(manifest["records"]["photos"] - 5) and table[-1] == "(1 row)"


def test_detect_job(tmp_path, shared):
    lake_dir = tmp_path / "lake"
    ran = submit("detect", "--from-dir", str(shared / "data" / "photos"), "--lake", str(lake_dir),
                 "--model", "yolox-nano", "--conf", "0.3", "--annotate", str(tmp_path / "annotated"),
                 env={"PHOTOLAKE_MODELS": str(shared / "models")})
    assert "photolake detect run" in ran.stdout and "ok 8, missing 0, unreadable 0" in ran.stdout
    assert re.search(r"detect\.conf +=  ?0\.3  \(flag\)", ran.stdout)
    labels = submit("sql", "--lake", str(lake_dir), "--format", "json",
                    "SELECT photo_id, model, labels FROM detections WHERE photo_id = 'person.jpg'").stdout
    row = json.loads(labels.strip().splitlines()[-1])
    assert row["model"] == "yolox-nano" and {"person", "dog", "horse"} <= set(row["labels"])
    assert len(list((tmp_path / "annotated").glob("*.jpg"))) == 8


def test_detect_without_model_files_is_a_clear_error(tmp_path):
    from tests.http_servers import FaultyServer

    with FaultyServer() as server:
        failed = submit("detect", "--lake", str(tmp_path / "lake"), "--model", "yolov3",
                        "--set", f"detect.cache_dir={tmp_path / 'cache'}",
                        "--set", f"detect.mirror={server.url}/status/404", check=False,
                        env={"PHOTOLAKE_MODELS": str(tmp_path / "none")})
    assert failed.returncode == 2
    error = [line for line in (failed.stdout + failed.stderr).splitlines() if "photolake detect: error:" in line]
    assert len(error) == 1 and "yolov3.weights not found" in error[0] and "pjreddie.com" in error[0]


def test_users_and_recommend_jobs_on_an_ingested_release(spark, tmp_path):
    """Users and recommendations need only ingest: the catalogue then comes from keywords and photo sizes."""
    from photolake import lake

    dataset, lake_dir = tmp_path / "release", str(tmp_path / "lake")
    submit("sample", "--out", str(dataset), "--photos", "60", "--seed", "8", "--no-images", "--users", "40")
    submit("ingest", "--dataset", str(dataset), "--lake", lake_dir, "--tables", "photos,keywords,conversions")
    users = submit("users", "--lake", lake_dir, "--source", "both", "--users", "80", "--seed", "3").stdout
    assert "photolake users run" in users and "counts do not add up" not in users
    assert re.search(r"note: synthetic: [\d,]+ interactions", users) and "note: conversions: " in users
    grid = ["--set", "recommend.ranks=[6]", "--set", "recommend.reg_params=[0.1]", "--set", "recommend.alphas=[1.0]"]
    als = submit("recommend", "--lake", lake_dir, "--model", "als", "--k", "4", *grid).stdout
    assert "ALS chosen by validation NDCG@4: rank 6, regParam 0.1, alpha 1.0" in als and "counts do not add up" not in als
    submit("recommend", "--lake", lake_dir, "--model", "popularity", "--k", "4")

    all_users = lake.read_table(spark, lake_dir, "users")
    assert all_users.filter("source = 'synthetic'").count() == 80 and all_users.count() > 80
    recommendations = lake.read_table(spark, lake_dir, "recommendations")
    per_model = recommendations.groupBy("model").agg(F.countDistinct("user_id").alias("users"),
                                                     F.max("rank").alias("k"),
                                                     F.count_if(F.col("reason").isNull()).alias("no_reason"))
    # the popularity run kept the als rows: each model replaces only its own partition
    assert sorted(tuple(r) for r in per_model.collect()) == [("als", all_users.count(), 4, 0),
                                                             ("popularity", all_users.count(), 4, 0)]
    assert sorted(r.model for r in lake.read_table(spark, lake_dir, "rec_metrics").collect()) == ["als", "popularity"]
