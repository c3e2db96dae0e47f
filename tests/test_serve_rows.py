"""serve.rows: a table's rows per key in a memory-mapped, compressed file, against the same rows in DuckDB."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import duckdb
import orjson
import pytest

from photolake.serve.rows import BATCH_ROWS, READ_ROWS, KeyedRows


@pytest.fixture()
def con():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Europe/Berlin'")  # the rows are in UTC whatever the session's zone
    # keys 0..9, none for 3 and 9 (the last), three rows for 5; a map, a list of structs, timestamps (zoned, with
    # microseconds on some, and plain), doubles with NaN and infinity (in a struct too), a float, a NULL, a line break
    con.execute("""
        CREATE TABLE t AS SELECT k, n, 'row ' || n AS label, MAP {'Make': 'Canon', 'n': n::VARCHAR} AS exif,
               [{'hex': '#00000' || (n % 10)::VARCHAR, 'share': CASE WHEN n = 7 THEN 'nan'::DOUBLE ELSE 0.5 END}]
                   AS palette,
               TIMESTAMPTZ '2020-01-01 00:00:00+00' + to_days(n::INTEGER) + to_microseconds(n % 2 * 250) AS at,
               TIMESTAMP '2021-06-01 12:30:00' AS plain_at,
               CASE n WHEN 1 THEN 'nan'::DOUBLE WHEN 2 THEN 'inf'::DOUBLE ELSE n / 4 END AS ratio,
               (n / 10)::FLOAT AS small, CASE WHEN n > 5 THEN 'x' || chr(10) || 'ü"' END AS maybe
        FROM (VALUES (0, 0), (1, 1), (2, 2), (4, 3), (5, 4), (5, 5), (5, 6), (6, 7), (7, 8), (8, 9)) v(k, n)""")
    return con


def as_answers_print(row: dict) -> dict:
    """A row as the service's answers print it (photolake.serve.app._json; times in UTC), read back."""
    row = {k: v.astimezone(timezone.utc) if isinstance(v, datetime) and v.tzinfo else v for k, v in row.items()}
    return orjson.loads(orjson.dumps(row, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_NAIVE_UTC))


def test_rows_per_key_are_duckdbs_rows_as_the_answers_print_them(con, tmp_path):
    rows = KeyedRows.write(con.sql("SELECT * FROM t ORDER BY k, n"), "k", 10, str(tmp_path / "t.rows"))
    for key in range(10):
        cursor = con.execute("SELECT * EXCLUDE (k) FROM t WHERE k = ? ORDER BY n", [key])
        names = [d[0] for d in cursor.description]
        assert rows.of(key) == [as_answers_print(dict(zip(names, row))) for row in cursor.fetchall()], key
    assert rows.first(3) is None and rows.of(9) == [] and rows.of(3) == []
    assert [r["n"] for r in rows.of(5)] == [4, 5, 6] and [r["n"] for r in rows.of(5, limit=2)] == [4, 5]
    assert rows.first(5) == rows.of(5)[0]
    assert rows.first(0) == {"n": 0, "label": "row 0", "exif": {"Make": "Canon", "n": "0"},
                             "palette": [{"hex": "#000000", "share": 0.5}], "at": "2020-01-01T00:00:00+00:00",
                             "plain_at": "2021-06-01T12:30:00+00:00", "ratio": 0.0, "small": 0.0, "maybe": None}
    assert rows.first(1)["at"] == "2020-01-02T00:00:00.000250+00:00" and rows.first(1)["ratio"] is None
    assert rows.first(2)["ratio"] is None and rows.first(6)["palette"] == [{"hex": "#000007", "share": None}]
    assert rows.first(6)["maybe"] == 'x\nü"'


def test_a_table_with_no_rows(con, tmp_path):
    rows = KeyedRows.write(con.sql("SELECT * FROM t WHERE k < 0"), "k", 3, str(tmp_path / "t.rows"))
    assert [rows.of(key) for key in range(3)] == [[], [], []] and rows.first(2) is None and rows.file_bytes == 0


def test_the_file_is_compressed_and_opens_again(tmp_path):
    con = duckdb.connect()
    # rows of about the size of a photo's (a few hundred bytes and up)
    relation = con.sql("SELECT (i // 10)::INTEGER AS k, repeat('the same words ', 20) || (i % 7)::VARCHAR AS text "
                       "FROM range(100000) r(i) ORDER BY i")
    rows = KeyedRows.write(relation, "k", 10_000, str(tmp_path / "t.rows"))
    assert os.listdir(tmp_path) == ["t.rows"] and rows.file_bytes == os.path.getsize(tmp_path / "t.rows")
    raw = relation.to_arrow_table().drop_columns(["k"]).nbytes
    assert rows.file_bytes < raw / 4, (rows.file_bytes, raw)
    again = KeyedRows.open(str(tmp_path / "t.rows"), rows.columns, rows.starts, rows.batch_starts, rows.offsets,
                           rows.ends)
    assert again.of(1234)[3] == rows.of(1234)[3] == {"text": "the same words " * 20 + str(12343 % 7)}


def test_lookups_from_many_threads(con, tmp_path):
    rows = KeyedRows.write(con.sql("SELECT * FROM t ORDER BY k, n"), "k", 10, str(tmp_path / "t.rows"))
    expected = [rows.of(key) for key in range(10)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: rows.of(n % 10), range(2000)))
    assert answers == [expected[n % 10] for n in range(2000)]


def test_keys_across_batches(tmp_path):
    con = duckdb.connect()
    count = 2 * READ_ROWS + 7
    relation = con.sql(f"SELECT (i // 3)::INTEGER AS k, i FROM range({count}) r(i) ORDER BY i")
    rows = KeyedRows.write(relation, "k", count // 3 + 1, str(tmp_path / "t.rows"))
    assert rows.batch_starts[-1] == count and len(rows.batch_starts) > 2 * READ_ROWS // BATCH_ROWS
    for boundary in (BATCH_ROWS, READ_ROWS):  # a key whose rows start in one batch and end in the next
        key = boundary // 3
        assert [r["i"] for r in rows.of(key)] == [3 * key, 3 * key + 1, 3 * key + 2]
        assert [r["i"] for r in rows.of(key, limit=2)] == [3 * key, 3 * key + 1]
    assert [r["i"] for r in rows.of(count // 3)] == list(range(count - count % 3, count))


def test_rows_written_in_the_order_read(tmp_path):
    con = duckdb.connect()
    # keys 0..999 shuffled, none for multiples of 7, two rows for 500 (the second read second), across batches
    relation = con.sql("SELECT k, 'row ' || k AS label FROM (SELECT (i * 7919) % 1000 AS k, i FROM range(1000) r(i)) "
                       "WHERE k % 7 <> 0 UNION ALL SELECT 500, 'again' ORDER BY hash(k), label DESC")
    read = [row[0] for row in relation.fetchall()]
    rows = KeyedRows.write(relation, "k", 1000, str(tmp_path / "t.rows"), in_key_order=False)
    assert sorted(read) == sorted([*(k for k in range(1000) if k % 7), 500]) and read != sorted(read)
    for key in range(1000):
        if key == 500:
            assert rows.of(key) == [{"label": "row 500"}, {"label": "again"}]
            assert rows.first(key) == {"label": "row 500"}
        else:
            assert rows.of(key) == ([] if key % 7 == 0 else [{"label": f"row {key}"}]), key
    again = KeyedRows.open(rows.path, rows.columns, rows.starts, rows.batch_starts, rows.offsets, rows.ends,
                           rows.places)
    assert again.of(999) == [{"label": "row 999"}] and again.of(7) == []
