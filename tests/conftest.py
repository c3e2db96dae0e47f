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


@pytest.fixture(scope="session")
def analysed_lake(spark, shared, tmp_path_factory) -> str:
    """A lake with every table the analyse stage reads, built in-process by the library functions the
    jobs call: a sample release (real Unsplash photos as its images) served on 127.0.0.1 -> ingest ->
    download -> extract -> detect (yolox-nano) -> cluster -> users (synthetic and conversions) -> recommend."""
    from photolake import lake
    from photolake.cluster.features import photo_features
    from photolake.cluster.model import fit_clusters, summarise
    from photolake.detect.models import resolve_model
    from photolake.detect.run import DetectSettings, detect_all
    from photolake.download.fetch import FetchSettings
    from photolake.download.plan import merge, photos_in_scope, plan
    from photolake.download.run import fetch_all
    from photolake.extract.run import extract_all, files_from_downloads
    from photolake.recommend.models import ALSParams, RecommendSettings
    from photolake.recommend.run import Holdout, run_recommend
    from photolake.runs import RunSummary
    from photolake.schemas import RECOMMEND_MODELS
    from photolake.users.run import make_users
    from photolake.users.synthetic import SyntheticOptions
    from photolake.ingest.load import ingest_release
    from photolake.ingest.release import find_release
    from photolake.sample.release import SampleOptions, generate_release
    from photolake.sample.server import ImageServer

    root = tmp_path_factory.mktemp("analysed")
    release, lake_dir = root / "release", str(root / "lake")
    (release / "images").mkdir(parents=True)
    with ImageServer(release / "images") as server:
        generate_release(release, SampleOptions(photos=40, seed=11, image_base_url=server.url,
                                                images_from=str(shared / "data" / "unsplash-photos")))
        ingest_release(spark, find_release(str(release)), lake_dir, "fixture", batch_rows=5000)
        photos = lake.read_table(spark, lake_dir, "photos")
        host = server.url.split("//", 1)[1]
        settings = FetchSettings(width=640, allow_hosts=(host,), timeout_s=5, retries=1, backoff_s=0.05)
        results, _ = fetch_all(spark, plan(photos_in_scope(photos, None), None, False, None), settings,
                               str(root / "images"), 0, 0, 4, 4, 60)
        lake.write_table(merge(None, results), lake_dir, "downloads", "fixture")
    files = files_from_downloads(lake.read_table(spark, lake_dir, "downloads"))
    lake.write_table(extract_all(files, 5, 16), lake_dir, "image_metadata", "fixture")
    paths = resolve_model("yolox-nano", models_dir=str(shared / "models"), cache_dir=str(root / "cache"))
    lake.write_table(detect_all(files, paths, DetectSettings("yolox-nano", annotate_dir=str(root / "annotated")), 16),
                     lake_dir, "detections/model=yolox-nano", "fixture")
    views = lake.register_views(spark, lake_dir)
    metadata, detections = spark.table("image_metadata"), spark.table("detections")
    tags = spark.table("photo_tags") if "photo_tags" in views else None
    features, numeric = photo_features(metadata, photos, detections, tags)
    result = fit_clusters(features, numeric, k=3)
    lake.write_table(result.clusters, lake_dir, "clusters", "fixture")
    clusters = lake.read_table(spark, lake_dir, "clusters")
    lake.write_table(summarise(clusters, metadata, tags, detections), lake_dir, "cluster_summary", "fixture")
    make_users(spark, lake_dir, "both", SyntheticOptions(users=120, seed=5), 200, RunSummary("users", "fixture-users"))
    run_recommend(spark, lake_dir, RECOMMEND_MODELS, RecommendSettings(k=5), [ALSParams(8, 0.1, 1.0, 5)],
                  Holdout(0.2, 5, 42), 200, RunSummary("recommend", "fixture-recommend"))
    return lake_dir
