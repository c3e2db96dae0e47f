"""The k best of a score per item over millions of items, exact and in a fraction of a full partition: the
recommenders' top N per user and the service's similar photos."""

from __future__ import annotations

import numpy as np

SAMPLE_STEP = 64  # top_unseen's threshold comes from every 64th score


def top_unseen(scores: np.ndarray, seen: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best-scored photos outside ``seen``, best first (ties: lower index first)."""
    wanted = k + len(seen)
    if len(scores) > 16 * SAMPLE_STEP * wanted:
        # a threshold from a sample leaves a few thousand candidates, all the photos scored at least that:
        # exact whenever k of them are unseen (else the full pass below), and ~20x less work than it
        sample = scores[::SAMPLE_STEP]
        sample = sample[np.isfinite(sample)]
        rank = 2 * (wanted // SAMPLE_STEP) + 8
        if len(sample) > rank:
            threshold = np.partition(sample, len(sample) - rank)[len(sample) - rank]
            above = _unseen(scores, np.flatnonzero(scores > threshold), seen)
            if len(above) >= k:
                return _best(scores, above, k)
            # the k-th best is the threshold: the tied after those above, lowest indices first (with many
            # ties, e.g. Jaccard's few values, this skips ranking a hundred thousand tied photos)
            tied = _unseen(scores, np.flatnonzero(scores == threshold)[:k + len(seen)], seen)
            if len(above) + len(tied) >= k:
                return _best(scores, np.union1d(above, tied[:k - len(above)]), k)
    masked = scores.astype(np.float64, copy=True)
    masked[seen] = -np.inf
    masked[np.isnan(masked)] = -np.inf
    return _best(masked, np.flatnonzero(np.isfinite(masked)), k)


def _unseen(scores: np.ndarray, candidates: np.ndarray, seen: np.ndarray) -> np.ndarray:
    return candidates[~np.isin(candidates, seen) & np.isfinite(scores[candidates])]


def _best(scores: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """The k best of ``candidates`` (ascending indices, finite scores), best first, ties to the lower index."""
    values = scores[candidates].astype(np.float64)
    if len(candidates) > k:
        kth = -np.partition(-values, k - 1)[k - 1]
        above = values > kth
        tied = np.flatnonzero(values == kth)[:k - int(above.sum())]  # the lowest indices of the tied
        keep = np.flatnonzero(above)
        keep = np.concatenate([keep, tied])
        candidates, values = candidates[keep], values[keep]
    order = np.lexsort((candidates, -values))
    return candidates[order]
