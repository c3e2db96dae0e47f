"""Similar photos from the features the lake already has, in numpy: every photo scored against one in a few
vector operations (no index to build; at 1M photos each way takes milliseconds).

- visual: the perceptual hashes' Hamming distance (same picture, other crop or size), with the colours.
- colour: the palette's colour-family shares (cosine) and its mean CIELAB colour (delta E).
- objects: the detected classes in common (Jaccard).
- tags: the keywords in common, weighted by how rare each is (IDF cosine).
- mixed: a weighted sum of the four, plus a little for the same cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from photolake.extract.colors import COLOR_FAMILIES
from photolake.ranking import top_unseen

WAYS = ("visual", "colour", "objects", "tags", "mixed")
MIXED_WEIGHTS = {"tags": 0.35, "objects": 0.2, "colour": 0.2, "visual": 0.15, "cluster": 0.1}
HASH_BITS = 64
BITS_MOST = 256  # terms, most, kept as bits per photo too (32 bytes a photo)
# a visual score from the hashes' distance: 0.6 when equal, down to 0 at half the bits (unrelated pictures)
HALF_BITS = HASH_BITS // 2
VISUAL_COLOUR = 0.4  # the colour score's weight in visual; with no hash to compare, 0.5 instead
VISUAL_COLOUR_ALONE = 0.5
NO_COLOUR_LAB = (1000.0, 0.0, 0.0)  # a photo with no palette: far from every colour, so its delta E part is 0


@dataclass
class Lists:
    """A sparse photo x term relation both ways (CSR): the terms of a photo, the photos of a term."""

    by_photo: np.ndarray  # term ids in photo order
    photo_offsets: np.ndarray
    by_term: np.ndarray  # photo ids in term order
    term_offsets: np.ndarray
    names: np.ndarray
    weights: np.ndarray  # per term
    inverse_norms: np.ndarray  # per photo: 1 / the norm of its weighted term vector (0 with no terms)
    sizes: np.ndarray  # per photo: how many terms it has
    # unweighted lists of at most BITS_MOST terms (a detector's classes): per 64 terms, per photo, which it has
    bits: np.ndarray | None

    @classmethod
    def build(cls, con: duckdb.DuckDBPyConnection, pairs_sql: str, names_sql: str, photos: int, idf: bool) -> "Lists":
        """From (term, pid) pairs sorted by term then pid, and the terms' names in term order."""
        pairs = con.execute(pairs_sql).fetchnumpy()
        names = con.execute(names_sql).fetchnumpy()["name"].astype(str)
        term, pid = pairs["term"].astype(np.int32), pairs["pid"].astype(np.int32)
        counts = np.bincount(term, minlength=len(names)).astype(np.float32)
        weights = (np.log((photos + 1) / (counts + 1)) + 1 if idf else np.ones(len(names))).astype(np.float32)
        by_photo = np.argsort(pid, kind="stable")  # the pairs in photo order, terms ascending within a photo
        norms = np.sqrt(np.bincount(pid, weights=weights[term] ** 2, minlength=photos)).astype(np.float32)
        inverse_norms = np.divide(1, norms, out=np.zeros_like(norms), where=norms > 0)
        photo_offsets, term_offsets = _offsets(pid[by_photo], photos), _offsets(term, len(names))
        bits = None
        if not idf and len(names) <= BITS_MOST:
            bits = np.zeros((-(-len(names) // 64), photos), dtype=np.uint64)
            for t in range(len(names)):  # a term's photos are distinct
                bits[t // 64, pid[term_offsets[t]:term_offsets[t + 1]]] |= np.uint64(1) << np.uint64(t % 64)
        return cls(term[by_photo], photo_offsets, pid, term_offsets, names, weights, inverse_norms,
                   np.diff(photo_offsets).astype(np.float32), bits)

    def of_photo(self, pid: int) -> np.ndarray:
        return self.by_photo[self.photo_offsets[pid]:self.photo_offsets[pid + 1]]

    def overlap(self, pid: int, photos: int) -> np.ndarray:
        """Per photo: the summed squared weights of the terms it shares with ``pid``."""
        terms = self.of_photo(pid)
        if not len(terms):
            return np.zeros(photos, dtype=np.float32)
        if self.bits is not None:
            # counting shared bits reads 8 bytes a photo per 64 terms: 5x faster than gathering the members
            words = np.unique(terms // 64)
            counts = np.bitwise_count(self.bits[words[0]] & self.bits[words[0], pid]).astype(np.float32)
            for word in words[1:]:
                counts += np.bitwise_count(self.bits[word] & self.bits[word, pid])
            return counts
        # a few terms with many photos each, distinct within a term: added term by term in place (at 1M photos
        # 3.2 ms, against 3.5 for one bincount of them all, which also makes a float64 copy)
        overlap = np.zeros(photos, dtype=np.float32)
        for term, weight in zip(terms.tolist(), (self.weights[terms] ** 2).tolist()):
            overlap[self.by_term[self.term_offsets[term]:self.term_offsets[term + 1]]] += weight
        return overlap

    def shared(self, a: int, b: int, most: int = 3) -> list[str]:
        common = np.intersect1d(self.of_photo(a), self.of_photo(b))
        return [str(self.names[t]) for t in common[np.argsort(-self.weights[common])][:most]]


def csr_rows(offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The positions of these rows' entries in a CSR layout (row r's are offsets[r]:offsets[r + 1]), in order:
    for many rows of few entries each (a facet's chosen photos), where a slice per row would loop in Python."""
    starts = offsets[rows]
    lengths = offsets[rows + 1] - starts
    ends = np.cumsum(lengths)
    return np.repeat(starts - ends + lengths, lengths) + np.arange(ends[-1] if len(ends) else 0)


def palette_families(con: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray]:
    """The palette colours (the table ``cols``, in pid order) as arrays: pid, the family's place in
    COLOR_FAMILIES (-1: none known) and the share (0 when unknown)."""
    names = ", ".join(f"'{name}'" for name in COLOR_FAMILIES)
    rows = con.execute(f"SELECT pid, coalesce(list_position([{names}], family), 0) - 1 AS family, "
                       f"coalesce(share, 0) AS share FROM cols").fetchnumpy()
    return {"pid": rows["pid"].astype(np.int64), "family": rows["family"].astype(np.int64),
            "share": rows["share"].astype(np.float64)}


def _offsets(sorted_keys: np.ndarray, size: int) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.bincount(sorted_keys, minlength=size))]).astype(np.int64)


@dataclass
class Features:
    photos: int
    phash: np.ndarray  # uint64
    has_hash: np.ndarray  # float32 0/1
    far: np.ndarray  # uint8: 0, or HASH_BITS where a photo has no hash (its distance to any, for visual)
    # one row per component, photos along it: a product with one photo's vector then streams each row once
    # (at 1M photos 0.9 ms for lab, against 2.5 photo-major)
    families: np.ndarray  # (families, N) unit vectors of colour-family shares
    lab: np.ndarray  # (4, N) the palette's mean colour and its squared norm: one product gives |x|^2 - 2 x.q
    has_colour: np.ndarray  # float32 0/1
    cluster: np.ndarray  # int32, -1 when not clustered
    tags: Lists
    objects: Lists

    @classmethod
    def build(cls, con: duckdb.DuckDBPyConnection, photos: int, tags: Lists, objects: Lists,
              palette: dict[str, np.ndarray]) -> "Features":
        """From pix, cols, the keyword and object lists, and the palette (palette_families)."""
        base = con.execute("SELECT pid, coalesce(('0x' || phash)::UBIGINT, 0) AS h, phash IS NOT NULL AS has, "
                           "coalesce(cluster, -1) AS cluster FROM pix ORDER BY pid").fetchnumpy()
        # each photo's share of each family (a colour of no known family counts as the first), summed in float64
        # as numbers, not grouped in SQL (at 1M photos 0.5 s)
        at = np.maximum(palette["family"], 0) * photos + palette["pid"]
        families = np.bincount(at, weights=palette["share"], minlength=len(COLOR_FAMILIES) * photos
                               ).reshape(len(COLOR_FAMILIES), photos).astype(np.float32)
        norms = np.linalg.norm(families, axis=0)
        np.divide(families, norms, out=families, where=norms > 0)
        mean = con.execute("SELECT pid, sum(share * l) / sum(share) AS l, sum(share * a) / sum(share) AS a, "
                           "sum(share * b_) / sum(share) AS b FROM cols WHERE share > 0 GROUP BY pid").fetchnumpy()
        lab = np.tile(np.array([*NO_COLOUR_LAB, 0], dtype=np.float32)[:, None], photos)
        lab[:3, mean["pid"].astype(np.int64)] = np.stack([mean["l"], mean["a"], mean["b"]])
        lab[3] = (lab[:3] ** 2).sum(axis=0)
        return cls(
            photos=photos, phash=base["h"].astype(np.uint64), has_hash=base["has"].astype(np.float32),
            far=np.where(base["has"], 0, HASH_BITS).astype(np.uint8),
            families=families, lab=lab,
            has_colour=(norms > 0).astype(np.float32),
            cluster=base["cluster"].astype(np.int32),
            tags=tags, objects=objects)

    # ---- the ways, each a score in 0..1 for every photo (float32, one pass over the arrays each) -------------

    def hash_distance(self, pid: int) -> np.ndarray:
        return np.bitwise_count(self.phash ^ self.phash[pid])

    def colour(self, pid: int) -> np.ndarray:
        if not self.has_colour[pid]:
            return np.zeros(self.photos, dtype=np.float32)
        # the families this photo has, most a few of the 11: their rows only (at 1M photos 1.7 ms, against 3.1
        # for the product with every row)
        shares = self.families[:, pid]
        score = np.zeros(self.photos, dtype=np.float32)
        for family in np.flatnonzero(shares).tolist():
            score += np.float32(0.7 * shares[family]) * self.families[family]
        q = self.lab[:3, pid]
        # 0.3 * clip(1 - |x - q| / 50, 0, 1), in place (a new 1M-photo array costs its page faults each time)
        near = np.append(-2 * q, np.float32(1)) @ self.lab
        near += q @ q  # |x - q|^2 without an (N, 3) temporary
        np.clip(near, np.float32(0), None, out=near)  # rounding's tiny negatives; maximum() took 3x as long
        np.sqrt(near, out=near)
        near *= -0.3 / 50
        near += 0.3
        np.clip(near, 0, 0.3, out=near)  # 0 for photos with no palette (NO_COLOUR_LAB)
        score += near
        return score

    def looks(self, pid: int) -> np.ndarray | None:
        """Visual's hash part for every photo (None when ``pid`` has no hash)."""
        if not self.has_hash[pid]:
            return None
        distance = self.hash_distance(pid)
        np.maximum(distance, self.far, out=distance)  # no hash: as far as can be, so 0
        # 0.6 * max(0, 1 - distance / HALF_BITS) in place: a gather from a table of the 65 took 1.5 ms at 1M photos
        looks = np.subtract(HALF_BITS, distance, dtype=np.float32)
        np.clip(looks, np.float32(0), None, out=looks)
        looks *= np.float32(0.6 / HALF_BITS)
        return looks

    def visual(self, pid: int) -> np.ndarray:
        colour = self.colour(pid)
        looks = self.looks(pid)
        if looks is None:
            colour *= VISUAL_COLOUR_ALONE
            return colour
        colour *= VISUAL_COLOUR
        looks += colour
        return looks

    def cosine(self, lists: Lists, pid: int) -> np.ndarray:
        overlap = lists.overlap(pid, self.photos)
        overlap *= lists.inverse_norms  # 0 where a photo has no terms (nothing shared then either)
        overlap *= lists.inverse_norms[pid]
        return overlap

    def jaccard(self, lists: Lists, pid: int) -> np.ndarray:
        overlap = lists.overlap(pid, self.photos)  # weights are 1: the count in common
        if not lists.sizes[pid]:
            return overlap  # zeros
        union = lists.sizes + lists.sizes[pid]  # at least 1 everywhere
        union -= overlap
        overlap /= union
        return overlap

    def scores(self, pid: int, way: str) -> np.ndarray:
        if way == "visual":
            return self.visual(pid)
        if way == "colour":
            return self.colour(pid)
        if way == "objects":
            return self.jaccard(self.objects, pid)
        if way == "tags":
            return self.cosine(self.tags, pid)
        # visual's two parts weighed apart, so the colour score is added once
        looks = self.looks(pid)
        colour_weight = MIXED_WEIGHTS["colour"] + MIXED_WEIGHTS["visual"] * (
            VISUAL_COLOUR_ALONE if looks is None else VISUAL_COLOUR)
        score = self.cosine(self.tags, pid)
        score *= MIXED_WEIGHTS["tags"]
        for part, weight in ((self.jaccard(self.objects, pid), MIXED_WEIGHTS["objects"]),
                             (self.colour(pid), colour_weight), (looks, MIXED_WEIGHTS["visual"])):
            if part is not None:
                part *= weight
                score += part
        if self.cluster[pid] >= 0:
            score += (self.cluster == self.cluster[pid]) * np.float32(MIXED_WEIGHTS["cluster"])  # where=: 4x slower
        return score

    def nearest(self, pid: int, way: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` best other photos with a score above zero, best first (ties by pid)."""
        scores = self.scores(pid, way)
        top = top_unseen(scores, np.array([pid]), k)  # 0.3 ms at 1M photos, against 13 ms for argpartition
        return [(int(p), float(scores[p])) for p in top if scores[p] > 0]

    def why(self, pid: int, other: int, way: str) -> str:
        """A short reason for one similar photo."""
        parts = []
        if way in ("tags", "mixed"):
            tags = self.tags.shared(pid, other)
            if tags:
                parts.append("tags " + ", ".join(tags))
        if way in ("objects", "mixed"):
            objects = self.objects.shared(pid, other)
            if objects:
                parts.append("both show " + ", ".join(objects))
        if way in ("visual", "mixed") and self.has_hash[pid] and self.has_hash[other]:
            distance = int(np.bitwise_count(self.phash[pid] ^ self.phash[other]))
            if way == "visual" or distance <= 12:
                parts.append(f"looks alike (hash {distance} bits apart)")
        if way in ("colour", "visual", "mixed") and self.has_colour[other]:
            shared = self.families[:, pid] * self.families[:, other]
            if shared.max() > 0.1:
                parts.append(f"mostly {COLOR_FAMILIES[int(shared.argmax())]}")
        if way == "mixed" and self.cluster[pid] >= 0 and self.cluster[pid] == self.cluster[other]:
            parts.append(f"same cluster ({self.cluster[pid]})")
        return "; ".join(parts) or "closest of the rest"

    def duplicates(self, pid: int, max_distance: int, k: int) -> list[tuple[int, int]]:
        """Photos whose perceptual hash is at most ``max_distance`` bits from this one's, nearest first."""
        if not self.has_hash[pid]:
            return []
        distance = self.hash_distance(pid)
        np.maximum(distance, self.far, out=distance)  # photos with no hash: HASH_BITS, out of reach
        close = np.flatnonzero(distance <= min(max_distance, HASH_BITS - 1))
        close = close[close != pid]
        close = close[np.lexsort((close, distance[close]))][:k]
        return [(int(p), int(distance[p])) for p in close]
