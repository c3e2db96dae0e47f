"""The command line every job shares: common options, config resolution, logging, exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from photolake import faults, storage
from photolake.config import (
    DEFAULT_CONF_FILE,
    SETTINGS_BY_KEY,
    Config,
    ConfigError,
    Setting,
    load_config,
    parse_set_options,
)

log = logging.getLogger("photolake")

# Flags every job understands, and the config key each one sets.
COMMON_FLAG_KEYS = {
    "master": "spark.master",
    "lake": "paths.lake",
    "images": "paths.images",
    "dataset": "paths.dataset",
}


# Folders a job may write into: each must be a folder, or be creatable, before any work starts.
OUTPUT_FOLDERS = ("paths.lake", "paths.images", "paths.report", "paths.export")


def whole_number(low: int = 0):
    """An argparse type: a whole number of at least ``low`` (argparse turns the error into one line, exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"needs a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def non_negative(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"needs a number, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def release_version(text: str) -> str:
    """An argparse type: a release version such as 1.2.0."""
    if not re.fullmatch(r"\d+\.\d+(\.\d+)?", text.strip()):
        raise argparse.ArgumentTypeError(f"needs a version such as 1.3.0, got {text!r}")
    return text.strip()


def existing_folder(text: str) -> str:
    """An argparse type: a folder that exists (or a URI, checked where it is read)."""
    if not storage.has_scheme(text) and not os.path.isdir(text):
        what = "is a file, not a folder" if os.path.exists(text) else "does not exist"
        raise argparse.ArgumentTypeError(f"{text} {what}")
    return text


def check_output_folder(key: str, path: str) -> None:
    """A local folder a job writes into: a folder already, or creatable (its nearest existing parent is a
    writable folder).  URIs are checked by their filesystem when written."""
    if storage.has_scheme(path) and not path.startswith("file://"):
        return
    local = os.path.abspath(path.removeprefix("file://"))
    if os.path.exists(local) and not os.path.isdir(local):
        raise ConfigError(f"{key} {local} is a file, not a folder: point it at a folder (it is created if missing)")
    parent = local
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise ConfigError(f"{key} {local} cannot be created: {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{key} {local}: no permission to write in {parent}")


def job_parser(job: str, doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every job has; the job adds its own."""
    summary, _, details = (doc or job).strip().partition("\n")
    parser = argparse.ArgumentParser(
        prog=f"./spark-submit.sh {job}",
        description=summary,
        epilog=details.strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = parser.add_argument_group("options every job has")
    common.add_argument("--config", dest="conf_file", metavar="FILE", default=None,
                        help=f"config file (TOML), default {DEFAULT_CONF_FILE}")
    common.add_argument("--master", metavar="URL", help="Spark master: local[*] (default), spark://host:7077, yarn, k8s://...")
    common.add_argument("--lake", metavar="DIR", help="the Parquet lake (default output/lake)")
    common.add_argument("--images", metavar="DIR", help="where images are stored (default output/images)")
    common.add_argument("--dataset", metavar="DIR", help="the dataset release directory (default output/sample)")
    common.add_argument("--set", dest="set_options", metavar="KEY=VALUE", action="append", default=[],
                        help="set any config key, e.g. --set ingest.batch_rows=20000 (repeatable)")
    common.add_argument("--verbose", action="store_true",
                        help="also print the effective configuration, photolake's own log and Spark's task errors")
    common.add_argument("--show-config", action="store_true",
                        help="print the effective configuration (each value with where it came from) and stop")
    return parser


@dataclass(frozen=True)
class Flag:
    """A job's command-line option that sets one config key: its type, range, default and help are the key's
    declaration (photolake.config.SETTINGS)."""

    name: str  # --width
    key: str  # download.width
    metavar: str = ""  # else by the key's kind: N, X or TEXT

    @property
    def setting(self) -> Setting:
        return SETTINGS_BY_KEY[self.key]

    @property
    def dest(self) -> str:
        return self.name.lstrip("-").replace("-", "_")

    @property
    def is_switch(self) -> bool:
        """A true/false key whose default is false: given as a bare --flag."""
        return self.setting.value_kind == "bool" and self.setting.default is False

    @property
    def shown(self) -> str:
        """How the option is typed: ``--limit N``, ``--retry-failed``."""
        if self.is_switch:
            return self.name
        return f"{self.name} {self.metavar or {'int': 'N', 'float': 'X'}.get(self.setting.value_kind, 'TEXT')}"

    def help(self) -> str:
        return f"{self.setting.help} (default {default_text(self.setting)}; config {self.key})"


def default_text(setting: Setting) -> str:
    """A setting's default as the help and the docs show it: ``16``, ``false``, ``a,b``, ``none``."""
    default = setting.default
    if isinstance(default, bool):
        return str(default).lower()
    if default in ("", []):
        return "none"
    return ",".join(map(str, default)) if isinstance(default, list) else str(default)


def add_flags(parser: argparse.ArgumentParser, flags: tuple[Flag, ...], title: str) -> None:
    """The flags as options of ``parser``; a bad value is argparse's one-line error (exit 2)."""
    group = parser.add_argument_group(title)
    for flag in flags:
        if flag.is_switch:
            group.add_argument(flag.name, dest=flag.dest, action="store_true", default=None, help=flag.help())
            continue

        def parse(text: str, setting: Setting = flag.setting) -> Any:
            try:
                return setting.check(text)
            except ValueError as why:
                raise argparse.ArgumentTypeError(f"{setting.key} = {text}: {why}") from None

        group.add_argument(flag.name, dest=flag.dest, metavar=flag.shown.split(" ", 1)[1], type=parse,
                           help=flag.help())


def flag_values(args: argparse.Namespace, flags: tuple[Flag, ...]) -> dict[str, Any]:
    """{config key: value} of the flags given."""
    return {flag.key: getattr(args, flag.dest) for flag in flags if getattr(args, flag.dest, None) is not None}


def resolve_config(args: argparse.Namespace, job_keys: Mapping[str, Any] | None = None) -> Config:
    """The effective config: defaults < file < env < --set < explicit flags (common and the job's own)."""
    overrides = parse_set_options(args.set_options)
    for flag, key in COMMON_FLAG_KEYS.items():
        if getattr(args, flag, None) is not None:
            overrides[key] = getattr(args, flag)
    overrides.update({k: v for k, v in (job_keys or {}).items() if v is not None})
    config = load_config(args.conf_file, overrides)
    if getattr(args, "show_config", False):
        print(config.describe())
        sys.exit(0)
    for key in OUTPUT_FOLDERS:
        check_output_folder(key, config[key])
    if getattr(args, "verbose", False):
        logging.getLogger("photolake").setLevel(logging.INFO)
        log.info("effective configuration (also in the lake's _runs, column config)\n%s", config.describe())
    return config


def setup_logging() -> None:
    """Quiet by default: warnings only (matplotlib's and py4j's INFO chatter included); --verbose raises
    photolake's own log to INFO."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    # py4j chatters at INFO about every callback; PySpark logs every failed query as a JSON stack trace,
    # which the job reports itself in one line
    logging.getLogger("py4j").setLevel(logging.WARNING)
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)


def run_job(job: str, main: Callable[[], int | None]) -> None:
    """Run a job's main: user errors and failures of the world around it (a full disk, a damaged lake file)
    become one line on stderr and exit status 2; anything else is a bug and keeps its traceback."""
    setup_logging()
    try:
        code = main()
    except Exception as exc:
        explained = faults.explain(exc)
        if explained is None:
            raise
        print(f"photolake {job}: error: {explained}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code or 0)

