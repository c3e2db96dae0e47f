"""The part reader on its own (no Spark): quotes, multi-line records, headers by name, broken records."""

import tracemalloc
import zipfile

import pytest

from photolake.ingest.load import header_notes
from photolake.ingest.reader import MAX_LINE_CHARS, NO_HEADER, ZipLimits, read_part
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


def test_bytes_that_are_not_utf8_are_kept_as_replacement_and_reported(tmp_path):
    path = tmp_path / "keywords.tsv000"
    path.write_bytes(b"photo_id\tkeyword\tsuggested_by_user\n"
                     b"aaaaaaaaaaa\tcaf\xe9 au lait\tf\n"
                     b"bbbbbbbbbbb\t\"two\nlines \xff\xfe\"\tt\n"
                     b"ccccccccccc\tclean \xc3\xa9\tf\n")
    rows = records(path)
    assert [r["keyword"] for r in rows] == ["caf\ufffd au lait", "two\nlines \ufffd", "clean \u00e9"]
    assert all(r["_error"] is None for r in rows)  # the rows are kept
    (first,), (second,) = rows[0]["_undecoded"], rows[1]["_undecoded"]
    assert first == {"column": "keyword", "raw_value": "caf\\xe9 au lait",
                     "reason": "invalid UTF-8: byte(s) e9 at byte 3 of the value; kept as U+FFFD"}
    assert second["reason"].startswith("invalid UTF-8: byte(s) ff fe at byte 10")
    assert rows[2]["_undecoded"] is None


def test_a_line_too_long_is_one_broken_record_and_never_held_whole(tmp_path):
    path = tmp_path / "keywords.tsv000"
    with open(path, "w") as f:
        f.write("photo_id\tkeyword\n" + "a" * (10 * MAX_LINE_CHARS) + "\nbbbbbbbbbbb\tsea\n")
    tracemalloc.start()
    rows = records(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [(r["_line"], r["_error"] is not None, r["photo_id"]) for r in rows] == [
        (2, True, None), (3, False, "bbbbbbbbbbb")]
    assert "longer than" in rows[0]["_error"]
    assert peak < 4 * MAX_LINE_CHARS  # the line is 10 x the limit


def test_a_zip_bomb_member_is_refused_unread(tmp_path):
    archive = tmp_path / "release.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("keywords.tsv000", "photo_id\tkeyword\n" + "\0" * (64 << 20))
        zf.writestr("colors.tsv000", "photo_id\thex\naaaaaaaaaaa\t1F3E42\n")
    tracemalloc.start()
    (refused,) = records(f"{archive}!keywords.tsv000")
    assert tracemalloc.get_traced_memory()[1] < 4 << 20
    tracemalloc.stop()
    assert refused["_line"] == 1 and "zip bomb" in refused["_error"] and "ingest.max_zip_ratio" in refused["_error"]
    assert records(f"{archive}!colors.tsv000", COLORS)[0]["hex"] == "1F3E42"
    small = ZipLimits(max_bytes=10)
    assert "ingest.max_member_bytes" in small.refusal(f"{archive}!colors.tsv000")
    assert ZipLimits().refusal(str(archive)) is None  # a plain file is never refused


def test_duplicated_and_empty_header_names_are_kept_apart_and_noted(tmp_path):
    path = write(tmp_path, "keywords.tsv000", "photo_id\tkeyword\t\tKeyword\textra\textra\n"
                                               "aaaaaaaaaaa\tsky\tx\tSKY\te1\te2\n")
    (row,) = records(path)
    assert row["keyword"] == "sky"
    assert row["extra_columns"] == [("(column 3)", "x"), ("Keyword(column 4)", "SKY"), ("extra", "e1"),
                                    ("extra(column 6)", "e2")]
    notes = header_notes(KEYWORDS, {str(path): ["photo_id", "keyword", "", "Keyword", "extra", "extra"]}, ZipLimits())
    assert "keywords.tsv000: column 3 has no name in the header; its values are kept in extra_columns as " \
           "'(column 3)'" in notes
    assert any("names 'Keyword' twice (columns 2 and 4)" in n for n in notes)
    assert any("names 'extra' twice (columns 5 and 6)" in n for n in notes)
