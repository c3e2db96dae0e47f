"""Configuration: built-in defaults < config file (TOML) < env PHOTOLAKE_* < command-line flags.

Keys are dotted (``paths.lake``, ``ingest.batch_rows``).  Every key is declared once, in ``SETTINGS``, with
its default, type, allowed range and help text; a value of the wrong type or out of range is a one-line
error before any work starts, whichever of the four places it came from.  Everything under
``spark.conf.`` is passed to Spark verbatim, so its keys may be any Spark setting.  A key that is not
known is an error (a typo in a config file should not be silently ignored), except under ``spark.conf.``.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import tomllib

from photolake.detect.models import BACKENDS, MODELS
from photolake.errors import PhotolakeError
from photolake.schemas import DATASET_TABLES, RECOMMEND_MODELS, USER_SOURCE_CHOICES

DEFAULT_CONF_FILE = "conf/local.toml"
ENV_PREFIX = "PHOTOLAKE_"
SPARK_CONF_PREFIX = "spark.conf."


class ConfigError(PhotolakeError, ValueError):
    """A config file, env variable or --set that cannot be applied."""


# ---- value checks: each returns the value as the job uses it, or raises ValueError(why) -----------------

def _text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("needs text")
    return str(value)


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("needs a whole number, not true/false")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    raise ValueError("needs a whole number")


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("needs a number, not true/false")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError("needs a number") from None
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("needs a finite number")
    return float(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    raise ValueError("needs true or false")


def _items(value: Any) -> list:
    """A list as given in TOML, comma-separated text (from --set or env), or one number as a list of one
    (``--set recommend.ranks=10``)."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [value]
    raise ValueError("needs a list")


def host_entry(text: str) -> tuple[str, int | None]:
    """An allow-list entry: ``host``, ``host:port``, ``*.domain``, an IPv4 address or ``[IPv6]``, each with
    an optional port; returns (host, port), the host lower-cased and without brackets."""
    entry = text.strip().lower()
    match = re.fullmatch(r"(\[[0-9a-f:.]+\]|\*\.[a-z0-9.-]+|[a-z0-9.-]+)(?::(\d{1,5}))?", entry)
    if not match:
        raise ValueError(f"{text!r} is not a host, host:port, *.domain or [IPv6]:port")
    host, port = match[1], int(match[2]) if match[2] else None
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{text!r}: {host} is not an IPv6 address") from None
        host = host[1:-1]
    elif any(not label for label in host.removeprefix("*.").split(".")):
        raise ValueError(f"{text!r} has an empty label")
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"{text!r}: port {port} is not in 1-65535")
    return host, port


def _hosts(value: Any) -> list[str]:
    entries = [_text(v).strip() for v in _items(value)]
    for entry in entries:
        host_entry(entry)
    return entries


def _networks(value: Any) -> list[str]:
    networks = []
    for item in _items(value):
        try:
            networks.append(str(ipaddress.ip_network(_text(item).strip(), strict=False)))
        except ValueError:
            raise ValueError(f"{item!r} is not an address or network (10.0.0.0/8, fd00::/8)") from None
    return networks


def _width(value: Any) -> str:
    text = _text(value).strip().lower()
    if text != "original" and not (text.isdigit() and 1 <= int(text) <= 65535):
        raise ValueError("needs a number of pixels (1-65535) or 'original'")
    return text


def _release(value: Any) -> str:
    text = _text(value).strip()
    if text != "auto" and not re.fullmatch(r"\d+\.\d+(\.\d+)?", text):
        raise ValueError("needs 'auto' or a version such as 1.2.0")
    return text


def _master(value: Any) -> str:
    text = _text(value).strip()
    if not re.fullmatch(r"local(\[(\*|\d+)(,\d+)?\])?|(spark|k8s|mesos)://\S+|yarn", text):
        raise ValueError("needs local, local[N], local[*], spark://host:port, yarn or k8s://...")
    return text


def _header_text(value: Any) -> str:
    text = _text(value)
    if not text.strip() or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError("needs non-empty text without control characters (it is sent as an HTTP header)")
    return text


def _origins(value: Any) -> list[str]:
    origins = [_text(v).strip() for v in _items(value)]
    for origin in origins:
        if origin != "*" and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", origin):
            raise ValueError(f"{origin!r} is not an origin (https://example.org, http://host:8080) or *")
    return origins


def _url_prefix(value: Any) -> str:
    text = _text(value).strip()
    if text and not re.fullmatch(r"https?://[^\s\\]+", text):
        raise ValueError("needs an http(s) URL, or nothing")
    return text


