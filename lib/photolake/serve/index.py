"""The search index: every filter, sort and facet column of ``pix`` as a numpy array, so a search is a few
vector operations over all photos (a boolean mask per filter, ``bincount`` per facet, a precomputed order
per sort) rather than a query plan per request. Built once per lake version from the DuckDB tables.

Measured at 1M photos on 2 cores (bench/serve.py): the same searches as SQL over DuckDB's compressed tables
took 25-175 ms each (facets as GROUP BYs over the filtered rows); here they take a few milliseconds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import duckdb
import numpy as np

from photolake.extract.colors import COLOR_FAMILIES
from photolake.serve.features import BITS_MOST, Lists, csr_rows

CODED = ("camera_make", "camera_model", "country", "city", "orientation", "size")
FACET_COLUMNS = {"cameras": "camera_make", "countries": "country", "orientations": "orientation"}
FACETS = ("objects", "colors", "cameras", "countries", "orientations")
FACET_SIZE = 20
JOINT_MOST = 1 << 20  # values of a joint count of several facets (below: one bincount counts them all)
SORT_KEYS = ("newest_key", "views", "downloads")
COUNTED_BYTES = 1 << 18  # bitmaps counted per step (counted: at 1M photos, 80 classes, 3.2 -> 2.5 ms)


@dataclass
class Coded:
    """A text column as a small integer per photo (-1: none), with its values and a case-blind lookup."""

    codes: np.ndarray
    names: np.ndarray
    lookup: dict[str, int]

    @classmethod
    def build(cls, con: duckdb.DuckDBPyConnection, column: str, photos: int) -> "Coded":
        names = con.execute(f"SELECT DISTINCT {column} AS v FROM pix WHERE {column} IS NOT NULL ORDER BY v"
                            ).fetchnumpy()["v"].astype(str)
        rows = con.execute(f"SELECT p.pid, n.code FROM pix p JOIN ("
                           f"SELECT v, row_number() OVER (ORDER BY v) - 1 AS code FROM ("
                           f"SELECT DISTINCT {column} AS v FROM pix WHERE {column} IS NOT NULL)) n "
                           f"ON p.{column} = n.v").fetchnumpy()
        codes = np.full(photos, -1, dtype=np.int32)
        codes[rows["pid"].astype(np.int64)] = rows["code"]
        lookup: dict[str, int] = {}
        for n, name in enumerate(names):
            lookup.setdefault(name.lower(), n)
        return cls(codes, names, lookup)

    def mask(self, value: str) -> np.ndarray:
        code = self.lookup.get(value.strip().lower())
        return self.codes == code if code is not None else np.zeros(len(self.codes), dtype=bool)


@dataclass
class SearchIndex:
    photos: int
    keys: dict[str, np.ndarray]  # sort key per photo (-1 when unknown)
    orders: dict[str, np.ndarray]  # pids by key then pid, both descending
    coded: dict[str, Coded]
    joint_facets: list[tuple[tuple[str, ...], np.ndarray]]  # FACET_COLUMNS' facets as one code per photo (joint_codes)
    cluster: np.ndarray
    has_location: np.ndarray
    # text: each description word's photos (CSR), and which keywords contain each word
    words: dict[str, int]
    word_offsets: np.ndarray
    word_pids: np.ndarray
    word_weights: np.ndarray
    keyword_words: dict[str, np.ndarray]
    tags: Lists
    objects: Lists
    object_scores: np.ndarray  # in objects.by_term order
    object_entry_pid: np.ndarray  # the photo of each objects.by_photo entry
    # which photos have each detected class (None past BITS_MOST classes) and each colour family (bitmaps)
    object_maps: np.ndarray | None
    # colours: every palette entry (photo, CIELAB) sorted by its cell of the CIELAB grid, where each cell's
    # entries start (so a distance query reads only the cells near its colour), each photo's families as bits
    colour_pid: np.ndarray
    colour_lab: np.ndarray
    colour_cell_starts: np.ndarray
    family_maps: np.ndarray

    @classmethod
    def build(cls, con: duckdb.DuckDBPyConnection, photos: int, tags: Lists, objects: Lists,
              palette: dict[str, np.ndarray]) -> "SearchIndex":
        """From pix and the search tables, the keyword and object lists, and the palette (palette_families)."""
        base = con.execute("SELECT pid, newest_key, views, downloads, coalesce(cluster, -1) AS cluster, has_location "
                           "FROM pix ORDER BY pid").fetchnumpy()
        pids = np.arange(photos, dtype=np.int64)
        keys = {name: base[name].astype(np.int64) for name in SORT_KEYS}
        terms = con.execute("SELECT tid, pid, weight FROM terms ORDER BY tid, pid").fetchnumpy()
        names = con.execute("SELECT term FROM term_names ORDER BY tid").fetchnumpy()["term"].astype(str)
        keyword_words = {term: np.array(kids, dtype=np.int64) for term, kids in con.execute(
            "SELECT term, list(kid ORDER BY kid) FROM kw_words GROUP BY term").fetchall()}
        scores = con.execute("SELECT score FROM objs ORDER BY lid, pid").fetchnumpy()["score"].astype(np.float32)
        cols = con.execute("SELECT pid, l, a, b_ FROM cols").fetchnumpy()
        known = palette["family"] >= 0
        by_family = np.argsort(palette["family"][known], kind="stable")  # a family's photos in pid order
        family_pids, family_of = palette["pid"][known][by_family], palette["family"][known][by_family]
        coded = {column: Coded.build(con, column, photos) for column in CODED}
        return cls(
            photos=photos, keys=keys,
            orders={name: np.lexsort((-pids, -key)).astype(np.int32) for name, key in keys.items()},
            coded=coded, joint_facets=joint_codes(coded),
            cluster=base["cluster"].astype(np.int32), has_location=base["has_location"].astype(bool),
            words={str(w): n for n, w in enumerate(names)},
            word_offsets=np.concatenate([[0], np.cumsum(np.bincount(terms["tid"], minlength=len(names)))]
                                        ).astype(np.int64),
            word_pids=terms["pid"].astype(np.int32), word_weights=terms["weight"].astype(np.float32),
            keyword_words=keyword_words,
            tags=tags, objects=objects, object_scores=scores,
            object_entry_pid=np.repeat(np.arange(photos, dtype=np.int32), np.diff(objects.photo_offsets)),
            object_maps=bitmaps(objects.by_term, objects.term_offsets, photos) if len(objects.names) <= BITS_MOST
            else None,
            family_maps=bitmaps(family_pids, np.searchsorted(family_of, np.arange(len(COLOR_FAMILIES) + 1)), photos),
            **_colour_grid(cols["pid"], np.stack([cols["l"], cols["a"], cols["b_"]], axis=1)))

    # ---- filters: each a boolean mask over all photos --------------------------------------------------

    def _of_pids(self, pids: np.ndarray) -> np.ndarray:
        mask = np.zeros(self.photos, dtype=bool)
        mask[pids] = True
        return mask

    def text(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(mask, relevance): photos with every word in their description, AI description or keywords; the
        relevance sums each word's field weight (description 2, keyword 1.5, AI description 1) times its IDF."""
        relevance = np.zeros(self.photos, dtype=np.float32)
        matched = np.zeros(self.photos, dtype=np.int16)
        for word in words:
            parts, weights = [], []
            at = self.words.get(word)
            if at is not None:
                start, end = self.word_offsets[at], self.word_offsets[at + 1]
                parts.append(self.word_pids[start:end])
                weights.append(self.word_weights[start:end])
            for kid in self.keyword_words.get(word, ()):
                members = self.tags.by_term[self.tags.term_offsets[kid]:self.tags.term_offsets[kid + 1]]
                parts.append(members)
                weights.append(np.full(len(members), 1.5, dtype=np.float32))
            if not parts:
                return np.zeros(self.photos, dtype=bool), relevance
            pids, weight = np.concatenate(parts), np.concatenate(weights)
            score = np.bincount(pids, weights=weight, minlength=self.photos).astype(np.float32)
            has = score > 0
            relevance += score * np.float32(np.log((self.photos + 1) / (np.count_nonzero(has) + 1)) + 1)
            matched += has
        return matched == len(words), relevance

    def keyword(self, keyword: str) -> np.ndarray:
        at = int(np.searchsorted(self.tags.names, keyword))
        if at >= len(self.tags.names) or self.tags.names[at] != keyword:
            return np.zeros(self.photos, dtype=bool)
        return self._of_pids(self.tags.by_term[self.tags.term_offsets[at]:self.tags.term_offsets[at + 1]])

    def object(self, label: str, min_score: float) -> np.ndarray:
        at = int(np.searchsorted(self.objects.names, label))
        if at >= len(self.objects.names) or self.objects.names[at] != label:
            return np.zeros(self.photos, dtype=bool)
        start, end = self.objects.term_offsets[at], self.objects.term_offsets[at + 1]
        return self._of_pids(self.objects.by_term[start:end][self.object_scores[start:end] >= min_score])

    def colour_family(self, name: str) -> np.ndarray:
        bits = self.family_maps[COLOR_FAMILIES.index(name)].view(np.uint8)
        return np.unpackbits(bits, count=self.photos, bitorder="little").view(bool)

    def colour_near(self, lab: np.ndarray, distance: float) -> np.ndarray:
        """Photos with a palette colour within ``distance`` (CIE76 delta E) of ``lab``: the entries of the grid
        cells the sphere touches, then the exact distance."""
        low = np.clip(_cell(lab - distance), 0, np.array(GRID) - 1)
        high = np.clip(_cell(lab + distance), 0, np.array(GRID) - 1)
        slices = [slice(self.colour_cell_starts[first], self.colour_cell_starts[first + high[2] - low[2] + 1])
                  for i in range(low[0], high[0] + 1) for j in range(low[1], high[1] + 1)
                  for first in [(i * GRID[1] + j) * GRID[2] + low[2]]]
        entries = np.concatenate([np.arange(s.start, s.stop) for s in slices]) if slices else np.zeros(0, int)
        near = ((self.colour_lab[entries] - lab) ** 2).sum(axis=1) <= distance ** 2
        return self._of_pids(self.colour_pid[entries[near]])

    # ---- results -----------------------------------------------------------------------------------------

    def page(self, mask: np.ndarray | None, sort_key: str | None, relevance: np.ndarray | None,
             after: tuple | None, size: int) -> list[tuple[int, float | int]]:
        """Up to ``size`` (pid, key) after the cursor position, by key then pid, both descending."""
        keys = relevance if sort_key is None else self.keys[sort_key]
        if after is not None:
            later = (keys < after[0]) | ((keys == after[0]) & (np.arange(self.photos) < after[1]))
            mask = later if mask is None else mask & later
        if sort_key is not None:  # walk the precomputed order, a stretch at a time, until the page is full
            order = self.orders[sort_key]
            if mask is None:
                chosen = order[:size]
            else:
                found, start, stretch = [], 0, 16_384
                while start < len(order) and sum(map(len, found)) < size:
                    part = order[start:start + stretch]
                    found.append(part[mask[part]])
                    start, stretch = start + stretch, stretch * 4
                chosen = np.concatenate(found)[:size] if found else order[:0]
        else:
            candidates = np.flatnonzero(mask)
            if len(candidates) > size:
                kth = np.partition(keys[candidates], len(candidates) - size)[len(candidates) - size]
                candidates = candidates[keys[candidates] >= kth]
            chosen = candidates[np.lexsort((-candidates, -keys[candidates]))][:size]
        return [(int(p), keys[p].item()) for p in chosen]

    def facets(self, mask: np.ndarray | None) -> tuple[int, dict[str, list[dict]]]:
        """The number of photos in ``mask`` (None: all) and each facet's most common values among them."""
        if mask is None:
            total, counts = self.photos, self._everyones_counts
        else:
            total = int(np.count_nonzero(mask))
            if total > self.photos // 2:  # fewer are left out: count those and take them from everyone's counts
                left = self._counts(~mask)
                counts = {facet: self._everyones_counts[facet] - left[facet] for facet in left}
            else:
                counts = self._counts(mask)
        names = {"objects": self.objects.names, "colors": np.array(COLOR_FAMILIES),
                 **{facet: self.coded[column].names for facet, column in FACET_COLUMNS.items()}}
        return total, {facet: _top(counts[facet], names[facet]) for facet in FACETS}

    @functools.cached_property
    def _everyones_counts(self) -> dict[str, np.ndarray]:
        return self._counts(None)

    def _counts(self, mask: np.ndarray | None) -> dict[str, np.ndarray]:
        """Per facet, how many of the photos in ``mask`` (None: all) have each value."""
        chosen = slice(None) if mask is None else np.flatnonzero(mask)
        bits = None if mask is None else _as_words(mask)
        if self.object_maps is not None:  # at 1M photos 0.5 ms for 20 classes, against 10 from the entries
            objects = counted(self.object_maps, bits)
        elif mask is None:
            objects = np.bincount(self.objects.by_photo, minlength=len(self.objects.names))
        elif len(chosen) < self.photos // 8:  # the chosen photos' entries: at 1M photos 0.03 ms for 1,000 of them
            objects = np.bincount(self.objects.by_photo[csr_rows(self.objects.photo_offsets, chosen)],
                                  minlength=len(self.objects.names))
        else:  # the mask at every entry (read in order: entries are in pid order)
            objects = np.bincount(self.objects.by_photo[mask[self.object_entry_pid]], minlength=len(self.objects.names))
        counts = {"objects": objects, "colors": counted(self.family_maps, bits)}
        for facets, codes in self.joint_facets:
            sizes = [len(self.coded[FACET_COLUMNS[facet]].names) + 1 for facet in facets]
            joint = np.bincount(codes[chosen], minlength=int(np.prod(sizes))).reshape(sizes)
            for axis, facet in enumerate(facets):
                counts[facet] = joint.sum(axis=tuple(a for a in range(len(sizes)) if a != axis))[1:]  # 0: none
        return counts


