"""serve.features: the objects' and tags' overlap scores against sets counted in Python."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from photolake.serve import features
from photolake.serve.features import Features, Lists

PHOTOS = 3000


@pytest.fixture(scope="module")
def pairs():
    """Each photo with 0-4 of 150 terms (more than 64: the bits take three words), the first ones common."""
    rng = np.random.default_rng(4)
    return {pid: set(rng.choice(150, int(rng.integers(0, 5)), replace=False, p=_zipf(150)).tolist())
            for pid in range(PHOTOS)}


def _zipf(n: int) -> np.ndarray:
    weights = 1 / np.arange(1, n + 1)
    return weights / weights.sum()


def _lists(pairs: dict[int, set[int]], idf: bool) -> Lists:
    rows = [(term, pid) for pid, terms in pairs.items() for term in terms]
    con = duckdb.connect()
    con.execute("CREATE TABLE pairs (term INTEGER, pid INTEGER)")
    con.executemany("INSERT INTO pairs VALUES (?, ?)", rows)
    con.execute("CREATE TABLE names AS SELECT range AS term, 'term' || range AS name FROM range(150)")
    return Lists.build(con, "SELECT term, pid FROM pairs ORDER BY term, pid", "SELECT name FROM names ORDER BY term",
                       PHOTOS, idf=idf)


def _features(lists: Lists) -> Features:
    zeros = np.zeros(PHOTOS, np.float32)
    return Features(photos=PHOTOS, phash=np.zeros(PHOTOS, np.uint64), has_hash=zeros, families=np.zeros((PHOTOS, 12)),
                    lab=np.zeros((PHOTOS, 4), np.float32), has_colour=zeros, cluster=np.zeros(PHOTOS, np.int32),
                    tags=lists, objects=lists)


@pytest.mark.parametrize("bits_most", [features.BITS_MOST, 100])  # as bits per photo, and past the bits' limit
def test_jaccard_is_the_shared_terms_over_the_union(pairs, monkeypatch, bits_most):
    monkeypatch.setattr(features, "BITS_MOST", bits_most)
    lists = _lists(pairs, idf=False)
    assert (lists.bits is not None) == (bits_most > 150)
    similar = _features(lists)
    for pid in (0, 1, 7, 42, 2999, *[p for p, t in pairs.items() if not t][:2]):
        expected = [len(pairs[pid] & other) / len(pairs[pid] | other) if pairs[pid] | other else 0
                    for other in pairs.values()]
        assert similar.jaccard(lists, pid) == pytest.approx(expected, abs=1e-6), pid


def test_tags_cosine_weighs_the_shared_terms_by_rarity(pairs):
    lists = _lists(pairs, idf=True)
    assert lists.bits is None
    photos_with = np.bincount([t for terms in pairs.values() for t in terms], minlength=150)
    weight = np.log((PHOTOS + 1) / (photos_with + 1)) + 1
    norm = {pid: np.sqrt(sum(weight[t] ** 2 for t in terms)) for pid, terms in pairs.items()}
    similar = _features(lists)
    for pid in (0, 3, 99):
        expected = [sum(weight[t] ** 2 for t in pairs[pid] & other) / (norm[pid] * norm[o]) if norm[o] and norm[pid]
                    else 0 for o, other in pairs.items()]
        assert similar.cosine(lists, pid) == pytest.approx(expected, rel=1e-5, abs=1e-6), pid
