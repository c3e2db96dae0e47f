"""Reading one part of a release: quote-aware, multi-line, columns by header name.

Plain Python on a file (no Spark), run on the executors one part per task.  The release files are CSV with
a TAB delimiter (the official loader's reading): a quoted field may hold tabs, quotes and newlines, so a
record may span lines and ``wc -l`` is not the record count.  Each record keeps the line it starts on.
"""

from __future__ import annotations

import csv
import sys
from typing import Iterator

import pyarrow as pa

from photolake import storage
from photolake.schemas import DatasetTable

# A quoted field left open swallows the rest of the file: cap a field so such a part fails loudly per record.
MAX_FIELD_CHARS = 1 << 20
csv.field_size_limit(min(sys.maxsize, MAX_FIELD_CHARS))

RAW_VALUE_CHARS = 2000  # how much of a broken record the rejects keep
NO_HEADER = "part has no header line with known column names"

EXTRA_TYPE = pa.map_(pa.string(), pa.string())


class TsvDialect(csv.Dialect):
    delimiter = "\t"
    quotechar = '"'
    doublequote = True
    skipinitialspace = False
    lineterminator = "\n"
    quoting = csv.QUOTE_MINIMAL
    strict = False


def raw_arrow_schema(table: DatasetTable) -> pa.Schema:
    """What a part becomes before typing: every source column as text, plus where each record came from."""
    return pa.schema(
        [pa.field(name, pa.string()) for name in table.source_names]
        + [
            pa.field("extra_columns", EXTRA_TYPE),
            pa.field("_source_file", pa.string()),
            pa.field("_line", pa.int64()),
            pa.field("_error", pa.string()),
            pa.field("_raw", pa.string()),
        ]
    )


class _Batch:
    """Records collected column-wise until there are enough for one Arrow batch."""

    def __init__(self, table: DatasetTable, header: list[str], source: str):
        lookup = table.header_lookup()
        self.schema = raw_arrow_schema(table)
        self.source = source
        self.known: dict[str, int] = {}  # source column -> field position
        self.unknown: list[tuple[int, str]] = []  # (position, header name) kept in extra_columns
        for position, name in enumerate(header):
            column = lookup.get(name.strip().lower())
            if column and column not in self.known:
                self.known[column] = position
            else:
                self.unknown.append((position, name.strip()))
        self.width = len(header)
        self.names = table.source_names
        self.reset()

    def reset(self) -> None:
        self.rows: list[list[str]] = []
        self.lines: list[int] = []
        self.errors: list[str | None] = []
        self.raws: list[str | None] = []

    def add(self, fields: list[str], line: int) -> None:
        if len(fields) == self.width:
            self._append(fields, line, None, None)
        else:
            few_or_many = "too few" if len(fields) < self.width else "too many"
            self.add_broken(fields, line, f"{few_or_many} fields: {len(fields)} of {self.width}")

    def add_broken(self, fields: list[str], line: int, error: str) -> None:
        self._append(fields, line, error, "\t".join(fields)[:RAW_VALUE_CHARS])

    def _append(self, fields: list[str], line: int, error: str | None, raw: str | None) -> None:
        self.rows.append(fields)
        self.lines.append(line)
        self.errors.append(error)
        self.raws.append(raw)

    def __len__(self) -> int:
        return len(self.rows)

    def to_arrow(self) -> pa.RecordBatch:
        count = len(self.rows)
        columns = []
        for name in self.names:
            position = self.known.get(name)
            if position is None:
                columns.append(pa.nulls(count, pa.string()))
            else:
                columns.append(pa.array([r[position] if position < len(r) else None for r in self.rows],
                                        pa.string()))
        if self.unknown:
            extra = [[(name, r[pos]) for pos, name in self.unknown if pos < len(r)] for r in self.rows]
        else:
            extra = [None] * count
        columns += [
            pa.array(extra, EXTRA_TYPE),
            pa.array([self.source] * count, pa.string()),
            pa.array(self.lines, pa.int64()),
            pa.array(self.errors, pa.string()),
            pa.array(self.raws, pa.string()),
        ]
        batch = pa.RecordBatch.from_arrays(columns, schema=self.schema)
        self.reset()
        return batch


def read_part(path: str, table: DatasetTable, batch_rows: int = 50_000) -> Iterator[pa.RecordBatch]:
    """Arrow batches of one part's records, in file order; a broken record carries ``_error`` and ``_raw``."""
    with storage.open_text(path) as text:
        reader = csv.reader(text, TsvDialect)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            header = []
            first_error = str(exc)
        else:
            first_error = None
        batch = _Batch(table, header, path)
        headerless = not batch.known
        if headerless:
            batch.add_broken(header, 1, first_error or NO_HEADER)
        last_line = reader.line_num
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                batch.add_broken([], last_line + 1, f"malformed record: {exc}")
                last_line = reader.line_num
                continue
            start, last_line = last_line + 1, reader.line_num
            if not fields:  # a blank line is no record
                continue
            if headerless:
                batch.add_broken(fields, start, NO_HEADER)
            else:
                batch.add(fields, start)
            if len(batch) >= batch_rows:
                yield batch.to_arrow()
        if len(batch):
            yield batch.to_arrow()
