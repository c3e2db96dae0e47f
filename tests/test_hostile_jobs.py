"""The jobs as a user runs them when things are wrong: bad settings, a damaged lake, a full disk, what killed
runs left. Each ends with one error line and exit status 2 (never a traceback), and keeps what it can."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_jobs import submit

pytestmark = pytest.mark.slow


def job(name: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """The job's script with the project's interpreter, as spark-submit runs it: enough for what is decided
    before Spark starts."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lib")}
    return subprocess.run([sys.executable, str(ROOT / "jobs" / f"{name}.py"), *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=120)


def one_error_line(result: subprocess.CompletedProcess, job_name: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and " at org.apache" not in output, output
    errors = [line for line in output.splitlines() if "error:" in line]
    assert len(errors) == 1, output
    return errors[0]


@pytest.mark.parametrize("args, says", [
    (["download", "--retries", "-1"], "download.retries = -1: must be at least 0"),
    (["download", "--threads", "-4"], "download.threads = -4: must be at least 1"),
    (["download", "--timeout", "-1"], "download.timeout_s = -1: must be greater than 0"),
    (["download", "--threads", "2.5"], "download.threads = 2.5: needs a whole number"),
    (["download", "--limit", "-1"], "download.limit = -1: must be at least 0"),
    (["download", "--width", "huge"], "pixels (1-65535) or 'original'"),
    (["download", "--allow-hosts", "evil@host"], "not a host"),
    (["download", "--set", "download.rate_per_host=-3"], "at least 0"),
    (["extract", "--colors", "0"], "extract.colors = 0: must be at least 1"),
    (["extract", "--from-dir", "/nonexistent/photos"], "/nonexistent/photos does not exist"),
    (["detect", "--size", "500"], "multiple of 32"),
    (["detect", "--model", "yolo9"], "detect.model = yolo9: must be one of yolov3"),
    (["ingest", "--tables", "photos,pictures"], "ingest.tables = photos,pictures: must be one of photos"),
    (["cluster", "--k-min", "9", "--k-max", "3"], "larger than cluster.k_max"),
    (["ingest", "--release", "newest"], "ingest.release = newest: needs 'auto' or a version"),
    (["sample", "--photos", "-5"], "sample.photos = -5"),
])
def test_bad_settings_stop_before_any_work(tmp_path, args, says):
    result = job(*args, "--lake", str(tmp_path / "lake"))
    assert says in one_error_line(result, args[0])
    assert not (tmp_path / "lake").exists()


def test_config_files_and_paths_are_checked_up_front(tmp_path):
    typed = tmp_path / "typed.toml"
    typed.write_text("[download]\nthreads = 2.5\n")
    assert "download.threads = 2.5 in" in one_error_line(job("download", "--config", str(typed)), "download")
    boolean = tmp_path / "boolean.toml"
    boolean.write_text("[extract]\ncolors = true\n")
    assert "not true/false" in one_error_line(job("extract", "--config", str(boolean)), "extract")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[paths]\nlake = "caf\xe9"\n'.encode("latin-1"))
    assert "not UTF-8" in one_error_line(job("ingest", "--config", str(latin1)), "ingest")
    assert "is a folder" in one_error_line(job("ingest", "--config", str(tmp_path)), "ingest")
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    assert "is a file, not a folder" in one_error_line(job("ingest", "--lake", str(a_file)), "ingest")
    assert "cannot be created" in one_error_line(job("download", "--images", str(a_file / "images")), "download")


@pytest.fixture(scope="module")
def small_lake(spark, tmp_path_factory):
    """A 30-photo release and its lake (made in-process: what the jobs print is tested below)."""
    from photolake.ingest.load import ingest_release
    from photolake.ingest.release import find_release
    from photolake.sample.release import SampleOptions, generate_release

    root = tmp_path_factory.mktemp("hostile")
    generate_release(root / "release", SampleOptions(photos=30, seed=4, images=False))
    ingest_release(spark, find_release(str(root / "release")), str(root / "lake"), "setup", 5000)
    return root


def config_for(lake_dir: Path, **values):
    from photolake.config import load_config

    return load_config(env={}).with_values(paths__lake=str(lake_dir), **values)


def test_a_damaged_lake_file_is_named_in_one_line(spark, small_lake, tmp_path):
    from photolake import stages
    from photolake.errors import LakeDamaged
    from photolake.runs import RunSummary

    lake_dir = tmp_path / "lake"
    subprocess.run(["cp", "-r", str(small_lake / "lake"), str(lake_dir)], check=True)
    part = sorted((lake_dir / "photos").glob("*.parquet"))[0]
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    line = one_error_line(submit("sql", "--lake", str(lake_dir), "SELECT count(*) FROM photos", check=False), "sql")
    assert part.name in line and "damaged" in line and "ingest" in line
    config = config_for(lake_dir, paths__images=str(tmp_path / "images"))
    with pytest.raises(LakeDamaged, match=f"{part.name} cannot be read: it is damaged.*ingest"):
        stages.download(spark, config, RunSummary("download", "r1", config))


@pytest.mark.parametrize("junk", [b"\xff\xfe not text", b"{not json", b"[1, 2]", b'{"ingest": 3}'])
def test_a_junk_pipeline_state_file_is_one_line(small_lake, tmp_path, junk):
    from photolake.config import load_config
    from photolake.errors import LakeDamaged
    from photolake.pipeline import load_state

    (tmp_path / "_pipeline.json").write_bytes(junk)
    with pytest.raises(LakeDamaged, match="_pipeline.json is damaged .* delete it"):
        load_state(load_config(env={}).with_values(paths__lake=str(tmp_path)))


def test_leftovers_of_killed_runs_are_removed_by_the_next_run(spark, small_lake, tmp_path):
    from photolake import stages
    from photolake.runs import RunSummary

    lake_dir = tmp_path / "lake"
    subprocess.run(["cp", "-r", str(small_lake / "lake"), str(lake_dir)], check=True)
    for leftover in (lake_dir / ".staging" / "photos-20260101T000000Z-ingest-dead01" / "x",
                     lake_dir / ".trash" / "keywords-20260101T000000Z-ingest-dead01"):
        leftover.mkdir(parents=True)
    config = config_for(lake_dir, paths__dataset=str(small_lake / "release"), ingest__tables=["colors"])
    summary = RunSummary("ingest", "r1", config)
    with summary.recorded(spark, str(lake_dir)):
        stages.ingest(spark, config, summary)
    assert not list((lake_dir / ".staging").glob("*")) and not list((lake_dir / ".trash").glob("*"))


def test_a_full_images_disk_keeps_what_was_stored(spark, small_disk, photos_server):
    from tests.test_download import make_photos

    server, photos = photos_server
    full_disk = small_disk("1m")
    lake_dir = full_disk.parent / "lake"
    urls = {f"full{n:07d}": f"{server.url}/photos/{photo.name}" for n, photo in enumerate(photos * 3)}
    make_photos(spark, lake_dir, urls)
    result = submit("download", "--lake", str(lake_dir), "--images", str(full_disk), "--allow-hosts", server.host,
                    "--width", "original", "--threads", "2", check=False)
    line = one_error_line(result, "download")
    assert "could not be stored" in line and "No space left on device" in line
    rows = {r.photo_id: r for r in spark.read.parquet(str(lake_dir / "downloads")).collect()}
    assert len(rows) == len(urls)
    stored = [r for r in rows.values() if r.status == "ok"]
    assert stored and all(Path(r.path).stat().st_size == r.bytes for r in stored)
    assert {r.status for r in rows.values()} == {"ok", "write_error"}
    assert not list(full_disk.rglob("*.part"))
    (run,) = spark.read.parquet(str(lake_dir / "_runs")).filter("job = 'download'").collect()
    assert run.status == "failed" and any("write_error" in n for n in run.notes)


def test_a_full_lake_disk_is_one_line_and_the_summary_says_so(spark, tmp_path, small_disk, capsys):
    from photolake import faults, stages
    from photolake.errors import StorageFailed
    from photolake.runs import RunSummary
    from photolake.sample.release import SampleOptions, generate_release

    full_disk = small_disk("256k")
    generate_release(tmp_path / "release", SampleOptions(photos=300, seed=3, images=False))  # a lake over 256 kB
    config = config_for(full_disk / "lake", paths__dataset=str(tmp_path / "release"))
    summary = RunSummary("ingest", "r1", config)
    with pytest.raises(StorageFailed) as failed:
        with summary.recorded(spark, str(full_disk / "lake")):
            stages.ingest(spark, config, summary)
    line = str(faults.explain(failed.value))
    assert "could not write the" in line and "no space left on the device" in line and "\n" not in line
    printed = capsys.readouterr().out
    assert "failed" in printed.splitlines()[0]
    if "could not be recorded in" not in printed:  # the failed writes freed enough room for _runs
        (run,) = spark.read.parquet(str(full_disk / "lake" / "_runs")).select("status").distinct().collect()
        assert run.status == "failed"
    assert not list((full_disk / "lake" / ".staging").glob("*"))


@pytest.fixture
def photos_server(shared):
    from tests.http_servers import FaultyServer

    photos = sorted((shared / "data" / "unsplash-photos").glob("*.jpg"))[:8]
    with FaultyServer(photos[0].parent) as server:
        yield server, photos