def _folder(value: Any) -> str:
    """A folder that exists, a URI (checked where it is read), or nothing."""
    text = _text(value).strip()
    if text and "://" not in text and not os.path.isdir(os.path.expanduser(text)):
        raise ValueError("is a file, not a folder" if os.path.exists(text) else f"{text} does not exist")
    return text


KINDS: dict[str, Callable[[Any], Any]] = {
    "text": _text, "int": _integer, "float": _number, "bool": _boolean, "hosts": _hosts,
    "networks": _networks, "width": _width, "release": _release, "master": _master, "header": _header_text,
    "url": _url_prefix, "origins": _origins, "folder": _folder,
    "list[text]": lambda v: [_text(x).strip() for x in _items(v) if _text(x).strip()],
    "list[int]": lambda v: [_integer(x) for x in _items(v)],
    "list[float]": lambda v: [_number(x) for x in _items(v)],
}
KIND_NAMES = {"text": "text", "int": "a whole number", "float": "a number", "bool": "true or false",
              "hosts": "a list of hosts", "networks": "a list of networks", "width": "pixels or 'original'",
              "release": "a version or 'auto'", "master": "a Spark master URL", "header": "text",
              "url": "a URL", "origins": "a list of origins", "folder": "a folder",
              "list[text]": "a list of names", "list[int]": "a list of whole numbers",
              "list[float]": "a list of numbers"}


