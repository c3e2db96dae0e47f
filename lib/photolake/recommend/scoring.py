"""Scoring one user against the whole catalogue, and saying why: plain numpy, tested without Spark.

Every recommender here ends in a score per catalogue photo; ``photolake.ranking.top_unseen`` turns scores
into the top-N photos the user has not interacted with. Each reason names what the user did that led to the photo."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from photolake.users.catalogue import Catalogue


class Standardised(NamedTuple):
    """Scores as z-scores, without making the z-scores: ``z = scores * scale + shift`` per row (a row whose
    scores are all equal gets z = 0), so two recommenders' scores can be mixed in one pass."""

    scale: np.ndarray
    shift: np.ndarray

    @classmethod
    def of(cls, scores: np.ndarray) -> "Standardised":
        """Of each row of ``scores`` (users x photos)."""
        # row by row: numpy's std along an axis is 8x slower than on each contiguous row
        mean = np.array([row.mean() for row in scores], dtype=np.float64)
        spread = np.array([row.std() for row in scores], dtype=np.float64)
        scale = np.divide(1.0, spread, out=np.zeros_like(spread), where=spread > 0)
        return cls(scale, -mean * scale)

    def z(self, row: int, scores: np.ndarray) -> np.ndarray:
        return scores * self.scale[row] + self.shift[row]


def mixed(first: np.ndarray, second: np.ndarray, weight: float, first_z: Standardised, second_z: Standardised,
          row: int) -> np.ndarray:
    """``weight * z(first) + (1 - weight) * z(second)`` for one row, in float32 and two passes."""
    out = first * np.float32(weight * first_z.scale[row])
    out += second * np.float32((1 - weight) * second_z.scale[row])
    out += np.float32(weight * first_z.shift[row] + (1 - weight) * second_z.shift[row])
    return out


def content_profile(catalogue: Catalogue, seen: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The user's taste as one unit vector: the weighted mean of their photos' content vectors (log weights,
    so one heavy download does not drown the rest)."""
    if len(seen) == 0:
        return np.zeros(catalogue.content.shape[1], dtype=np.float32)
    profile = catalogue.content[seen].T @ np.log1p(weights)
    norm = np.linalg.norm(profile)
    return (profile / norm).astype(np.float32) if norm > 0 else profile.astype(np.float32)


class Reason(NamedTuple):
    """Why a photo was recommended: what kind of evidence (schemas.REASON_KINDS) and the sentence shown."""

    kind: str
    text: str


def content_reason(catalogue: Catalogue, profile: np.ndarray, photo: int, seen: np.ndarray) -> Reason:
    """Why the content recommender chose ``photo``: the feature that adds most to its cosine similarity."""
    contribution = profile * catalogue.vectors(photo)[0]
    feature = int(np.argmax(contribution))
    if contribution[feature] <= 0:
        return Reason("profile", "like the photos you liked")
    kind, value = catalogue.kinds[feature], catalogue.values[feature]
    liked = catalogue.having(seen, feature)
    photos = f"{liked} photo{'s' if liked != 1 else ''}"
    if kind == "tag":
        return Reason("tag", f"you liked {photos} tagged {value}")
    if kind == "color_family":
        return Reason("colour", f"mostly {value}, like your favourites")
    if kind == "object":
        return Reason("object", f"shows a {value}, like {photos} you liked")
    if kind == "orientation":
        return Reason("orientation", f"{value}, like {photos} you liked")
    return Reason("cluster", f"looks like {photos} you liked (cluster {value})")


def als_reason(catalogue: Catalogue, item_factors: np.ndarray, photo: int, seen: np.ndarray) -> Reason:
    """Why ALS chose ``photo``: the user's photo whose latent factors are closest to it (item-item cosine)."""
    if len(seen) == 0:
        return Reason("similar_users", "people with tastes like yours liked this")
    target = item_factors[photo]
    mine = item_factors[seen]
    norms = np.linalg.norm(mine, axis=1) * (np.linalg.norm(target) or 1.0)
    similarity = np.divide(mine @ target, norms, out=np.full(len(seen), -1.0), where=norms > 0)
    return Reason("similar_users",
                  f"people who liked {catalogue.photo_ids[seen[int(np.argmax(similarity))]]} also liked this")


def popularity_reason(users: float) -> Reason:
    count = int(users)
    return Reason("popular", f"popular: {count} {'people' if count != 1 else 'person'} liked it")


def intra_list_diversity(catalogue: Catalogue, photos: np.ndarray) -> float | None:
    """Mean pairwise content dissimilarity (1 - cosine) within one list; None below two photos."""
    if len(photos) < 2:
        return None
    vectors = catalogue.vectors(photos).astype(np.float64)
    similarity = vectors @ vectors.T
    n = len(photos)
    return float((n * n - similarity.sum() - (n - np.trace(similarity))) / (n * (n - 1)))
