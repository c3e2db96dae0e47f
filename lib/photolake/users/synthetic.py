"""Synthetic users and their interactions, from a generative model simple enough to state in full:

1. **Tastes.** Each user has hidden tastes, drawn from the catalogue's features: 1-3 tags (more common
   tags more likely, by the square root of their frequency), 1-2 colour families, an object class with
   probability 0.6 and an orientation with probability 0.3 (each by its frequency).
2. **Activity.** A heavy-tailed activity level: lognormal with mean ``mean_photos`` and spread
   ``activity_spread``; the user views ``round(activity)`` photos (at least 3, at most half the catalogue).
3. **Choice.** A photo's affinity for the user is the share of the user's tastes it has (0-1). The user views
   the photos with the highest ``taste_weight * affinity + popularity_weight * z(log(1 + downloads)) +
   noise * Gumbel``: the Gumbel-max trick, i.e. sampling without replacement in proportion to
   ``exp(utility)``.
4. **Events.** Every viewed photo gets a ``view``; it is liked with probability ``0.05 + 0.6 * affinity``
   and downloaded with probability ``0.02 + 0.3 * affinity``. Weights: view 1, like 3, download 5.
5. **Time.** A user starts at a uniform moment of 2020-2022 and views photos at exponential gaps (mean
   12 hours) in a random order; a like or download follows its view by seconds to minutes.

Each user draws from its own random stream, seeded by (seed, user number), so the same seed gives the same
users on any number of partitions, and generation runs on the executors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from photolake.config import DEFAULTS
from photolake.progress import reporter
from photolake.schemas import INTERACTIONS
from photolake.session import broadcast
from photolake.users.catalogue import Catalogue

EVENT_WEIGHTS = {"view": 1.0, "like": 3.0, "download": 5.0}
START = datetime(2020, 1, 1, tzinfo=timezone.utc).timestamp()
SPAN_S = 3 * 365 * 86400.0
MEAN_GAP_S = 12 * 3600.0
USERS_PER_PARTITION = 2000
DRAWS_SCHEMA = "user_id string, activity double, kind string, value string"


@dataclass(frozen=True)
class SyntheticOptions:
    """The synthetic users' settings: users.* (photolake.config, where the defaults and their meaning are)."""

    users: int = DEFAULTS["users.users"]
    seed: int = DEFAULTS["users.seed"]
    mean_photos: float = DEFAULTS["users.mean_photos"]
    activity_spread: float = DEFAULTS["users.activity_spread"]  # 1.0 gives a long tail of very active users
    taste_weight: float = DEFAULTS["users.taste_weight"]
    popularity_weight: float = DEFAULTS["users.popularity_weight"]
    noise: float = DEFAULTS["users.noise"]


def user_id(number: int) -> str:
    return f"u{number:07d}"


def _pick(rng: np.random.Generator, candidates: np.ndarray, weights: np.ndarray, count: int) -> np.ndarray:
    if len(candidates) == 0 or count <= 0:
        return candidates[:0]
    return rng.choice(candidates, size=min(count, len(candidates)), replace=False, p=weights / weights.sum())


def draw_user(number: int, catalogue: Catalogue,
              options: SyntheticOptions) -> tuple[np.random.Generator, float, np.ndarray]:
    """(the user's random stream, positioned after the draws below; activity; taste feature indices)."""
    rng = np.random.default_rng([options.seed, number])
    frequency = catalogue.frequency
    tags, families = catalogue.features_of("tag"), catalogue.features_of("color_family")
    objects, orientations = catalogue.features_of("object"), catalogue.features_of("orientation")
    tastes = np.concatenate([
        _pick(rng, tags, np.sqrt(frequency[tags]), int(rng.integers(1, 4))),
        _pick(rng, families, frequency[families], 1 + int(rng.random() < 0.4)),
        _pick(rng, objects, np.sqrt(frequency[objects]), int(rng.random() < 0.6)),
        _pick(rng, orientations, frequency[orientations], int(rng.random() < 0.3)),
    ]).astype(np.int64)
    sigma = options.activity_spread
    activity = float(rng.lognormal(np.log(options.mean_photos) - sigma ** 2 / 2, sigma))
    return rng, activity, tastes


