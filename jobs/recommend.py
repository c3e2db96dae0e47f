"""Recommend photos to users: Spark MLlib ALS (implicit feedback), popularity, content and hybrid, evaluated.

Learns from the interactions table (run the users job first). Each user's latest photos are held out
(recommend.test_fraction of them, for users with at least recommend.min_test_photos); a small grid over
ALS's rank, regParam and alpha is tried on a validation split of the rest and the best NDCG@k wins
(rec_tuning). Every --model is then scored on the held-out photos (rec_metrics: precision, recall, NDCG
and MAP at k, coverage, diversity, and for synthetic users how often a recommendation matches a hidden
taste), refitted on all interactions, and the top --k unseen photos per user are written with a reason
(recommendations). Users with too few interactions get content or popularity, and their rows say so.
"""

from photolake.cli import run_job
from photolake.stage import stage_job
from photolake.stages import STAGES


def main(argv=None) -> int:
    return stage_job(STAGES["recommend"], __doc__, argv)


if __name__ == "__main__":
    run_job("recommend", main)
