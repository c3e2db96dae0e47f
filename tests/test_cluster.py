"""cluster: features from the lake, KMeans with k by silhouette, PCA, summaries; planted clusters recovered."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.sql import functions as F

from photolake import lake
from photolake.cluster.features import photo_features
from photolake.cluster.model import fit_clusters, summarise
from photolake.cluster.search import adjusted_rand_index
from photolake.schemas import CLUSTER_SUMMARY, CLUSTERS, DETECTIONS, IMAGE_METADATA

# name -> (colour families with shares, brightness, orientation, size, iso, tags, objects)
PLANTED = {
    "beach": ({"blue": 0.55, "white": 0.3, "orange": 0.15}, 0.75, "landscape", "large", 100,
              ["beach", "sea", "sand", "summer"], ["person", "umbrella"]),
    "forest": ({"green": 0.6, "brown": 0.3, "black": 0.1}, 0.35, "portrait", "medium", 800,
               ["forest", "tree", "moss", "hiking"], ["bird"]),
    "night": ({"black": 0.6, "gray": 0.25, "yellow": 0.15}, 0.15, "square", "thumbnail", 3200,
              ["city", "night", "lights", "street"], ["car", "car", "person"]),
}
FAMILY_RGB = {"blue": (30, 60, 200), "white": (250, 250, 250), "orange": (255, 140, 0), "green": (30, 160, 40),
              "brown": (120, 70, 20), "black": (10, 10, 10), "gray": (128, 128, 128), "yellow": (250, 230, 40)}


def test_adjusted_rand_index_by_hand():
    assert adjusted_rand_index([0, 0, 1, 1], [5, 5, 7, 7]) == pytest.approx(1.0)
    # contingency [[2,1],[0,1]] -> index 1, a = 3+0 = 3 (sizes 3,1), b = 1+1 = 2 (sizes 2,2), expected 1
    assert adjusted_rand_index([0, 0, 0, 1], [0, 0, 1, 1]) == pytest.approx(0.0)


def planted_lake(spark, path: str, per_group: int = 40):
    rng = np.random.default_rng(7)
    metadata, tags, detections, truth = [], [], [], {}
    for group, (families, light, orientation, size, iso, words, objects) in PLANTED.items():
        for n in range(per_group):
            photo_id = f"{group}-{n:03d}"
            truth[photo_id] = group
            shares = rng.dirichlet(np.array(list(families.values())) * 30)
            colours = [{"hex": None, "r": FAMILY_RGB[f][0], "g": FAMILY_RGB[f][1], "b": FAMILY_RGB[f][2], "name": None,
                        "family": f, "share": float(s)} for f, s in zip(families, shares)]
            metadata.append({"photo_id": photo_id, "status": "ok", "dominant_colors": colours,
                             "brightness": float(np.clip(light + rng.normal(0, 0.06), 0, 1)),
                             "colorfulness": float(rng.uniform(10, 60)), "orientation_class": orientation,
                             "size_category": size,
                             "iso": None if rng.random() < 0.2 else int(iso * rng.uniform(0.7, 1.4)),
                             "f_number": float(rng.uniform(2, 11))})
            tags += [(photo_id, w) for w in rng.choice(words, 3, replace=False)]
            detections.append({"photo_id": photo_id, "status": "ok", "model": "yolov3-tiny",
                               "objects": [{"label": o, "class_id": 0, "confidence": 0.9, "x": 0.0, "y": 0.0,
                                            "w": 1.0, "h": 1.0} for o in objects if rng.random() < 0.8],
                               "labels": sorted(set(objects))})
    metadata.append({"photo_id": "broken", "status": "unreadable", "dominant_colors": None})
    frames = {
        "image_metadata": spark.createDataFrame(
            [tuple(row.get(f.name) for f in IMAGE_METADATA) for row in metadata], IMAGE_METADATA),
        "detections": spark.createDataFrame(
            [tuple(row.get(f.name) for f in DETECTIONS) for row in detections], DETECTIONS),
    }
    for name, frame in frames.items():
        lake.write_table(frame, path, name, "t")
    return (lake.read_table(spark, path, "image_metadata"), lake.read_table(spark, path, "detections"),
            spark.createDataFrame(tags, "photo_id string, tag string"), truth)


def test_planted_clusters_are_recovered(spark, tmp_path):
    metadata, detections, tags, truth = planted_lake(spark, str(tmp_path))
    features, numeric = photo_features(metadata, None, detections, tags)
    assert {"log_iso", "log_iso_missing", "color_blue", "orientation_square", "objects_car"} <= set(numeric)
    result = fit_clusters(features, numeric, k_range=(2, 6))
    assert result.k == 3 and max(result.silhouettes, key=result.silhouettes.get) == 3
    assert [(f.name, f.dataType) for f in result.clusters.schema] == [(f.name, f.dataType) for f in CLUSTERS]
    found = {r.photo_id: r.cluster for r in result.clusters.collect()}
    assert set(found) == set(truth)  # the unreadable image is not clustered
    ids = sorted(truth)
    assert adjusted_rand_index([truth[i] for i in ids], [found[i] for i in ids]) >= 0.8

    lake.write_table(result.clusters, str(tmp_path), "clusters", "t")
    summary = summarise(lake.read_table(spark, str(tmp_path), "clusters"), metadata, tags, detections)
    assert [(f.name, f.dataType) for f in summary.schema] == [(f.name, f.dataType) for f in CLUSTER_SUMMARY]
    rows = summary.collect()
    assert sum(r["size"] for r in rows) == 120 and sum(r.share for r in rows) == pytest.approx(1.0)
    night = next(r for r in rows if "night" in r.top_tags[:4])
    assert night.top_colors[0] == "black" and "car" in night.top_objects and night.main_orientation == "square"
    assert "40 photos, mostly square, dark" in night.description and "objects car" in night.description


def test_the_search_silhouette_is_sparks(spark):
    from pyspark.ml.evaluation import ClusteringEvaluator
    from pyspark.ml.linalg import Vectors

    from photolake.cluster.search import kmeans, silhouette

    rng = np.random.default_rng(3)
    points = np.vstack([rng.normal(centre, 1.0, (30, 4)) for centre in (0, 4, 9)] + [np.full((1, 4), 30.0)])
    labels = kmeans(points, 4)
    assert sorted(np.bincount(labels)) == [1, 30, 30, 30]  # the planted groups, and a one-point cluster
    frame = spark.createDataFrame([(Vectors.dense(p), int(c)) for p, c in zip(points, labels)],
                                  ["features", "prediction"])
    assert silhouette(points, labels) == pytest.approx(ClusteringEvaluator().evaluate(frame), rel=1e-9)


def test_k_can_be_given_and_missing_tables_are_optional(spark, tmp_path):
    metadata, _, _, _ = planted_lake(spark, str(tmp_path), per_group=10)
    features, numeric = photo_features(metadata)
    assert features.filter(F.size("tags") > 0).count() == 0
    result = fit_clusters(features, numeric, k=4)
    assert result.k == 4 and set(result.silhouettes) == {4}
    assert result.clusters.select("cluster").distinct().count() == 4
