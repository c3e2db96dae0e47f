"""Cluster the photos with Spark MLlib KMeans over their image features, with a 2-D PCA projection for plots.

Features per photo (image_metadata is required; photos, detections and keywords are used when present):
EXIF numbers on a log scale with nulls imputed and flagged, colour-family shares, brightness,
colourfulness, detected-object counts per class, tags as hashed TF-IDF, orientation and size category.
VectorAssembler -> StandardScaler -> KMeans, k chosen by silhouette over --k-min..--k-max unless --k is
given. Writes clusters (photo_id, cluster, pca_x, pca_y) and cluster_summary (what each cluster is).
"""

from pyspark.sql import functions as F

from photolake import lake
from photolake.cli import job_parser, log_config, resolve_config, run_job
from photolake.cluster.features import photo_features
from photolake.cluster.model import fit_clusters, summarise
from photolake.runs import RunSummary, TableCounts, new_run_id
from photolake.session import build_session

JOB = "cluster"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--k", type=int, metavar="N", help="number of clusters (default: chosen by silhouette)")
    parser.add_argument("--k-min", type=int, metavar="N", help="smallest k tried (default 2)")
    parser.add_argument("--k-max", type=int, metavar="N", help="largest k tried (default 10)")
    args = parser.parse_args(argv)
    config = resolve_config(args, {"cluster.k": args.k, "cluster.k_min": args.k_min, "cluster.k_max": args.k_max})
    log_config(JOB, config)
    lake_dir = config["paths.lake"]
    spark = build_session(JOB, config)
    summary = RunSummary(JOB, new_run_id(JOB), config)
    with summary.recorded(spark, lake_dir):
        present = lake.register_views(spark, lake_dir)
        metadata = lake.read_table(spark, lake_dir, "image_metadata")
        optional = {name: spark.table(name) if name in present else None
                    for name in ("photos", "detections", "photo_tags")}
        features, numeric = photo_features(metadata, optional["photos"], optional["detections"],
                                           optional["photo_tags"], config["cluster.top_objects"])
        result = fit_clusters(features, numeric, config["cluster.k"] or None,
                              (config["cluster.k_min"], config["cluster.k_max"]), config["cluster.tag_dimensions"],
                              config["cluster.seed"])
        lake.write_table(result.clusters, lake_dir, "clusters", summary.run_id)
        clusters = lake.read_table(spark, lake_dir, "clusters")
        lake.write_table(summarise(clusters, metadata, optional["photo_tags"], optional["detections"]), lake_dir,
                         "cluster_summary", summary.run_id)
        images = metadata.count()
        clustered = clusters.count()
        counts = TableCounts("clusters", images, clustered, images - clustered, elapsed_s=summary.elapsed_s)
        counts.notes.append(f"k = {result.k}" + ("" if config["cluster.k"] else " (best silhouette: " + ", ".join(
            f"k={k} {s:.3f}" for k, s in result.silhouettes.items()) + ")"))
        counts.notes.append(f"not clustered: {images - clustered:,} images whose status is not ok")
        counts.notes.append("features: " + ", ".join(numeric[:6]) + f"... ({len(numeric)} numeric)"
                            + (", tags" if optional["photo_tags"] is not None else ""))
        summary.add(counts)
        for row in lake.read_table(spark, lake_dir, "cluster_summary").orderBy(F.desc("size")).collect():
            summary.notes.append(f"cluster {row['cluster']}: {row['description']}")
    spark.stop()
    return 0


if __name__ == "__main__":
    run_job(JOB, main)
