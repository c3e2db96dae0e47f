"""Cluster the photos with Spark MLlib KMeans over their image features, with a 2-D PCA projection for plots.

Features per photo (image_metadata is required; photos, detections and keywords are used when present):
EXIF numbers on a log scale with nulls imputed and flagged, colour-family shares, brightness,
colourfulness, detected-object counts per class, tags as hashed TF-IDF, orientation and size category.
VectorAssembler -> StandardScaler -> KMeans, k chosen by silhouette over --k-min..--k-max unless --k is
given. Writes clusters (photo_id, cluster, pca_x, pca_y) and cluster_summary (what each cluster is).
"""

from photolake import stages
from photolake.cli import job_parser, resolve_config, run_job, run_step

JOB = "cluster"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--k", type=int, metavar="N", help="number of clusters (default: chosen by silhouette)")
    parser.add_argument("--k-min", type=int, metavar="N", help="smallest k tried (default 2)")
    parser.add_argument("--k-max", type=int, metavar="N", help="largest k tried (default 10)")
    args = parser.parse_args(argv)
    config = resolve_config(args, {"cluster.k": args.k, "cluster.k_min": args.k_min, "cluster.k_max": args.k_max})
    return run_step(JOB, config, stages.cluster)


if __name__ == "__main__":
    run_job(JOB, main)
