"""ranking: the k best of a score per item, against a full sort."""

from __future__ import annotations

import numpy as np

from photolake.ranking import top_unseen


def test_top_unseen_skips_seen_photos_and_breaks_ties_by_index():
    scores = np.array([0.1, 0.9, 0.5, 0.9, 0.2, np.nan])
    assert top_unseen(scores, np.array([1]), 3).tolist() == [3, 2, 4]
    assert top_unseen(np.array([0.5, 0.5, 0.1]), np.array([], dtype=int), 2).tolist() == [0, 1]
    assert top_unseen(scores, np.array([0, 1, 2, 3, 4]), 10).tolist() == []  # nan is never recommended


def test_top_unseen_on_a_large_catalogue_is_the_full_sort_whatever_the_ties():
    rng = np.random.default_rng(2)

    def by_full_sort(scores, seen, k):
        masked = scores.astype(np.float64)
        masked[seen] = -np.inf
        masked[np.isnan(masked)] = -np.inf
        finite = np.flatnonzero(np.isfinite(masked))
        return finite[np.lexsort((finite, -masked[finite]))][:k]

    for case in range(12):
        scores = rng.random(300_000).astype(np.float32)
        if case % 3 == 1:
            scores = np.round(scores * 4) / 4  # five values: ties everywhere, the sample's threshold among them
        if case % 3 == 2:
            scores[rng.integers(0, len(scores), 30_000)] = np.nan
        seen = rng.choice(len(scores), int(rng.integers(0, 400)), replace=False)
        k = int(rng.integers(1, 50))
        assert top_unseen(scores, seen, k).tolist() == by_full_sort(scores, seen, k).tolist(), case
    assert top_unseen(np.zeros(300_000, np.float32), np.arange(10), 3).tolist() == [10, 11, 12]
