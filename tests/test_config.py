"""Config precedence: flag > env PHOTOLAKE_* > config file > defaults."""

import pytest

from photolake.config import ConfigError, load_config, parse_set_options


@pytest.fixture
def conf_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[paths]\nlake = "from-file"\nimages = "img-file"\n[ingest]\nbatch_rows = 10\n'
                    '[spark.conf]\n"spark.sql.shuffle.partitions" = 3\n')
    return path


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
    with pytest.raises(ConfigError, match="needs a int"):
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
