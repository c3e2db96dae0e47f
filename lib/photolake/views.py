"""Views over the lake tables, registered by ``lake.register_views`` when the tables they read exist.

Besides the derived tables (photo_exif_comparison, photo_tags), the analytics views answer the usual
questions in one SELECT each; docs/analytics.md documents them with example queries."""

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

# Analytics: registered after photo_tags, in this order (a view may read one above it).
ANALYTICS: dict[str, tuple[tuple[str, ...], str]] = {
    "image_shapes": (("image_metadata",), """
        SELECT orientation_class, size_category, format, count(*) AS images
        FROM image_metadata WHERE status = 'ok'
        GROUP BY orientation_class, size_category, format"""),
    "camera_models": (("photos",), """
        SELECT camera_make, camera_model, count(*) AS photos,
               percentile_approx(iso, 0.5) AS median_iso, percentile_approx(aperture_f, 0.5) AS median_f_number,
               percentile_approx(focal_length_mm, 0.5) AS median_focal_length_mm
        FROM photos WHERE camera_make IS NOT NULL
        GROUP BY camera_make, camera_model"""),
    # Buckets on the scales photographers use, labelled with the nominal values cameras show: ISO in
    # doublings from 100, apertures in full stops (powers of sqrt 2), shutter speeds in doublings, focal
    # lengths in the classic prime lengths.
    "exif_histograms": (("photos",), """
        SELECT measure, bucket, bucket_label, count(*) AS photos FROM (
          SELECT 'iso' AS measure, 100 * pow(2, floor(log2(iso / 100.0))) AS bucket,
                 CAST(CAST(100 * pow(2, floor(log2(iso / 100.0))) AS INT) AS STRING) AS bucket_label
          FROM photos WHERE iso > 0
          UNION ALL
          SELECT 'aperture', pow(sqrt(2), stop),
                 concat('f/', element_at(array('1', '1.4', '2', '2.8', '4', '5.6', '8', '11', '16', '22', '32',
                                               '45', '64'), CAST(stop AS INT) + 1))
          FROM (SELECT least(greatest(round(log(sqrt(2), aperture_f)), 0), 12) AS stop
                FROM photos WHERE aperture_f > 0)
          UNION ALL
          SELECT 'exposure', pow(2, step),
                 CASE WHEN step >= 0 THEN concat(CAST(pow(2, step) AS INT), ' s')
                      ELSE concat('1/', element_at(array('2', '4', '8', '15', '30', '60', '125', '250', '500',
                                                         '1000', '2000', '4000', '8000'), CAST(-step AS INT)), ' s')
                 END
          FROM (SELECT least(greatest(round(log2(exposure_time_s)), -13), 12) AS step
                FROM photos WHERE exposure_time_s > 0)
          UNION ALL
          SELECT 'focal_length', bucket, concat(CAST(bucket AS INT), ' mm') FROM (
            SELECT CASE WHEN focal_length_mm < 20 THEN 14 WHEN focal_length_mm < 30 THEN 24
                        WHEN focal_length_mm < 42 THEN 35 WHEN focal_length_mm < 70 THEN 50
                        WHEN focal_length_mm < 110 THEN 85 WHEN focal_length_mm < 170 THEN 135
                        WHEN focal_length_mm < 300 THEN 200 ELSE 400 END AS bucket
            FROM photos WHERE focal_length_mm > 0)
        ) GROUP BY measure, bucket, bucket_label"""),
    "photos_per_month": (("photos",), """
        SELECT date_trunc('MONTH', photo_submitted_at) AS month, count(*) AS photos,
               count_if(photo_featured) AS featured, sum(stats_downloads) AS downloads
        FROM photos WHERE photo_submitted_at IS NOT NULL
        GROUP BY date_trunc('MONTH', photo_submitted_at)"""),
    "camera_years": (("photos",), """
        SELECT camera_make, year(photo_submitted_at) AS year, count(*) AS photos
        FROM photos WHERE camera_make IS NOT NULL AND photo_submitted_at IS NOT NULL
        GROUP BY camera_make, year(photo_submitted_at)"""),
    "photo_locations": (("photos",), """
        SELECT photo_id, photo_location_latitude AS latitude, photo_location_longitude AS longitude,
               photo_location_country AS country, photo_location_city AS city, photo_location_name AS name
        FROM photos WHERE photo_location_latitude IS NOT NULL AND photo_location_longitude IS NOT NULL"""),
    "color_families": (("image_metadata",), """
        SELECT c.family, count(DISTINCT photo_id) AS images, round(sum(c.share), 2) AS image_equivalents,
               round(avg(c.share), 3) AS mean_share
        FROM image_metadata LATERAL VIEW explode(dominant_colors) AS c
        WHERE status = 'ok' GROUP BY c.family"""),
    "color_names": (("image_metadata",), """
        SELECT c.name, c.family, first(c.hex) AS example_hex, count(DISTINCT photo_id) AS images,
               round(sum(c.share), 2) AS image_equivalents
        FROM image_metadata LATERAL VIEW explode(dominant_colors) AS c
        WHERE status = 'ok' GROUP BY c.name, c.family"""),
    "tag_frequencies": (("photo_tags",), """
        SELECT tag, source, count(DISTINCT photo_id) AS photos, round(avg(confidence), 3) AS mean_confidence
        FROM photo_tags GROUP BY tag, source"""),
    "object_frequencies": (("detections",), """
        SELECT model, o.label, count(*) AS objects, count(DISTINCT photo_id) AS photos,
               round(avg(o.confidence), 3) AS mean_confidence
        FROM detections LATERAL VIEW explode(objects) AS o
        WHERE status = 'ok' GROUP BY model, o.label"""),
    "cluster_members": (("clusters", "image_metadata"), """
        SELECT c.cluster, c.photo_id, c.pca_x, c.pca_y, m.path, m.orientation_class, m.brightness,
               m.dominant_colors[0].hex AS main_hex, m.dominant_colors[0].family AS main_family
        FROM clusters c JOIN image_metadata m ON c.photo_id = m.photo_id"""),
    # Users: how active they are (in doublings of photos, to show the heavy tail) and what they prefer.
    "user_activity": (("users",), """
        SELECT source, CAST(pow(2, floor(log2(photos))) AS INT) AS photos_from, count(*) AS users,
               sum(interactions) AS interactions
        FROM users WHERE photos > 0 GROUP BY source, floor(log2(photos))"""),
    "user_preferences": (("profiles",), """
        SELECT source, kind, value, count(*) AS users, count_if(position = 0) AS users_first_choice FROM (
          SELECT source, 'color_family' AS kind, c AS value, position FROM profiles
            LATERAL VIEW posexplode(favourite_colors) AS position, c
          UNION ALL SELECT source, 'tag', t, position FROM profiles
            LATERAL VIEW posexplode(favourite_tags) AS position, t
          UNION ALL SELECT source, 'object', o, position FROM profiles
            LATERAL VIEW posexplode(favourite_objects) AS position, o
          UNION ALL SELECT source, 'orientation', orientation, 0 FROM profiles WHERE orientation IS NOT NULL
        ) GROUP BY source, kind, value"""),
    # Each model's metrics beside the popularity baseline's: lift > 1 means better than recommending hits.
    "recommendation_quality": (("rec_metrics",), """
        SELECT m.model, m.k, m.precision_at_k, m.recall_at_k, m.ndcg_at_k, m.map_at_k, m.coverage, m.diversity,
               m.taste_match, m.users, round(m.ndcg_at_k / nullif(p.ndcg_at_k, 0), 2) AS ndcg_lift_over_popularity
        FROM rec_metrics m LEFT JOIN rec_metrics p ON p.model = 'popularity' AND p.k = m.k"""),
    "recommendation_reasons": (("recommendations",), """
        SELECT model, strategy, cold_start, reason_kind,
               count(*) AS recommendations, count(DISTINCT user_id) AS users
        FROM recommendations GROUP BY 1, 2, 3, 4"""),
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
    for name, (needs, sql) in ANALYTICS.items():
        if all(t in tables or t in made for t in needs):
            spark.sql(sql).createOrReplaceTempView(name)
            made.append(name)
    return made
