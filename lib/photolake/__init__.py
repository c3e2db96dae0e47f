"""photolake: turn a large image collection into a Parquet lake with Apache Spark."""

__version__ = "0.1.0"
