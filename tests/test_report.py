"""report: every chart drawn from a full lake, each a real PNG; missing tables listed, not fatal."""

from __future__ import annotations

import io

from PIL import Image

from photolake import lake
from photolake.report.build import PLAN, write_report


def test_report_on_a_full_lake(spark, analysed_lake, tmp_path):
    present = lake.register_views(spark, analysed_lake)
    made = write_report(spark, present, analysed_lake, str(tmp_path))
    assert [c for c in made if not c.png] == []
    assert len(made) >= 12 and len({c.name for c in made}) == len(made)
    page = (tmp_path / "index.html").read_text()
    for chart in made:
        png = tmp_path / "charts" / f"{chart.name}.png"
        with Image.open(io.BytesIO(png.read_bytes())) as image:
            assert image.format == "PNG" and image.width >= 400
        assert f'src="charts/{chart.name}.png"' in page
    assert f"<b>{spark.table('photos').count()}</b><span>photos</span>" in page


def test_missing_tables_are_listed_not_fatal(spark, tmp_path):
    made = write_report(spark, [], str(tmp_path / "lake"), str(tmp_path / "out"))
    assert len(made) == len(PLAN) and all(c.png is None and c.missing.startswith("needs ") for c in made)
    assert "Not drawn: needs detections." in (tmp_path / "out" / "index.html").read_text()
