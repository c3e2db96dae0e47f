"""Reading one part of a release: quote-aware, multi-line, columns by header name, memory bounded.

Plain Python on a file (no Spark), run on the executors one part per task.  The release files are CSV with
a TAB delimiter (the official loader's reading): a quoted field may hold tabs, quotes and newlines, so a
record may span lines and ``wc -l`` is not the record count.  Each record keeps the line it starts on.

Hostile parts stay cheap: a zip member beyond the size or ratio limits is refused unread (one rejected
record), a line longer than ``MAX_LINE_CHARS`` is skipped as a broken record without being held whole, and
bytes that are not UTF-8 are kept as U+FFFD with a value reject that says where they were.
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass
from typing import Iterator

import pyarrow as pa

from photolake import storage
from photolake.schemas import DatasetTable

# A quoted field left open swallows the rest of the file: cap a field so such a part fails loudly per record.
MAX_FIELD_CHARS = 1 << 20
csv.field_size_limit(min(sys.maxsize, MAX_FIELD_CHARS))
MAX_LINE_CHARS = 4 << 20  # a physical line; real ones are a few kB

RAW_VALUE_CHARS = 2000  # how much of a broken record the rejects keep
NO_HEADER = "part has no header line with known column names"
BAD_UTF8 = "invalid UTF-8"

EXTRA_TYPE = pa.map_(pa.string(), pa.string())
VALUE_REJECT_ARROW = pa.list_(pa.struct([("column", pa.string()), ("raw_value", pa.string()),
                                         ("reason", pa.string())]))
_UNDECODED = re.compile("[\udc80-\udcff]+")  # what surrogateescape makes of bytes that are not UTF-8


class TsvDialect(csv.Dialect):
    delimiter = "\t"
    quotechar = '"'
    doublequote = True
    skipinitialspace = False
    lineterminator = "\n"
    quoting = csv.QUOTE_MINIMAL
    strict = False


@dataclass(frozen=True)
class ZipLimits:
    """What a zip member may be before it is read: uncompressed bytes, and uncompressed/compressed ratio."""

    max_bytes: int = 100 * 2**30
    max_ratio: float = 200.0

    def refusal(self, path: str) -> str | None:
        """Why the part at ``path`` is not read, or None (plain files are never refused)."""
        sizes = storage.zip_member_size(path)
        if sizes is None:
            return None
        size, packed = sizes
        ratio = size / max(packed, 1)
        if size > self.max_bytes:
            return (f"zip member of {size:,} bytes uncompressed, over ingest.max_member_bytes "
                    f"({self.max_bytes:,}): not read")
        if ratio > self.max_ratio:
            return (f"zip member expands {ratio:,.0f}:1 ({packed:,} -> {size:,} bytes), over ingest.max_zip_ratio "
                    f"({self.max_ratio:g}:1), as a zip bomb does: not read")
        return None


class LineTooLong(csv.Error):
    pass


class BoundedLines:
    """The lines of a text stream for csv.reader, none held longer than ``limit`` characters: a longer one
    is read past in pieces and raises LineTooLong (the csv reader goes on with the next line).  Counts the
    lines and remembers the ones that hold undecodable bytes."""

    def __init__(self, text, limit: int = MAX_LINE_CHARS):
        self.text, self.limit = text, limit
        self.line = 0
        self.undecoded: set[int] = set()  # since the caller last cleared it

    def __iter__(self) -> "BoundedLines":
        return self

    def __next__(self) -> str:
        line = self.text.readline(self.limit + 1)
        if not line:
            raise StopIteration
        self.line += 1
        if len(line) > self.limit and not line.endswith("\n"):
            while line and not line.endswith("\n"):
                line = self.text.readline(self.limit)
            raise LineTooLong(f"line {self.line} is longer than {self.limit:,} characters: skipped")
        if not line.isascii() and _UNDECODED.search(line):
            self.undecoded.add(self.line)
        return line


def shown(text: str) -> str:
    """Text with undecodable bytes written as \\xNN, for error messages and raw values."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") if _UNDECODED.search(text) \
        else text


def decoded(column: str, value: str) -> tuple[str, dict | None]:
    """A field's value with undecodable bytes as U+FFFD, and the value reject saying where they were."""
    found = list(_UNDECODED.finditer(value))
    if not found:
        return value, None
    first = found[0]
    position = len(value[:first.start()].encode("utf-8", "surrogateescape"))
    bad = value[first.start():first.end()].encode("utf-8", "surrogateescape")
    more = f" and {len(found) - 1} more place(s)" if len(found) > 1 else ""
    return _UNDECODED.sub("\ufffd", value), {
        "column": column, "raw_value": shown(value)[:RAW_VALUE_CHARS],
        "reason": f"{BAD_UTF8}: byte(s) {bad.hex(' ')} at byte {position} of the value{more}; kept as U+FFFD"}