def _popularity_z(catalogue: Catalogue) -> np.ndarray:
    logged = np.log1p(catalogue.popularity)
    spread = logged.std()
    return (logged - logged.mean()) / spread if spread > 0 else np.zeros_like(logged)


def draw_interactions(number: int, catalogue: Catalogue, options: SyntheticOptions,
                      popularity_z: np.ndarray | None = None) -> pd.DataFrame:
    """One user's interactions (the INTERACTIONS columns)."""
    rng, activity, tastes = draw_user(number, catalogue, options)
    n = catalogue.size
    count = int(np.clip(round(activity), 3, max(3, n // 2)))
    count = min(count, n)
    affinity = catalogue.share_of(tastes)
    z = _popularity_z(catalogue) if popularity_z is None else popularity_z
    utility = options.taste_weight * affinity + options.popularity_weight * z + options.noise * rng.gumbel(size=n)
    chosen = np.argpartition(-utility, count - 1)[:count]
    chosen = chosen[rng.permutation(count)]
    viewed_at = START + rng.uniform(0, SPAN_S) + np.cumsum(rng.exponential(MEAN_GAP_S, count))
    liked = rng.random(count) < 0.05 + 0.6 * affinity[chosen]
    downloaded = rng.random(count) < 0.02 + 0.3 * affinity[chosen]
    later = rng.uniform(5, 600, (2, count))
    photos = np.concatenate([chosen, chosen[liked], chosen[downloaded]])
    events = ["view"] * count + ["like"] * int(liked.sum()) + ["download"] * int(downloaded.sum())
    at = np.concatenate([viewed_at, viewed_at[liked] + later[0][liked], viewed_at[downloaded] + later[1][downloaded]])
    return pd.DataFrame({
        "user_id": user_id(number), "photo_id": catalogue.photo_ids[photos], "event": events,
        "weight": [EVENT_WEIGHTS[e] for e in events],
        "at": pd.to_datetime(np.round(at * 1e6).astype("int64"), unit="us", utc=True),
        "keyword": None, "source": "synthetic"})


def _numbers(spark: SparkSession, users: int) -> DataFrame:
    partitions = max(spark.sparkContext.defaultParallelism, -(-users // USERS_PER_PARTITION))
    return spark.range(users, numPartitions=partitions)


def synthetic_tastes(spark: SparkSession, catalogue: Catalogue, options: SyntheticOptions) -> DataFrame:
    """(user_id, activity, kind, value): each user's hidden tastes, one row a taste."""
    shared = broadcast(spark, catalogue)

    def draw(batches):
        cat = shared.value
        for batch in batches:
            rows = []
            for number in batch["id"]:
                _, activity, tastes = draw_user(int(number), cat, options)
                rows += [(user_id(int(number)), activity, cat.kinds[t], cat.values[t]) for t in tastes]
            yield pd.DataFrame(rows, columns=["user_id", "activity", "kind", "value"])

    return _numbers(spark, options.users).mapInPandas(draw, DRAWS_SCHEMA)


def synthetic_interactions(spark: SparkSession, catalogue: Catalogue, options: SyntheticOptions,
                           progress_address: str | None = None) -> DataFrame:
    """Every synthetic user's interactions, generated on the executors, each user reported to the driver's
    progress."""
    shared = broadcast(spark, catalogue)

    def draw(batches):
        cat = shared.value
        z = _popularity_z(cat)
        report = reporter(progress_address)
        for batch in batches:
            frames = []
            for number in batch["id"]:
                frames.append(draw_interactions(int(number), cat, options, z))
                if report:
                    report.add(1)
            if frames:
                yield pd.concat(frames, ignore_index=True)

    return _numbers(spark, options.users).mapInPandas(draw, INTERACTIONS)