def bitmaps(pids: np.ndarray, offsets: np.ndarray, photos: int) -> np.ndarray:
    """Per row of a CSR layout of photos (row r's are ``pids[offsets[r]:offsets[r + 1]]``), which photos it has:
    one bit per photo, in uint64 words (rows x ceil(photos / 64))."""
    maps = np.zeros((len(offsets) - 1, -(-photos // 64) * 64 // 8), dtype=np.uint8)
    has = np.zeros(maps.shape[1] * 8, dtype=bool)
    for row in range(len(offsets) - 1):
        has[:] = False
        has[pids[offsets[row]:offsets[row + 1]]] = True
        maps[row] = np.packbits(has, bitorder="little")
    return maps.view(np.uint64)


def _as_words(mask: np.ndarray) -> np.ndarray:
    words = np.zeros(-(-len(mask) // 64) * 8, dtype=np.uint8)
    words[:-(-len(mask) // 8)] = np.packbits(mask, bitorder="little")
    return words.view(np.uint64)


def counted(maps: np.ndarray, words: np.ndarray | None) -> np.ndarray:
    """Per row of ``maps`` (bitmaps), how many of its photos are in ``words`` (a mask as _as_words; None: all)."""
    if words is None:
        return np.bitwise_count(maps).sum(axis=1, dtype=np.int64)
    counts = np.empty(len(maps), dtype=np.int64)  # a row's sum as uint32: twice as fast as int64
    # a few rows at a time, so the temporaries stay in the CPU's caches
    step = max(1, COUNTED_BYTES // max(maps[0].nbytes, 1)) if len(maps) else 1
    for start in range(0, len(maps), step):
        rows = maps[start:start + step] & words
        counts[start:start + step] = np.bitwise_count(rows).sum(axis=1, dtype=np.uint32)
    return counts


def joint_codes(coded: dict[str, Coded]) -> list[tuple[tuple[str, ...], np.ndarray]]:
    """FACET_COLUMNS' codes as few numbers per photo (mixed radix, 0 for none), each of at most JOINT_MOST
    values: one bincount then counts several facets (at 1M photos 1.1 ms for three, against 3.6 one by one)."""
    groups, facets, joint, values = [], [], None, 1
    for facet, column in FACET_COLUMNS.items():
        size = len(coded[column].names) + 1
        if facets and values * size > JOINT_MOST:
            groups.append((tuple(facets), joint))
            facets, joint, values = [], None, 1
        codes = coded[column].codes.astype(np.intp) + 1
        joint = codes if joint is None else joint * size + codes
        facets.append(facet)
        values *= size
    groups.append((tuple(facets), joint))
    return groups


GRID_STEP = 8.0  # delta E per cell side
GRID = (14, 33, 33)  # cells along L* (0-100) and a*, b* (-128-127); fewer than 2**15 in all (_colour_grid)
_GRID_ORIGIN = np.array([0.0, -128.0, -128.0])


def _cell(lab: np.ndarray) -> np.ndarray:
    return np.floor((np.asarray(lab) - _GRID_ORIGIN) / GRID_STEP).astype(np.int64)


def _colour_grid(pid: np.ndarray, lab: np.ndarray) -> dict[str, np.ndarray]:
    """The palette entries sorted by grid cell, and where each cell's entries start."""
    cells = np.clip(_cell(lab), 0, np.array(GRID) - 1).astype(np.int16) if len(lab) else np.zeros((0, 3), np.int16)
    # as int16, which numpy's stable sort sorts by radix: at 1M photos (3.9M colours) 0.6 s against 1.2
    cell = (cells[:, 0] * np.int16(GRID[1]) + cells[:, 1]) * np.int16(GRID[2]) + cells[:, 2]
    order = np.argsort(cell, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(cell, minlength=int(np.prod(GRID))))])
    return {"colour_pid": pid[order].astype(np.int32), "colour_lab": lab[order].astype(np.float32),
            "colour_cell_starts": starts.astype(np.int64)}


def _top(counts: np.ndarray, names: np.ndarray) -> list[dict]:
    order = np.lexsort((names, -counts))[:FACET_SIZE]
    return [{"value": str(names[i]), "count": int(counts[i])} for i in order if counts[i] > 0]
