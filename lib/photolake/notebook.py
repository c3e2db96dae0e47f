"""What the notebooks share: a local Spark session on the lake with every table and view registered, SQL
results as pandas frames, and the report's charts shown inline."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from pyspark.sql import SparkSession

from photolake import lake
from photolake.session import build_session

ROOT = Path(__file__).resolve().parents[2]


def open_lake(lake_dir: str | None = None) -> tuple[SparkSession, str, list[str]]:
    """(session, lake, tables and views present): the lake is $PHOTOLAKE_LAKE, else the demo's output/lake."""
    lake_dir = lake_dir or os.environ.get("PHOTOLAKE_LAKE") or str(ROOT / "output" / "lake")
    spark = build_session("notebook")
    return spark, lake_dir, lake.register_views(spark, lake_dir)


def query(spark: SparkSession, sql: str) -> pd.DataFrame:
    return spark.sql(sql).toPandas()


def show_png(png: bytes):
    from IPython.display import Image

    return Image(data=png)
