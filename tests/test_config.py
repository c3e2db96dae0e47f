"""Config precedence (flag > env PHOTOLAKE_* > config file > defaults), and every value checked for its type
and range wherever it came from."""

import json
import math
import re

import pytest

from photolake.config import SETTINGS, ConfigError, load_config, parse_set_options


@pytest.fixture
def conf_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[paths]\nlake = "from-file"\nimages = "img-file"\n[ingest]\nbatch_rows = 10\n'
                    '[spark.conf]\n"spark.sql.shuffle.partitions" = 3\n')
    return path


def test_each_section_is_a_typed_frozen_settings_class(tmp_path, monkeypatch):
    import dataclasses

    from photolake.config import SECTIONS

    monkeypatch.chdir(tmp_path)  # no conf/local.toml here
    config = load_config(env={}).with_values(detect__conf=0.5, recommend__ranks=[4, 8])
    assert config.detect.conf == 0.5 and config.detect.size == 416 and config.paths.lake == "output/lake"
    assert config.recommend.ranks == (4, 8) and config.download.allow_hosts == tuple(config["download.allow_hosts"])
    fields = {f.name: f for f in dataclasses.fields(SECTIONS["detect"])}
    assert fields["conf"].type is float and fields["size"].type is int and fields["required"].type is bool
    assert fields["conf"].default == 0.25 and fields["conf"].metadata["help"] == "minimum confidence of a box"
    assert {f"{section}.{f.name}" for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)} \
        == {s.key for s in SETTINGS}
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.detect.conf = 0.1
    with pytest.raises(AttributeError, match="no config section 'detection'"):
        config.detection
    with pytest.raises(AttributeError, match="confidence"):
        config.detect.confidence


def test_defaults_when_nothing_is_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no conf/local.toml here
    config = load_config(env={})
    assert config["spark.master"] == "local[*]"
    assert config["paths.lake"] == "output/lake"
    assert {config.source(k) for k in config} == {"default"}


def test_precedence_flag_over_env_over_file_over_default(conf_file):
    env = {"PHOTOLAKE_LAKE": "from-env", "PHOTOLAKE_IMAGES": "img-env", "PHOTOLAKE_INGEST__BATCH_ROWS": "20"}
    config = load_config(conf_file, overrides={"paths.lake": "from-flag"}, env=env)
    assert config["paths.lake"] == "from-flag"
    assert config.source("paths.lake") == "flag"
    assert config["paths.images"] == "img-env"
    assert config["ingest.batch_rows"] == 20 and isinstance(config["ingest.batch_rows"], int)
    assert config["paths.report"] == "output/report"
    assert config.spark_conf()["spark.sql.shuffle.partitions"] == "3"


def test_file_value_used_without_env_or_flag(conf_file):
    config = load_config(conf_file, env={})
    assert config["paths.lake"] == "from-file"
    assert config["ingest.batch_rows"] == 10
    assert config.source("ingest.batch_rows") == f"file {conf_file}"


def test_set_options_are_typed_and_checked(conf_file):
    overrides = parse_set_options(["ingest.batch_rows=123", "spark.conf.spark.executor.cores=2"])
    config = load_config(conf_file, overrides=overrides, env={})
    assert config["ingest.batch_rows"] == 123
    assert config.spark_conf()["spark.executor.cores"] == "2"
    with pytest.raises(ConfigError, match="unknown config key 'ingest.batchrows'"):
        load_config(conf_file, overrides=parse_set_options(["ingest.batchrows=1"]), env={})
    with pytest.raises(ConfigError, match="needs a whole number"):
        load_config(conf_file, overrides={"ingest.batch_rows": "many"}, env={})
    with pytest.raises(ConfigError, match="key=value"):
        parse_set_options(["novalue"])


def test_unrelated_env_with_the_prefix_is_ignored(conf_file):
    config = load_config(conf_file, env={"PHOTOLAKE_SHARED": "/x", "PHOTOLAKE_MODELS": "/m"})
    assert "shared" not in config and "models" not in config


def test_missing_explicit_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", env={})


def test_describe_names_every_key_and_its_source(conf_file):
    text = load_config(conf_file, overrides={"paths.lake": "x"}, env={}).describe()
    assert 'paths.lake' in text and "(flag)" in text and f"(file {conf_file})" in text