@dataclass(frozen=True)
class Setting:
    """One configuration key: its default, kind (``KINDS``), allowed range or choices, and what it means."""

    key: str
    default: Any
    help: str
    kind: str = ""  # inferred from the default when empty
    low: float | None = None  # smallest allowed value (for lists: of each item)
    high: float | None = None
    above: float | None = None  # values must be greater than this
    below: float | None = None  # values must be less than this
    choices: tuple[str, ...] = ()
    non_empty: bool = False  # lists and text
    multiple_of: int | None = None

    @property
    def value_kind(self) -> str:
        if self.kind:
            return self.kind
        for python_type, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "text")):
            if isinstance(self.default, python_type):
                return name
        raise TypeError(f"{self.key}: say the kind of a {type(self.default).__name__} default")

    def check(self, value: Any) -> Any:
        """The value as the job uses it; ValueError with the reason when it is the wrong type or out of range."""
        kind = self.value_kind
        checked = KINDS[kind](value)
        for item in checked if isinstance(checked, list) else [checked]:
            self._check_range(item)
        if self.non_empty and not checked:
            raise ValueError("must not be empty")
        return checked

    def _check_range(self, item: Any) -> None:
        if self.choices and item not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}")
        if not isinstance(item, (int, float)) or isinstance(item, bool):
            return
        if self.multiple_of and item % self.multiple_of:
            raise ValueError(f"must be a multiple of {self.multiple_of}")
        for bound, ok, word in ((self.low, item.__ge__, "at least"), (self.high, item.__le__, "at most"),
                                (self.above, item.__gt__, "greater than"), (self.below, item.__lt__, "less than")):
            if bound is not None and not ok(bound):
                raise ValueError(f"must be {word} {bound:g}")

    def describe_range(self) -> str:
        """The allowed values in words, for help text and docs."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        bounds = ((">=", self.low), (">", self.above), ("<=", self.high), ("<", self.below))
        return " and ".join(f"{sign} {bound:g}" for sign, bound in bounds if bound is not None) \
            or KIND_NAMES[self.value_kind]


_S = Setting
SETTINGS: tuple[Setting, ...] = (
    _S("spark.master", "local[*]", "Spark master: local[*], local[4], spark://host:7077, yarn, k8s://...", "master"),
    _S("spark.log_level", "WARN", "Spark's log level once it has started",
       choices=("ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF")),
    _S("paths.lake", "output/lake", "the Parquet lake (a folder or URI)", non_empty=True),
    _S("paths.images", "output/images", "where downloaded images are stored (a folder or URI)", non_empty=True),
    _S("paths.dataset", "output/sample", "the release: its folder or zip", non_empty=True),
    _S("paths.report", "output/report", "where the report job writes index.html and its charts", non_empty=True),
    _S("paths.export", "output/export", "where the export job writes its JSON and SQLite files", non_empty=True),
    _S("export.rows_per_partition", 20_000, "rows the export hands to the driver at once (each such part is "
       "held whole in the JVM while it is sent)", low=100),
    _S("progress.every_s", 5.0, "seconds between progress lines when the output is not a terminal (a terminal's "
       "line is redrawn in place)", above=0),
    _S("ingest.batch_rows", 50_000, "records per Arrow batch from the TSV reader", low=1),
    _S("ingest.release", "auto", "the release's version, when it should decide the photos' latitude/longitude: "
       "1.2.x (documented swapped) swaps them back, 1.3.0 and later keep them; auto or older: the rows decide",
       "release"),
    _S("ingest.lat_lon", "auto", "the photos' latitude/longitude: auto decides from the rows (values out of "
       "range, each country's box; the run summary says on what evidence), swapped or as_given forces it",
       choices=("auto", "swapped", "as_given")),
    _S("ingest.max_member_bytes", 100 * 2**30, "largest uncompressed size of one zip member: a larger one is "
       "rejected unread", low=1),
    _S("ingest.tables", [], "only these tables of the release (all it has when empty)", "list[text]",
       choices=tuple(DATASET_TABLES)),
    _S("ingest.max_zip_ratio", 200.0, "largest uncompressed/compressed ratio of a zip member (TSV text compresses "
       "3-15x, a zip bomb about 1000x): a member over it is rejected unread", above=1),
    _S("sample.photos", 200, "photos in a sample release", low=1),
    _S("sample.seed", 42, "the sample's random seed: the same seed gives the same bytes", low=0),
    _S("sample.image_base_url", "http://127.0.0.1:8765", "what the sample's photo_image_url values start with",
       "url", non_empty=True),
    _S("sample.rows_per_part", 0, "start a new part file every N records (0: one part per table)", low=0),
    _S("download.where", "", "a SQL condition on the photos table, e.g. \"camera_make = 'Canon'\": only those "
       "photos (all when empty)"),
    _S("download.limit", 0, "fetch at most N photos this run, by photo_id; rechecks of ok rows do not count (0: all)",
       low=0),
    _S("download.retry_failed", False, "also fetch the photos whose last attempt failed"),
    _S("download.width", "1080", "imgix hosts: the width asked for; other hosts: the longest side after a local "
       "resize; or original", "width"),
    _S("download.quality", 85, "JPEG quality of imgix's and the local resize's output", low=1, high=100),
    _S("download.threads", 16, "requests in flight per task", low=1, high=1024),
    _S("download.timeout_s", 10.0, "seconds to connect and between bytes; one attempt at an image ends after "
       "6 times this", above=0, high=3600),
    _S("download.retries", 3, "retries after the first attempt (timeouts, connection errors, 429, 5xx)", low=0,
       high=100),
    _S("download.backoff_s", 0.5, "the first retry's wait; it doubles each time, with jitter", low=0, high=3600),
    _S("download.max_redirects", 5, "redirects followed per image", low=0, high=50),
    _S("download.allow_hosts", ["images.unsplash.com"], "hosts images may come from: host, host:port, *.domain",
       "hosts"),
    _S("download.allow_networks", [], "internal networks image hosts may resolve to (loopback, private, "
       "link-local... are refused otherwise), e.g. 10.0.0.0/8", "networks"),
    _S("download.extra_hosts", [], "hosts allowed besides allow_hosts, for one run: host or host:port", "hosts"),
    _S("download.imgix_hosts", ["images.unsplash.com"], "hosts that resize on the server (?w=&q=&fm=)", "hosts"),
    _S("download.resize_local", True, "resize images of other hosts locally to --width"),
    _S("download.draft_decode", True, "a local resize of 2x or more skips a progressive JPEG's last refinement "
       "scans"),
    _S("download.rate_per_host", 50.0, "requests per second per host for the whole job (0: no limit)", low=0),
    _S("download.connections_per_host", 32, "connections per host for the whole job (0: no limit)", low=0),
    _S("download.rows_per_partition", 2048, "photos per task when nothing is resized locally", low=1),
    _S("download.resize_rows_per_partition", 256, "photos per task when the job may resize locally", low=1),
    _S("download.max_bytes", 50_000_000, "largest image accepted, in bytes", low=1),
    _S("download.max_pixels", 100_000_000, "largest image accepted, in pixels", low=1),
    _S("download.respect_opt_out", True, "honour X-Robots-Tag: noai / noimageai"),
    _S("download.user_agent", "photolake/0.1 (image dataset downloader; +https://github.com/photolake/photolake)",
       "the User-Agent header", "header"),
    _S("extract.from_dir", "", "read every image file under this folder instead of the downloads table "
       "(photo_id: the path relative to it)", "folder"),
    _S("extract.follow_links", False, "with from_dir: also read the files and folders that links lead out to"),
    _S("extract.colors", 5, "dominant colours per image (k-means k)", low=1, high=32),
    _S("extract.rows_per_partition", 512, "images per task", low=1),
    _S("extract.arrow_batch_rows", 64, "image rows per Arrow batch", low=1),
    _S("detect.model", "yolov3", "the detector", choices=tuple(MODELS)),
    _S("detect.from_dir", "", "detect in every image file under this folder instead of the downloads table "
       "(photo_id: the path relative to it)", "folder"),
    _S("detect.follow_links", False, "with from_dir: also read the files and folders that links lead out to"),
    _S("detect.weights", "", "the weights (.weights or .onnx) instead of the model's own"),
    _S("detect.cfg", "", "the Darknet cfg instead of the model's own"),
    _S("detect.required", True, "a model whose files can be neither found nor downloaded stops the pipeline; "
       "false: the detect step is skipped and the later steps go on without detections"),
    _S("detect.backend", "onnxruntime", "the inference engine: onnxruntime (Darknet models converted to ONNX "
       "once, kept in detect.cache_dir) or opencv (OpenCV's DNN module, the reference)",
       choices=BACKENDS),
    _S("detect.batch_size", 1, "images per forward pass (onnxruntime; opencv runs one at a time): one task "
       "thread ran 0-36% slower an image at 8 than at 1 here (docs/benchmarks.md); more may pay with more "
       "threads a task", low=1, high=256),
    _S("detect.conf", 0.25, "minimum confidence of a box", low=0, high=1),
    _S("detect.nms", 0.45, "IoU above which a box of the same class is suppressed", above=0, high=1),
    _S("detect.size", 416, "network input side, a multiple of 32", low=32, high=4096, multiple_of=32),
    _S("detect.max_pixels", 200_000_000, "largest image detected in, in pixels", low=1),
    _S("detect.models_dir", "", "a folder with the model files (else $PHOTOLAKE_MODELS)"),
    _S("detect.cache_dir", "~/.cache/photolake/models", "where model files are downloaded to", non_empty=True),
    _S("detect.mirror", "", "a URL prefix tried first for model downloads (<mirror>/<file name>)", "url"),
    _S("detect.rows_per_partition", 256, "images per task", low=1),
    _S("detect.annotate_dir", "", "also write copies of the images with their boxes drawn here"),
    _S("detect.arrow_batch_rows", 16, "image rows per Arrow batch", low=1),
    _S("cluster.k", 0, "number of clusters (0: the best silhouette in k_min..k_max)", low=0, high=1000),
    _S("cluster.k_min", 2, "smallest k tried", low=2, high=1000),
    _S("cluster.k_max", 10, "largest k tried", low=2, high=1000),
    _S("cluster.tag_dimensions", 64, "hashed TF-IDF dimensions of the tags", low=1, high=1 << 20),
    _S("cluster.top_objects", 20, "detected classes counted as features", low=0, high=80),
    _S("cluster.seed", 42, "KMeans' random seed", low=0),
    _S("users.users", 1000, "synthetic users to draw", low=1),
    _S("users.source", "synthetic", "where users come from", choices=USER_SOURCE_CHOICES),
    _S("users.seed", 42, "the synthetic users' random seed", low=0),
    _S("users.mean_photos", 20.0, "mean photos a synthetic user interacts with", above=0),
    _S("users.activity_spread", 1.0, "sigma of the lognormal activity", low=0),
    _S("users.taste_weight", 8.0, "weight of a user's tastes in their choices", low=0),
    _S("users.popularity_weight", 0.5, "weight of popularity in their choices", low=0),
    _S("users.noise", 1.0, "weight of the Gumbel noise in their choices", low=0),
    _S("users.max_tags", 200, "tags in the catalogue's vocabulary", low=1),
    _S("recommend.k", 10, "photos recommended per user", low=1, high=1000),
    _S("recommend.model", "all", "the recommender to run", choices=(*RECOMMEND_MODELS, "all")),
    _S("recommend.ranks", [10, 30], "ALS ranks tried", "list[int]", low=1, high=1000, non_empty=True),
    _S("recommend.reg_params", [0.01, 0.1], "ALS regParams tried", "list[float]", low=0, non_empty=True),
    _S("recommend.alphas", [1.0, 10.0], "ALS alphas tried", "list[float]", low=0, non_empty=True),
    _S("recommend.max_iter", 10, "ALS iterations", low=1, high=1000),
    _S("recommend.test_fraction", 0.2, "share of each user's latest photos held out", above=0, below=1),
    _S("recommend.min_test_photos", 5, "photos a user needs to give some to the test set", low=2),
    _S("recommend.min_interactions", 3, "photos below which a user is cold-start", low=0),
    _S("recommend.hybrid_weight", 0.7, "weight of ALS in the hybrid (the rest is content)", low=0, high=1),
    _S("recommend.seed", 42, "random seed of the split and ALS", low=0),
    _S("image_server.host", "127.0.0.1", "the sample's image server's address (serve-images, sample --serve)",
       non_empty=True),
    _S("image_server.port", 8765, "the sample's image server's port", low=1, high=65535),
    _S("serve.host", "127.0.0.1", "the service's address (0.0.0.0: every interface)", non_empty=True),
    _S("serve.port", 8000, "the service's port", low=1, high=65535),
    _S("serve.reload_s", 5.0, "seconds between looks for a new lake version (0: never; restart to see one)", low=0),
    _S("serve.cache_dir", "output/cache", "where thumbnails are kept, and each loaded lake version (index/, "
       "1.2 GB at 1M photos; a restart opens it in under a second, the next version replaces it)", non_empty=True),
    _S("serve.table_memory_mb", 1024, "DuckDB's memory while it loads a lake version, and a quarter of it more for "
       "the database that writes the row files beside it; past them their sorts spill to serve.cache_dir", low=64),
    _S("serve.query_threads", 0, "DuckDB's threads while loading a lake version (0: one per core)", low=0,
       high=256),
    _S("serve.workers", 0, "service processes on the port, each with its own socket (the kernel spreads "
       "connections over them) and opening the loaded version from serve.cache_dir, so their tables share memory "
       "pages (0: one per core, at most 4; 1M photos on 2 cores: 2 workers answered 435-533 requests/s against "
       "276-301 for one, in 0.24 GB more)", low=0, high=64),
    _S("serve.threads", 0, "requests worked on at once on threads in each process (0: 4 with one worker, 1 each "
       "with several, where more threads only contend for Python's lock; bench/serve.py). With 1, the endpoints "
       "that only read the loaded lake run on the event loop, without a hand-over to the thread", low=0, high=256),
    _S("serve.detect_model", "", "whose detections the service shows and searches (empty: the model with the "
       "most)", choices=("", *MODELS)),
    _S("serve.cors_origins", [], "origins other sites may call the API from (CORS is off when empty)", "origins"),
    _S("serve.access_log", False, "log every request"),
)
SETTINGS_BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}
DEFAULTS: dict[str, Any] = {s.key: s.default for s in SETTINGS}
_LIST_KINDS = ("hosts", "networks", "origins")


def _section_class(section: str) -> type:
    """A frozen dataclass of one section's keys (``detect.conf`` is field ``conf``), typed and defaulted
    from SETTINGS, each field's help in its metadata; lists are tuples."""
    fields = []
    for setting in SETTINGS:
        prefix, _, name = setting.key.rpartition(".")
        if prefix != section:
            continue
        kind = setting.value_kind
        python_type = tuple if kind.startswith("list") or kind in _LIST_KINDS else \
            {"int": int, "float": float, "bool": bool}.get(kind, str)
        default = tuple(setting.default) if isinstance(setting.default, list) else setting.default
        fields.append((name, python_type, dataclasses.field(default=default, metadata={"help": setting.help})))
    return dataclasses.make_dataclass(section.title().replace("_", "") + "Section", fields, frozen=True)


