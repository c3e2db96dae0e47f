"""Views over the lake tables, registered by ``lake.register_views`` when the tables they read exist."""

from __future__ import annotations

from pyspark.sql import SparkSession

# name -> (tables it reads, SQL)
VIEWS: dict[str, tuple[tuple[str, ...], str]] = {
    # The dataset's own EXIF (typed by ingest from its free text) against what the downloaded file carries.
    # Unsplash strips EXIF from the files it serves, so most rows compare with nulls on the file side.
    "photo_exif_comparison": (("photos", "image_metadata"), """
        SELECT p.photo_id,
               p.camera_make AS dataset_make, m.camera_make AS file_make,
               p.camera_model AS dataset_model, m.model AS file_model,
               p.iso AS dataset_iso, m.iso AS file_iso,
               p.aperture_f AS dataset_f_number, m.f_number AS file_f_number,
               p.focal_length_mm AS dataset_focal_length_mm, m.focal_length_mm AS file_focal_length_mm,
               p.exposure_time_s AS dataset_exposure_time_s, m.exposure_time_s AS file_exposure_time_s,
               m.make IS NOT NULL AS file_has_exif,
               p.camera_make <=> m.camera_make AS make_agrees,
               p.iso <=> m.iso AS iso_agrees,
               abs(p.aperture_f - m.f_number) <= 0.05 AS f_number_agrees,
               abs(p.focal_length_mm - m.focal_length_mm) <= 0.5 AS focal_length_agrees,
               abs(p.exposure_time_s - m.exposure_time_s) <= 0.001 * m.exposure_time_s AS exposure_agrees
        FROM photos p JOIN image_metadata m ON p.photo_id = m.photo_id
        WHERE m.status = 'ok'
    """),
}

# photo_tags (photo_id, tag, source, confidence) is the union of these parts, over the tables present:
# the dataset's keywords (confidence: the better AI service's, as 0-1; null when only people suggested it)
# and the labels detected in the image (the best box's confidence, over every model run).
TAG_SOURCES: dict[str, str] = {
    "keywords": """
        SELECT photo_id, lower(trim(keyword)) AS tag, 'keyword' AS source,
               greatest(ai_service_1_confidence, ai_service_2_confidence)
                 / CASE WHEN greatest(ai_service_1_confidence, ai_service_2_confidence) > 1 THEN 100 ELSE 1 END
                 AS confidence
        FROM keywords WHERE keyword IS NOT NULL""",
    "detections": """
        SELECT photo_id, object.label AS tag, 'detection' AS source, max(object.confidence) AS confidence
        FROM detections LATERAL VIEW explode(objects) AS object
        WHERE status = 'ok'
        GROUP BY photo_id, object.label""",
}


def register(spark: SparkSession, tables: list[str]) -> list[str]:
    """Create every view whose tables are registered; returns the names created."""
    made = []
    for name, (needs, sql) in VIEWS.items():
        if all(t in tables for t in needs):
            spark.sql(sql).createOrReplaceTempView(name)
            made.append(name)
    parts = [sql for table, sql in TAG_SOURCES.items() if table in tables]
    if parts:
        spark.sql(" UNION ALL ".join(parts)).createOrReplaceTempView("photo_tags")
        made.append("photo_tags")
    return made
