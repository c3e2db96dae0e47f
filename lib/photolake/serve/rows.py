"""A lake table's rows per photo or per user, for lookups: each row as a JSON array of the values the answers
print (the column names are kept once, beside the file), in a file sorted by the key (or, for a table of one
row per key, in the order read, with where each key's row went), in batches of 64 rows, each one LZ4 block of
its rows' texts one after another (where each row ends in its batch is kept beside the file); the file is
memory-mapped, and a lookup decompresses the one batch (rarely two) that holds the key's rows and parses its
rows' JSON.

Measured at 1M photos (docs/benchmarks.md): a photos row takes 0.015-0.019 ms and a downloads row 0.01,
against 0.072 and 0.02 when a lookup split its batch into lines, 0.116 and 0.101 when each batch was an Arrow
record batch in an Arrow IPC file (its reader's per-batch cost), 0.83 ms when the file held the table's 37
columns, and 6.4 ms in DuckDB; photos take 112 MB, image_metadata 77 MB (its palettes are Arrow arrays:
photolake.serve.store). A file is written once per lake version, in the version's folder of the service's
cache (photolake.serve.snapshot), and opened again by a later service on the same version; its pages are the
OS's file cache, shared by every service that maps it.
"""

from __future__ import annotations

import json
import mmap
import os
from dataclasses import dataclass

import duckdb
import numpy as np
import orjson
import pyarrow as pa

BATCH_ROWS = 64  # per compressed batch: a lookup's cost grows with it (512: 0.33 ms), the file shrinks (15%)
READ_ROWS = 65_536
CODEC = pa.Codec("lz4_raw")  # LZ4 blocks: a batch of photos rows decompresses in a few microseconds
# orjson's forms of the values DuckDB's to_json would print otherwise: ISO timestamps in UTC (microseconds only
# when there are some), and null for NaN and infinity, which are not JSON
_ISO = "%Y-%m-%dT%H:%M:%S"
_FLOATS = ("DOUBLE", "FLOAT")


def _as_json(column: str, type_: str) -> str:
    quoted = '"' + column.replace('"', '""') + '"'
    if type_.startswith("TIMESTAMP"):
        utc = f"timezone('UTC', {quoted})" if "TIME ZONE" in type_ else f"{quoted}::TIMESTAMP"
        return (f"CASE WHEN microsecond({utc}) % 1000000 = 0 THEN strftime({utc}, '{_ISO}+00:00') "
                f"ELSE strftime({utc}, '{_ISO}.%f+00:00') END")
    if type_ in _FLOATS:
        return f"CASE WHEN isfinite({quoted}) THEN {quoted} END"
    return quoted


def rows_as_json(relation: duckdb.DuckDBPyRelation, key: str) -> duckdb.DuckDBPyRelation:
    """(``key``, row): every other column's value of each row in one JSON array, in the relation's order. An
    array, not an object: without the names a photos row is a third of the text (373 MB against 1,105 at 1M
    photos), and DuckDB makes it in half the time."""
    values = ", ".join(_as_json(c, str(t)) for c, t in zip(relation.columns, relation.types) if c != key)
    return relation.select(f'"{key}", json_array({values})::VARCHAR AS "row"')


def parsed(text: bytes) -> list:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # a NaN inside a list or struct (DuckDB prints it bare): null, as answers do
        return json.loads(text, parse_constant=lambda _: None)


