"""A lake table's rows per photo or per user, for lookups: each row as the JSON text the answers print, in an
Arrow file sorted by the key, in small LZ4-compressed batches, memory-mapped; a lookup decompresses the one
batch (rarely two) that holds the key's rows and parses its rows' JSON.

Measured at 1M photos (bench/serve.py, docs/benchmarks.md): a photos row takes 0.09 ms, against 0.83 ms when
the file held the table's 37 columns (an Arrow batch decompresses and converts every column), and 6.4 ms in
DuckDB; the files are about as large (photos 172 MB against 142, image_metadata 234 against 256). A file is
written once per lake version, in the version's folder of the service's cache (photolake.serve.snapshot), and
opened again by a later service on the same version; its pages are the OS's file cache, shared by every service
that maps it.
"""

from __future__ import annotations

import json
import mmap
import threading
from dataclasses import dataclass, field

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.ipc as ipc

BATCH_ROWS = 64  # per compressed batch: a lookup's cost grows with it (512: 0.33 ms), the file shrinks (15%)
READ_ROWS = 65_536
# on threads, compressing batches this small took twice as long (1M photos: 2.0 s against 1.0 s for image_metadata)
WRITE_OPTIONS = ipc.IpcWriteOptions(compression="lz4", use_threads=False)
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
    """(``key``, row): every other column of each row as one JSON object, in the relation's order."""
    fields = ", ".join(f"'{c.replace(chr(39), chr(39) * 2)}': {_as_json(c, str(t))}"
                       for c, t in zip(relation.columns, relation.types) if c != key)
    return relation.select(f'"{key}", to_json({{{fields}}})::VARCHAR AS "row"')


def parsed(text: str) -> dict:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # a NaN inside a list or struct (to_json prints it bare): null, as answers do
        return json.loads(text, parse_constant=lambda _: None)


@dataclass(frozen=True)
class KeyedRows:
    """Rows sorted by an integer key 0..keys-1; key k's rows are ``starts[k]:starts[k + 1]``."""

    path: str
    mapped: mmap.mmap
    starts: np.ndarray
    batch_starts: np.ndarray  # the first row of each batch, and the row count last
    _readers: threading.local = field(default_factory=threading.local)  # one file reader per thread

    @classmethod
    def write(cls, relation: duckdb.DuckDBPyRelation, key: str, keys: int, path: str) -> KeyedRows:
        """``relation``'s rows, which must be sorted by ``key`` (an integer column with no NULLs), into the file
        ``path``. A lookup returns every column but the key, as the answers print them."""
        schema = pa.schema([pa.field("row", pa.string())])
        key_parts, batch_rows = [], []
        with open(path, "wb") as file, ipc.new_file(file, schema, options=WRITE_OPTIONS) as writer:
            for batch in rows_as_json(relation, key).to_arrow_reader(READ_ROWS):
                key_parts.append(batch.column(key).to_numpy())
                rows = pa.record_batch([batch.column("row").cast(pa.string())], schema=schema)
                for start in range(0, rows.num_rows, BATCH_ROWS):
                    part = rows.slice(start, BATCH_ROWS)
                    writer.write_batch(part)
                    batch_rows.append(part.num_rows)
        column = np.concatenate(key_parts) if key_parts else np.zeros(0, np.int64)
        return cls.open(path, np.searchsorted(column, np.arange(keys + 1)), np.cumsum([0, *batch_rows]))

    @classmethod
    def open(cls, path: str, starts: np.ndarray, batch_starts: np.ndarray) -> KeyedRows:
        """A file ``write`` made, with the key and batch positions it returned."""
        with open(path, "rb") as file:  # the mapping keeps the pages (even once the file is deleted)
            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        return cls(path, mapped, starts, batch_starts)

    @property
    def file_bytes(self) -> int:
        return len(self.mapped)

    def _reader(self) -> ipc.RecordBatchFileReader:
        reader = getattr(self._readers, "reader", None)
        if reader is None:
            reader = self._readers.reader = ipc.open_file(pa.py_buffer(self.mapped))
        return reader

    def of(self, key: int, limit: int | None = None) -> list[dict]:
        """Key ``key``'s rows (the first ``limit``), in the file's order, as dicts of column name -> value."""
        start, end = int(self.starts[key]), int(self.starts[key + 1])
        if limit is not None:
            end = min(end, start + limit)
        rows = []
        while start < end:
            at = int(np.searchsorted(self.batch_starts, start, side="right")) - 1
            stop = min(end, int(self.batch_starts[at + 1]))
            batch = self._reader().get_batch(at)
            rows += map(parsed, batch.column(0).slice(start - int(self.batch_starts[at]), stop - start).to_pylist())
            start = stop
        return rows

    def first(self, key: int) -> dict | None:
        rows = self.of(key, 1)
        return rows[0] if rows else None
