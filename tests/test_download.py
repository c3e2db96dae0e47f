"""The download job on Spark: statuses in one run, reruns that fetch nothing twice, files gone, retries,
and a run killed halfway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from photolake import lake
from photolake.download.fetch import FetchSettings
from photolake.download.plan import merge, photos_in_scope, plan
from photolake.download.run import download_counts, fetch_all, task_budget
from photolake.schemas import DOWNLOADS, PHOTOS
from tests.conftest import ROOT
from tests.http_servers import FaultyServer


def make_photos(spark, lake_dir: Path, urls: dict[str, str]) -> None:
    rows = [{"photo_id": pid, "photo_image_url": url} for pid, url in urls.items()]
    df = spark.createDataFrame(rows, "photo_id string, photo_image_url string")
    for field in PHOTOS.schema.fields:
        if field.name not in df.columns:
            df = df.withColumn(field.name, F.lit(None).cast(field.dataType))
    lake.write_table(df.select(*PHOTOS.schema.fieldNames()), str(lake_dir), "photos", "setup")


def download(spark, lake_dir: Path, images: Path, server, retry_failed=False, limit=None, where=None, **settings):
    """One run as the job makes it: the downloads table's rows by photo_id, and the run summary's counts."""
    photos = lake.read_table(spark, str(lake_dir), "photos")
    previous = lake.read_table(spark, str(lake_dir), "downloads", DOWNLOADS) \
        if (lake_dir / "downloads").exists() else None
    base = {"allow_hosts": ("images.unsplash.com", server.host), "timeout_s": 0.5, "retries": 1, "backoff_s": 0.05,
            "width": None}
    work = plan(photos_in_scope(photos, where), previous, retry_failed, limit)
    results, total, by_status = fetch_all(spark, work, FetchSettings(**{**base, **settings}), str(images), 0, 0, 4, 4,
                                          60)
    lake.write_table(merge(previous, results), str(lake_dir), "downloads", f"run{time.time_ns()}")
    results.unpersist()
    rows = {r.photo_id: r for r in lake.read_table(spark, str(lake_dir), "downloads").collect()}
    return rows, download_counts(by_status, total, 0.0)


@pytest.fixture(scope="module")
def photo_files(shared) -> list[Path]:
    return sorted((shared / "data" / "unsplash-photos").glob("*.jpg"))


@pytest.fixture
def server(photo_files):
    with FaultyServer(photo_files[0].parent, delay_s=0.3) as s:
        yield s


def ids(n: int, prefix: str = "p") -> list[str]:
    return [f"{prefix}{k:010d}"[-11:] for k in range(n)]


def test_one_run_gives_every_status_and_byte_exact_files(spark, server, photo_files, tmp_path):
    urls = {f"ok{k:09d}": f"{server.url}/photos/{f.name}" for k, f in enumerate(photo_files[:6])}
    urls |= {"missing0404": f"{server.url}/status/404", "flakyflaky1": f"{server.url}/flaky/{photo_files[0].name}",
             "htmlhtml001": f"{server.url}/html", "bombbomb001": f"{server.url}/bomb",
             "hanghang001": f"{server.url}/hang", "brokenurl01": "https://images.unsplash.com-grass-sun.jpg/",
             "metadata001": "http://169.254.169.254/latest/meta-data", "shortbody01": f"{server.url}/short"}
    make_photos(spark, tmp_path / "lake", urls)
    rows, counts = download(spark, tmp_path / "lake", tmp_path / "images", server)
    assert len(rows) == len(urls)
    assert {pid: r.status for pid, r in rows.items() if not pid.startswith("ok")} == {
        "missing0404": "http_error", "flakyflaky1": "ok", "htmlhtml001": "not_image", "bombbomb001": "too_large",
        "hanghang001": "timeout", "brokenurl01": "invalid_url", "metadata001": "disallowed_host",
        "shortbody01": "connection_error"}
    for k, f in enumerate(photo_files[:6]):
        row = rows[f"ok{k:09d}"]
        assert row.status == "ok" and Path(row.path).read_bytes() == f.read_bytes()
        assert row.path.startswith(str(tmp_path / "images"))
    assert rows["missing0404"].http_status == 404 and rows["missing0404"].attempts == 1
    assert rows["flakyflaky1"].attempts == 2
    assert all(r.error for r in rows.values() if r.status != "ok")
    assert (counts.rows_in, counts.rows_out, counts.rows_rejected) == (14, 7, 7)
    assert counts.notes[:2] == [  # requests: 6 ok, flaky 2, 404 1, html 1, bomb 1, hang 2, short 2; bad URLs none
        "already there: 0; fetched or adopted: 7; requests made: 15",
        "by status: ok 7, http_error 1, timeout 1, connection_error 1, not_image 1, too_large 1, invalid_url 1, "
        "disallowed_host 1"]
    assert sorted(counts.notes[2:]) == sorted(f"{r.status}, e.g.: {r.error}" for r in rows.values() if r.status != "ok")
    assert lake.read_table(spark, str(tmp_path / "lake"), "downloads").schema.fieldNames() == DOWNLOADS.fieldNames()


def test_rerun_fetches_nothing_twice_and_refetches_a_deleted_file(spark, server, photo_files, tmp_path):
    urls = {pid: f"{server.url}/photos/{f.name}" for pid, f in zip(ids(8), photo_files)}
    make_photos(spark, tmp_path / "lake", urls | {"gone0000404": f"{server.url}/status/404"})
    first, _ = download(spark, tmp_path / "lake", tmp_path / "images", server, limit=5)
    assert len(first) == 5 and server.recorder.total == 5
    second, counts = download(spark, tmp_path / "lake", tmp_path / "images", server)
    assert len(second) == 9 and server.recorder.total == 9  # only the 4 new ones
    # the 404 keeps its row (no --retry-failed): the run worked on the 4 ok rows' files and the 4 new photos
    assert (counts.rows_in, counts.rows_out, counts.rows_rejected) == (8, 8, 0)
    assert counts.notes[0] == "already there: 4; fetched or adopted: 4; requests made: 4"
    assert {pid: r.sha256 for pid, r in first.items()} == {pid: second[pid].sha256 for pid in first}
    Path(second[ids(8)[0]].path).unlink()
    third, _ = download(spark, tmp_path / "lake", tmp_path / "images", server)
    assert server.recorder.total == 10 and Path(third[ids(8)[0]].path).exists()  # the gone file, once
    assert third["gone0000404"].status == "http_error"
    download(spark, tmp_path / "lake", tmp_path / "images", server, retry_failed=True)
    assert server.recorder.count("/status/404") == 2  # retried only with --retry-failed
    table = lake.read_table(spark, str(tmp_path / "lake"), "downloads")
    assert table.count() == table.select("photo_id").distinct().count() == 9


def test_where_selects_photos(spark, server, photo_files, tmp_path):
    make_photos(spark, tmp_path / "lake", {pid: f"{server.url}/photos/{f.name}" for pid, f in zip(ids(4), photo_files)})
    rows, _ = download(spark, tmp_path / "lake", tmp_path / "images", server, where=f"photo_id = '{ids(4)[2]}'")
    assert list(rows) == [ids(4)[2]]


def test_budget_is_split_across_concurrent_tasks():
    budget = task_budget(rate_per_host=50, connections_per_host=32, threads=16, concurrent_tasks=4)
    assert (budget.rate_per_host, budget.connections_per_host, budget.threads) == (12.5, 8, 8)
    assert task_budget(0, 0, 16, 4).rate_per_host == 0 and task_budget(0, 0, 16, 4).threads == 16


@pytest.mark.slow
def test_killed_run_loses_nothing_and_the_rerun_completes(spark, server, photo_files, tmp_path):
    lake_dir, images = tmp_path / "lake", tmp_path / "images"
    photo_ids = ids(30, "k")
    path_of = {pid: f"/slow/{photo_files[n].name}" for n, pid in enumerate(photo_ids)}  # one file each
    make_photos(spark, lake_dir, {pid: f"{server.url}{path}" for pid, path in path_of.items()})
    command = [str(ROOT / "spark-submit.sh"), "download", "--lake", str(lake_dir), "--images", str(images),
               "--allow-hosts", server.host, "--width", "original", "--threads", "2",
               "--set", "download.rows_per_partition=30"]
    job = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PHOTOLAKE_PYTHON": sys.executable},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 180
    while server.recorder.total < 8 and time.time() < deadline and job.poll() is None:
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    assert 8 <= server.recorder.total < 30
    on_disk = {p.stem for p in images.rglob("*.jpg")}
    assert on_disk and not (lake_dir / "downloads").exists()

    rows, _ = download(spark, lake_dir, images, server)
    assert len(rows) == 30 and all(r.status == "ok" for r in rows.values())
    for pid in on_disk:  # downloaded before the kill: adopted, not fetched again
        assert rows[pid].attempts == 0
    for pid in on_disk:
        assert server.recorder.count(path_of[pid]) == 1
    # fetched twice: only requests the kill cut off (2 tasks x 2 threads in flight at most)
    fetched_twice = [pid for pid, path in path_of.items() if server.recorder.count(path) > 1]
    assert len(fetched_twice) <= 4 and not set(fetched_twice) & on_disk
    assert all(server.recorder.count(path) <= 2 for path in path_of.values())
    assert not list(images.rglob("*.part"))