# One settings class per config section: ``config.detect.conf`` is the float the step uses.
SECTIONS: dict[str, type] = {name: _section_class(name)
                             for name in dict.fromkeys(s.key.rpartition(".")[0] for s in SETTINGS)}

def bind(cls: type, config: Mapping[str, Any], section: str, **given: Any) -> Any:
    """A step's settings class (a dataclass whose defaults are ``DEFAULTS``) from the config: each field not
    ``given`` is read from ``<section>.<field name>``, a list as a tuple."""
    values = dict(given)
    for field in dataclasses.fields(cls):
        key = f"{section}.{field.name}"
        if field.name not in values and key in config:
            values[field.name] = tuple(config[key]) if isinstance(config[key], list) else config[key]
    return cls(**values)


# Short env names for the options every job has (PHOTOLAKE_LAKE rather than PHOTOLAKE_PATHS__LAKE).
ENV_SHORTCUTS = {
    "MASTER": "spark.master",
    "LAKE": "paths.lake",
    "IMAGES": "paths.images",
    "DATASET": "paths.dataset",
}


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


def _coerce(key: str, value: Any, origin: str = "") -> Any:
    if key.startswith(SPARK_CONF_PREFIX):
        if isinstance(value, (list, dict)):
            raise ConfigError(f"{key}{origin}: a Spark setting needs a single value, got {value!r}")
        return str(value).lower() if isinstance(value, bool) else str(value)
    setting = SETTINGS_BY_KEY.get(key)
    if setting is None:
        known = ", ".join(sorted(SETTINGS_BY_KEY))
        raise ConfigError(f"unknown config key {key!r}{origin}; known keys: {known} (and spark.conf.<any Spark "
                          f"setting>)")
    try:
        return setting.check(value)
    except ValueError as why:
        raise ConfigError(f"{key} = {value!r}{origin}: {why} ({setting.help})") from None


