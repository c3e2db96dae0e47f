"""The whole pipeline in one Spark application: ingest, download, extract, detect, cluster, users, recommend,
report, export, in that order (photolake.stages).

A step is skipped when its inputs have not changed since its last successful run: the fingerprint of a
step is a hash of the files of the tables it reads (path, size, modification time), of the files outside
the lake it reads (the release for ingest, a --from-dir folder, model files), and of every config key that
changes what it writes, all as its declaration says (photolake.stages.STAGES). A step that rewrites a table
changes the fingerprint of every step that reads it, so what follows a change reruns and nothing else does.
The fingerprints of successful runs are kept in ``<lake>/_pipeline.json``. A failed step stops the run; the
next run skips what already succeeded and resumes there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone

from pyspark.sql import SparkSession

from photolake import faults, lake, lake_version, stages, storage
from photolake.config import Config
from photolake.errors import LakeDamaged, PhotolakeError, StepSkipped
from photolake.runs import RunSummary, failure_reason, new_run_id
from photolake.stage import run_stage

log = logging.getLogger("photolake.pipeline")

STEPS = tuple(stages.STAGES)
STATE_FILE = "_pipeline.json"


@dataclass
class StepOutcome:
    step: str
    status: str  # ran | unchanged | skipped (could not run, allowed to) | failed | not reached
    seconds: float = 0.0
    note: str = ""


def fingerprint(config: Config, step: str) -> str:
    stage = stages.STAGES[step]
    parts = {"config": {k: config[k] for k in stage.setting_keys(config)},
             "tables": {t: storage.file_listing(lake.table_path(config.paths.lake, t)) for t in stage.reads},
             "inputs": {k: storage.file_listing(storage.absolute(config[k])) for k in stage.inputs if config[k]}}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def dependencies() -> dict[str, tuple[str, ...]]:
    """step -> the earlier steps that write a table it reads."""
    writers: dict[str, str] = {}
    graph = {}
    for name, stage in stages.STAGES.items():
        graph[name] = tuple(dict.fromkeys(writers[t] for t in stage.reads if t in writers))
        writers.update({t: name for t in (*stage.writes, *stage.optional_writes)})
    return graph


def _output_path(config: Config, output: str) -> str:
    if ":" in output:  # report:index.html -> <paths.report>/index.html
        key, name = output.split(":", 1)
        return f"{storage.absolute(config[f'paths.{key}']).rstrip('/')}/{name}"
    return lake.table_path(config.paths.lake, output)


def outputs_present(config: Config, step: str) -> bool:
    return all(storage.exists(_output_path(config, output)) for output in stages.STAGES[step].writes)


def _state_path(config: Config) -> str:
    return posixpath.join(storage.absolute(config.paths.lake), STATE_FILE)


def load_state(config: Config) -> dict:
    """The fingerprints of the steps' last successful runs; a file that is not what this module writes is a
    one-line error (deleting it only makes every step run once more)."""
    path = _state_path(config)
    if not storage.exists(path):
        return {}
    try:
        state = json.loads(storage.read_bytes(path).decode("utf-8"))
        if not isinstance(state, dict) or not all(isinstance(v, dict) and isinstance(v.get("fingerprint"), str)
                                                  for v in state.values()):
            raise ValueError("not a map of step -> {fingerprint, run_id, finished_at}")
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise LakeDamaged(f"the pipeline's state file {path} is damaged ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:120]}): delete it and run again; every step then runs "
                          f"once more") from None
    return state


def _save_state(config: Config, state: dict) -> None:
    storage.write_atomic(_state_path(config), json.dumps(state, indent=2, sort_keys=True).encode())


def select_steps(first: str | None, last: str | None) -> tuple[str, ...]:
    for name in (first, last):
        if name is not None and name not in STEPS:
            raise PhotolakeError(f"no pipeline step named {name!r}; the steps are {', '.join(STEPS)}")
    start, end = STEPS.index(first or STEPS[0]), STEPS.index(last or STEPS[-1])
    if start > end:
        raise PhotolakeError(f"--from {first} comes after --to {last}: the order is {', '.join(STEPS)}")
    return STEPS[start:end + 1]


def run_pipeline(spark: SparkSession, config: Config, steps: tuple[str, ...] = STEPS,
                 force: bool = False) -> list[StepOutcome]:
    """Run ``steps`` in order, each with its own run summary in ``_runs`` and the session as it was before
    it (photolake.stage.run_stage). A failed step raises PhotolakeError after recording it."""
    state = load_state(config)
    outcomes = []
    for n, step in enumerate(steps):
        mark = fingerprint(config, step)
        if not force and state.get(step, {}).get("fingerprint") == mark and outputs_present(config, step):
            outcomes.append(StepOutcome(step, "unchanged", note="inputs unchanged since its last successful run "
                                                                  f"({state[step]['finished_at']})"))
            continue
        log.info("pipeline: %s", step)
        summary = RunSummary(step, new_run_id(step), config)
        started = time.time()
        try:
            run_stage(spark, stages.STAGES[step], config, summary)
        except StepSkipped as skipped:  # allowed not to run: the later steps go on without its tables
            outcomes.append(StepOutcome(step, "skipped", time.time() - started, str(skipped)))
            continue
        except Exception as exc:  # noqa: BLE001 - any failure stops the run with one clear message
            if faults.explain(exc) is None:  # a bug: its traceback helps whoever fixes it
                log.error("pipeline: %s failed:\n%s", step, traceback.format_exc())
            reason = failure_reason(exc)
            outcomes.append(StepOutcome(step, "failed", time.time() - started, reason))
            outcomes += [StepOutcome(later, "not reached") for later in steps[n + 1:]]
            print(render(outcomes), flush=True)
            raise PhotolakeError(f"pipeline stopped at step {step}: {reason}. Fix that and run the pipeline again: "
                                 f"the steps that succeeded are skipped and it resumes at {step}") from exc
        state[step] = {"fingerprint": mark, "run_id": summary.run_id,
                       "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        _save_state(config, state)
        outcomes.append(StepOutcome(step, "ran", time.time() - started))
    lake_version.mark_finished(config.paths.lake, new_run_id("pipeline"))
    print(render(outcomes), flush=True)
    return outcomes


def _short(note: str, width: int = 100) -> str:
    """A note cut to one table line (the step's own run summary has it whole)."""
    return note if len(note) <= width else note[:width - 3].rstrip() + "..."


def render(outcomes: list[StepOutcome]) -> str:
    lines = ["photolake pipeline:", f"  {'step':<11}{'status':<13}{'seconds':>8}  note"]
    lines += [f"  {o.step:<11}{o.status:<13}{o.seconds:>8.1f}  {_short(o.note)}" for o in outcomes]
    return "\n".join(lines)
