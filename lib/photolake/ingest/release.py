"""Finding a release's tables: every part ``{table}.{tsv,csv}NNN`` in a directory or a release zip."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from photolake import storage
from photolake.errors import DatasetNotFound
from photolake.schemas import DATASET_TABLES

PART_NAME = re.compile(r"^(?P<table>[a-z_]+)\.(?:tsv|csv)(?P<part>\d*)$", re.IGNORECASE)

WHERE_TO_GET = ("download the Unsplash dataset from https://unsplash.com/data (Lite: "
                "unsplash-research-dataset-lite-latest.zip, or ask Unsplash for Full), and pass its folder or zip "
                "with --dataset; or make a sample release with ./spark-submit.sh sample --out DIR")


@dataclass(frozen=True)
class Release:
    location: str
    parts: dict[str, list[str]]  # table -> part paths in part order

    @property
    def tables(self) -> list[str]:
        return [t for t in DATASET_TABLES if t in self.parts]

    def only(self, tables: list[str]) -> "Release":
        """The same release restricted to ``tables``."""
        missing = [t for t in tables if t not in self.parts]
        if missing:
            raise DatasetNotFound(f"no {', '.join(missing)} table in {self.location}; it has: {', '.join(self.tables)}")
        return Release(self.location, {t: self.parts[t] for t in tables})


def _group_parts(paths: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[tuple[int, str]]] = {}
    for path in paths:
        name = posixpath.basename(path.replace(storage.ZIP_SEPARATOR, "/"))
        match = PART_NAME.match(name)
        if match and match["table"].lower() in DATASET_TABLES:
            found.setdefault(match["table"].lower(), []).append((int(match["part"] or 0), path))
    return {table: [p for _, p in sorted(parts)] for table, parts in found.items()}


def find_release(location: str) -> Release:
    """The release at a folder (or one folder below it, as an unzipped release often is) or in a zip."""
    location = storage.absolute(location)
    if not storage.exists(location):
        raise DatasetNotFound(f"dataset not found at {location}: {WHERE_TO_GET}")
    if location.lower().endswith(".zip") and not storage.is_dir(location):
        parts = _group_parts(storage.zip_members(location))
    else:
        parts = _group_parts(storage.list_files(location))
        if not parts:
            below = [p for p in (_group_parts(storage.list_files(d)) for d in storage.list_dirs(location)) if p]
            if len(below) == 1:
                parts = below[0]
    if not parts:
        names = ", ".join(f"{t}.tsv000" for t in DATASET_TABLES)
        raise DatasetNotFound(f"no dataset tables ({names}) in {location}: {WHERE_TO_GET}")
    return Release(location, parts)