@dataclass(frozen=True)
class KeyedRows:
    """Rows of an integer key 0..keys-1. In key order, key k's rows are ``starts[k]:starts[k + 1]``: the file's
    rows themselves, or, when the file is in the order it was read, those entries of ``places`` (where each
    row is in the file). The file is the batches one after another, each the LZ4 block of its rows' JSON
    texts one after another."""

    path: str
    columns: tuple[str, ...]  # the names of a row's values
    mapped: mmap.mmap
    starts: np.ndarray
    batch_starts: np.ndarray  # the first row of each batch, and the row count last
    offsets: np.ndarray  # where each batch begins in the file, and the file's size last
    # where each row's text ends in its batch once decompressed: one row is sliced out of the batch (splitting
    # a batch of 64 photos rows into lines took 43 us, four times its decompression)
    ends: np.ndarray
    places: np.ndarray | None = None  # None: the file is in key order

    @classmethod
    def write(cls, relation: duckdb.DuckDBPyRelation, key: str, keys: int, path: str,
              in_key_order: bool = True) -> KeyedRows:
        """``relation``'s rows into the file ``path``: sorted by ``key`` (an integer column with no NULLs), a key's
        rows in the order they come; or, with ``in_key_order=False``, in any order (a key's rows then come in the
        order they were read), which spares DuckDB a sort of the whole table (a second a table of 1M photo rows;
        made for tables of one row per key). A lookup returns every column but the key, as the answers print
        them."""
        key_parts, end_parts, batch_rows, offsets = [], [], [], [0]
        with open(path, "wb") as file:
            for batch in rows_as_json(relation, key).to_arrow_reader(READ_ROWS):
                key_parts.append(batch.column(key).to_numpy())
                texts = batch.column("row").cast(pa.large_string())
                ends = np.frombuffer(texts.buffers()[1], np.int64)[texts.offset:texts.offset + len(texts) + 1]
                data = memoryview(texts.buffers()[2])
                for start in range(0, len(texts), BATCH_ROWS):
                    stop = min(start + BATCH_ROWS, len(texts))
                    # a contiguous slice of Arrow's text buffer: no copy
                    packed = CODEC.compress(data[ends[start]:ends[stop]], asbytes=True)
                    file.write(packed)
                    offsets.append(offsets[-1] + len(packed))
                    end_parts.append((ends[start + 1:stop + 1] - ends[start]).astype(np.uint32))
                    batch_rows.append(stop - start)
        column = np.concatenate(key_parts) if key_parts else np.zeros(0, np.int64)
        places = None
        if not in_key_order:
            places = np.argsort(column, kind="stable")
            column = column[places]
        columns = tuple(c for c in relation.columns if c != key)
        return cls.open(path, columns, np.searchsorted(column, np.arange(keys + 1)), np.cumsum([0, *batch_rows]),
                        np.array(offsets, np.int64),
                        np.concatenate(end_parts) if end_parts else np.zeros(0, np.uint32), places)

    @classmethod
    def open(cls, path: str, columns: tuple[str, ...], starts: np.ndarray, batch_starts: np.ndarray,
             offsets: np.ndarray, ends: np.ndarray, places: np.ndarray | None = None) -> KeyedRows:
        """A file ``write`` made, with the positions it returned."""
        with open(path, "rb") as file:  # the mapping keeps the pages (even once the file is deleted)
            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) if os.fstat(file.fileno()).st_size \
                else b""
        return cls(path, tuple(columns), mapped, starts, batch_starts, offsets, ends, places)

    @property
    def file_bytes(self) -> int:
        return len(self.mapped)

    def of(self, key: int, limit: int | None = None) -> list[dict]:
        """Key ``key``'s rows (the first ``limit``), in the file's order, as dicts of column name -> value."""
        start, end = int(self.starts[key]), int(self.starts[key + 1])
        if limit is not None:
            end = min(end, start + limit)
        rows, first, stop, block, bounds = [], 0, 0, b"", []
        for place in range(start, end) if self.places is None else self.places[start:end].tolist():
            if not first <= place < stop:  # in another batch: decompress that one
                at = int(np.searchsorted(self.batch_starts, place, side="right")) - 1
                first, stop = int(self.batch_starts[at]), int(self.batch_starts[at + 1])
                bounds = [0, *self.ends[first:stop].tolist()]
                block = CODEC.decompress(memoryview(self.mapped)[self.offsets[at]:self.offsets[at + 1]],
                                         bounds[-1], asbytes=True)
            rows.append(dict(zip(self.columns, parsed(block[bounds[place - first]:bounds[place - first + 1]]))))
        return rows

    def first(self, key: int) -> dict | None:
        rows = self.of(key, 1)
        return rows[0] if rows else None
