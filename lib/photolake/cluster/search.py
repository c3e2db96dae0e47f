"""Choosing k: k-means for each candidate k on at most ``SEARCH_ROWS`` photos held on the driver (numpy), each
scored by the silhouette as Spark's ClusteringEvaluator defines it (squared Euclidean distances, a point's
own cluster without itself, a one-point cluster scoring 0).  Only the chosen k is then fitted with Spark
MLlib on every photo.  A search through MLlib would run a Spark job per k-means iteration, which on a few
hundred photos costs seconds per k and finds the same k."""

from __future__ import annotations

from collections import Counter
from math import comb

import numpy as np

SEARCH_ROWS = 20_000  # the sample k is chosen on: enough for the silhouette to settle, small for the driver
RESTARTS = 3  # k-means++ starts per k; the lowest inertia wins, as in scikit-learn
MAX_ITERATIONS = 50


def _squared_distances(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return np.maximum((points * points).sum(1)[:, None] - 2.0 * points @ centres.T
                      + (centres * centres).sum(1)[None, :], 0.0)


def _seeds(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++: each next centre drawn with probability proportional to its squared distance."""
    centres = [points[rng.integers(len(points))]]
    closest = _squared_distances(points, np.array(centres))[:, 0]
    for _ in range(1, k):
        total = closest.sum()
        chosen = rng.choice(len(points), p=closest / total) if total > 0 else rng.integers(len(points))
        centres.append(points[chosen])
        closest = np.minimum(closest, _squared_distances(points, points[chosen][None, :])[:, 0])
    return np.array(centres)


def kmeans(points: np.ndarray, k: int, seed: int = 42) -> np.ndarray:
    """Each point's cluster (0..k-1): Lloyd's iterations from the best of RESTARTS k-means++ starts."""
    rng = np.random.default_rng(seed)
    best_labels, best_inertia = None, np.inf
    for _ in range(RESTARTS):
        centres = _seeds(points, k, rng)
        labels = None
        for _ in range(MAX_ITERATIONS):
            distances = _squared_distances(points, centres)
            new_labels = distances.argmin(1)
            if labels is not None and np.array_equal(new_labels, labels):
                break
            labels = new_labels
            for c in range(k):
                members = points[labels == c]
                if len(members):
                    centres[c] = members.mean(0)
        inertia = _squared_distances(points, centres)[np.arange(len(points)), labels].sum()
        if inertia < best_inertia:
            best_labels, best_inertia = labels, inertia
    return best_labels


def silhouette(points: np.ndarray, labels: np.ndarray) -> float:
    """The mean silhouette with squared Euclidean distances, exactly as ClusteringEvaluator computes it:
    mean distances to a cluster come from its sum and sum of squared norms, in O(points x clusters)."""
    clusters = np.unique(labels)
    if len(clusters) < 2:
        return float("nan")
    norms = (points * points).sum(1)
    sizes = np.array([(labels == c).sum() for c in clusters], dtype=np.float64)
    sums = np.stack([points[labels == c].sum(0) for c in clusters])
    norm_sums = np.array([norms[labels == c].sum() for c in clusters])
    mean_distance = (norms[:, None] * sizes[None, :] + norm_sums[None, :] - 2.0 * points @ sums.T) / sizes[None, :]
    own = np.searchsorted(clusters, labels)
    own_size = sizes[own]
    a = np.where(own_size > 1, mean_distance[np.arange(len(points)), own] * own_size / np.maximum(own_size - 1, 1), 0)
    others = mean_distance.copy()
    others[np.arange(len(points)), own] = np.inf
    b = others.min(1)
    score = np.where(own_size > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(score.mean())


def search_k(points: np.ndarray, candidates: list[int], seed: int = 42) -> dict[int, float]:
    """k -> silhouette of its k-means, for each candidate k."""
    return {k: silhouette(points, kmeans(points, k, seed)) if 1 < k < len(points) else float("nan")
            for k in candidates}


def adjusted_rand_index(truth: list, found: list) -> float:
    """Agreement of two labellings of the same items, 1.0 when they group alike, about 0 by chance (Hubert
    and Arabie's ARI): how the tests and the bench score clusters against planted kinds."""
    pairs = Counter(zip(truth, found))
    index = sum(comb(n, 2) for n in pairs.values())
    a = sum(comb(n, 2) for n in Counter(truth).values())
    b = sum(comb(n, 2) for n in Counter(found).values())
    expected = a * b / comb(len(truth), 2)
    return (index - expected) / ((a + b) / 2 - expected)
