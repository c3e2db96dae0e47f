"""Clustering with Spark MLlib: hashed TF-IDF of tags + numeric features -> VectorAssembler -> StandardScaler
-> KMeans, k chosen by silhouette unless given, and PCA to two dimensions for plots.  Then what each
cluster is: its size, top tags, objects and colour families, and a one-line description."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.clustering import KMeans
from pyspark.ml.evaluation import ClusteringEvaluator
from pyspark.ml.feature import IDF, PCA, HashingTF, StandardScaler, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from photolake.cluster.search import SEARCH_ROWS, search_k
from photolake.session import cached

log = logging.getLogger("photolake.cluster")


@dataclass
class ClusterResult:
    clusters: DataFrame  # photo_id, cluster, pca_x, pca_y
    k: int
    silhouettes: dict[int, float] = field(default_factory=dict)  # k -> silhouette, for every k tried


def scaled_features(features: DataFrame, numeric: list[str], tag_dimensions: int) -> DataFrame:
    """photo_id and ``scaled``: the standardised feature vector (tags as hashed TF-IDF when any exist)."""
    stages, inputs = [], list(numeric)
    if tag_dimensions and features.filter(F.size("tags") > 0).limit(1).count():
        stages += [HashingTF(inputCol="tags", outputCol="tag_tf", numFeatures=tag_dimensions),
                   IDF(inputCol="tag_tf", outputCol="tag_tfidf")]
        inputs.append("tag_tfidf")
    stages += [VectorAssembler(inputCols=inputs, outputCol="raw"),
               StandardScaler(inputCol="raw", outputCol="scaled", withMean=True, withStd=True)]
    model: PipelineModel = Pipeline(stages=stages).fit(features)
    return model.transform(features).select("photo_id", "scaled")


def fit_clusters(features: DataFrame, numeric: list[str], k: int | None = None, k_range: tuple[int, int] = (2, 10),
                 tag_dimensions: int = 64, seed: int = 42) -> ClusterResult:
    """MLlib KMeans on every photo, with ``k`` or the k of ``k_range`` whose silhouette is best on a sample
    (cluster.search); ``silhouettes`` holds each k's score on that sample, or the fitted k's score."""
    data = cached(scaled_features(features, numeric, tag_dimensions))
    rows = data.count()
    candidates = [k] if k else list(range(k_range[0], min(k_range[1], rows - 1) + 1)) or [1]
    silhouettes: dict[int, float] = {}
    chosen = candidates[0]
    if len(candidates) > 1:
        sample = data.sample(fraction=min(1.0, SEARCH_ROWS / rows), seed=seed) if rows > SEARCH_ROWS else data
        points = np.array([row.scaled.toArray() for row in sample.select("scaled").collect()], dtype=np.float64)
        silhouettes = search_k(points, candidates, seed)
        log.info("silhouettes on %d photos: %s", len(points), silhouettes)
        chosen = max(candidates, key=lambda n: (silhouettes[n] if silhouettes[n] == silhouettes[n] else -np.inf, -n))
    assigned = KMeans(k=chosen, seed=seed, featuresCol="scaled", predictionCol="cluster", maxIter=50).fit(data) \
        .transform(data)
    if not silhouettes:
        evaluator = ClusteringEvaluator(featuresCol="scaled", predictionCol="cluster", metricName="silhouette")
        silhouettes[chosen] = evaluator.evaluate(assigned) if 1 < chosen < rows else float("nan")
    projected = PCA(k=2, inputCol="scaled", outputCol="pca").fit(data).transform(assigned)
    clusters = (projected.withColumn("xy", vector_to_array("pca"))
                .select("photo_id", F.col("cluster").cast("int"), F.col("xy")[0].alias("pca_x"),
                        F.col("xy")[1].alias("pca_y")))
    return ClusterResult(clusters, chosen, silhouettes)


def _top_by_weight(frame: DataFrame, key: str, n: int, alias: str) -> DataFrame:
    """Per cluster, the ``n`` values of ``key`` with the largest summed ``weight``, largest first."""
    scored = frame.groupBy("cluster", key).agg(F.sum("weight").alias("score"))
    return _first(scored, key, n, alias)


def _first(scored: DataFrame, key: str, n: int, alias: str) -> DataFrame:
    ranked = scored.withColumn("rank", F.row_number().over(Window.partitionBy("cluster").orderBy(F.desc("score"), key)))
    return (ranked.filter(F.col("rank") <= n).groupBy("cluster")
            .agg(F.array_sort(F.collect_list(F.struct("rank", key)))[key].alias(alias)))


def _top(frame: DataFrame, key: str, n: int, alias: str) -> DataFrame:
    """Per cluster, the ``n`` values of ``key`` most over-represented (count x log lift), best first:
    what sets the cluster apart, rather than what every photo has."""
    total = frame.select("photo_id").distinct().count()
    overall = frame.groupBy(key).agg(F.countDistinct("photo_id").alias("everywhere"))
    sizes = frame.groupBy("cluster").agg(F.countDistinct("photo_id").alias("members"))
    scored = (frame.groupBy("cluster", key).agg(F.countDistinct("photo_id").alias("here"))
              .join(overall, key, "inner").join(sizes, "cluster", "inner")
              .withColumn("score", F.col("here") * F.log1p((F.col("here") / F.col("members"))
                                                           / (F.col("everywhere") / F.lit(max(total, 1))))))
    return _first(scored, key, n, alias)


def summarise(clusters: DataFrame, metadata: DataFrame, tags: DataFrame | None, detections: DataFrame | None,
              top: int = 5) -> DataFrame:
    """cluster_summary rows: cluster, size, share, top_tags and top_objects (the most distinctive),
    top_colors (the colour families covering most of the pictures), mean_brightness, main_orientation,
    description."""
    total = clusters.count()
    members = clusters.select("photo_id", "cluster")
    images = members.join(metadata.filter(F.col("status") == "ok"), "photo_id", "inner")
    base = images.groupBy("cluster").agg(
        F.count(F.lit(1)).alias("size"), F.avg("brightness").alias("mean_brightness"),
        F.mode("orientation_class").alias("main_orientation"))
    colours = (images.select("cluster", F.explode("dominant_colors").alias("c"))
               .select("cluster", F.col("c.family").alias("family"), F.col("c.share").alias("weight")))
    summary = base.join(_top_by_weight(colours, "family", 3, "top_colors"), "cluster", "left")
    if tags is not None:
        summary = summary.join(_top(members.join(tags, "photo_id", "inner"), "tag", top, "top_tags"), "cluster", "left")
    else:
        summary = summary.withColumn("top_tags", F.lit(None).cast("array<string>"))
    if detections is not None:
        objects = (members.join(detections.filter(F.col("status") == "ok"), "photo_id", "inner")
                   .select("cluster", "photo_id", F.explode("labels").alias("label")))
        summary = summary.join(_top(objects, "label", top, "top_objects"), "cluster", "left")
    else:
        summary = summary.withColumn("top_objects", F.lit(None).cast("array<string>"))
    empty = F.array().cast("array<string>")
    summary = (summary.withColumn("top_tags", F.coalesce("top_tags", empty))
               .withColumn("top_objects", F.coalesce("top_objects", empty))
               .withColumn("top_colors", F.coalesce("top_colors", empty))
               .withColumn("share", F.col("size") / F.lit(max(total, 1))))
    light = (F.when(F.col("mean_brightness") < 0.35, "dark").when(F.col("mean_brightness") > 0.65, "bright")
             .otherwise("mid-tone"))
    description = F.concat_ws(
        "; ",
        F.format_string("%d photos, mostly %s, %s", F.col("size"), F.coalesce("main_orientation", F.lit("mixed")),
                        light),
        F.when(F.size("top_colors") > 0, F.concat(F.lit("colours "), F.array_join("top_colors", ", "))),
        F.when(F.size("top_tags") > 0, F.concat(F.lit("tags "), F.array_join(F.slice("top_tags", 1, 3), ", "))),
        F.when(F.size("top_objects") > 0,
               F.concat(F.lit("objects "), F.array_join(F.slice("top_objects", 1, 3), ", "))))
    return summary.select("cluster", "size", "share", "top_tags", "top_objects", "top_colors", "mean_brightness",
                          "main_orientation", description.alias("description")).orderBy("cluster")
