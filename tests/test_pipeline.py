"""pipeline: the whole pipeline in one application (the analysed lake is made by it), unchanged steps not
run again, --force, a failed step stops the run with a clear message and the next run resumes there. Tests
that run the pipeline again do it on their own copy of the analysed lake: the shared one is only read."""

from __future__ import annotations

import json
import shutil

import pytest

from photolake import lake, storage
from photolake.errors import PhotolakeError
from photolake.pipeline import STEPS, fingerprint, load_state, run_pipeline, select_steps


def test_a_full_run_made_every_table_and_recorded_every_step(spark, analysed):
    lake_dir, config = analysed
    state = load_state(config)
    assert set(state) == set(STEPS) and all(state[s]["fingerprint"] == fingerprint(config, s) for s in STEPS)
    assert {"photos", "downloads", "image_metadata", "detections", "clusters", "users", "interactions", "profiles",
            "recommendations", "rec_metrics"} <= set(lake.list_tables(lake_dir))
    runs = {r.job for r in lake.read_table(spark, lake_dir, "_runs").collect()}
    assert set(STEPS) <= runs
    assert storage.exists(f"{config['paths.report']}/index.html")
    assert json.loads(storage.read_bytes(f"{config['paths.export']}/users.json"))


@pytest.fixture
def own_lake(analysed, tmp_path):
    """A copy of the analysed lake, report and exports (modification times kept, so the fingerprints hold),
    reading the same release and images. Report and export fingerprint where they write, which moved with
    the copy: their recorded fingerprints are the copy's."""
    _, config = analysed
    copies = {}
    for key in ("paths.lake", "paths.report", "paths.export"):
        copies[key.replace(".", "__")] = str(tmp_path / key.split(".")[1])
        shutil.copytree(config[key], copies[key.replace(".", "__")], copy_function=shutil.copy2)
    copy = config.with_values(**copies)
    state_file = tmp_path / "lake" / "_pipeline.json"
    state = json.loads(state_file.read_text())
    for step in ("report", "export"):
        state[step]["fingerprint"] = fingerprint(copy, step)
    state_file.write_text(json.dumps(state))
    return copy


def test_unchanged_steps_are_not_run_again_and_force_reruns(spark, own_lake):
    config = own_lake
    again = run_pipeline(spark, config)
    assert [(o.step, o.status) for o in again] == [(s, "unchanged") for s in STEPS]
    report = storage.absolute(f"{config['paths.report']}/index.html")
    storage.filesystem(report)[0].delete_file(storage.filesystem(report)[1])  # an output gone: its step reruns
    forced = run_pipeline(spark, config, select_steps("recommend", None), force=False)
    assert [(o.step, o.status) for o in forced] == [("recommend", "unchanged"), ("report", "ran"),
                                                    ("export", "unchanged")]
    forced = run_pipeline(spark, config, select_steps("export", "export"), force=True)
    assert [(o.step, o.status) for o in forced] == [("export", "ran")]


def test_a_failed_step_stops_the_run_and_the_next_run_resumes_there(spark, own_lake, tmp_path):
    config = own_lake
    broken = config.with_values(detect__models_dir=str(tmp_path / "none"), detect__cache_dir=str(tmp_path / "cache"),
                                detect__mirror="http://127.0.0.1:9/", detect__conf=0.3)
    with pytest.raises(PhotolakeError, match=r"pipeline stopped at step detect: .*resumes at detect"):
        run_pipeline(spark, broken, select_steps("extract", "cluster"))
    state = load_state(config)
    assert state["detect"]["fingerprint"] != fingerprint(broken, "detect")  # not recorded as done
    assert state["extract"]["fingerprint"] == fingerprint(broken, "extract")  # extract was unchanged, still done


def test_step_names_are_checked():
    assert select_steps(None, None) == STEPS
    assert select_steps("users", "recommend") == ("users", "recommend")
    with pytest.raises(PhotolakeError, match="no pipeline step named 'nope'"):
        select_steps("nope", None)
    with pytest.raises(PhotolakeError, match="comes after"):
        select_steps("export", "ingest")


def test_every_option_that_changes_a_steps_output_is_in_its_fingerprint(own_lake, tmp_path):
    config = own_lake
    marks = {step: fingerprint(config, step) for step in STEPS}
    hosts = config.with_values(download__extra_hosts=["images.example"])
    assert fingerprint(hosts, "download") != marks["download"]
    assert all(fingerprint(hosts, s) == marks[s] for s in STEPS if s != "download")
    limited = config.with_values(download__limit=5, download__where="views > 3")
    assert fingerprint(limited, "download") != marks["download"]
    weights = tmp_path / "own.weights"
    weights.write_bytes(b"1" * 10)
    own = config.with_values(detect__weights=str(weights))
    before = fingerprint(own, "detect")
    assert before != marks["detect"]
    weights.write_bytes(b"2" * 20)  # new weights under the same name: detect runs again
    assert fingerprint(own, "detect") != before


def test_real_steps_in_one_session_leave_it_as_they_found_it(spark, own_lake):
    """cluster caches its features, users broadcasts its catalogue, and extract sets its Arrow batch size:
    the step after each sees the session as it was."""
    persistent = spark.sparkContext._jsc.getPersistentRDDs
    before = (spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch"), persistent().size())
    outcomes = run_pipeline(spark, own_lake, select_steps("extract", "users"), force=True)
    assert [o.status for o in outcomes] == ["ran"] * 4
    assert (spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch"), persistent().size()) == before
