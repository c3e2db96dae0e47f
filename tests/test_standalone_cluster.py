"""Cluster mode for real: a Spark standalone master and two workers on 127.0.0.1, started from the installed
pyspark; the pipeline submitted to them with ./spark-submit.sh --master spark://...; its lake must match the
local[*] run of the same release and config (the analysed lake). The processes are stopped by PID even when
the test fails."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyspark
import pytest
from pyspark.sql import functions as F

from photolake import lake
from photolake.sample.server import ImageServer
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
SPARK_HOME = Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, seconds: float, what: str):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            result = check()
            if result:
                return result
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def standalone_cluster(tmp_path):
    """spark://127.0.0.1:PORT with two workers of one core each."""
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOG_DIR": str(tmp_path / "logs"),
           "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    port, web = free_port(), free_port()
    processes = []

    def start(*args: str, log: str):
        out = open(tmp_path / log, "w")
        processes.append(subprocess.Popen([spark_class, *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True))

    try:
        start("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
              "--webui-port", str(web), log="master.log")
        for n in range(2):
            start("org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}", "--host", "127.0.0.1",
                  "--cores", "1", "--memory", "3g", "--webui-port", str(free_port()),
                  "--work-dir", str(tmp_path / f"work{n}"), log=f"worker{n}.log")

        def alive_workers():
            with urllib.request.urlopen(f"http://127.0.0.1:{web}/json/", timeout=2) as response:
                state = json.load(response)
            return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE") == 2

        wait_for(alive_workers, 90, "two ALIVE workers")
        yield f"spark://127.0.0.1:{port}"
    finally:
        for process in processes:  # by PID (and its process group), whatever happened above
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def toml_value(value) -> str:
    return json.dumps(value)  # strings, numbers, booleans and lists of them are the same in TOML


def test_the_pipeline_on_a_standalone_cluster_matches_local(spark, analysed, standalone_cluster, tmp_path):
    local_lake, config = analysed
    out = tmp_path / "cluster-run"
    overrides = {"paths.lake": str(out / "lake"), "paths.images": str(out / "images"),
                 "paths.report": str(out / "report"), "paths.export": str(out / "export"),
                 "detect.annotate_dir": str(out / "annotated"), "detect.cache_dir": str(out / "cache"),
                 "spark.master": standalone_cluster}
    settings = {**{k: config[k] for k in config if not k.startswith("spark.")}, **overrides}
    sections: dict[str, list[str]] = {}
    for key, value in settings.items():
        section, name = key.rsplit(".", 1)
        sections.setdefault(section, []).append(f"{name} = {toml_value(value)}")
    # the local run's session has 4 shuffle partitions: so does the cluster's (Spark's 200 would cost minutes)
    sections["spark.conf"] = ['"spark.sql.shuffle.partitions" = "4"', '"spark.default.parallelism" = "4"']
    (tmp_path / "cluster.toml").write_text("".join(f"[{s}]\n" + "\n".join(lines) + "\n\n"
                                                   for s, lines in sections.items()))
    host, port = config["download.allow_hosts"][0].split(":")
    with ImageServer(Path(config["paths.dataset"]) / "images", host, int(port)):
        result = subprocess.run(
            [str(ROOT / "spark-submit.sh"), "pipeline", "--config", str(tmp_path / "cluster.toml"),
             "--master", standalone_cluster], cwd=ROOT, text=True, capture_output=True, timeout=900,
            env={**os.environ, "PHOTOLAKE_PYTHON": sys.executable, "PHOTOLAKE_DRIVER_MEMORY": "2g",
                 "PHOTOLAKE_SUBMIT_ARGS": "--executor-memory 2g"})
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "export     ran" in result.stdout
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
