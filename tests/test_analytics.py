"""Analytics views: every example query of docs/analytics.md runs on a full lake; buckets and labels right."""

from __future__ import annotations

import re

import pytest
from pyspark.sql import functions as F

from photolake import lake, views
from photolake.schemas import PHOTOS
from tests.conftest import ROOT

EXAMPLES = re.findall(r"```sql\n(.*?)```", (ROOT / "docs" / "analytics.md").read_text(), re.S)


def test_every_view_is_registered_on_a_full_lake(spark, analysed_lake):
    made = lake.register_views(spark, analysed_lake)
    assert set(views.ANALYTICS) | {"photo_tags", "photo_exif_comparison"} <= set(made)
    for name in views.ANALYTICS:
        assert spark.table(name).count() > 0, name


@pytest.fixture(scope="module")
def example_rows(spark, analysed_lake) -> dict[str, list]:
    """Every example query's rows, all run on one registration of the full lake's views (registering takes
    a second or two; other tests register other lakes' views under the same names)."""
    lake.register_views(spark, analysed_lake)
    return {query: spark.sql(query).collect() for query in EXAMPLES}


@pytest.mark.parametrize("query", EXAMPLES, ids=[f"example{n}" for n in range(len(EXAMPLES))])
def test_documented_example_queries_run(example_rows, query):
    if "tag = 'person'" not in query:  # the only example that may rightly find nothing in a small sample
        assert example_rows[query], query


def test_documented_views_are_the_registered_ones():
    documented = set(re.findall(r"^\| `(\w+)` \|", (ROOT / "docs" / "analytics.md").read_text(), re.M))
    assert documented == set(views.ANALYTICS) | {"photo_tags", "photo_exif_comparison"}


def test_exif_buckets_use_the_photographers_scales(spark, tmp_path):
    values = [(1, 100, 5.6, 1 / 250, 50.0), (2, 150, 11.0, 1 / 125, 35.0), (3, 3200, 2.8, 2.0, 85.0),
              (4, 6400, 1.4, 1 / 8000, 18.0)]
    photos = spark.createDataFrame([(f"p{n:010d}", iso, f, t, mm) for n, iso, f, t, mm in values],
                                   "photo_id string, iso int, aperture_f double, exposure_time_s double, "
                                   "focal_length_mm double")
    for field in PHOTOS.schema.fields:
        if field.name not in photos.columns:
            photos = photos.withColumn(field.name, F.lit(None).cast(field.dataType))
    lake.write_table(photos.select(*PHOTOS.schema.fieldNames()), str(tmp_path), "photos", "t")
    lake.register_views(spark, str(tmp_path))
    labels = {(r.measure, r.bucket_label): r.photos for r in spark.table("exif_histograms").collect()}
    assert labels == {
        ("iso", "100"): 2, ("iso", "3200"): 1, ("iso", "6400"): 1,
        ("aperture", "f/5.6"): 1, ("aperture", "f/11"): 1, ("aperture", "f/2.8"): 1, ("aperture", "f/1.4"): 1,
        ("exposure", "1/250 s"): 1, ("exposure", "1/125 s"): 1, ("exposure", "2 s"): 1, ("exposure", "1/8000 s"): 1,
        ("focal_length", "50 mm"): 1, ("focal_length", "35 mm"): 1, ("focal_length", "85 mm"): 1,
        ("focal_length", "14 mm"): 1,
    }
