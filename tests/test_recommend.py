"""recommend: scoring and reasons without Spark, metrics on a hand-computed case, seen photos never
recommended, cold start, a blue beach lover, and the models against popularity on synthetic users."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.sql import functions as F

from photolake.ranking import top_unseen
from photolake.recommend.evaluate import (
    evaluate,
    local_ndcg,
    local_validation,
    ndcg_at_k,
    ranking_frame,
    ranking_metrics,
    tune_als,
)
from photolake.recommend.models import ALSParams, RecommendSettings, fit_als, recommend
from photolake.recommend.run import sized_grid
from photolake.recommend.scoring import (
    Standardised,
    als_reason,
    content_profile,
    content_reason,
    intra_list_diversity,
    mixed,
    popularity_reason,
)
from photolake.recommend.split import holdout, user_photos
from photolake.users.catalogue import item_frame, themed_catalogue
from photolake.users.synthetic import SyntheticOptions, synthetic_interactions, synthetic_tastes


def planted_catalogue(photos_per_theme: int = 60):
    return themed_catalogue(photos_per_theme)


# ---- scoring without Spark --------------------------------------------------------------------------------

def test_the_hybrid_mix_is_the_weighted_sum_of_z_scores():
    rng = np.random.default_rng(3)
    first, second = rng.normal(size=(3, 1000)).astype(np.float32), rng.random((3, 1000)).astype(np.float32)
    second[2] = 0.5  # a constant row: its z-scores are 0
    first_z, second_z = Standardised.of(first), Standardised.of(second)
    for row in range(3):
        z_first = (first[row] - first[row].mean()) / first[row].std()
        z_second = (second[row] - second[row].mean()) / second[row].std() if row < 2 else np.zeros(1000)
        np.testing.assert_allclose(mixed(first[row], second[row], 0.7, first_z, second_z, row),
                                   0.7 * z_first + 0.3 * z_second, atol=1e-5)
        np.testing.assert_allclose(first_z.z(row, first[row]), z_first, atol=1e-5)


def test_content_profile_and_reasons_name_what_the_user_liked():
    catalogue, _ = planted_catalogue(10)
    index = catalogue.index()
    beach = [i for p, i in index.items() if p.startswith("beac")]
    seen = np.array(beach[:4])
    profile = content_profile(catalogue, seen, np.ones(4))
    assert np.linalg.norm(profile) == pytest.approx(1.0, abs=1e-5)
    best = top_unseen(catalogue.content @ profile, seen, 5)
    assert all(catalogue.photo_ids[i].startswith("beac") for i in best)
    kind, reason = content_reason(catalogue, profile, int(best[0]), seen)
    assert kind == {"tagged": "tag", "mostly": "colour", "shows a": "object"}[
        next(w for w in ("tagged", "mostly", "shows a") if w in reason)]
    assert any(word in reason for word in ("tagged beach", "tagged sea", "tagged sand", "blue", "umbrella")), reason
    if "tagged" in reason:
        tag = reason.rsplit(" ", 1)[1]
        feature = next(j for j, (k, v) in enumerate(zip(catalogue.kinds, catalogue.values)) if k == "tag" and v == tag)
        assert reason.startswith(f"you liked {int(catalogue.binary.toarray()[seen, feature].sum())} photo")


def test_als_reason_points_at_the_nearest_seen_photo():
    catalogue, _ = planted_catalogue(2)
    factors = np.zeros((catalogue.size, 2), dtype=np.float32)
    factors[0], factors[1], factors[2] = [1, 0], [0, 1], [0.1, 1]
    assert als_reason(catalogue, factors, 2, np.array([0, 1])) == \
        ("similar_users", f"people who liked {catalogue.photo_ids[1]} also liked this")
    assert popularity_reason(1) == ("popular", "popular: 1 person liked it")
    assert popularity_reason(12) == ("popular", "popular: 12 people liked it")


def test_intra_list_diversity():
    catalogue, _ = planted_catalogue(3)
    assert intra_list_diversity(catalogue, np.array([0])) is None
    assert intra_list_diversity(catalogue, np.array([0, 0])) == pytest.approx(0.0, abs=1e-6)
    other = next(i for i, p in enumerate(catalogue.photo_ids) if p.startswith("desert"[:4]))
    # different themes share at most an orientation: nearly dissimilar
    assert intra_list_diversity(catalogue, np.array([0, other])) > 0.8


# ---- Spark ------------------------------------------------------------------------------------------------

def test_ranking_metrics_on_a_hand_computed_case(spark):
    scored = spark.createDataFrame(
        [("a", "m", r, item) for r, item in enumerate([1, 2, 3], start=1)]
        + [("b", "m", r, item) for r, item in enumerate([4, 6, 7], start=1)],
        "user_id string, model string, rank int, item int")
    test = spark.createDataFrame([("a", 1), ("a", 3), ("a", 5), ("b", 6), ("c", 9)], "user_id string, item int")
    metrics = ranking_metrics(ranking_frame(scored, test), 3)["m"]
    # a: hits at 1 and 3 of {1, 3, 5}; b: a hit at 2 of {6}; c: nothing recommended
    ndcg_a = (1 + 1 / np.log2(4)) / (1 + 1 / np.log2(3) + 1 / np.log2(4))
    ndcg_b = 1 / np.log2(3)
    assert metrics["users"] == 3
    assert metrics["precision_at_k"] == pytest.approx((2 / 3 + 1 / 3 + 0) / 3)
    assert metrics["recall_at_k"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert metrics["ndcg_at_k"] == pytest.approx((ndcg_a + ndcg_b + 0) / 3)
    assert metrics["map_at_k"] == pytest.approx(((1 + 2 / 3) / 3 + (1 / 2) / 1 + 0) / 3)


def test_holdout_keeps_each_users_latest_photos(spark):
    rows = [("u1", f"p{i}", 1.0, i) for i in range(10)] + [("u2", "p0", 1.0, 0), ("u2", "p1", 1.0, 1)]
    pairs = spark.createDataFrame(rows, "user_id string, photo_id string, weight double, t long") \
        .withColumn("at", F.timestamp_seconds("t")).drop("t")
    train, test = holdout(pairs, 0.2, 5)
    assert sorted((r.user_id, r.photo_id) for r in test.collect()) == [("u1", "p8"), ("u1", "p9")]
    assert train.count() == 10


@pytest.fixture(scope="module")
def planted(spark):
    """A planted catalogue, 400 synthetic users drawn from it, their pairs and a holdout."""
    catalogue, attributes = planted_catalogue()
    options = SyntheticOptions(users=400, seed=7, mean_photos=25)
    interactions = synthetic_interactions(spark, catalogue, options).cache()
    tastes = synthetic_tastes(spark, catalogue, options).cache()
    pairs = user_photos(interactions).join(item_frame(spark, catalogue.photo_ids), "photo_id").cache()
    train, test = holdout(pairs, 0.2, 5)
    return catalogue, spark.createDataFrame(attributes), tastes, pairs, train.cache(), test.cache()


def test_ndcg_as_spark_computes_it():
    # hits at ranks 1 and 3 of 3 predictions, 2 relevant: (1 + 1/log2(4)) / (1 + 1/log2(3)); no prediction: 0
    assert ndcg_at_k([[5, 6, 7], []], [{5, 7}, {1}], 3) == pytest.approx((1 + 0.5) / (1 + 1 / np.log2(3)) / 2)


def test_tuning_scores_a_small_validation_on_the_driver_exactly_as_spark_does(spark, planted):
    catalogue, _, _, _, train, test = planted
    settings = RecommendSettings(k=10)
    factors = fit_als(train, catalogue.size, ALSParams(10, 0.1, 1.0, 10))
    through_spark = ranking_metrics(ranking_frame(recommend(spark, train, test, catalogue, ("als",), settings, factors),
                                                  test), 10)["als"]["ndcg_at_k"]
    local = local_validation(train, test, catalogue)
    assert local is not None and local_ndcg(local, factors, catalogue, settings) == pytest.approx(through_spark)


def test_the_grid_leaves_out_ranks_the_catalogue_cannot_carry():
    grid = [ALSParams(rank, 0.1, alpha) for rank in (10, 30, 60) for alpha in (1.0, 10.0)]
    kept, dropped = sized_grid(grid, 207)  # a tenth: 20 factors
    assert [p.rank for p in kept] == [10, 10] and dropped == [30, 60]
    assert sized_grid(grid, 25_000) == (grid, [])
    assert [p.rank for p in sized_grid(grid, 50)[0]] == [10, 10]  # the smallest rank always stays


def test_models_beat_popularity_and_never_recommend_seen_photos(spark, planted):
    catalogue, attributes, tastes, _, train, test = planted
    settings = RecommendSettings(k=10)
    params, tuning = tune_als(spark, train, catalogue, [ALSParams(10, 0.1, 10.0, 10), ALSParams(10, 0.1, 1.0, 10)],
                              settings, 0.2, 5, 42)
    assert tuning["chosen"].sum() == 1 and params == ALSParams(*tuning.loc[tuning["chosen"], ["rank", "reg_param",
                                                                                            "alpha",
    "max_iter"]].iloc[0])
    factors = fit_als(train, catalogue.size, params)
    scored = recommend(spark, train, test, catalogue, ("als", "popularity", "content", "hybrid"), settings,
                       factors).cache()
    assert scored.join(train, ["user_id", "item"]).count() == 0  # nothing the user has seen
    per_user = scored.groupBy("model", "user_id").agg(F.count("*").alias("n"), F.countDistinct("item").alias("d"))
    assert per_user.filter((F.col("n") != 10) | (F.col("d") != 10)).count() == 0
    metrics = evaluate(spark, scored, test, catalogue, 10, tastes, attributes).set_index("model")
    print(metrics.round(3).to_string())
    popularity = metrics.loc["popularity", "ndcg_at_k"]
    assert metrics.loc["als", "ndcg_at_k"] >= 1.5 * popularity
    assert metrics.loc["hybrid", "ndcg_at_k"] >= 1.5 * popularity
    assert metrics.loc["content", "taste_match"] > metrics.loc["popularity", "taste_match"]
    assert (metrics["users"] == test.select("user_id").distinct().count()).all()
    assert 0 < metrics.loc["popularity", "coverage"] < metrics.loc["als", "coverage"] <= 1


def test_a_blue_beach_lover_gets_blue_or_beach_photos_and_cold_users_get_fallbacks(spark, planted):
    catalogue, _, _, pairs, _, _ = planted
    blue_beach = [p for p, i in catalogue.index().items()
                  if p.startswith("beac") and "blue" in catalogue.values[catalogue.features(i)]][:8]
    items = item_frame(spark, catalogue.photo_ids)
    extra = spark.createDataFrame([("zz-beach", p, 3.0) for p in blue_beach] + [("zz-one", blue_beach[0], 1.0)],
                                  "user_id string, photo_id string, weight double").join(items, "photo_id")
    train = pairs.select("user_id", "photo_id", "item", "weight").unionByName(extra)
    users = spark.createDataFrame([("zz-beach",), ("zz-one",), ("zz-none",)], "user_id string")
    factors = fit_als(train, catalogue.size, ALSParams(10, 0.1, 10.0, 10))
    scored = recommend(spark, train, users, catalogue, ("als", "content", "hybrid", "popularity"),
                       RecommendSettings(k=10), factors).toPandas()
    index = catalogue.index()
    for model in ("als", "content", "hybrid"):
        mine = scored[(scored.user_id == "zz-beach") & (scored.model == model)]
        assert not mine.cold_start.any() and set(mine.strategy) == {model}
        themed = [p.startswith("beac") or "blue" in catalogue.values[catalogue.features(index[p])]
                  for p in mine.photo_id]
        assert sum(themed) >= 8, (model, list(mine.reason))
        assert not set(mine.photo_id) & set(blue_beach)
    one = scored[scored.user_id == "zz-one"]
    assert one.cold_start.all() and set(one[one.model != "popularity"].strategy) == {"content"}
    none = scored[scored.user_id == "zz-none"]
    assert none.cold_start.all() and set(none.strategy) == {"popularity"}
    assert none[none.model == "als"].reason.str.startswith("popular: ").all()


def test_recommend_without_interactions_is_a_clear_error(spark, tmp_path):
    from photolake.errors import PhotolakeError
    from photolake.recommend.run import Holdout, run_recommend
    from photolake.runs import RunSummary

    with pytest.raises(PhotolakeError, match="no interactions table: run the users job first"):
        run_recommend(spark, str(tmp_path / "lake"), ("als",), RecommendSettings(), [ALSParams()], Holdout(), 200,
                      RunSummary("recommend", "test"))


def test_a_run_of_one_model_keeps_the_other_models_rows(spark, tmp_path):
    from photolake import lake
    from photolake.recommend.run import _replace_models
    from photolake.schemas import RECOMMENDATIONS

    def rows(model, n):
        return spark.createDataFrame([(f"u{i}", 1, "p", 1.0, "why", "tag", model, False, model) for i in range(n)],
                                     RECOMMENDATIONS)

    lake_dir = str(tmp_path / "lake")
    _replace_models(rows("als", 3).unionByName(rows("content", 2)), lake_dir, "recommendations", ("als", "content"),
                    "r1", RECOMMENDATIONS)
    _replace_models(rows("als", 5), lake_dir, "recommendations", ("als",), "r2", RECOMMENDATIONS)
    counts = {r.model: r["count"] for r in lake.read_table(spark, lake_dir,
                                                           "recommendations").groupBy("model").count().collect()}
    assert counts == {"als": 5, "content": 2}


def test_every_recommendation_says_what_its_reason_rests_on(spark, analysed_lake):
    from photolake import lake
    from photolake.schemas import REASON_KINDS

    recommendations = lake.read_table(spark, analysed_lake, "recommendations")
    rows = recommendations.select("reason", "reason_kind", "strategy").collect()
    assert rows and {r.reason_kind for r in rows} <= set(REASON_KINDS)
    words = {"popular": "popular:", "similar_users": "people ", "tag": "tagged", "colour": "mostly ",
             "object": "shows a"}
    for row in rows:
        assert words.get(row.reason_kind, "") in row.reason, row
        assert (row.strategy == "popularity") == (row.reason_kind == "popular"), row
    assert {"popular", "similar_users"} <= {r.reason_kind for r in rows}
