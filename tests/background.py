"""Pipeline runs in the background from the session's start: the analysed lake's local run and the
standalone-cluster run are spark-submit processes started with the first test, so their minutes overlap
the tests that need neither (on 2 cores those leave about a third of the CPU idle, waiting on servers and
single Python threads). They run at the lowest CPU priority (``BACKGROUND``), so they take that idle time
rather than slowing the tests; each in a process group of its own but in the session's session, since Linux's
autogroup shares the CPU fairly between sessions whatever their nice values. The tests that read their lakes
go last and wait for them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

import pytest

from tests.conftest import QUICK_JVM, ROOT

# the fixtures whose tests wait for a background run
WAITING = {"analysed", "analysed_lake", "cluster_run"}
BACKGROUND = ["nice", "-n", "19"]


def run_config(settings, overrides: dict, spark_conf: dict[str, str] | None = None) -> str:
    """``settings`` (a Config) with ``overrides`` (and ``spark_conf``), as the TOML file a ``pipeline --config``
    run reads."""
    values = {**{k: settings[k] for k in settings if not k.startswith("spark.")}, **overrides}
    sections: dict[str, list[str]] = {}
    for key, value in values.items():
        section, name = key.rsplit(".", 1)
        sections.setdefault(section, []).append(f"{name} = {json.dumps(value)}")  # TOML reads these as JSON writes
    # the suite's session has 4 shuffle partitions: so do these runs (Spark's 200 would cost minutes)
    sections["spark.conf"] = ['"spark.sql.shuffle.partitions" = "4"', '"spark.default.parallelism" = "4"',
                              f'"spark.executor.extraJavaOptions" = "{QUICK_JVM}"',
                              *(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in (spark_conf or {}).items())]
    return "".join(f"[{s}]\n" + "\n".join(lines) + "\n\n" for s, lines in sections.items())


def submit_pipeline(config_file: Path, master: str, log: Path, submit_args: str = "",
                    steps: tuple[str, ...] = ()) -> subprocess.Popen:
    return subprocess.Popen(
        [*BACKGROUND, str(ROOT / "spark-submit.sh"), "pipeline", "--config", str(config_file), "--master", master,
         *steps],
        cwd=ROOT,
        text=True,
        stdout=open(log, "w"), stderr=subprocess.STDOUT, process_group=0,
        env={**os.environ, "PHOTOLAKE_PYTHON": sys.executable, "PHOTOLAKE_DRIVER_MEMORY": "2g",
             "PHOTOLAKE_JAVA_OPTIONS": QUICK_JVM, "PHOTOLAKE_SUBMIT_ARGS": submit_args})


class BackgroundRun:
    """A pipeline run that ``start`` launches on a thread of its own (starting it may itself wait, as a
    cluster's start does); ``wait`` returns its output once it has exited 0."""

    def __init__(self, start: Callable[[], subprocess.Popen], out: Path, log: Path):
        self.out, self.log = out, log
        self._process: subprocess.Popen | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._launch, args=(start,), daemon=True)
        self._thread.start()

    def _launch(self, start) -> None:
        try:
            self._process = start()
        except BaseException as error:  # raised again by wait, in the test
            self._error = error

    def wait(self, seconds: float = 900) -> str:
        self._thread.join()
        if self._error:
            raise self._error
        self._process.wait(timeout=seconds)
        output = self.log.read_text()
        assert self._process.returncode == 0, output[-9000:]
        return output

    def kill(self) -> None:
        self._thread.join()
        if self._process and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()


@pytest.fixture(scope="session")
def local_run(analysed_release):
    """The analysed release's pipeline on local[2], exactly as its config says (running)."""
    release, config = analysed_release
    folder = release.parent
    (folder / "local.toml").write_text(run_config(config, {"spark.master": config["spark.master"]}))
    run = BackgroundRun(lambda: submit_pipeline(folder / "local.toml", config["spark.master"], folder / "pipeline.log"),
                        folder, folder / "pipeline.log")
    yield run
    run.kill()


@pytest.hookimpl(trylast=True)  # after any deselection (--no-spark)
def pytest_collection_modifyitems(config, items):
    """When a selected test waits for a background run, the tests that wait go last."""
    wanted = set().union(*(WAITING & set(getattr(item, "fixturenames", ())) for item in items))
    config.background_runs = (["local_run"] if wanted else []) + (["cluster_run"] if "cluster_run" in wanted else [])
    if wanted:
        items.sort(key=lambda item: bool(WAITING & set(getattr(item, "fixturenames", ()))))


@pytest.fixture(scope="session", autouse=True)
def _background_runs_early(request):
    """Start the wanted background runs with the session's first test."""
    for name in getattr(request.config, "background_runs", []):
        try:
            request.getfixturevalue(name)
        except pytest.skip.Exception:
            pass  # no ../shared: the tests that want the run skip with the reason
