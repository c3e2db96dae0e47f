"""--from-dir over hostile folders: links out of the folder, link loops, one file under several names, names
that are not UTF-8. Each real file once, every file a row with a status, and the walk always ends."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from photolake import lake, storage
from photolake.extract.run import extract_all, extract_counts, observe_statuses
from photolake.image_files import files_from_dir


@pytest.fixture
def photo(shared) -> Path:
    return sorted((shared / "data" / "unsplash-photos").glob("*.jpg"))[0]


@pytest.fixture
def hostile(tmp_path, photo) -> Path:
    """a.jpg, sub/b.jpg, a link to a.jpg, a link to a file outside, loops back to the folder and its parent,
    a link to a folder outside, a broken link, and a name in Latin-1."""
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(photo, outside / "secret.jpg")
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    shutil.copy(photo, root / "a.jpg")
    shutil.copy(photo, root / "sub" / "b.jpg")
    os.symlink(root / "a.jpg", root / "sub" / "also-a.jpg")
    os.symlink(outside / "secret.jpg", root / "secret.jpg")
    os.symlink(".", root / "loop")
    os.symlink("..", root / "sub" / "up")
    os.symlink(outside, root / "elsewhere")
    os.symlink(root / "gone.jpg", root / "broken.jpg")
    shutil.copy(photo, os.fsencode(root) + b"/caf\xe9.jpg")
    return root


def test_each_real_file_once_links_out_skipped_and_loops_end(hostile):
    found, notes = storage.walk_files(str(hostile))
    rows = {f.relative: f for f in found}
    assert set(rows) == {"a.jpg", "sub/b.jpg", "secret.jpg", "broken.jpg", "caf\\xe9.jpg"}
    assert [r for r, f in rows.items() if f.skipped is None] == ["a.jpg", "caf\\xe9.jpg", "sub/b.jpg"]
    assert "outside" in rows["secret.jpg"].skipped and "--follow-links" in rows["secret.jpg"].skipped
    assert "broken link" in rows["broken.jpg"].skipped
    assert rows["caf\\xe9.jpg"].os_path == os.fsencode(hostile) + b"/caf\xe9.jpg"
    assert rows["a.jpg"].os_path is None  # a UTF-8 name is its own path
    assert any("elsewhere" in n and "not entered" in n for n in notes)
    assert sum("already walked" in n for n in notes) == 2  # loop and sub/up


def test_follow_links_reads_outside_but_still_once(hostile):
    found, _ = storage.walk_files(str(hostile), follow_links=True)
    rows = {f.relative: f for f in found}
    assert rows["secret.jpg"].skipped is None
    assert "elsewhere/secret.jpg" not in rows  # the same real file as secret.jpg
    assert "sub/up/a.jpg" not in rows and "loop/a.jpg" not in rows


def test_extract_gives_every_file_a_row_with_a_status(spark, hostile, tmp_path):
    files, notes = files_from_dir(spark, str(hostile))
    written, observed = observe_statuses(extract_all(files, 3, 8))
    lake.write_table(written, str(tmp_path / "lake"), "image_metadata", "t")
    rows = {r.photo_id: r for r in lake.read_table(spark, str(tmp_path / "lake"), "image_metadata").collect()}
    assert {pid: r.status for pid, r in rows.items()} == {
        "a.jpg": "ok", "sub/b.jpg": "ok", "caf\\xe9.jpg": "ok", "secret.jpg": "skipped", "broken.jpg": "skipped"}
    assert rows["caf\\xe9.jpg"].width == rows["a.jpg"].width
    counts = extract_counts(observed.get, 1.0)
    assert (counts.rows_in, counts.rows_out, counts.rows_rejected) == (5, 3, 2)