def _check_together(values: Mapping[str, Any]) -> None:
    """Rules that join two keys."""
    if values["cluster.k_min"] > values["cluster.k_max"]:
        raise ConfigError(f"cluster.k_min ({values['cluster.k_min']}) is larger than cluster.k_max "
                          f"({values['cluster.k_max']})")


class Config(Mapping[str, Any]):
    """The effective configuration of one job run: a flat, read-only mapping of dotted keys."""

    def __init__(self, values: Mapping[str, Any], sources: Mapping[str, str]):
        self._values = dict(values)
        self._sources = dict(sources)
        self._sections: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __getattr__(self, section: str) -> Any:
        """A section's settings as its typed class (SECTIONS): ``config.paths.lake``, ``config.detect.conf``."""
        if section.startswith("_") or section not in SECTIONS:
            raise AttributeError(f"no config section {section!r} (sections: {', '.join(SECTIONS)})")
        if section not in self._sections:
            cls = SECTIONS[section]
            self._sections[section] = cls(**{
                f.name: tuple(v) if isinstance(v := self._values[f"{section}.{f.name}"], list) else v
                for f in dataclasses.fields(cls)})
        return self._sections[section]

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
            updated[key] = _coerce(key, value)
            sources[key] = "code"
        _check_together(updated)
        return Config(updated, sources)

    def describe(self) -> str:
        """One line per key with where its value came from, for the start-of-job log."""
        width = max(map(len, self._values))
        return "\n".join(
            f"  {key:<{width}} = {json.dumps(value, default=str)}  ({self.source(key)})"
            for key, value in sorted(self._values.items())
        )


