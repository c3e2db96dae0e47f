"""Cluster the photos with Spark MLlib KMeans over their image features, with a 2-D PCA projection for plots.

Features per photo (image_metadata is required; photos, detections and keywords are used when present):
EXIF numbers on a log scale with nulls imputed and flagged, colour-family shares, brightness,
colourfulness, detected-object counts per class, tags as hashed TF-IDF, orientation and size category.
VectorAssembler -> StandardScaler -> KMeans, k chosen by silhouette over --k-min..--k-max unless --k is
given. Writes clusters (photo_id, cluster, pca_x, pca_y) and cluster_summary (what each cluster is).
"""

from photolake.cli import run_job
from photolake.stage import stage_job
from photolake.stages import STAGES


def main(argv=None) -> int:
    return stage_job(STAGES["cluster"], __doc__, argv)


if __name__ == "__main__":
    run_job("cluster", main)
