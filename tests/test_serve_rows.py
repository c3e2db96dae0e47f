"""serve.rows: a table's rows per key in a memory-mapped, compressed Arrow file, against the same rows in DuckDB."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import duckdb
import pytest

from photolake.serve.rows import BATCH_ROWS, READ_ROWS, KeyedRows


@pytest.fixture()
def con():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # keys 0..9, none for 3 and 9 (the last), three rows for 5; a map, a list of structs, a timestamp
    con.execute("""
        CREATE TABLE t AS SELECT k, n, 'row ' || n AS label, MAP {'Make': 'Canon', 'n': n::VARCHAR} AS exif,
               [{'hex': '#00000' || (n % 10)::VARCHAR, 'share': 0.5}] AS palette,
               TIMESTAMPTZ '2020-01-01 00:00:00+00' + to_days(n::INTEGER) AS at
        FROM (VALUES (0, 0), (1, 1), (2, 2), (4, 3), (5, 4), (5, 5), (5, 6), (6, 7), (7, 8), (8, 9)) v(k, n)""")
    return con


def test_rows_per_key_are_duckdbs_rows(con, tmp_path):
    rows = KeyedRows.write(con.sql("SELECT * FROM t ORDER BY k, n"), "k", 10, str(tmp_path / "t.arrow"))
    for key in range(10):
        cursor = con.execute("SELECT * EXCLUDE (k) FROM t WHERE k = ? ORDER BY n", [key])
        names = [d[0] for d in cursor.description]
        assert rows.of(key) == [dict(zip(names, row)) for row in cursor.fetchall()], key
    assert rows.first(3) is None and rows.of(9) == [] and rows.of(3) == []
    assert [r["n"] for r in rows.of(5)] == [4, 5, 6] and [r["n"] for r in rows.of(5, limit=2)] == [4, 5]
    assert rows.first(5) == rows.of(5)[0]
    assert rows.first(0) == {"n": 0, "label": "row 0", "exif": {"Make": "Canon", "n": "0"},
                             "palette": [{"hex": "#000000", "share": 0.5}],
                             "at": datetime(2020, 1, 1, tzinfo=timezone.utc)}


def test_the_file_is_compressed_and_opens_again(tmp_path):
    con = duckdb.connect()
    relation = con.sql("SELECT (i // 10)::INTEGER AS k, 'the same words ' || (i % 7)::VARCHAR AS text "
                       "FROM range(100000) r(i) ORDER BY i")
    rows = KeyedRows.write(relation, "k", 10_000, str(tmp_path / "t.arrow"))
    assert os.listdir(tmp_path) == ["t.arrow"] and rows.file_bytes == os.path.getsize(tmp_path / "t.arrow")
    raw = relation.to_arrow_table().drop_columns(["k"]).nbytes
    assert rows.file_bytes < raw / 4, (rows.file_bytes, raw)
    again = KeyedRows.open(str(tmp_path / "t.arrow"), rows.starts, rows.batch_starts)
    assert again.of(1234)[3] == rows.of(1234)[3] == {"text": f"the same words {12343 % 7}"}


def test_lookups_from_many_threads(con, tmp_path):
    rows = KeyedRows.write(con.sql("SELECT * FROM t ORDER BY k, n"), "k", 10, str(tmp_path / "t.arrow"))
    expected = [rows.of(key) for key in range(10)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: rows.of(n % 10), range(2000)))
    assert answers == [expected[n % 10] for n in range(2000)]


def test_keys_across_batches(tmp_path):
    con = duckdb.connect()
    count = 2 * READ_ROWS + 7
    relation = con.sql(f"SELECT (i // 3)::INTEGER AS k, i FROM range({count}) r(i) ORDER BY i")
    rows = KeyedRows.write(relation, "k", count // 3 + 1, str(tmp_path / "t.arrow"))
    assert rows.batch_starts[-1] == count and len(rows.batch_starts) > 2 * READ_ROWS // BATCH_ROWS
    for boundary in (BATCH_ROWS, READ_ROWS):  # a key whose rows start in one batch and end in the next
        key = boundary // 3
        assert [r["i"] for r in rows.of(key)] == [3 * key, 3 * key + 1, 3 * key + 2]
        assert [r["i"] for r in rows.of(key, limit=2)] == [3 * key, 3 * key + 1]
    assert [r["i"] for r in rows.of(count // 3)] == list(range(count - count % 3, count))
