"""Search benchmark: the cluster job's choice of k and the recommend job's ALS grid, timed, with what they chose.

    .venv/bin/python bench/search.py                         # 2,000 and 20,000 photos; 2,000 users
    .venv/bin/python bench/search.py --photos 200,20000 --users 1000
    PYTHONPATH=/tmp/old/lib PHOTOLAKE_LIB=/tmp/old/lib .venv/bin/python bench/search.py   # another checkout's code (*)

Clustering: photos of three planted kinds (beach, forest, city at night: the test's kinds, colours, light,
ISO, tags and objects drawn with noise) through photolake's features and fit_clusters over k = 2..10; prints
seconds, the k chosen, its silhouette, and the adjusted Rand index against the planted kinds.

ALS grid: a catalogue of planted themes (users.catalogue.themed_catalogue), synthetic users from the users
job's model, the recommend job's pairs and holdout, then tune_als over the job's default grid (ranks 10 and
30, regParams 0.01 and 0.1, alphas 1 and 10) as the job sizes it to the catalogue; prints seconds, the
parameters chosen and their validation NDCG@10. Run it on two checkouts (PHOTOLAKE_LIB) to compare them on
the same data; the other checkout needs
photolake.cluster.search.adjusted_rand_index (from 2026-12-01). docs/benchmarks.md's "before" figures came
from this bench as of commit ba3cc94, which carried its own copy.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from itertools import product
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("PHOTOLAKE_LIB", str(ROOT / "lib")))

import numpy as np  # noqa: E402

from photolake import lake  # noqa: E402
from photolake.cluster.features import photo_features  # noqa: E402
from photolake.cluster.model import fit_clusters  # noqa: E402
from photolake.cluster.search import adjusted_rand_index  # noqa: E402
from photolake.config import load_config  # noqa: E402
from photolake.recommend.evaluate import tune_als  # noqa: E402
from photolake.recommend.models import ALSParams, RecommendSettings  # noqa: E402
from photolake.recommend.split import holdout, user_photos  # noqa: E402
from photolake.schemas import DETECTIONS, IMAGE_METADATA  # noqa: E402
from photolake.session import build_session  # noqa: E402
from photolake.users.catalogue import item_frame, themed_catalogue  # noqa: E402
from photolake.users.synthetic import SyntheticOptions, synthetic_interactions  # noqa: E402

try:  # the recommend job's sizing of the grid to the catalogue (code from before it had none runs the whole grid)
    from photolake.recommend.run import sized_grid  # noqa: E402
except ImportError:
    def sized_grid(grid, photos):
        return grid, []

KINDS = {  # colour families with shares, brightness, orientation, size, iso, tags, objects
    "beach": ({"blue": 0.55, "white": 0.3, "orange": 0.15}, 0.75, "landscape", "large", 100,
              ["beach", "sea", "sand", "summer"], ["person", "umbrella"]),
    "forest": ({"green": 0.6, "brown": 0.3, "black": 0.1}, 0.35, "portrait", "medium", 800,
               ["forest", "tree", "moss", "hiking"], ["bird"]),
    "night": ({"black": 0.6, "gray": 0.25, "yellow": 0.15}, 0.15, "square", "thumbnail", 3200,
              ["city", "night", "lights", "street"], ["car", "person"]),
}
GRID = [ALSParams(rank, reg, alpha, 10) for rank, reg, alpha in product([10, 30], [0.01, 0.1], [1.0, 10.0])]


def planted_photos(spark, folder: str, photos: int):
    rng = np.random.default_rng(7)
    metadata, tags, detections, truth = [], [], [], {}
    for n in range(photos):
        kind = list(KINDS)[n % 3]
        families, light, orientation, size, iso, words, objects = KINDS[kind]
        photo_id = f"{kind}-{n:07d}"
        truth[photo_id] = kind
        shares = rng.dirichlet(np.array(list(families.values())) * 30)
        brightness = float(np.clip(light + rng.normal(0, .08), 0, 1))
        metadata.append({"photo_id": photo_id, "status": "ok", "brightness": brightness,
                         "dominant_colors": [{"family": f, "share": float(s)} for f, s in zip(families, shares)],
                         "colorfulness": float(rng.uniform(10, 60)), "orientation_class": orientation,
                         "size_category": size, "iso": None if rng.random() < 0.2 else int(iso * rng.uniform(.7, 1.4)),
                         "f_number": float(rng.uniform(2, 11))})
        tags += [(photo_id, w) for w in rng.choice(words, 3, replace=False)]
        detections.append({"photo_id": photo_id, "status": "ok", "model": "m", "labels": sorted(set(objects)),
                           "objects": [{"label": o, "class_id": 0, "confidence": 0.9} for o in objects
                                       if rng.random() < 0.8]})
    lake.write_table(spark.createDataFrame([tuple(r.get(f.name) for f in IMAGE_METADATA) for r in metadata],
                                           IMAGE_METADATA), folder, "image_metadata", "bench")
    lake.write_table(spark.createDataFrame([tuple(r.get(f.name) for f in DETECTIONS) for r in detections],
                                           DETECTIONS), folder, "detections", "bench")
    return (lake.read_table(spark, folder, "image_metadata"), lake.read_table(spark, folder, "detections"),
            spark.createDataFrame(tags, "photo_id string, tag string"), truth)


def bench_cluster(spark, photos: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        metadata, detections, tags, truth = planted_photos(spark, folder, photos)
        features, numeric = photo_features(metadata, None, detections, tags)
        features = features.cache()
        features.count()
        started = time.time()
        result = fit_clusters(features, numeric, k_range=(2, 10))
        found = {r.photo_id: r.cluster for r in result.clusters.collect()}
        seconds = time.time() - started
    ids = sorted(truth)
    ari = adjusted_rand_index([truth[i] for i in ids], [found[i] for i in ids])
    tried = ", ".join(f"{k}:{s:.3f}" for k, s in result.silhouettes.items())
    print(f"cluster   {photos:>7,} photos  {seconds:7.1f} s  k={result.k}  "
          f"silhouette {result.silhouettes[result.k]:.3f}  ARI {ari:.3f}  (silhouettes: {tried})", flush=True)


def bench_grid(spark, photos: int, users: int) -> None:
    themes = max(5, photos // 200)
    catalogue, _ = themed_catalogue(photos // themes, themes=themes, seed=3)
    interactions = synthetic_interactions(spark, catalogue, SyntheticOptions(users=users, seed=7, mean_photos=25))
    pairs = user_photos(interactions).join(item_frame(spark, catalogue.photo_ids), "photo_id").cache()
    train, _ = holdout(pairs, 0.2, 5)
    train = train.cache()
    n_pairs = train.count()
    started = time.time()
    grid, _ = sized_grid(GRID, catalogue.size)
    params, table = tune_als(spark, train, catalogue, grid, RecommendSettings(k=10), 0.2, 5, 42)
    seconds = time.time() - started
    best = table["ndcg_at_k"].max()
    print(f"ALS grid  {photos:>7,} photos, {users:,} users, {n_pairs:,} training pairs  {seconds:7.1f} s  chosen rank "
          f"{params.rank}, regParam {params.reg_param}, alpha {params.alpha}: NDCG@10 {best:.4f}  (every point: "
          + ", ".join(f"{r.rank}/{r.reg_param}/{r.alpha}:{r.ndcg_at_k:.4f}" for r in table.itertuples()) + ")",
          flush=True)
    pairs.unpersist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default="2000,20000", help="catalogue sizes (default 2000,20000)")
    parser.add_argument("--users", type=int, default=2000, help="synthetic users for the ALS grid (default 2000)")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, code from "
          f"{os.environ.get('PHOTOLAKE_LIB', ROOT / 'lib')}, local[{args.cores}]")
    config = load_config(env={}).with_values(spark__master=f"local[{args.cores}]")
    spark = build_session("bench-search", config, extra_conf={"spark.ui.enabled": "false"})
    for photos in (int(p) for p in args.photos.split(",")):
        bench_cluster(spark, photos)
        bench_grid(spark, photos, args.users)
    spark.stop()


if __name__ == "__main__":
    main()
