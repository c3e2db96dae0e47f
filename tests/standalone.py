"""The pipeline on a real Spark standalone cluster (a master and two one-core workers on 127.0.0.1, started from
the installed pyspark), run in the background from the start of the session when a test asks for it
(``cluster_run``): its two minutes of mostly waiting overlap the other tests instead of adding to them. The
processes are stopped by PID at the end of the session, whatever happened."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pyspark
import pytest

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


@dataclass
class ClusterRun:
    """The pipeline submitted to the cluster: its process, where it writes, and its output once done."""

    process: subprocess.Popen
    out: Path
    log: Path

    def wait(self, seconds: float = 900) -> str:
        self.process.wait(timeout=seconds)
        output = self.log.read_text()
        assert self.process.returncode == 0, output[-9000:]
        return output


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
        self.processes.append(subprocess.Popen([str(SPARK_HOME / "bin" / "spark-class"), *args], env=self.env,
                                               stdout=out, stderr=subprocess.STDOUT, start_new_session=True))

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


def cluster_config(config, out: Path, master: str) -> str:
    """The analysed run's settings as a TOML file, writing under ``out`` and submitting to ``master``."""
    overrides = {"paths.lake": str(out / "lake"), "paths.images": str(out / "images"),
                 "paths.report": str(out / "report"), "paths.export": str(out / "export"),
                 "detect.annotate_dir": str(out / "annotated"), "detect.cache_dir": str(out / "cache"),
                 "spark.master": master}
    settings = {**{k: config[k] for k in config if not k.startswith("spark.")}, **overrides}
    sections: dict[str, list[str]] = {}
    for key, value in settings.items():
        section, name = key.rsplit(".", 1)
        sections.setdefault(section, []).append(f"{name} = {json.dumps(value)}")  # TOML reads these as JSON writes
    # the local run's session has 4 shuffle partitions: so does the cluster's (Spark's 200 would cost minutes)
    sections["spark.conf"] = ['"spark.sql.shuffle.partitions" = "4"', '"spark.default.parallelism" = "4"',
                              f'"spark.executor.extraJavaOptions" = "{QUICK_JVM}"']
    return "".join(f"[{s}]\n" + "\n".join(lines) + "\n\n" for s, lines in sections.items())


@pytest.fixture(scope="session")
def cluster_run(analysed_release, tmp_path_factory):
    """The analysed release's pipeline, submitted with ./spark-submit.sh --master spark://... (running)."""
    _, config = analysed_release
    folder = tmp_path_factory.mktemp("standalone")
    cluster = Cluster(folder)
    try:
        cluster.start()
        (folder / "cluster.toml").write_text(cluster_config(config, folder / "run", cluster.master))
        log = folder / "pipeline.log"
        process = subprocess.Popen(
            [str(ROOT / "spark-submit.sh"), "pipeline", "--config", str(folder / "cluster.toml"), "--master",
             cluster.master], cwd=ROOT, text=True, stdout=open(log, "w"), stderr=subprocess.STDOUT,
            env={**os.environ, "PHOTOLAKE_PYTHON": sys.executable, "PHOTOLAKE_DRIVER_MEMORY": "2g",
                 "PHOTOLAKE_JAVA_OPTIONS": QUICK_JVM,
                 "PHOTOLAKE_SUBMIT_ARGS": "--executor-memory 2g"},
            start_new_session=True)
        yield ClusterRun(process, folder / "run", log)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    finally:
        cluster.stop()


@pytest.hookimpl(trylast=True)  # after any deselection (--no-spark)
def pytest_collection_modifyitems(config, items):
    """When the cluster run is wanted, the tests of the analysed lake go last: the cluster run then overlaps
    the tests that need neither, rather than the local pipeline run it is compared with."""
    config.cluster_run_wanted = any("cluster_run" in getattr(item, "fixturenames", ()) for item in items)
    if config.cluster_run_wanted:
        analysed = {"analysed", "analysed_lake", "cluster_run"}
        items.sort(key=lambda item: bool(analysed & set(getattr(item, "fixturenames", ()))))


@pytest.fixture(scope="session", autouse=True)
def _cluster_run_early(request):
    """Start the cluster run with the session's first test, when a selected test will want it."""
    if getattr(request.config, "cluster_run_wanted", False):
        try:
            request.getfixturevalue("cluster_run")
        except pytest.skip.Exception:
            pass  # no ../shared: the test that wants it skips with the reason
