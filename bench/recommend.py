"""Recommend benchmark: Spark MLlib ALS against the `implicit` library's ALS, same data, same split.

    .venv/bin/pip install implicit                          # once (bench only)
    .venv/bin/python bench/recommend.py                     # 1M and 10M interactions
    .venv/bin/python bench/recommend.py --sizes 1000000

For each size: a catalogue of 10,000 photos in 50 planted themes (photolake.users.catalogue.themed_catalogue),
synthetic users drawn with the users job's generative model until their interactions reach the size, the
recommend job's (user, photo) pairs and time-based holdout, then ALS with the same parameters (rank 10,
regularisation 0.1, alpha 1, 10 iterations, implicit feedback) in Spark MLlib on local[2] and in implicit
with 2 threads. Both models' lists are made by the same code (photolake's scoring, seen photos masked) and
scored by the same Spark RankingEvaluator, so only the training differs. Prints training seconds and NDCG@10.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from photolake.config import load_config  # noqa: E402
from photolake.recommend.evaluate import ranking_frame, ranking_metrics  # noqa: E402
from photolake.recommend.models import ALSFactors, ALSParams, RecommendSettings, fit_als, recommend  # noqa: E402
from photolake.recommend.split import holdout, user_photos  # noqa: E402
from photolake.session import build_session  # noqa: E402
from photolake.users.catalogue import item_frame, themed_catalogue  # noqa: E402
from photolake.users.synthetic import SyntheticOptions, draw_interactions, synthetic_interactions  # noqa: E402

PARAMS = ALSParams(rank=10, reg_param=0.1, alpha=1.0, max_iter=10)


def implicit_factors(spark, train_path: str, catalogue_size: int, threads: int) -> tuple[ALSFactors, float]:
    """implicit's ALS on the same training pairs: (its factors in photolake's form, training seconds)."""
    from implicit.cpu.als import AlternatingLeastSquares
    from scipy.sparse import csr_matrix

    train = pd.read_parquet(train_path, columns=["user_id", "item", "weight"])
    users = train["user_id"].astype("category")
    matrix = csr_matrix((train["weight"].to_numpy(np.float32), (users.cat.codes.to_numpy(), train["item"].to_numpy())),
                        shape=(len(users.cat.categories), catalogue_size))
    from threadpoolctl import threadpool_limits

    model = AlternatingLeastSquares(factors=PARAMS.rank, regularization=PARAMS.reg_param, alpha=PARAMS.alpha,
                                    iterations=PARAMS.max_iter, num_threads=threads, random_state=42,
                                    calculate_training_loss=False)
    with threadpool_limits(1, "blas"):  # implicit's advice: its own threads, not BLAS's
        started = time.time()
        model.fit(matrix, show_progress=False)
        seconds = time.time() - started
    user_frame = pd.DataFrame({"user_id": users.cat.categories.astype(str),
                               "factor": list(np.asarray(model.user_factors, dtype=np.float32))})
    return ALSFactors(spark.createDataFrame(user_frame, "user_id string, factor array<float>"),
                      np.asarray(model.item_factors, dtype=np.float32)), seconds


def ndcg(spark, train, test, catalogue, factors: ALSFactors) -> float:
    scored = recommend(spark, train, test, catalogue, ("als",), RecommendSettings(k=10), factors)
    return ranking_metrics(ranking_frame(scored, test), 10)["als"]["ndcg_at_k"]


def bench(spark, size: int, workdir: Path, threads: int) -> dict:
    catalogue, _ = themed_catalogue(200, themes=50)
    pilot = np.mean([len(draw_interactions(n, catalogue, SyntheticOptions(seed=1))) for n in range(300)])
    options = SyntheticOptions(users=int(size / pilot), seed=1)
    started = time.time()
    synthetic_interactions(spark, catalogue, options).write.mode("overwrite").parquet(str(workdir / "interactions"))
    generate_s = time.time() - started
    interactions = spark.read.parquet(str(workdir / "interactions"))
    pairs = user_photos(interactions).join(item_frame(spark, catalogue.photo_ids), "photo_id")
    train, test = holdout(pairs, 0.2, 5)
    train.write.mode("overwrite").parquet(str(workdir / "train"))
    test.write.mode("overwrite").parquet(str(workdir / "test"))
    train, test = spark.read.parquet(str(workdir / "train")).cache(), spark.read.parquet(str(workdir / "test")).cache()
    counts = {"interactions": interactions.count(), "users": options.users, "train_pairs": train.count(),
              "test_pairs": test.count()}

    started = time.time()
    spark_factors = fit_als(train, catalogue.size, PARAMS)
    spark_s = time.time() - started
    spark_ndcg = ndcg(spark, train, test, catalogue, spark_factors)
    implicit, implicit_s = implicit_factors(spark, str(workdir / "train"), catalogue.size, threads)
    implicit_ndcg = ndcg(spark, train, test, catalogue, implicit)
    train.unpersist()
    test.unpersist()
    return {**counts, "generate_s": generate_s, "spark_s": spark_s, "spark_ndcg": spark_ndcg,
            "implicit_s": implicit_s, "implicit_ndcg": implicit_ndcg}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000,10000000", help="interactions per run, comma-separated")
    parser.add_argument("--cores", type=int, default=2, help="Spark local cores and implicit threads")
    args = parser.parse_args()
    try:
        import implicit  # noqa: F401
    except ImportError:
        sys.exit("bench/recommend.py needs the implicit library: .venv/bin/pip install implicit")
    config = load_config(env={}).with_values(spark__master=f"local[{args.cores}]")
    spark = build_session("bench-recommend", config, extra_conf={
        "spark.driver.memory": "12g", "spark.sql.shuffle.partitions": str(4 * args.cores), "spark.ui.enabled": "false"})
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; Spark local[{args.cores}], implicit "
          f"{args.cores} threads; ALS rank {PARAMS.rank}, reg {PARAMS.reg_param}, alpha {PARAMS.alpha}, "
          f"{PARAMS.max_iter} iterations")
    print(f"{'interactions':>13}{'users':>9}{'train pairs':>12}{'gen s':>7}{'Spark ALS s':>12}{'NDCG@10':>9}"
          f"{'implicit s':>11}{'NDCG@10':>9}{'time ratio':>11}")
    with tempfile.TemporaryDirectory(prefix="bench-recommend-") as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            r = bench(spark, size, Path(tmp), args.cores)
            print(f"{r['interactions']:>13,}{r['users']:>9,}{r['train_pairs']:>12,}{r['generate_s']:>7.0f}"
                  f"{r['spark_s']:>12.1f}{r['spark_ndcg']:>9.3f}{r['implicit_s']:>11.1f}{r['implicit_ndcg']:>9.3f}"
                  f"{r['spark_s'] / r['implicit_s']:>10.1f}x", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
