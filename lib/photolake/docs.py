"""The docs made from the declarations: each step's option table in README.md (between ``<!-- options: <step>
-->`` and ``<!-- /options -->``) and every config key in docs/configuration.md.

    .venv/bin/python -m photolake.docs      # rewrite them (make docs); tests/test_stage.py checks they are current
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from photolake.cli import default_text
from photolake.config import SETTINGS
from photolake.stages import STAGES

ROOT = Path(__file__).resolve().parents[2]
README, CONFIGURATION = ROOT / "README.md", ROOT / "docs" / "configuration.md"
BLOCK = re.compile(r"(<!-- options: (\w+) -->\n).*?(<!-- /options -->)", re.S)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def options_block(step: str) -> str:
    """The step's flags, each with its config key, and the rest of its config keys."""
    stage = STAGES[step]
    lines = ["| option | config key | meaning | default |", "|---|---|---|---|"]
    for flag in stage.flags:
        lines.append(f"| `{_cell(flag.shown)}` | `{flag.key}` | {_cell(flag.setting.help)} | "
                     f"{_cell(default_text(flag.setting))} |")
    flagged = {flag.key for flag in stage.flags}
    others = [s.key for s in SETTINGS if s.key.startswith(tuple(p for p in stage.settings if p.endswith(".")))
              and s.key not in flagged]
    if others:
        lines += ["", "Its other config keys (`--set KEY=VALUE`; docs/configuration.md says what each does): "
                  + ", ".join(f"`{key}`" for key in others) + "."]
    return "\n".join(lines) + "\n"


def readme(text: str) -> str:
    return BLOCK.sub(lambda m: m[1] + options_block(m[2]) + m[3], text)


def configuration() -> str:
    lines = ["# Configuration keys", "",
             "Made by `make docs` from `lib/photolake/config.py` (`SETTINGS`), where each key is declared once; do "
             "not edit by hand. README's Configuration section says how to set them. A flag's key is in its job's "
             "option table in README.", "",
             "| key | meaning | allowed | default |", "|---|---|---|---|"]
    for setting in SETTINGS:
        lines.append(f"| `{setting.key}` | {_cell(setting.help)} | {_cell(setting.describe_range())} | "
                     f"{_cell(default_text(setting))} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    README.write_text(readme(README.read_text()))
    CONFIGURATION.write_text(configuration())
    print(f"wrote the option tables of {README} and {CONFIGURATION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

