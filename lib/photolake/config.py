"""Configuration: built-in defaults < config file (TOML) < env PHOTOLAKE_* < command-line flags.

Keys are dotted (``paths.lake``, ``ingest.batch_rows``).  Everything under ``spark.conf.`` is passed to
Spark verbatim, so its keys may be any Spark setting.  A key that is not known is an error (a typo in a
config file should not be silently ignored), except under ``spark.conf.``.
"""

from __future__ import annotations

import copy
import json
import os
import tomllib
from pathlib import Path
from typing import Any, Mapping

from photolake.errors import PhotolakeError

DEFAULT_CONF_FILE = "conf/local.toml"
ENV_PREFIX = "PHOTOLAKE_"
SPARK_CONF_PREFIX = "spark.conf."

DEFAULTS: dict[str, Any] = {
    "spark.master": "local[*]",
    "spark.log_level": "WARN",
    "paths.lake": "output/lake",
    "paths.images": "output/images",
    "paths.dataset": "output/sample",
    "paths.report": "output/report",
    "paths.export": "output/export",
    "ingest.batch_rows": 50_000,
    "ingest.release": "auto",
    "sample.photos": 200,
    "sample.seed": 42,
    "sample.image_base_url": "http://127.0.0.1:8765",
    "sample.rows_per_part": 0,
    "download.width": "1080",
    "download.quality": 85,
    "download.threads": 16,
    "download.timeout_s": 10.0,
    "download.retries": 3,
    "download.backoff_s": 0.5,
    "download.max_redirects": 5,
    "download.allow_hosts": ["images.unsplash.com"],
    "download.imgix_hosts": ["images.unsplash.com"],
    "download.resize_local": True,
    "download.draft_decode": True,
    "download.rate_per_host": 50.0,
    "download.connections_per_host": 32,
    "download.rows_per_partition": 2048,
    "download.resize_rows_per_partition": 256,
    "download.max_bytes": 50_000_000,
    "download.max_pixels": 100_000_000,
    "download.respect_opt_out": True,
    "download.user_agent": "photolake/0.1 (image dataset downloader; +https://github.com/photolake/photolake)",
    "download.progress_every_s": 5.0,
    "extract.colors": 5,
    "extract.rows_per_partition": 512,
    "extract.arrow_batch_rows": 64,
    "detect.model": "yolov3",
    "detect.conf": 0.25,
    "detect.nms": 0.45,
    "detect.size": 416,
    "detect.max_pixels": 200_000_000,
    "detect.models_dir": "",
    "detect.cache_dir": "~/.cache/photolake/models",
    "detect.mirror": "",
    "detect.rows_per_partition": 32,
    "detect.annotate_dir": "",
    "detect.arrow_batch_rows": 16,
    "cluster.k": 0,
    "cluster.k_min": 2,
    "cluster.k_max": 10,
    "cluster.tag_dimensions": 64,
    "cluster.top_objects": 20,
    "cluster.seed": 42,
    "users.users": 1000,
    "users.source": "synthetic",
    "users.seed": 42,
    "users.mean_photos": 20.0,
    "users.activity_spread": 1.0,
    "users.taste_weight": 8.0,
    "users.popularity_weight": 0.5,
    "users.noise": 1.0,
    "users.max_tags": 200,
    "recommend.k": 10,
    "recommend.model": "all",
    "recommend.ranks": [10, 30],
    "recommend.reg_params": [0.01, 0.1],
    "recommend.alphas": [1.0, 10.0],
    "recommend.max_iter": 10,
    "recommend.test_fraction": 0.2,
    "recommend.min_test_photos": 5,
    "recommend.min_interactions": 3,
    "recommend.hybrid_weight": 0.7,
    "recommend.seed": 42,
    "serve.host": "127.0.0.1",
    "serve.port": 8765,
}

# Short env names for the options every job has (PHOTOLAKE_LAKE rather than PHOTOLAKE_PATHS__LAKE).
ENV_SHORTCUTS = {
    "MASTER": "spark.master",
    "LAKE": "paths.lake",
    "IMAGES": "paths.images",
    "DATASET": "paths.dataset",
}


