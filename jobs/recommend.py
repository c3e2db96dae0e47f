"""Recommend photos to users: Spark MLlib ALS (implicit feedback), popularity, content and hybrid, evaluated.

Learns from the interactions table (run the users job first). Each user's latest photos are held out
(recommend.test_fraction of them, for users with at least recommend.min_test_photos); a small grid over
ALS's rank, regParam and alpha is tried on a validation split of the rest and the best NDCG@k wins
(rec_tuning). Every --model is then scored on the held-out photos (rec_metrics: precision, recall, NDCG
and MAP at k, coverage, diversity, and for synthetic users how often a recommendation matches a hidden
taste), refitted on all interactions, and the top --k unseen photos per user are written with a reason
(recommendations). Users with too few interactions get content or popularity, and their rows say so.
"""

from itertools import product

from photolake.cli import job_parser, log_config, resolve_config, run_job
from photolake.errors import PhotolakeError
from photolake.recommend.models import ALSParams, RecommendSettings
from photolake.recommend.run import Holdout, run_recommend
from photolake.runs import RunSummary, new_run_id
from photolake.schemas import RECOMMEND_MODELS
from photolake.session import build_session

JOB = "recommend"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--k", type=int, metavar="N", help="photos recommended per user (default 10)")
    parser.add_argument("--model", choices=RECOMMEND_MODELS + ("all",), help="the recommender (default all)")
    args = parser.parse_args(argv)
    config = resolve_config(args, {"recommend.k": args.k, "recommend.model": args.model})
    if config["recommend.model"] not in RECOMMEND_MODELS + ("all",):
        raise PhotolakeError(f"recommend.model must be one of {', '.join(RECOMMEND_MODELS)} or all")
    log_config(JOB, config)
    lake_dir = config["paths.lake"]
    models = RECOMMEND_MODELS if config["recommend.model"] == "all" else (config["recommend.model"],)
    settings = RecommendSettings(k=config["recommend.k"], min_interactions=config["recommend.min_interactions"],
                                 hybrid_weight=config["recommend.hybrid_weight"])
    grid = [ALSParams(int(rank), float(reg), float(alpha), config["recommend.max_iter"]) for rank, reg, alpha in
            product(config["recommend.ranks"], config["recommend.reg_params"], config["recommend.alphas"])]
    split = Holdout(config["recommend.test_fraction"], config["recommend.min_test_photos"], config["recommend.seed"])
    spark = build_session(JOB, config)
    summary = RunSummary(JOB, new_run_id(JOB), config)
    with summary.recorded(spark, lake_dir):
        run_recommend(spark, lake_dir, models, settings, grid, split, config["users.max_tags"], summary)
    spark.stop()
    return 0


if __name__ == "__main__":
    run_job(JOB, main)
