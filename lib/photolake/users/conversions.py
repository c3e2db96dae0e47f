"""The dataset's real users: each conversion (an anonymous user downloading a photo after a search) becomes
an interaction; a conversion without a user or photo is rejected and counted."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from photolake.users.synthetic import EVENT_WEIGHTS


def _event_weight(event: Column) -> Column:
    weight = F.lit(EVENT_WEIGHTS["download"])  # any other kind of conversion counts as a download
    for name, value in EVENT_WEIGHTS.items():
        weight = F.when(event == name, F.lit(value)).otherwise(weight)
    return weight


def usable(conversions: DataFrame) -> Column:
    return F.col("anonymous_user_id").isNotNull() & (F.trim("anonymous_user_id") != "") & F.col("photo_id").isNotNull()


def conversion_interactions(conversions: DataFrame, photos: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(interactions, rejects with a reason): a conversion needs a user and a photo of the catalogue."""
    known = photos.select("photo_id", F.lit(True).alias("in_catalogue"))
    checked = conversions.join(known, "photo_id", "left").withColumn(
        "reason", F.when(~usable(conversions), "no anonymous_user_id or photo_id")
        .when(F.col("in_catalogue").isNull(), "photo not in the photos table"))
    event = F.lower(F.coalesce(F.trim("conversion_type"), F.lit("download")))
    interactions = checked.filter(F.col("reason").isNull()).select(
        F.trim("anonymous_user_id").alias("user_id"), "photo_id", event.alias("event"),
        _event_weight(event).alias("weight"), F.col("converted_at").alias("at"), "keyword",
        F.lit("conversions").alias("source"))
    return interactions, checked.filter(F.col("reason").isNotNull())
