"""One local SparkSession for the whole suite, and where the shared data lives."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

# Collected timestamps are naive datetimes in the Python process's zone: make it the session's (UTC).
os.environ["TZ"] = "UTC"
time.tzset()

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PHOTOLAKE_SHARED", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def spark():
    from photolake.config import load_config
    from photolake.session import build_session

    config = load_config(env={}).with_values(spark__master="local[2]")
    session = build_session("tests", config, extra_conf={
        "spark.sql.shuffle.partitions": "4",
        "spark.default.parallelism": "4",
        "spark.ui.enabled": "false",
    })
    yield session
    session.stop()


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared (or $PHOTOLAKE_SHARED): real data and models, never copied into the repo."""
    if not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED}: set PHOTOLAKE_SHARED to the folder with data/ and models/")
    return SHARED