def raw_arrow_schema(table: DatasetTable) -> pa.Schema:
    """What a part becomes before typing: every source column as text, plus where each record came from
    and the values whose bytes were not UTF-8."""
    return pa.schema(
        [pa.field(name, pa.string()) for name in table.source_names]
        + [
            pa.field("extra_columns", EXTRA_TYPE),
            pa.field("_source_file", pa.string()),
            pa.field("_line", pa.int64()),
            pa.field("_error", pa.string()),
            pa.field("_raw", pa.string()),
            pa.field("_undecoded", VALUE_REJECT_ARROW),
        ]
    )


def header_columns(table: DatasetTable, header: list[str]) -> tuple[dict[str, int], list[tuple[int, str]]]:
    """Where each known column is in a header (its first mention), and the rest as (position, key in
    extra_columns): a name used twice, or empty, gets its column number so every key is distinct."""
    lookup = table.header_lookup()
    known: dict[str, int] = {}
    unknown: list[tuple[int, str]] = []
    used: set[str] = set()
    for position, raw_name in enumerate(header):
        name = shown(raw_name.strip())
        column = lookup.get(name.lower())
        if column and column not in known:
            known[column] = position
            continue
        key = name if name and name not in used and not column else f"{name}(column {position + 1})"
        used.add(key)
        unknown.append((position, key))
    return known, unknown


class _Batch:
    """Records collected column-wise until there are enough for one Arrow batch."""

    def __init__(self, table: DatasetTable, header: list[str], source: str):
        self.schema = raw_arrow_schema(table)
        self.source = source
        self.known, self.unknown = header_columns(table, header)
        self.column_names = {position: name for name, position in self.known.items()}
        self.column_names.update(self.unknown)
        self.width = len(header)
        self.names = table.source_names
        self.reset()

    def reset(self) -> None:
        self.rows: list[list[str]] = []
        self.lines: list[int] = []
        self.errors: list[str | None] = []
        self.raws: list[str | None] = []
        self.undecoded: list[list[dict] | None] = []

    def add(self, fields: list[str], line: int, undecoded: bool = False) -> None:
        if len(fields) != self.width:
            few_or_many = "too few" if len(fields) < self.width else "too many"
            self.add_broken(fields, line, f"{few_or_many} fields: {len(fields)} of {self.width}")
            return
        rejects = None
        if undecoded:
            rejects = []
            for position, value in enumerate(fields):
                fields[position], reject = decoded(self.column_names[position], value)
                if reject:
                    rejects.append(reject)
        self._append(fields, line, None, None, rejects or None)

    def add_broken(self, fields: list[str], line: int, error: str) -> None:
        fields = [shown(f) for f in fields]
        self._append(fields, line, error, "\t".join(fields)[:RAW_VALUE_CHARS], None)

    def _append(self, fields: list[str], line: int, error: str | None, raw: str | None,
                undecoded: list[dict] | None) -> None:
        self.rows.append(fields)
        self.lines.append(line)
        self.errors.append(error)
        self.raws.append(raw)
        self.undecoded.append(undecoded)

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
            pa.array(self.undecoded, VALUE_REJECT_ARROW),
        ]
        batch = pa.RecordBatch.from_arrays(columns, schema=self.schema)
        self.reset()
        return batch


def read_part(path: str, table: DatasetTable, batch_rows: int = 50_000,
              limits: ZipLimits = ZipLimits()) -> Iterator[pa.RecordBatch]:
    """Arrow batches of one part's records, in file order; a broken record carries ``_error`` and ``_raw``."""
    refusal = limits.refusal(path)
    if refusal:
        batch = _Batch(table, [], path)
        batch.add_broken([], 1, refusal)
        yield batch.to_arrow()
        return
    with storage.open_text(path) as text:
        lines = BoundedLines(text)
        reader = csv.reader(lines, TsvDialect)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            header = []
            first_error = str(exc)
        else:
            first_error = None
        lines.undecoded.clear()  # the header's names are shown with their bytes, never loaded as values
        batch = _Batch(table, header, path)
        headerless = not batch.known
        if headerless:
            batch.add_broken(header, 1, first_error or NO_HEADER)
        last_line = lines.line
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                batch.add_broken([], last_line + 1, f"malformed record: {exc}")
                last_line = lines.line
                continue
            start, last_line = last_line + 1, lines.line
            undecoded = bool(lines.undecoded)  # csv.reader reads no further than the record's own lines
            lines.undecoded.clear()
            if not fields:  # a blank line is no record
                continue
            if headerless:
                batch.add_broken(fields, start, NO_HEADER)
            else:
                batch.add(fields, start, undecoded)
            if len(batch) >= batch_rows:
                yield batch.to_arrow()
        if len(batch):
            yield batch.to_arrow()
