"""The part reader on its own (no Spark): quotes, multi-line records, headers by name, broken records."""

import zipfile

import pytest

from photolake.ingest.reader import NO_HEADER, read_part
from photolake.schemas import COLORS, KEYWORDS


def records(path, table=KEYWORDS, batch_rows=50_000):
    rows = []
    for batch in read_part(str(path), table, batch_rows):
        rows += batch.to_pylist()
    return rows


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_quoted_fields_hold_newlines_tabs_and_quotes_and_keep_their_start_line(tmp_path):
    path = write(tmp_path, "keywords.tsv000",
                 "photo_id\tkeyword\tsuggested_by_user\n"
                 'aaaaaaaaaaa\t"fujisan\nmount fuji"\tf\n'
                 'bbbbbbbbbbb\t"a ""quoted""\tword"\tt\n'
                 "ccccccccccc\t東京 🌊\tf\n")
    rows = records(path)
    assert [r["keyword"] for r in rows] == ["fujisan\nmount fuji", 'a "quoted"\tword', "東京 🌊"]
    assert [r["_line"] for r in rows] == [2, 4, 5]
    assert all(r["_error"] is None for r in rows)
    assert rows[0]["_source_file"] == str(path)


def test_columns_are_found_by_header_name_in_any_order(tmp_path):
    path = write(tmp_path, "keywords.tsv000", "keyword\tphoto_id\nsky\taaaaaaaaaaa\n")
    (row,) = records(path)
    assert (row["photo_id"], row["keyword"]) == ("aaaaaaaaaaa", "sky")
    assert row["ai_service_1_confidence"] is None  # not in this release


def test_aliases_and_unknown_columns(tmp_path):
    path = write(tmp_path, "colors.tsv000",
                 "photo_id\thex\tred\tgreen\tblue\tkeyword\tai_coverage\tai_score\tbrand_new\n"
                 "aaaaaaaaaaa\t1F3E42\t31\t62\t66\tdarkslategray\t0.5\t0.25\tsurprise\n")
    (row,) = records(path, COLORS)
    assert (row["coverage"], row["score"]) == ("0.5", "0.25")
    assert row["extra_columns"] == [("brand_new", "surprise")]


def test_broken_records_are_flagged_with_their_text(tmp_path):
    path = write(tmp_path, "keywords.tsv000",
                 "photo_id\tkeyword\tsuggested_by_user\n"
                 "aaaaaaaaaaa\tsky\n"
                 "bbbbbbbbbbb\tsea\tf\textra\n"
                 "\n"
                 "ccccccccccc\tok\tt\n")
    rows = records(path)
    assert [(r["_line"], r["_error"]) for r in rows] == [
        (2, "too few fields: 2 of 3"), (3, "too many fields: 4 of 3"), (5, None)]
    assert rows[1]["_raw"] == "bbbbbbbbbbb\tsea\tf\textra"


def test_a_part_without_a_header_rejects_every_record(tmp_path):
    path = write(tmp_path, "keywords.tsv001", "aaaaaaaaaaa\tsky\tf\nbbbbbbbbbbb\tsea\tf\n")
    rows = records(path)
    assert [(r["_line"], r["_error"]) for r in rows] == [(1, NO_HEADER), (2, NO_HEADER)]


def test_bom_and_crlf_and_batching(tmp_path):
    body = "".join(f"id{n:09d}\tword{n}\tf\r\n" for n in range(25))
    path = tmp_path / "keywords.tsv000"
    path.write_bytes(("\ufeffphoto_id\tkeyword\tsuggested_by_user\r\n" + body).encode("utf-8"))
    batches = list(read_part(str(path), KEYWORDS, batch_rows=10))
    assert [b.num_rows for b in batches] == [10, 10, 5]
    rows = [r for b in batches for r in b.to_pylist()]
    assert rows[0]["photo_id"] == "id000000000" and rows[-1]["keyword"] == "word24"
    assert rows[-1]["_line"] == 26


def test_empty_part_gives_no_records(tmp_path):
    assert records(write(tmp_path, "keywords.tsv000", "")) == []


def test_member_of_a_zip(tmp_path):
    archive = tmp_path / "release.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("lite/keywords.tsv000", "photo_id\tkeyword\naaaaaaaaaaa\tsky\n")
    (row,) = records(f"{archive}!lite/keywords.tsv000")
    assert row["keyword"] == "sky"


@pytest.mark.parametrize("bad", ["\x00", "caf\udce9"])
def test_odd_bytes_do_not_crash(tmp_path, bad):
    path = tmp_path / "keywords.tsv000"
    path.write_bytes("photo_id\tkeyword\n".encode() + b"aaaaaaaaaaa\tx" + bad.encode("utf-8", "surrogateescape")
                     + b"\n")
    (row,) = records(path)
    assert row["photo_id"] == "aaaaaaaaaaa"