class ConfigError(PhotolakeError, ValueError):
    """A config file, env variable or --set that cannot be applied."""


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and not dotted.startswith("spark.conf"):
            flat.update(_flatten(value, dotted + "."))
        elif isinstance(value, Mapping):  # spark.conf table: its keys contain dots themselves
            for spark_key, spark_value in value.items():
                flat[f"{SPARK_CONF_PREFIX}{spark_key}"] = spark_value
        else:
            flat[dotted] = value
    return flat


def parse_value(text: str) -> Any:
    """A value typed on the command line or in env: TOML syntax if it parses (1, 2.5, true, [..]), else text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _coerce(key: str, value: Any, defaults: Mapping[str, Any]) -> Any:
    if key.startswith(SPARK_CONF_PREFIX):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if key not in defaults:
        known = ", ".join(sorted(defaults))
        raise ConfigError(f"unknown config key {key!r}; known keys: {known} (and spark.conf.<any Spark setting>)")
    default = defaults[key]
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                return value.lower() in ("true", "1", "yes")
            return bool(value)
        if isinstance(default, int) and not isinstance(default, bool):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, list):
            return list(value) if not isinstance(value, str) else [v.strip() for v in value.split(",") if v.strip()]
        return value if default is None else str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"config key {key!r} needs a {type(default).__name__}, got {value!r}") from None


class Config(Mapping[str, Any]):
    """The effective configuration of one job run: a flat, read-only mapping of dotted keys."""

    def __init__(self, values: Mapping[str, Any], sources: Mapping[str, str]):
        self._values = dict(values)
        self._sources = dict(sources)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def source(self, key: str) -> str:
        return self._sources.get(key, "default")

    def spark_conf(self) -> dict[str, str]:
        return {k[len(SPARK_CONF_PREFIX):]: v for k, v in self._values.items() if k.startswith(SPARK_CONF_PREFIX)}

    def with_values(self, **values: Any) -> "Config":
        """A copy with keys given as python names (``paths__lake`` -> ``paths.lake``) replaced."""
        updated = dict(self._values)
        sources = dict(self._sources)
        for name, value in values.items():
            key = name.replace("__", ".")
            updated[key] = _coerce(key, value, DEFAULTS)
            sources[key] = "code"
        return Config(updated, sources)

    def describe(self) -> str:
        """One line per key with where its value came from, for the start-of-job log."""
        width = max(map(len, self._values))
        return "\n".join(
            f"  {key:<{width}} = {json.dumps(value, default=str)}  ({self.source(key)})"
            for key, value in sorted(self._values.items())
        )


def load_config(
    conf_file: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] = DEFAULTS,
) -> Config:
    """Merge defaults, the config file, ``PHOTOLAKE_*`` env variables and overrides (flags, --set).

    ``conf_file=None`` reads ``conf/local.toml`` when it exists; a file that was asked for explicitly must exist.
    Env names: PHOTOLAKE_LAKE, PHOTOLAKE_IMAGES, PHOTOLAKE_DATASET, PHOTOLAKE_MASTER, or any key with
    dots as double underscores (PHOTOLAKE_INGEST__BATCH_ROWS).  Env names that match no key are ignored,
    since other tools share the prefix (PHOTOLAKE_SHARED, PHOTOLAKE_MODELS).
    """
    values = copy.deepcopy(dict(defaults))
    sources = {key: "default" for key in values}

    path = Path(conf_file) if conf_file else Path(DEFAULT_CONF_FILE)
    if path.exists():
        try:
            tree = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        for key, value in _flatten(tree).items():
            values[key] = _coerce(key, value, defaults)
            sources[key] = f"file {path}"
    elif conf_file:
        raise ConfigError(f"config file not found: {path}")

    env = os.environ if env is None else env
    for name, text in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        short = name[len(ENV_PREFIX):]
        key = ENV_SHORTCUTS.get(short) or short.lower().replace("__", ".")
        if key in defaults or key.startswith(SPARK_CONF_PREFIX):
            values[key] = _coerce(key, parse_value(text), defaults)
            sources[key] = f"env {name}"

    for key, value in (overrides or {}).items():
        if value is None:
            continue
        values[key] = _coerce(key, value, defaults)
        sources[key] = "flag"
    return Config(values, sources)


def parse_set_options(pairs: list[str] | None) -> dict[str, Any]:
    """``--set key=value`` strings into a dict of typed values."""
    parsed: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set needs key=value, got {pair!r}")
        parsed[key.strip()] = parse_value(text.strip())
    return parsed
