"""docs/lake.md documents every column of every lake table that schemas.py defines, with its type."""

import re

import pytest

from photolake.schemas import LAKE_TABLES
from tests.conftest import ROOT


def documented_tables() -> dict[str, dict[str, str]]:
    text = (ROOT / "docs" / "lake.md").read_text(encoding="utf-8")
    tables: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        heading = re.match(r"^###\s+(\S+)", line)
        if heading:
            current = tables.setdefault(heading.group(1), {})
            continue
        row = re.match(r"^\|\s*([a-z_0-9]+)\s*\|\s*([^|]+?)\s*\|", line)
        if current is not None and row and row.group(2) != "type":  # skip the header row
            current[row.group(1)] = row.group(2)
    return tables


@pytest.mark.parametrize("table", sorted(LAKE_TABLES))
def test_every_column_is_documented_with_its_type(table):
    docs = documented_tables()
    assert table in docs, f"docs/lake.md has no section for {table}"
    expected = {f.name: f.dataType.simpleString() for f in LAKE_TABLES[table].fields}
    assert docs[table] == expected
