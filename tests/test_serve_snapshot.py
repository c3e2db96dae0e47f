"""serve.snapshot: a loaded version saved in the cache and opened again by the next start: the same answers, one
build when two services start at once, a half-built folder built again, older versions removed; the serve
command's worker processes sharing it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from photolake import lake_version
from photolake.sample.lake import LakeShape, generate_lake
from photolake.serve import snapshot, store
from photolake.serve.app import create_app
from photolake.serve.holder import LakeHolder, ServiceSettings
from tests.conftest import ROOT
from tests.standalone import free_port

API = "/api/v1"


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("snapshot") / "lake"
    generate_lake(root, LakeShape(photos=300, images=20, seed=8))
    return root


def started(lake, cache) -> LakeHolder:
    holder = LakeHolder(ServiceSettings(lake=str(lake), images=str(lake / "images"), cache_dir=str(cache), reload_s=0))
    holder.start()
    return holder


def answers(client: TestClient) -> dict:
    photos = client.get(f"{API}/photos", params={"limit": 5, "sort": "most_viewed"}).json()
    ids = [p["photo_id"] for p in photos["photos"]]
    users = [u["user_id"] for u in client.get(f"{API}/users", params={"limit": 3}).json()["users"]]
    paths = [f"{API}/photos?limit=20&sort=newest", f"{API}/photos?q=mountain", f"{API}/photos?color=blue",
             f"{API}/photos?object=dog&min_score=0.5", f"{API}/clusters", f"{API}/clusters/0", f"{API}/stats",
             f"{API}/users/nobody/recommendations"]
    for photo_id in ids:
        paths += [f"{API}/photos/{photo_id}", f"{API}/photos/{photo_id}/duplicates?max_distance=20"]
        paths += [f"{API}/photos/{photo_id}/similar?by={way}" for way in ("visual", "colour", "objects", "tags",
                                                                          "mixed")]
    for user_id in users:
        paths += [f"{API}/users/{user_id}", f"{API}/users/{user_id}/recommendations?k=5"]
    got = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        got[path] = response.json()
    version = client.get(f"{API}/version").json()
    got["version"] = {k: v for k, v in version.items() if k not in ("loaded_in_s", "from_cache")}
    return got


def test_a_restart_opens_the_saved_version_and_answers_the_same(lake, tmp_path):
    first = started(lake, tmp_path / "cache")
    assert first.settle(60) is True and first.current.from_cache is False
    built = answers(TestClient(create_app(first)))
    again = started(lake, tmp_path / "cache")
    assert again.current.from_cache is True and again.current.load_seconds < first.current.load_seconds
    assert TestClient(create_app(again)).get(f"{API}/version").json()["from_cache"] is True
    assert answers(TestClient(create_app(again))) == built
    # the arrays are the saved file's pages, mapped read-only, not copies
    assert not again.current.features.lab.flags.writeable and not again.current.index.cluster.flags.writeable
    assert not first.current.features.lab.flags.writeable  # the first start serves the saved files too, once saved


def serving(lake: store.LoadedLake, tmp_path) -> TestClient:
    """A client of a service that serves ``lake`` as it is (no swap, no watcher)."""
    holder = LakeHolder(ServiceSettings(lake=lake.path, cache_dir=str(tmp_path / "cache"), reload_s=0))
    holder.current = lake
    return TestClient(create_app(holder))


def test_a_version_served_as_loaded_answers_as_its_saved_files_do(lake, tmp_path):
    loaded = store.load(str(lake), str(tmp_path / "cache"), save_aside=True)
    assert loaded.from_cache is False and loaded.features.lab.flags.writeable  # the arrays as made, in memory
    as_loaded = answers(serving(loaded, tmp_path))
    saved = loaded.saving.result(60)
    assert saved.from_cache is False and saved.saving is None and not saved.features.lab.flags.writeable
    assert (saved.tag, saved.load_seconds) == (loaded.tag, loaded.load_seconds)
    assert answers(serving(saved, tmp_path)) == as_loaded
    assert store.load(str(lake), str(tmp_path / "cache")).from_cache is True


def test_a_service_swaps_in_the_saved_files_of_the_version_it_loaded(lake, tmp_path):
    holder = started(lake, tmp_path / "cache")
    loaded = holder.current
    assert loaded.saving is not None
    assert holder.settle(60) is True
    assert holder.current is not loaded and holder.current.tag == loaded.tag
    assert not holder.current.features.lab.flags.writeable


def test_a_service_stopped_while_it_saves_finishes_the_save_first(lake, tmp_path, monkeypatch):
    save = snapshot.save

    def slow(*args):
        time.sleep(1)
        save(*args)

    monkeypatch.setattr(snapshot, "save", slow)
    holder = started(lake, tmp_path / "cache")
    with TestClient(create_app(holder)) as client:  # its lifespan: started, and stopped at the end
        assert client.get("/readyz").status_code == 200
        assert holder.current.saving is not None and not holder.current.saving.done()
    version, _ = lake_version.current(str(lake))
    assert snapshot.about(snapshot.folder_for(str(tmp_path / "cache"), version.files, "")) is not None
    assert store.load(str(lake), str(tmp_path / "cache")).from_cache is True


def test_a_version_that_cannot_be_saved_is_served_as_loaded(lake, tmp_path, monkeypatch, caplog):
    def full(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(snapshot, "save", full)
    holder = started(lake, tmp_path / "cache")
    loaded = holder.current
    assert holder.settle(60) is False and holder.current is loaded
    assert "could not be saved in the cache (the next start loads it again): [Errno 28] No space left on device" \
        in caplog.text
    client = TestClient(create_app(holder))
    assert client.get("/readyz").status_code == 200
    assert client.get(f"{API}/photos/{loaded.photo_id(0)}").status_code == 200
    monkeypatch.undo()
    assert store.load(str(lake), str(tmp_path / "cache")).from_cache is False  # loaded again, and saved this time
    assert store.load(str(lake), str(tmp_path / "cache")).from_cache is True


def test_two_services_starting_at_once_build_it_once(lake, tmp_path):
    with ThreadPoolExecutor(2) as pool:
        loaded = list(pool.map(lambda _: store.load(str(lake), str(tmp_path / "cache")), range(2)))
    assert sorted(one.from_cache for one in loaded) == [False, True]
    assert loaded[0].photo_rows["photos"].path == loaded[1].photo_rows["photos"].path


def test_a_half_built_folder_is_built_again(lake, tmp_path):
    version, _ = lake_version.current(str(lake))
    folder = snapshot.folder_for(str(tmp_path / "cache"), version.files, "")
    os.makedirs(folder)
    (tmp_path / "cache" / "index" / os.path.basename(folder) / "photo-photos.rows").write_bytes(b"cut short")
    loaded = store.load(str(lake), str(tmp_path / "cache"))
    assert loaded.from_cache is False and loaded.photo_rows["photos"].first(0) is not None
    assert snapshot.about(folder)["photos"] == 300


def test_a_new_version_removes_the_older_ones_folders(tmp_path):
    lake = tmp_path / "lake"
    generate_lake(lake, LakeShape(photos=60, seed=1))
    holder = started(lake, tmp_path / "cache")
    holder.settle(60)
    index = tmp_path / "cache" / "index"
    old = [name for name in os.listdir(index) if not name.endswith(".lock")]
    generate_lake(lake, LakeShape(photos=80, seed=2))  # the next run
    assert holder.check_now() is True and len(holder.current.ids) == 80
    holder.settle(60)  # the older folders go once the new version is saved
    new = [name for name in os.listdir(index) if not name.endswith(".lock")]
    assert len(old) == len(new) == 1 and old != new
    # another lake's folders in the same cache are left alone
    other = tmp_path / "other"
    generate_lake(other, LakeShape(photos=50, seed=3))
    started(other, tmp_path / "cache").settle(60)
    assert set(new) < set(os.listdir(index))


def test_the_serve_command_with_two_workers_loads_once_and_serves_one_version(lake, tmp_path):
    port = free_port()
    service = subprocess.Popen([str(ROOT / "spark-submit.sh"), "serve", "--lake", str(lake), "--port", str(port),
                                "--set", "serve.workers=2", "--set", f"serve.cache_dir={tmp_path / 'cache'}"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        workers = []
        for _ in range(600):
            assert service.poll() is None, service.stdout.read()
            children = f"/proc/{service.pid}/task/{service.pid}/children"
            workers = [w for w in open(children).read().split() if "spawn_main" in _command(w)]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
                    if answer.status == 200 and len(workers) == 2:
                        break
            except OSError:
                pass
            time.sleep(0.1)
        assert len(workers) == 2, workers
        versions = set()
        for _ in range(40):  # new connections: the kernel spreads them over both workers
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/version") as answer:
                versions.add((json.load(answer)["version"], answer.headers["ETag"]))
        assert len(versions) == 1
        assert len([f for f in (tmp_path / "cache" / "index").iterdir() if f.is_dir()]) == 1
        # a second service on the same port is refused, not given a share of the first one's connections
        second = subprocess.run([str(ROOT / "spark-submit.sh"), "serve", "--lake", str(lake), "--port", str(port),
                                 "--set", "serve.workers=2", "--set", f"serve.cache_dir={tmp_path / 'cache'}"],
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 1 and f"cannot listen on 127.0.0.1:{port}: Address already in use" in \
            second.stderr, (second.returncode, second.stdout, second.stderr)
    finally:
        service.terminate()
        output = service.communicate(timeout=30)[0]
    assert "serving 300 photos" in output and "Traceback" not in output, output
    assert not [w for w in workers if os.path.exists(f"/proc/{w}")]  # the workers stop with it


def _command(pid: str) -> str:
    try:
        return open(f"/proc/{pid}/cmdline").read()
    except OSError:
        return ""


def test_a_folder_of_an_older_format_is_removed(lake, tmp_path):
    cache = tmp_path / "cache"
    store.load(str(lake), str(cache))
    current = [name for name in os.listdir(cache / "index") if not name.endswith(".lock")]
    older = cache / "index" / "older-format"
    shutil.copytree(cache / "index" / current[0], older)
    manifest = json.loads((older / snapshot.MANIFEST).read_text())
    (older / snapshot.MANIFEST).write_text(json.dumps({**manifest, "format": snapshot.FORMAT - 1}))
    assert snapshot.about(str(older)) is None  # not opened: its layout is not this one's
    assert store.load(str(lake), str(cache)).from_cache is True
    assert not older.exists() and (cache / "index" / current[0] / snapshot.MANIFEST).exists()
