"""Run summaries: printed and appended to _runs however a job ends."""

import pytest

from photolake import lake
from photolake.runs import RunSummary, TableCounts


def test_a_finished_run_and_a_failed_run_are_both_recorded(spark, tmp_path, capsys):
    ok = RunSummary("ingest", "run-ok")
    with ok.recorded(spark, str(tmp_path)):
        ok.add(TableCounts("photos", rows_in=10, rows_out=8, rows_rejected=2, values_rejected=1, elapsed_s=2.0))
    failed = RunSummary("download", "run-failed")
    with pytest.raises(RuntimeError, match="server gone"):
        with failed.recorded(spark, str(tmp_path)):
            raise RuntimeError("server gone\nmore detail")
    printed = capsys.readouterr().out
    assert "photolake ingest run run-ok: ok" in printed and "photolake download run run-failed: failed" in printed
    rows = {r.run_id: r for r in lake.read_table(spark, str(tmp_path), "_runs").collect()}
    assert (rows["run-ok"].table, rows["run-ok"].rows_in, rows["run-ok"].rows_out, rows["run-ok"].rows_rejected,
            rows["run-ok"].rows_per_s) == ("photos", 10, 8, 2, 5.0)
    assert rows["run-failed"].status == "failed" and rows["run-failed"].table is None
    assert rows["run-failed"].notes == ["failed: RuntimeError: server gone"]


def test_counts_that_do_not_add_up_are_flagged():
    summary = RunSummary("ingest", "r")
    summary.add(TableCounts("photos", rows_in=10, rows_out=8, rows_rejected=1))
    assert "counts do not add up" in summary.render()


def test_an_outdated_table_is_a_clear_error(spark, tmp_path):
    from photolake.errors import LakeTableOutdated
    from photolake.lake import missing_fields
    from photolake.schemas import IMAGE_METADATA

    old = spark.createDataFrame([("a", "ok", [("FFFFFF", 255, 255, 255, "white", 1.0)])],
                                "photo_id string, status string, "
                                "dominant_colors array<struct<hex:string,r:int,g:int,b:int,name:string,share:double>>")
    assert "dominant_colors.family" in missing_fields(IMAGE_METADATA, old.schema)
    lake.write_table(old, str(tmp_path), "image_metadata", "t")
    with pytest.raises(LakeTableOutdated, match=r"'image_metadata' .* lacks .*dominant_colors.family.*run the job"):
        lake.read_table(spark, str(tmp_path), "image_metadata")


def test_driver_rows_reach_spark_through_arrow_unchanged(spark):
    from datetime import datetime, timezone

    from pyspark.testing import assertDataFrameEqual

    from photolake.schemas import RUNS
    from photolake.session import rows_frame

    at = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    rows = [("r1", "ingest", "photos", "ok", at, at, 1.5, 10, 9, 1, 0, 6.0, "{}", ["a", "b"]),
            ("r2", "download", None, "failed", at, at, 0.5, None, None, None, None, None, None, [])]
    made = rows_frame(spark, rows, RUNS)
    assert made.schema == RUNS
    assertDataFrameEqual(made, spark.createDataFrame(rows, RUNS))
    assert made.first().started_at == datetime(2026, 1, 2, 3, 4, 5, 678000)  # UTC, as the session reads it
    assert rows_frame(spark, [], RUNS).count() == 0
