"""Finding a release's parts: names of every release, multi-part order, zip, and the errors a user sees."""

import zipfile

import pytest

from photolake.errors import DatasetNotFound
from photolake.ingest.release import find_release


def touch(folder, *names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("photo_id\n")


def test_tsv_and_csv_names_and_parts_in_order(tmp_path):
    touch(tmp_path, "photos.csv000", "keywords.tsv002", "keywords.tsv000", "keywords.tsv001", "colors.tsv000",
          "README.md", "sample-manifest.json", "photos.csv000.bak")
    release = find_release(str(tmp_path))
    assert release.tables == ["photos", "keywords", "colors"]
    assert [p.rsplit("/", 1)[1] for p in release.parts["keywords"]] == [
        "keywords.tsv000", "keywords.tsv001", "keywords.tsv002"]


def test_release_one_folder_down(tmp_path):
    touch(tmp_path / "unsplash-research-dataset-lite-1.2.0", "photos.tsv000")
    release = find_release(str(tmp_path))
    assert release.tables == ["photos"]
    assert release.parts["photos"] == [str(tmp_path / "unsplash-research-dataset-lite-1.2.0" / "photos.tsv000")]


def test_zip_release(tmp_path):
    archive = tmp_path / "unsplash-research-dataset-lite-1.3.0.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("photos.tsv000", "photo_id\n")
        zf.writestr("conversions.tsv000", "photo_id\n")
    release = find_release(str(archive))
    assert release.tables == ["photos", "conversions"]
    assert release.parts["photos"] == [f"{archive}!photos.tsv000"]


def test_missing_folder_says_where_to_get_the_dataset(tmp_path):
    with pytest.raises(DatasetNotFound, match=r"dataset not found at .*unsplash.com/data"):
        find_release(str(tmp_path / "nope"))


def test_folder_without_tables_is_a_clear_error(tmp_path):
    touch(tmp_path, "notes.txt")
    with pytest.raises(DatasetNotFound, match=r"no dataset tables .* in .*unsplash.com/data"):
        find_release(str(tmp_path))


def test_only_some_tables(tmp_path):
    touch(tmp_path, "photos.tsv000", "colors.tsv000")
    assert find_release(str(tmp_path)).only(["colors"]).tables == ["colors"]
    with pytest.raises(DatasetNotFound, match="no keywords table"):
        find_release(str(tmp_path)).only(["keywords"])
