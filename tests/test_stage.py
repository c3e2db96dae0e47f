"""The stage contract: the runner leaves the session as it found it and records the true status; the
declarations make the job's flags, the pipeline's dependencies and the README's option tables."""

from __future__ import annotations

import pytest

from photolake import lake
from photolake.cli import add_flags, flag_values, job_parser, resolve_config
from photolake.config import SETTINGS_BY_KEY, load_config
from photolake.pipeline import dependencies
from photolake.runs import RunSummary
from photolake.session import broadcast, cached
from photolake.stage import Stage, run_stage
from photolake.stages import ARROW_BATCH, STAGES


def session_state(spark) -> tuple[str, int]:
    """What a step could leave behind: the Arrow batch size and the RDDs kept in memory."""
    return spark.conf.get(ARROW_BATCH), spark.sparkContext._jsc.getPersistentRDDs().size()


def run(spark, stage: Stage, lake_dir) -> RunSummary:
    config = load_config(env={}).with_values(paths__lake=str(lake_dir))
    summary = RunSummary(stage.name, f"run-{stage.name}", config)
    run_stage(spark, stage, config, summary)
    return summary


def test_the_second_of_two_stages_sees_the_session_as_it_was(spark, tmp_path):
    before = session_state(spark)
    seen, held = {}, {}

    def first(spark, config, summary):
        seen["first"] = session_state(spark)
        held["frame"] = cached(spark.range(100))
        held["frame"].count()
        catalogue = list(range(1000))
        held["shared"], held["again"] = broadcast(spark, catalogue), broadcast(spark, catalogue)
        spark.sparkContext.parallelize(range(10)).cache().count()  # as Spark ML's ALS keeps its factors

    def second(spark, config, summary):
        seen["second"] = session_state(spark)

    run(spark, Stage("first", first, spark_conf={ARROW_BATCH: "extract.arrow_batch_rows"}), tmp_path / "lake")
    run(spark, Stage("second", second), tmp_path / "lake")
    assert seen["first"] == ("64", before[1])  # extract.arrow_batch_rows, while the step ran
    assert seen["second"] == before == session_state(spark)
    assert not held["frame"].is_cached and not held["shared"]._jbroadcast.isValid()
    assert held["again"] is held["shared"]  # one object, one broadcast a step
    runs = {r.job: r.status for r in lake.read_table(spark, str(tmp_path / "lake"), "_runs").collect()}
    assert runs == {"first": "ok", "second": "ok"}


def test_a_failed_stage_is_recorded_failed_releases_what_it_held_and_raises_its_own_error(spark, tmp_path, capsys):
    before = session_state(spark)

    def fails(spark, config, summary):
        cached(spark.range(10)).count()
        raise ValueError("the step's own error")

    with pytest.raises(ValueError, match="the step's own error"):
        run(spark, Stage("fails", fails, spark_conf={ARROW_BATCH: "detect.arrow_batch_rows"}), tmp_path / "lake")
    assert session_state(spark) == before
    [row] = lake.read_table(spark, str(tmp_path / "lake"), "_runs").collect()
    assert (row.job, row.status) == ("fails", "failed") and "the step's own error" in " ".join(row.notes)

    (tmp_path / "unrecordable").mkdir()
    (tmp_path / "unrecordable" / "_runs").write_text("a file where the _runs folder should be")
    capsys.readouterr()
    with pytest.raises(ValueError, match="the step's own error"):
        run(spark, Stage("fails", fails), tmp_path / "unrecordable")
    assert "this run could not be recorded" in capsys.readouterr().out


def test_the_pipeline_order_follows_the_declared_reads_and_writes():
    graph = dependencies()
    assert graph["ingest"] == () and graph["download"] == ("ingest",)
    assert graph["recommend"] == ("ingest", "extract", "detect", "cluster", "users")
    assert set(graph["report"]) == set(graph["export"]) == set(STAGES) - {"report", "export"}
    written = set()
    for stage in STAGES.values():  # every table a step reads is written by an earlier step
        assert set(stage.reads) <= written, stage.name
        written |= {*stage.writes, *stage.optional_writes}


def test_every_flag_is_a_declared_setting_and_lands_in_the_config_as_typed():
    for stage in STAGES.values():
        names = [f.name for f in stage.flags]
        assert len(names) == len(set(names)), stage.name
        assert all(f.key in SETTINGS_BY_KEY for f in stage.flags), stage.name
        assert all(any(f.key.startswith(p) for p in stage.settings) for f in stage.flags), stage.name
    stage = STAGES["download"]
    parser = job_parser("download", "doc")
    add_flags(parser, stage.flags, "download options")
    args = parser.parse_args(["--limit", "5", "--allow-hosts", "a.example,b.example:81", "--retry-failed",
                              "--set", "download.where=views > 3"])
    config = resolve_config(args, flag_values(args, stage.flags))
    assert (config["download.limit"], config["download.extra_hosts"], config["download.retry_failed"]) == \
        (5, ["a.example", "b.example:81"], True)
    assert config.source("download.limit") == "flag" and config["download.where"] == "views > 3"
    assert config["download.threads"] == SETTINGS_BY_KEY["download.threads"].default


def test_the_docs_option_tables_are_the_declarations():
    from photolake import docs

    text = docs.README.read_text()
    assert all(f"<!-- options: {step} -->" in text for step in STAGES)
    assert docs.readme(text) == text, "README's option tables are out of date: run make docs"
    assert docs.configuration() == docs.CONFIGURATION.read_text(), "docs/configuration.md is out of date: make docs"


def test_a_tables_parts_are_replaced_one_at_a_time(spark, tmp_path):
    lake_dir = str(tmp_path / "lake")
    rows = spark.createDataFrame([("a", 1), ("a", 2), ("b", 3)], "model string, x int")
    lake.replace_partitions(rows, lake_dir, "detections", "r1", [("a",), ("b",)])
    lake.replace_partitions(spark.createDataFrame([], "x int"), lake_dir, "detections", "r2", [("a",)])  # no rows
    lake.replace_partitions(spark.createDataFrame([(4,)], "x int"), lake_dir, "detections", "r3", [("c",)])
    read = spark.read.parquet(lake.table_path(lake_dir, "detections"))
    assert sorted((r.model, r.x) for r in read.collect()) == [("b", 3), ("c", 4)]
    assert (tmp_path / "lake" / "detections" / "model=a").is_dir()  # an empty part, not the old rows
    assert not list((tmp_path / "lake" / ".staging").iterdir()) and not list((tmp_path / "lake" / ".trash").iterdir())


def test_a_step_sees_only_the_tables_it_declares_it_reads(spark, tmp_path):
    """A table an older photolake wrote (here without reason_kind) stops only the steps that read it, never
    the step that rewrites it."""
    from photolake.errors import LakeTableOutdated
    from photolake.schemas import LAKE_TABLES

    lake_dir = tmp_path / "lake"
    spark.createDataFrame([], LAKE_TABLES["photos"]).write.parquet(str(lake_dir / "photos"))
    spark.createDataFrame([("u1", 1, "p")], "user_id string, rank int, photo_id string").write.parquet(
        str(lake_dir / "recommendations"))
    seen = {}

    def step(spark, config, summary):
        seen["views"] = lake.register_views(spark, str(lake_dir))

    run(spark, Stage("rewrites", step, reads=("photos",), writes=("recommendations",)), lake_dir)
    assert "photos" in seen["views"] and "recommendations" not in seen["views"]
    with pytest.raises(LakeTableOutdated, match="lacks .*reason_kind"):
        run(spark, Stage("reads", step, reads=("photos", "recommendations")), lake_dir)
