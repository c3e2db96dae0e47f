"""From interactions to what the recommenders learn from, and a per-user, time-based holdout.

A user's interactions with one photo collapse into one (user, photo) pair whose weight is the sum of its
events' weights (view 1, like 3, download 5) and whose time is the first event's. The holdout keeps each
user's latest photos for testing, as a live system would be tested: the past predicts the future."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def user_photos(interactions: DataFrame) -> DataFrame:
    """(user_id, photo_id, weight, at): one row per user and photo."""
    return interactions.groupBy("user_id", "photo_id").agg(F.sum("weight").alias("weight"), F.min("at").alias("at"))


def holdout(pairs: DataFrame, fraction: float, min_photos: int) -> tuple[DataFrame, DataFrame]:
    """(train, test): each user with at least ``min_photos`` photos gives their latest ``fraction`` of them
    (at least one) to test; everyone else stays whole in train. Ties in time break by photo_id."""
    by_user = Window.partitionBy("user_id")
    latest_first = by_user.orderBy(F.col("at").desc_nulls_last(), F.col("photo_id").desc())
    ranked = (pairs.withColumn("photos", F.count("*").over(by_user))
              .withColumn("recency", F.row_number().over(latest_first))
              .withColumn("held", F.when(F.col("photos") >= min_photos,
                                         F.greatest(F.lit(1), F.floor(F.col("photos") * fraction))).otherwise(0)))
    test = ranked.filter(F.col("recency") <= F.col("held")).drop("photos", "recency", "held")
    train = ranked.filter(F.col("recency") > F.col("held")).drop("photos", "recency", "held")
    return train, test