def _read_config_file(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise ConfigError(f"config file {path} is a folder: pass a TOML file, e.g. --config conf/local.toml")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                          f"offset {exc.start}): save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None


def load_config(
    conf_file: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Merge defaults, the config file, ``PHOTOLAKE_*`` env variables and overrides (flags, --set), each value
    checked against its ``Setting``.

    ``conf_file=None`` reads ``conf/local.toml`` when it exists; a file that was asked for explicitly must exist.
    Env names: PHOTOLAKE_LAKE, PHOTOLAKE_IMAGES, PHOTOLAKE_DATASET, PHOTOLAKE_MASTER, or any key with
    dots as double underscores (PHOTOLAKE_INGEST__BATCH_ROWS).  Env names that match no key are ignored,
    since other tools share the prefix (PHOTOLAKE_SHARED, PHOTOLAKE_MODELS).
    """
    values = copy.deepcopy(DEFAULTS)
    sources = {key: "default" for key in values}

    path = Path(conf_file) if conf_file else Path(DEFAULT_CONF_FILE)
    if path.exists():
        for key, value in _flatten(_read_config_file(path)).items():
            values[key] = _coerce(key, value, f" in {path}")
            sources[key] = f"file {path}"
    elif conf_file:
        raise ConfigError(f"config file not found: {path}")

    env = os.environ if env is None else env
    for name, text in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        short = name[len(ENV_PREFIX):]
        key = ENV_SHORTCUTS.get(short) or short.lower().replace("__", ".")
        if key in SETTINGS_BY_KEY or key.startswith(SPARK_CONF_PREFIX):
            values[key] = _coerce(key, parse_value(text), f" (env {name})")
            sources[key] = f"env {name}"

    for key, value in (overrides or {}).items():
        if value is None:
            continue
        values[key] = _coerce(key, value)
        sources[key] = "flag"
    _check_together(values)
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
