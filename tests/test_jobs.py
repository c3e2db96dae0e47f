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

from tests.conftest import QUICK_JVM, ROOT

pytestmark = pytest.mark.slow


def submit(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PHOTOLAKE_PYTHON": sys.executable, "PHOTOLAKE_JAVA_OPTIONS": QUICK_JVM, **(env or {})}
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
    ran = submit("ingest", "--dataset", str(dataset), "--lake", str(lake_dir), "--verbose",
                 "--set", "ingest.batch_rows=1000", env={"PHOTOLAKE_IMAGES": str(tmp_path / "img")})
    assert "photolake ingest run" in ran.stdout and "counts do not add up" not in ran.stdout
    assert "ingest.batch_rows" in ran.stdout and "= 1000  (flag)" in ran.stdout  # the config, with --verbose
    assert f'"{tmp_path / "img"}"  (env PHOTOLAKE_IMAGES)' in ran.stdout
    manifest = json.loads((dataset / "sample-manifest.json").read_text())

    script = tmp_path / "queries.sql"
    script.write_text("-- the runs\nSELECT table, rows_in, rows_out, rows_rejected FROM _runs ORDER BY table;\n"
                      "-- detections (not in this lake: an empty view)\nSELECT count(*) AS detected FROM detections;")
    as_json = submit("sql", "--lake", str(lake_dir), "--format", "json", "--file", str(script))
    assert as_json.stderr.strip() == ""  # quiet: no configuration, no Spark or JVM chatter, only the rows
    *runs, detected = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert {r["table"]: r["rows_in"] for r in runs} == manifest["records"]
    assert all(r["rows_in"] == r["rows_out"] + r["rows_rejected"] for r in runs)
    assert detected == {"detected": 0}


def test_sql_results_as_titled_tables_and_csv(spark, tmp_path):
    from photolake.sql import run_statements, split_statements, write_result

    out = io.StringIO()
    write_result(spark.sql("SELECT 'a' AS photo_id, 'Canon' AS camera_make UNION ALL SELECT 'b', NULL"), "csv", out)
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["photo_id", "camera_make"], ["a", "Canon"], ["b", ""]]
    out = io.StringIO()
    run_statements(spark, str(tmp_path / "no-lake"), split_statements("-- one\nSELECT 1 AS n; SELECT 2 AS m"), "table",
                   out)
    assert out.getvalue().splitlines() == ["-- one", "n", "-", "1", "(1 row)", "", "-- SELECT 2 AS m", "m", "-", "2",
                                           "(1 row)"]


def test_show_config_prints_each_value_and_where_it_came_from():
    shown = submit("sql", "--show-config", "--set", "download.threads=4", "SELECT 1")
    assert "paths.lake" in shown.stdout and "(default)" in shown.stdout
    assert "download.threads                        = 4  (flag)" in shown.stdout


def test_detect_job(spark, tmp_path, shared):
    from photolake import lake

    lake_dir = tmp_path / "lake"
    ran = submit("detect", "--from-dir", str(shared / "data" / "photos"), "--lake", str(lake_dir),
                 "--model", "yolox-nano", "--conf", "0.3", "--annotate", str(tmp_path / "annotated"), "--verbose",
                 env={"PHOTOLAKE_MODELS": str(shared / "models")})
    assert "photolake detect run" in ran.stdout and "by status: ok 8\n" in ran.stdout
    assert re.search(r"detect\.conf +=  ?0\.3  \(flag\)", ran.stdout)
    row = lake.read_table(spark, str(lake_dir), "detections").where("photo_id = 'person.jpg'").first()
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
    assert len(error) == 1 and "yolov3.weights is not in" in error[0] and "models fetch yolov3" in error[0]

