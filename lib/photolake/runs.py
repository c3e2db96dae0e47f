"""Run summaries: what a job read, wrote and rejected, printed at its end and appended to ``_runs``."""

from __future__ import annotations

import json
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pyspark.sql import SparkSession

from photolake import faults, lake
from photolake.config import Config
from photolake.errors import StepSkipped
from photolake.schemas import RUNS
from photolake.session import rows_frame


def by_status_note(counts: dict[str, int], statuses: tuple[str, ...]) -> str:
    """'by status: ok 206, invalid_url 1': every status with rows, in the schema's order (ok always)."""
    shown = [f"{s} {counts.get(s, 0):,}" for s in statuses if counts.get(s) or s == "ok"]
    return "by status: " + ", ".join(shown)


def failure_reason(exc: BaseException) -> str:
    """A failure in one line: what the user can do about it, or the exception's own first line."""
    explained = faults.explain(exc)
    if explained is not None:
        return str(explained)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def new_run_id(job: str) -> str:
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{job}-{uuid.uuid4().hex[:6]}"


@dataclass
class TableCounts:
    table: str
    rows_in: int
    rows_out: int
    rows_rejected: int
    values_rejected: int = 0
    elapsed_s: float = 0.0
    status: str = "ok"
    notes: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.rows_out + self.rows_rejected


@dataclass
class RunSummary:
    job: str
    run_id: str
    config: Config | None = None
    started: float = field(default_factory=time.time)
    tables: list[TableCounts] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status: str = "ok"

    def add(self, counts: TableCounts) -> None:
        self.tables.append(counts)

    @property
    def elapsed_s(self) -> float:
        return time.time() - self.started

    def render(self) -> str:
        elapsed = self.elapsed_s
        total_in = sum(t.rows_in for t in self.tables)
        lines = [f"photolake {self.job} run {self.run_id}: {self.status}, {elapsed:.1f} s"]
        if self.tables:
            width = max(14, *(len(t.table) + 2 for t in self.tables))
            lines.append(f"  {'table':<{width}}{'rows in':>12}{'written':>12}{'rejected':>10}{'bad values':>12}"
                         f"{'seconds':>9}{'rows/s':>11}")
            for t in self.tables:
                rate = t.rows_in / t.elapsed_s if t.elapsed_s else 0.0
                flag = "" if t.balanced else "  (counts do not add up!)"
                lines.append(f"  {t.table:<{width}}{t.rows_in:>12,}{t.rows_out:>12,}{t.rows_rejected:>10,}"
                             f"{t.values_rejected:>12,}{t.elapsed_s:>9.1f}{rate:>11,.0f}{flag}")
                lines += [f"      note: {n}" for n in t.notes]
            if len(self.tables) > 1:
                lines.append(f"  {'all':<{width}}{total_in:>12,}{sum(t.rows_out for t in self.tables):>12,}"
                             f"{sum(t.rows_rejected for t in self.tables):>10,}"
                             f"{sum(t.values_rejected for t in self.tables):>12,}{elapsed:>9.1f}"
                             f"{(total_in / elapsed if elapsed else 0):>11,.0f}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    @contextmanager
    def recorded(self, spark: SparkSession, lake_dir: str):
        """Run a job's body after clearing what killed runs left in the lake; however it ends, the summary is
        printed and appended to ``_runs`` (a failure as status 'failed' with its reason, and the exception
        goes on).  A ``_runs`` that cannot be written (a full disk) is said in the summary, never raised over
        the job's own error."""
        lake.remove_leftovers(spark, lake_dir)
        try:
            yield self
        except StepSkipped as skipped:
            self.status = "skipped"
            self.notes.append(f"skipped: {skipped}")
            raise
        except Exception as exc:
            self.status = "failed"
            self.notes.append(f"failed: {failure_reason(exc)}")
            raise
        finally:
            try:
                self.append_to_lake(spark, lake_dir)
            except Exception as exc:  # noqa: BLE001 - the summary is still printed, the job's error still raised
                self.notes.append(f"this run could not be recorded in {lake_dir}/_runs: {failure_reason(exc)}")
            print(self.render(), flush=True)

    def append_to_lake(self, spark: SparkSession, lake_dir: str) -> None:
        # aware datetimes: PySpark would read naive ones in the machine's local time zone
        finished = datetime.now(timezone.utc)
        started = datetime.fromtimestamp(self.started, timezone.utc)
        config = json.dumps(dict(self.config), default=str, sort_keys=True) if self.config else None
        rows = [
            (self.run_id, self.job, t.table, t.status if self.status == "ok" else self.status, started, finished,
             t.elapsed_s, t.rows_in, t.rows_out, t.rows_rejected, t.values_rejected,
             (t.rows_in / t.elapsed_s) if t.elapsed_s else None, config,
             t.notes + self.notes)
            for t in self.tables
        ] or [(self.run_id, self.job, None, self.status, started, finished, self.elapsed_s, None, None, None,
               None, None, config, self.notes)]
        lake.append_table(rows_frame(spark, rows, RUNS), lake_dir, "_runs")