@pytest.mark.parametrize("key, value, why", [
    ("download.threads", 2.5, "needs a whole number"),
    ("download.threads", -4, "at least 1"),
    ("download.threads", 0, "at least 1"),
    ("extract.colors", True, "not true/false"),
    ("download.retries", -1, "at least 0"),
    ("download.timeout_s", -1, "greater than 0"),
    ("download.timeout_s", float("nan"), "finite"),
    ("download.timeout_s", "soon", "needs a number"),
    ("download.resize_local", 1, "true or false"),
    ("download.width", "wide", "pixels"),
    ("download.width", 0, "pixels"),
    ("download.quality", 101, "at most 100"),
    ("download.allow_hosts", ["images.unsplash.com", "user@evil"], "not a host"),
    ("download.allow_hosts", ["a..b"], "empty label"),
    ("download.allow_hosts", ["[::g]"], "not a host"),
    ("download.allow_hosts", ["h:70000"], "port 70000"),
    ("download.allow_networks", ["10.0.0.0/33"], "not an address or network"),
    ("download.user_agent", "bot\r\nX-Injected: 1", "control characters"),
    ("detect.model", "yolov9", "one of yolov3"),
    ("detect.size", 400, "multiple of 32"),
    ("detect.conf", 1.5, "at most 1"),
    ("recommend.ranks", [], "must not be empty"),
    ("recommend.ranks", [10, 0], "at least 1"),
    ("recommend.test_fraction", 1.0, "less than 1"),
    ("users.source", "everyone", "one of synthetic"),
    ("spark.master", "localhost", "local[N]"),
    ("ingest.release", "latest", "version"),
    ("paths.lake", "", "must not be empty"),
    ("paths.lake", ["a"], "needs text"),
])
def test_a_wrong_type_or_range_is_one_clear_error_from_any_source(tmp_path, key, value, why):
    with pytest.raises(ConfigError, match=re.escape(why)) as from_flag:
        load_config(None, overrides={key: value}, env={})
    assert key in str(from_flag.value)
    if isinstance(value, float) and not math.isfinite(value):
        return  # TOML writes nan, but json.dumps does not
    section, name = key.rsplit(".", 1)
    conf = tmp_path / "c.toml"
    conf.write_text(f"[{section}]\n{name} = {json.dumps(value)}\n")
    with pytest.raises(ConfigError, match=re.escape(why)) as from_file:
        load_config(conf, env={})
    assert str(conf) in str(from_file.value)


def test_values_of_the_right_kind_are_taken_as_the_job_uses_them():
    config = load_config(None, overrides={"download.timeout_s": 3, "download.width": 640, "download.retries": "2",
                                          "download.allow_hosts": "a.example, b.example:8080",
                                          "download.allow_networks": "10.1.2.3, fd00::/8"}, env={})
    assert config["download.timeout_s"] == 3.0 and isinstance(config["download.timeout_s"], float)
    assert config["download.width"] == "640" and config["download.retries"] == 2
    assert config["download.allow_hosts"] == ["a.example", "b.example:8080"]
    assert config["download.allow_networks"] == ["10.1.2.3/32", "fd00::/8"]
    one = load_config(None, overrides=parse_set_options(["recommend.ranks=10", "recommend.alphas=2.5"]), env={})
    assert (one["recommend.ranks"], one["recommend.alphas"]) == ([10], [2.5])  # one value: a list of one
    env = load_config(None, env={"PHOTOLAKE_DOWNLOAD__THREADS": "4", "PHOTOLAKE_DOWNLOAD__RESIZE_LOCAL": "no"})
    assert env["download.threads"] == 4 and env["download.resize_local"] is False
    with pytest.raises(ConfigError, match="PHOTOLAKE_DOWNLOAD__THREADS"):
        load_config(None, env={"PHOTOLAKE_DOWNLOAD__THREADS": "-1"})


def test_every_default_passes_its_own_check():
    for setting in SETTINGS:
        assert setting.check(setting.default) == setting.default, setting.key
        assert setting.help and setting.describe_range()


def test_keys_that_must_agree(tmp_path):
    with pytest.raises(ConfigError, match="k_min .* larger than cluster.k_max"):
        load_config(None, overrides={"cluster.k_min": 8, "cluster.k_max": 4}, env={})


def test_config_files_that_cannot_be_read_are_one_line_errors(tmp_path):
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes("[paths]\nlake = \"caf\xe9\"\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(latin1, env={})
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path, env={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[paths\n")
    with pytest.raises(ConfigError, match=str(broken)):
        load_config(broken, env={})
