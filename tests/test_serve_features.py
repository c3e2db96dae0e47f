"""serve.features: the similar-photo scores against the same formulas worked out photo by photo in Python."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from photolake.extract.colors import COLOR_FAMILIES
from photolake.serve import features
from photolake.serve.features import MIXED_WEIGHTS, Features, Lists, palette_families

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
    return Features(photos=PHOTOS, phash=np.zeros(PHOTOS, np.uint64), has_hash=zeros,
                    far=np.zeros(PHOTOS, np.uint8), families=np.zeros((len(COLOR_FAMILIES), PHOTOS), np.float32),
                    lab=np.zeros((4, PHOTOS), np.float32), has_colour=zeros, cluster=np.zeros(PHOTOS, np.int32),
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


@pytest.fixture(scope="module")
def looks():
    """Per photo: its hash (None for some), its palette as (family, share, L, a, b) (empty for some), its cluster
    (-1 for some); hashes in a few groups of near copies, so some are close."""
    rng = np.random.default_rng(9)
    bases = rng.integers(0, 2 ** 63, 6, dtype=np.uint64)
    bases[0] = 0  # photo 0's hash is 0, as a photo with no hash is stored
    photos = []
    for pid in range(400):
        flips = rng.choice(64, 0 if pid == 0 else int(rng.integers(0, 40)), replace=False)
        phash = int(bases[pid % 6]) ^ sum(1 << int(bit) for bit in flips)
        palette = [(str(rng.choice(COLOR_FAMILIES)), float(rng.uniform(0.05, 1)),
                    *rng.uniform([0, -80, -80], [100, 80, 80]).tolist()) for _ in range(int(rng.integers(1, 5)))]
        photos.append({"hash": None if pid % 11 == 3 else phash, "palette": [] if pid % 13 == 5 else palette,
                       "cluster": -1 if pid % 7 == 2 else pid % 4})
    return photos


def _colour(a: dict, b: dict) -> float:
    if not a["palette"] or not b["palette"]:
        return 0.0
    def shares(photo):
        vector = np.zeros(len(COLOR_FAMILIES))
        for family, share, *_ in photo["palette"]:
            vector[COLOR_FAMILIES.index(family)] += share
        return vector / np.linalg.norm(vector)
    def mean(photo):
        weights = np.array([p[1] for p in photo["palette"]])
        return (np.array([p[2:] for p in photo["palette"]]) * weights[:, None]).sum(axis=0) / weights.sum()
    delta_e = np.linalg.norm(mean(a) - mean(b))
    return 0.7 * float(shares(a) @ shares(b)) + 0.3 * float(np.clip(1 - delta_e / 50, 0, 1))


def _visual(a: dict, b: dict) -> float:
    if a["hash"] is None:
        return 0.5 * _colour(a, b)
    closeness = 0 if b["hash"] is None else 0.6 * max(0, 1 - bin(a["hash"] ^ b["hash"]).count("1") / 32)
    return closeness + 0.4 * _colour(a, b)


def test_colour_visual_and_mixed_scores_are_their_formulas(looks):
    con = duckdb.connect()
    con.execute("CREATE TABLE pix (pid INTEGER, phash VARCHAR, cluster INTEGER)")
    con.executemany("INSERT INTO pix VALUES (?, ?, ?)", [
        (pid, None if p["hash"] is None else f"{p['hash']:016x}", None if p["cluster"] < 0 else p["cluster"])
        for pid, p in enumerate(looks)])
    con.execute("CREATE TABLE cols (pid INTEGER, family VARCHAR, share DOUBLE, l DOUBLE, a DOUBLE, b_ DOUBLE)")
    con.executemany("INSERT INTO cols VALUES (?, ?, ?, ?, ?, ?)",
                    [(pid, *colour) for pid, p in enumerate(looks) for colour in p["palette"]])
    tags, objects = (Lists.build(con, "SELECT 0 AS term, 0 AS pid WHERE false", "SELECT 'none' AS name",
                                 len(looks), idf=idf) for idf in (True, False))  # none: their part is 0
    similar = Features.build(con, len(looks), tags, objects, palette_families(con))
    for pid in (0, 3, 5, 2, 17, 200):  # 3: no hash, 5: no palette, 2: no cluster
        a = looks[pid]
        assert similar.scores(pid, "colour") == pytest.approx([_colour(a, b) for b in looks], abs=1e-5), pid
        visual = [_visual(a, b) for b in looks]
        assert similar.scores(pid, "visual") == pytest.approx(visual, abs=1e-5), pid
        mixed = [MIXED_WEIGHTS["visual"] * v + MIXED_WEIGHTS["colour"] * _colour(a, b) +
                 MIXED_WEIGHTS["cluster"] * (a["cluster"] >= 0 and a["cluster"] == b["cluster"])
                 for v, b in zip(visual, looks)]
        assert similar.scores(pid, "mixed") == pytest.approx(mixed, abs=1e-5), pid
    assert similar.scores(3, "visual").max() > 0 and similar.scores(0, "visual").max() > 0.5
