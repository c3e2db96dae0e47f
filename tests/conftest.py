"""One local SparkSession for the whole suite, and where the shared data lives."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

# Collected timestamps are naive datetimes in the Python process's zone: make it the session's (UTC).
os.environ["TZ"] = "UTC"
time.tzset()

# the browser fixture, for the tests that look at pages; the pipeline runs in the background, on local[2] and
# on a standalone cluster
pytest_plugins = ["tests.browser", "tests.background", "tests.standalone"]

ROOT = Path(__file__).resolve().parents[1]
# The JVMs the tests start do little work each: C2's compilations would cost more CPU than they save, and on
# two cores that CPU is the suite's wall time. C1's frames are bigger, so task threads get a deeper stack for
# the recursive deserialisation of ALS's long lineages (a StackOverflowError at the default 1 MiB).
QUICK_JVM = "-XX:TieredStopAtLevel=1 -Xss4m"
SHARED = Path(os.environ.get("PHOTOLAKE_SHARED", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def spark():
    from photolake.config import load_config
    from photolake.session import build_session, driver_java_options

    config = load_config(env={}).with_values(spark__master="local[2]")
    session = build_session("tests", config, extra_conf={
        "spark.sql.shuffle.partitions": "4",
        "spark.default.parallelism": "4",
        "spark.ui.enabled": "false",
        "spark.driver.extraJavaOptions": " ".join([*driver_java_options(), QUICK_JVM]),
    })
    yield session
    session.stop()


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared (or $PHOTOLAKE_SHARED): real data and models, never copied into the repo."""
    if not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED}: set PHOTOLAKE_SHARED to the folder with data/ and models/")
    return SHARED


@pytest.fixture(scope="session")
def analysed_release(shared, tmp_path_factory):
    """(release, config): a 40-photo sample release whose images are real Unsplash photos, served on 127.0.0.1
    for the whole session, and the config of the pipeline run that makes the analysed lake from it."""
    from photolake.config import load_config
    from photolake.sample.release import SampleOptions, generate_release
    from photolake.sample.server import ImageServer

    root = tmp_path_factory.mktemp("analysed")
    release = root / "release"
    (release / "images").mkdir(parents=True)
    with ImageServer(release / "images") as server:
        generate_release(release, SampleOptions(photos=40, seed=11, image_base_url=server.url,
                                                images_from=str(shared / "data" / "unsplash-photos")))
        yield release, load_config(env={}).with_values(
            spark__master="local[2]", paths__lake=str(root / "lake"), paths__dataset=str(release),
            paths__images=str(root / "images"), paths__report=str(root / "report"), paths__export=str(root / "export"),
            ingest__batch_rows=5000,
            download__width="640", download__allow_hosts=[server.url.split("//", 1)[1]], download__timeout_s=5,
            download__retries=1, download__backoff_s=0.05, download__rate_per_host=0.0,
            download__connections_per_host=0, download__threads=4, download__rows_per_partition=4,
            download__resize_rows_per_partition=4, progress__every_s=60.0, extract__rows_per_partition=16,
            detect__model="yolox-nano", detect__models_dir=str(shared / "models"),
            detect__cache_dir=str(root / "cache"),
            detect__annotate_dir=str(root / "annotated"), detect__rows_per_partition=16, cluster__k=3,
            users__source="both", users__users=120, users__seed=5, recommend__k=5, recommend__ranks=[8],
            recommend__reg_params=[0.1], recommend__alphas=[1.0], recommend__max_iter=5)


@pytest.fixture(scope="session")
def analysed(local_run, analysed_release):
    """(lake, config): a lake with every table, made by ``./spark-submit.sh pipeline`` on local[2] from the
    analysed release (in the background from the session's start: tests/background.py): ingest -> download ->
    extract -> detect (yolox-nano) -> cluster -> users (synthetic and conversions) -> recommend -> report ->
    export."""
    local_run.wait()
    _, config = analysed_release
    return config["paths.lake"], config


@pytest.fixture(scope="session")
def analysed_lake(analysed) -> str:
    return analysed[0]


@pytest.fixture
def small_disk(tmp_path):
    """``small_disk("1m")``: a folder on a filesystem of that size (tmpfs, mounted for the test: needs root),
    to fill up."""
    mounts = []

    def mount(size: str) -> Path:
        folder = tmp_path / f"small{len(mounts)}"
        folder.mkdir()
        made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
        if made.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs to fill up (needs root): {made.stderr.decode().strip()}")
        mounts.append(folder)
        return folder

    yield mount
    for folder in mounts:
        subprocess.run(["umount", "-l", str(folder)], check=False)



def pytest_addoption(parser):
    parser.addoption("--no-spark", action="store_true",
                     help="only the tests that need no Spark session and no job run (make test-fast)")


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--no-spark"):
        return
    # a test needs Spark through its session, a pipeline run (the analysed lake), or a job it submits (slow)
    needs_spark = [item for item in items if {"spark", "local_run"} & set(getattr(item, "fixturenames", ()))
                   or item.get_closest_marker("slow")]
    config.hook.pytest_deselected(items=needs_spark)
    items[:] = [item for item in items if item not in needs_spark]
