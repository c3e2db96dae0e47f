"""The pipeline on a real Spark standalone cluster (a master and two one-core workers on 127.0.0.1, started from
the installed pyspark), run in the background (tests/background.py) when a test asks for it (``cluster_run``).
The processes are stopped by PID at the end of the session, whatever happened."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pyspark
import pytest

from tests.background import BACKGROUND, BackgroundRun, run_config, submit_pipeline
from tests.conftest import QUICK_JVM

ROOT = Path(__file__).resolve().parents[1]
SPARK_HOME = Path(pyspark.__file__).parent
DAEMON_JVM = f"{QUICK_JVM} -XX:+UseSerialGC"  # the master and workers mostly wait


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


class Cluster:
    """``spark://127.0.0.1:PORT`` with two workers of one core each, started by ``start``."""

    def __init__(self, folder: Path):
        self.folder, self.processes = folder, []
        self.env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOG_DIR": str(folder / "logs"),
                    "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1", "SPARK_DAEMON_JAVA_OPTS": DAEMON_JVM}
        self.port, self.web = free_port(), free_port()

    @property
    def master(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def _spawn(self, *args: str, log: str) -> None:
        out = open(self.folder / log, "w")
        self.processes.append(subprocess.Popen([*BACKGROUND, str(SPARK_HOME / "bin" / "spark-class"), *args],
                                               env=self.env,
                                               stdout=out, stderr=subprocess.STDOUT, process_group=0))

    def start(self) -> None:
        self._spawn("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(self.port),
                    "--webui-port", str(self.web), log="master.log")
        for n in range(2):
            self._spawn("org.apache.spark.deploy.worker.Worker", self.master, "--host", "127.0.0.1", "--cores", "1",
                        "--memory", "3g", "--webui-port", str(free_port()), "--work-dir", str(self.folder / f"work{n}"),
                        log=f"worker{n}.log")

        def alive_workers():
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web}/json/", timeout=2) as response:
                state = json.load(response)
            return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE") == 2

        wait_for(alive_workers, 90, "two ALIVE workers")

    def stop(self) -> None:
        for process in self.processes:  # by PID (and its process group)
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="session")
def cluster_run(analysed_release, tmp_path_factory):
    """The analysed release's pipeline, submitted with ./spark-submit.sh --master spark://... (running)."""
    _, config = analysed_release
    folder = tmp_path_factory.mktemp("standalone")
    cluster = Cluster(folder)
    out = folder / "run"

    def start():
        cluster.start()
        (folder / "cluster.toml").write_text(run_config(config, {
            "paths.lake": str(out / "lake"), "paths.images": str(out / "images"),
            "paths.report": str(out / "report"), "paths.export": str(out / "export"),
            "detect.annotate_dir": str(out / "annotated"), "detect.cache_dir": str(out / "cache"),
            "spark.master": cluster.master}))
        return submit_pipeline(folder / "cluster.toml", cluster.master, folder / "pipeline.log",
                               "--executor-memory 2g")

    run = BackgroundRun(start, out, folder / "pipeline.log")
    try:
        yield run
    finally:
        run.kill()
        cluster.stop()
