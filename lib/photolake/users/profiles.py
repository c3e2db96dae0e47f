"""Per-user tables from interactions: ``users`` (who, how active) and ``profiles`` (what they like).

A profile weighs each interaction by its event (a download says more than a view) and sums the weights of
the photos' attributes: the favourite colours, tags and objects are the heaviest ones, the orientation,
size category and cluster the heaviest single one, the favourite images the heaviest photos."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from photolake.schemas import USERS

TOP = {"color_family": ("favourite_colors", 3), "tag": ("favourite_tags", 5), "object": ("favourite_objects", 3),
       "camera": ("cameras", 3)}
SINGLE = {"orientation": "orientation", "size_category": "size_category", "cluster": "top_cluster"}
FAVOURITE_IMAGES = 5


def users_table(interactions: DataFrame, activity: DataFrame | None = None) -> DataFrame:
    """One row per user: source, activity (synthetic users' hidden level, else null), counts, first and last."""
    users = interactions.groupBy("user_id").agg(
        F.first("source").alias("source"), F.count("*").alias("interactions"),
        F.countDistinct("photo_id").alias("photos"), F.min("at").alias("first_at"), F.max("at").alias("last_at"))
    users = (users.withColumn("activity", F.lit(None).cast("double")) if activity is None
             else users.join(activity.select("user_id", "activity"), "user_id", "left"))
    return users.select(*[f.name for f in USERS.fields])


def _heaviest(weighted: DataFrame, n: int) -> DataFrame:
    """(user_id, kind, values): per user and kind, the n values of greatest weight (ties by value)."""
    ranked = weighted.groupBy("user_id", "kind").agg(
        F.slice(F.sort_array(F.collect_list(F.struct((-F.col("weight")).alias("w"), "value"))), 1, n).alias("top"))
    return ranked.select("user_id", "kind", F.transform("top", lambda t: t["value"]).alias("values"))


def profiles(users: DataFrame, interactions: DataFrame, attributes: DataFrame) -> DataFrame:
    """The PROFILES columns, one row per user of ``users`` (the users table: source and counts)."""
    per_photo = interactions.groupBy("user_id", "photo_id").agg(F.sum("weight").alias("weight"),
                                                                F.max("at").alias("at"))
    weighted = (per_photo.join(attributes, "photo_id", "inner")
                .groupBy("user_id", "kind", "value").agg(F.sum("weight").alias("weight")))
    top = max(n for _, n in TOP.values())
    heaviest = _heaviest(weighted, top).groupBy("user_id").pivot("kind",
                                                                 list(TOP) + list(SINGLE)).agg(F.first("values"))
    images = per_photo.groupBy("user_id").agg(F.slice(F.sort_array(F.collect_list(
        F.struct((-F.col("weight")).alias("w"), (-F.unix_micros("at")).alias("t"), "photo_id"))), 1, FAVOURITE_IMAGES)
        .alias("top"))
    out = (users.select("user_id", "source", "interactions", "photos")
           .join(heaviest, "user_id", "left").join(images, "user_id", "left"))
    return out.select(
        "user_id", "source", "interactions", "photos",
        *[F.slice(F.col(kind), 1, n).alias(name) for kind, (name, n) in TOP.items() if name != "cameras"],
        F.col("orientation")[0].alias("orientation"), F.col("size_category")[0].alias("size_category"),
        F.slice(F.col("camera"), 1, TOP["camera"][1]).alias("cameras"),
        F.col("cluster")[0].cast("int").alias("top_cluster"),
        F.transform("top", lambda t: t["photo_id"]).alias("favourite_images"))
