"""The one SparkSession builder every job and the tests use."""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.broadcast import Broadcast
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

from photolake.config import Config

# Settings every photolake session has; a config's spark.conf.* entries may override them.
BASE_SPARK_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
    # Image rows are large: keep Arrow batches small so a batch of images fits a worker comfortably.
    "spark.sql.execution.arrow.maxRecordsPerBatch": "10000",
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
}


# Spark's own log config (quiet); effective when this process starts the JVM (tests, notebooks).
LOG4J_CONF = Path(__file__).resolve().parents[2] / "conf" / "log4j2.properties"


# The class data sharing archive make setup builds in the environment (spark-submit.sh uses the same file).
CLASS_ARCHIVE = Path(sys.prefix) / "spark-classes.jsa"


def driver_java_options() -> list[str]:
    """Quiet logs, JVM warnings on stderr, and Spark's classes mapped from the archive when there is one
    (effective when this process starts the JVM)."""
    options = [f"-Dlog4j2.configurationFile=file:{LOG4J_CONF}"] if LOG4J_CONF.exists() else []
    if CLASS_ARCHIVE.exists():  # made by this kind of JVM, so it knows -Xlog too
        options += ["-Xlog:all=warning:stderr", f"-XX:SharedArchiveFile={CLASS_ARCHIVE}"]
    return options


def is_local(master: str) -> bool:
    return master.startswith("local")


def build_session(app: str, config: Config | None = None, extra_conf: Mapping[str, str] | None = None) -> SparkSession:
    """A session named ``photolake-<app>``: local[*] unless a master is configured, UTC, Arrow on, quiet logs.

    In local mode the Python workers must run the driver's interpreter (the venv's), or they would import
    a different pyspark/pandas than the driver.
    """
    master = (config or {}).get("spark.master", "local[*]")
    log_level = (config or {}).get("spark.log_level", "WARN")
    builder = SparkSession.builder.appName(f"photolake-{app}").master(master)
    conf = dict(BASE_SPARK_CONF)
    if is_local(master):
        conf["spark.pyspark.python"] = sys.executable
    conf["spark.driver.extraJavaOptions"] = " ".join(driver_java_options())
    conf.update(config.spark_conf() if config else {})
    conf.update(extra_conf or {})
    for key, value in conf.items():
        builder = builder.config(key, value)
    with _python_for_workers(sys.executable if is_local(master) else None):
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(log_level)
    return spark


@contextlib.contextmanager
def _python_for_workers(python: str | None) -> Iterator[None]:
    """PySpark reads the workers' interpreter from PYSPARK_PYTHON once, when the context starts: set it for
    that moment only, so the caller's environment is left as it was."""
    if python is None:
        yield
        return
    saved = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = python
    try:
        yield
    finally:
        if saved is None:
            del os.environ["PYSPARK_PYTHON"]
        else:
            os.environ["PYSPARK_PYTHON"] = saved


# What the running step cached and broadcast, released when it ends (photolake.stage.run_stage).
_held: contextvars.ContextVar[list | None] = contextvars.ContextVar("photolake_held", default=None)


def cached(df: DataFrame, level: StorageLevel | None = None) -> DataFrame:
    """``df`` cached (or persisted at ``level``) until the running step ends, when the runner unpersists it."""
    df = df.persist(level) if level is not None else df.cache()
    held = _held.get()
    if held is not None:
        held.append(df)
    return df


def broadcast(spark: SparkSession, value: Any) -> Broadcast:
    """A broadcast variable that lives until the running step ends, when the runner destroys it; the same
    object broadcast again in one step is the same broadcast (the recommender's catalogue, once a step)."""
    held = _held.get()
    for item in held or ():
        if isinstance(item, tuple) and item[0] is value:
            return item[1]
    shared = spark.sparkContext.broadcast(value)
    if held is not None:
        held.append((value, shared))
    return shared


@contextlib.contextmanager
def released(spark: SparkSession) -> Iterator[None]:
    """Unpersist what the body cached (through ``cached``, or inside Spark ML: ALS keeps its factors) and
    destroy what it broadcast, however it ends."""
    held: list = []
    token = _held.set(held)
    before = set(spark.sparkContext._jsc.getPersistentRDDs().keySet())
    try:
        yield
    finally:
        _held.reset(token)
        for item in reversed(held):
            if isinstance(item, tuple):  # (value, its broadcast)
                item[1].destroy()
            else:
                item.unpersist()
        persistent = spark.sparkContext._jsc.getPersistentRDDs()
        for rdd_id in set(persistent.keySet()) - before:
            persistent.get(rdd_id).unpersist(False)


def partitions_for(spark: SparkSession, rows: int, rows_per_partition: int) -> int:
    """Enough partitions for ``rows_per_partition`` each, and never fewer than the cores (all of them
    work) nor more than the rows (no empty tasks)."""
    wanted = max(spark.sparkContext.defaultParallelism, -(-rows // max(1, rows_per_partition)))
    return max(1, min(wanted, rows))


def rows_frame(spark: SparkSession, rows: Sequence[Sequence], schema: StructType) -> DataFrame:
    """A DataFrame of rows held on the driver (tuples in ``schema``'s field order), sent to the JVM as Arrow:
    unlike a list given to createDataFrame, no Python worker has to start to read them (about 1 s a job)."""
    arrow_schema = to_arrow_schema(schema, timezone="UTC")  # sessions run in UTC
    columns = list(zip(*rows)) if rows else [()] * len(schema.fields)
    return spark.createDataFrame(pa.Table.from_arrays([pa.array(list(c), type=f.type)
                                                       for c, f in zip(columns, arrow_schema)], schema=arrow_schema),
                                 schema)
