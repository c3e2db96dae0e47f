"""report: every chart drawn from a full lake, each a real PNG; missing tables listed, not fatal."""

from __future__ import annotations

import io

from PIL import Image

from photolake import lake
from photolake.report import charts
from photolake.report.build import PLAN, write_report


def test_report_on_a_full_lake(spark, analysed_lake, tmp_path):
    present = lake.register_views(spark, analysed_lake)
    made = write_report(spark, present, analysed_lake, str(tmp_path))
    assert [c for c in made if c.missing] == []
    # the lake's 640 px copies are all 'medium': one value is a sentence, not a chart
    assert [(c.name, c.statement) for c in made if not c.png] == [("shapes-1", "all 46 images are medium"),
                                                                  ("shapes-2", "all 46 images are JPEG")]
    assert len(made) >= 12 and len({c.name for c in made}) == len(made)
    assert {"camera_years", "objects", "detection"} <= {c.name for c in made if c.png}
    page = (tmp_path / "index.html").read_text()
    for chart in (c for c in made if c.png):
        png = tmp_path / "charts" / f"{chart.name}.png"
        with Image.open(io.BytesIO(png.read_bytes())) as image:
            assert image.format == "PNG" and image.width >= 400
        assert f'src="charts/{chart.name}.png"' in page
    assert "All 46 images are medium." in page
    assert f"<b>{spark.table('photos').count()}</b><span>photos</span>" in page
    assert "generated shapes" not in page  # the analysed lake's images are real photos


def test_a_single_value_is_said_and_a_heatmap_compares_two_ways():
    import pandas as pd
    import pytest

    with pytest.raises(charts.OneValue, match="all 206 images are JPEG"):
        charts.pie(pd.DataFrame({"format": ["JPEG"], "images": [206]}), "format", "images", "formats", "images")
    frame = pd.DataFrame({"make": ["Canon", "Canon", "Sony", "Sony"], "year": [2019, 2020, 2019, 2021],
                          "photos": [5, 7, 2, 9]})
    with Image.open(io.BytesIO(charts.heatmap(frame, "make", "year", "photos", "t", "year", "make"))) as image:
        assert image.format == "PNG" and image.width >= 700
    with pytest.raises(charts.OneValue):
        charts.heatmap(frame[frame.make == "Canon"], "make", "year", "photos", "t", "year", "make")


def test_missing_tables_are_listed_not_fatal(spark, tmp_path):
    made = write_report(spark, [], str(tmp_path / "lake"), str(tmp_path / "out"))
    assert len(made) == len(PLAN) and all(c.png is None and c.missing.startswith("no ") for c in made)
    assert ("Not drawn: no detections table yet (the detect step makes it, and may have been skipped: see the "
            "pipeline&#x27;s summary).") in (tmp_path / "out" / "index.html").read_text()


def test_the_report_in_a_browser_shows_every_chart(analysed, browser, tmp_path):
    """The pipeline's own report, opened as a reader opens it: every chart image loads."""
    from tests.browser import broken_images, screenshot

    _, config = analysed
    browser.get(f"file://{config['paths.report']}/index.html")
    assert browser.title == "photolake report"
    images = browser.find_elements("css selector", "figure img")
    assert len(images) >= 15 and broken_images(browser) == []
    assert all(image.size["width"] >= 300 for image in images)
    screenshot(browser, tmp_path / "report.png")
    assert (tmp_path / "report.png").stat().st_size > 100_000


def test_a_scatter_of_more_photos_than_it_can_show_is_sampled_in_spark(spark):
    from photolake.report.build import SCATTER_POINTS, _scatter_sample

    spark.range(SCATTER_POINTS + 5_000).selectExpr("concat('p', id) AS photo_id", "id % 90 AS latitude",
                                                   "id % 180 AS longitude").createOrReplaceTempView("many_points")
    first = spark.sql(_scatter_sample("many_points", "photo_id, latitude")).collect()
    again = spark.sql(_scatter_sample("many_points", "photo_id, latitude")).collect()
    assert len(first) == SCATTER_POINTS and first == again
    assert sum(int(r.photo_id[1:]) >= SCATTER_POINTS for r in first) > 3_000  # from the whole view, not its start
