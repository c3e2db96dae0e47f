"""users: the generative model (deterministic, heavy-tailed, taste-driven), conversions as real users,
profiles, and the catalogue they are drawn from."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from photolake.schemas import INTERACTIONS, PROFILES
from photolake.users.catalogue import (
    build_catalogue,
    collect_catalogue,
    photo_attributes,
    photo_popularity,
    select_features,
)
from photolake.users.conversions import conversion_interactions
from photolake.users.profiles import profiles, users_table
from photolake.users.synthetic import (
    SyntheticOptions,
    draw_interactions,
    draw_user,
    synthetic_interactions,
    synthetic_tastes,
)
from tests.test_recommend import planted_catalogue


def test_catalogue_keeps_telling_tags_and_normalises_rows():
    attributes = pd.DataFrame([("p1", "tag", "beach"), ("p2", "tag", "beach"), ("p1", "tag", "everywhere"),
                               ("p2", "tag", "everywhere"), ("p3", "tag", "everywhere"), ("p3", "tag", "once"),
                               ("p1", "color_family", "blue"), ("p3", "camera", "Canon")],
                              columns=["photo_id", "kind", "value"])
    popularity = pd.DataFrame({"photo_id": ["p3", "p1", "p2"], "popularity": [5.0, 1.0, 0.0]})
    catalogue = build_catalogue(attributes, popularity, max_tag_share=0.7)
    assert catalogue.photo_ids.tolist() == ["p1", "p2", "p3"]
    # 'everywhere' is on every photo and 'once' on one: neither tells photos apart; cameras are not content
    assert list(zip(catalogue.kinds, catalogue.values)) == [("color_family", "blue"), ("tag", "beach")]
    assert catalogue.binary.toarray().tolist() == [[1, 1], [0, 1], [0, 0]]
    assert np.linalg.norm(catalogue.content.toarray(), axis=1) == pytest.approx([1.0, 1.0, 0.0], abs=1e-6)
    assert catalogue.popularity.tolist() == [1.0, 0.0, 5.0]


def test_feature_selection_on_parts_then_on_their_union_is_the_selection_on_all():
    rng = np.random.default_rng(4)
    frequency = pd.DataFrame({"kind": rng.choice(["tag", "tag", "object", "color_family"], 400),
                              "value": [f"v{i}" for i in range(400)], "photos": rng.integers(1, 60, 400)})
    whole = select_features(frequency, 100, 20, 0.5)
    shuffled = frequency.sample(frac=1, random_state=1)
    parts = [select_features(shuffled.iloc[i::7], 100, 20, 0.5) for i in range(7)]
    assert select_features(pd.concat(parts), 100, 20, 0.5).equals(whole)
    assert (whole["kind"] == "tag").sum() == 20 and whole["photos"][whole["kind"] == "tag"].between(2, 50).all()


def test_the_catalogue_built_by_spark_is_the_one_built_from_pandas(spark):
    session = spark.newSession()  # its own views and settings: small Arrow batches, so the selection runs in parts
    session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "7")
    rng = np.random.default_rng(8)
    photos = pd.DataFrame({"photo_id": [f"p{i:03d}" for i in rng.permutation(300)],
                           "camera_make": rng.choice(["Canon", "Sony", None], 300),
                           "stats_downloads": rng.choice([None, 5, 50, 500], 300),
                           "photo_width": rng.integers(100, 300, 300), "photo_height": rng.integers(100, 300, 300)})
    session.createDataFrame(photos.astype({"stats_downloads": "float64"})).createOrReplaceTempView("photos")
    tags = pd.DataFrame({"photo_id": rng.choice(photos["photo_id"], 2000), "tag": [f"t{rng.zipf(1.6) % 97}" for _ in
                                                                                  range(2000)],
                         "confidence": rng.choice([None, 0.1, 0.9], 2000)}).astype({"confidence": "float64"})
    session.createDataFrame(tags.drop_duplicates(["photo_id", "tag"])).createOrReplaceTempView("photo_tags")
    tables = ["photos", "photo_tags"]
    built, attributes = collect_catalogue(session, tables, max_tags=12)
    expected = build_catalogue(photo_attributes(session, tables).toPandas(), photo_popularity(session).toPandas(),
                               max_tags=12)
    assert built.photo_ids.tolist() == expected.photo_ids.tolist() == sorted(photos["photo_id"])
    assert list(zip(built.kinds, built.values)) == list(zip(expected.kinds, expected.values))
    assert (built.kinds == "tag").sum() == 12
    assert (built.binary != expected.binary).nnz == 0 and built.binary.nnz > 300
    np.testing.assert_allclose(built.content.toarray(), expected.content.toarray(), rtol=1e-6)
    np.testing.assert_array_equal(built.popularity, expected.popularity)
    np.testing.assert_array_equal(built.frequency, np.asarray(built.binary.sum(axis=0)).ravel())
    assert attributes.count() > 0


def test_the_same_seed_gives_the_same_user_and_another_seed_another():
    catalogue, _ = planted_catalogue(20)
    options = SyntheticOptions(seed=3)
    pd.testing.assert_frame_equal(draw_interactions(5, catalogue, options), draw_interactions(5, catalogue, options))
    assert not draw_interactions(5, catalogue, options).equals(draw_interactions(5, catalogue,
                                                                                 SyntheticOptions(seed=4)))


def test_activity_is_heavy_tailed_and_choices_follow_tastes():
    catalogue, _ = planted_catalogue(40)
    options = SyntheticOptions(seed=1, mean_photos=20)
    activity = np.array([draw_user(n, catalogue, options)[1] for n in range(3000)])
    assert activity.mean() == pytest.approx(20, rel=0.1)
    assert np.percentile(activity, 99) > 4 * np.median(activity)
    lifts = []
    for n in range(50):
        _, _, tastes = draw_user(n, catalogue, options)
        affinity = catalogue.binary.toarray()[:, tastes].mean(axis=1)
        frame = draw_interactions(n, catalogue, options)
        viewed = [catalogue.index()[p] for p in frame[frame.event == "view"].photo_id]
        assert len(viewed) == len(set(viewed)) >= 3
        lifts.append(affinity[viewed].mean() / affinity.mean())
        assert set(frame.event) <= {"view", "like", "download"}
        assert (frame.groupby("event").weight.first().to_dict().items()
                <= {"view": 1.0, "like": 3.0, "download": 5.0}.items())
    assert np.mean(lifts) > 2  # viewed photos match the hidden tastes far more often than the catalogue does


def test_synthetic_tables_on_spark_match_the_model(spark):
    catalogue, _ = planted_catalogue(20)
    options = SyntheticOptions(users=30, seed=9)
    interactions = synthetic_interactions(spark, catalogue, options)
    assert interactions.schema == INTERACTIONS
    rows = interactions.filter(F.col("user_id") == "u0000007").toPandas()
    expected = draw_interactions(7, catalogue, options)
    assert sorted(zip(rows.photo_id, rows.event)) == sorted(zip(expected.photo_id, expected.event))
    assert interactions.select("user_id").distinct().count() == 30
    tastes = synthetic_tastes(spark, catalogue, options).filter(F.col("user_id") == "u0000007").toPandas()
    _, activity, features = draw_user(7, catalogue, options)
    assert sorted(zip(tastes.kind, tastes.value)) == sorted(zip(catalogue.kinds[features], catalogue.values[features]))
    assert tastes.activity.iloc[0] == pytest.approx(activity)


def test_conversions_become_interactions_and_bad_ones_are_counted(spark):
    conversions = spark.createDataFrame(
        [(datetime(2021, 1, 1), "download", "sea", "p1", "user-a"),
         (datetime(2021, 1, 2), None, "sea", "p2", "user-a"),
         (datetime(2021, 1, 3), "download", "dog", "p1", None),
         (datetime(2021, 1, 4), "download", "dog", "p9", "user-b")],
        "converted_at timestamp, conversion_type string, keyword string, photo_id string, anonymous_user_id string")
    photos = spark.createDataFrame([("p1",), ("p2",)], "photo_id string")
    interactions, rejects = conversion_interactions(conversions, photos)
    assert sorted((r.user_id, r.photo_id, r.event, r.weight, r.keyword, r.source) for r in interactions.collect()) == [
        ("user-a", "p1", "download", 5.0, "sea", "conversions"), ("user-a", "p2", "download", 5.0, "sea",
                                                                  "conversions")]
    assert sorted(r.reason for r in rejects.collect()) == ["no anonymous_user_id or photo_id",
                                                          "photo not in the photos table"]


def test_profiles_and_users_weigh_events(spark):
    at = datetime(2022, 5, 1)
    interactions = spark.createDataFrame(
        [("u", "p1", "view", 1.0, at, None, "synthetic"), ("u", "p1", "download", 5.0, at, None, "synthetic"),
         ("u", "p2", "view", 1.0, at, None, "synthetic"), ("u", "p3", "like", 3.0, at, None, "synthetic")],
        INTERACTIONS)
    attributes = spark.createDataFrame(
        [("p1", "tag", "sea"), ("p1", "color_family", "blue"), ("p1", "orientation", "landscape"),
         ("p1", "camera", "Canon"), ("p1", "cluster", "2"), ("p2", "tag", "dog"), ("p2", "object", "dog"),
         ("p2", "orientation", "portrait"), ("p3", "tag", "dog"), ("p3", "tag", "sea"), ("p3", "color_family", "green"),
         ("p3", "size_category", "large")], "photo_id string, kind string, value string")
    expected = spark.createDataFrame(
        [("u", "synthetic", 4, 3, ["blue", "green"], ["sea", "dog"], ["dog"], "landscape", "large", ["Canon"], 2,
          ["p1", "p3", "p2"])], PROFILES)
    assertDataFrameEqual(profiles(users_table(interactions), interactions, attributes), expected)
    users = users_table(interactions).collect()
    assert [(u.user_id, u.source, u.interactions, u.photos, u.activity) for u in users] == [("u", "synthetic", 4, 3,
                                                                                             None)]
