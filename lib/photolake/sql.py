"""Printing query results for people (an aligned table) and programs (CSV, JSON lines)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TextIO

from pyspark.errors import AnalysisException, ParseException
from pyspark.sql import DataFrame, SparkSession

from photolake import lake
from photolake.errors import PhotolakeError


def read_statements(queries: list[str], file: str | None) -> list[tuple[str | None, str]]:
    """(title, statement) pairs: the queries given, then the statements of ``file``."""
    statements = [(None, q) for q in queries]
    if file:
        try:
            statements += split_statements(Path(file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise PhotolakeError(f"--sql/--file {file}: {exc}") from None
    return statements


def run_statements(spark: SparkSession, lake_dir: str, statements: list[tuple[str | None, str]], fmt: str,
                   out: TextIO, max_rows: int = 1000) -> None:
    """Each statement over the lake's views, its result written to ``out``; with several, each under its title.
    A table of the lake's contract that the lake does not have yet reads as empty."""
    views = lake.register_views(spark, lake_dir, empty_for_missing=True)
    for n, (title, statement) in enumerate(statements):
        if len(statements) > 1 and fmt == "table":
            out.write(f"{chr(10) if n else ''}-- {title or statement.splitlines()[0][:100]}\n")
            out.flush()
        try:
            result = spark.sql(statement)
        except (AnalysisException, ParseException) as exc:
            raise PhotolakeError(f"{exc.getMessage().splitlines()[0]} (tables in {lake_dir}: "
                                 f"{', '.join(views) or 'none'})") from None
        write_result(result, fmt, out, max_rows)


def split_statements(text: str) -> list[tuple[str | None, str]]:
    """A script's statements, split at semicolons outside quotes and comments, each with its title: the
    text of the ``--`` comment lines just before it (None when there are none)."""
    statements, title, current, quote = [], [], [], None
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            current.append(char)
            if char == quote:
                quote = None
        elif char in "'\"`":
            quote = char
            current.append(char)
        elif text.startswith("--", i):
            end = text.find("\n", i)
            end = len(text) if end == -1 else end
            if not "".join(current).strip():
                title.append(text[i + 2:end].strip())
            i = end
            continue
        elif char == ";":
            _add(statements, title, current)
            title, current = [], []
        else:
            current.append(char)
        i += 1
    _add(statements, title, current)
    return statements


def _add(statements: list, title: list[str], current: list[str]) -> None:
    statement = "".join(current).strip()
    if statement:
        statements.append((" ".join(t for t in title if t) or None, statement))


def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "asDict"):
        return _plain(value.asDict(recursive=True))
    return value


def write_result(df: DataFrame, fmt: str, out: TextIO, max_rows: int = 1000) -> int:
    """Write a query's rows in ``fmt`` (table, csv, json); returns the number of rows written."""
    columns = df.columns
    if fmt == "table":
        rows = df.limit(max_rows + 1).collect()
        shown = [[("NULL" if v is None else str(_plain(v))) for v in row] for row in rows[:max_rows]]
        widths = [max([len(c)] + [len(r[i]) for r in shown]) for i, c in enumerate(columns)]
        out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
        out.write("  ".join("-" * w for w in widths) + "\n")
        for r in shown:
            out.write("  ".join(v.replace("\n", "\\n").ljust(w) for v, w in zip(r, widths)).rstrip() + "\n")
        more = " (more not shown: use --max-rows or --format csv)" if len(rows) > max_rows else ""
        out.write(f"({len(shown)} row{'s' if len(shown) != 1 else ''}){more}\n")
        return len(shown)
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in df.toLocalIterator():
            writer.writerow([json.dumps(_plain(v), default=str, ensure_ascii=False)
                             if isinstance(v, (list, dict)) or hasattr(v, "asDict") else v for v in row])
            count += 1
    elif fmt == "json":
        for row in df.toLocalIterator():
            out.write(json.dumps(_plain(row.asDict(recursive=True)), default=str, ensure_ascii=False) + "\n")
            count += 1
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return count
