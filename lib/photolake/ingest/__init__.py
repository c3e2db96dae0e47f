"""ingest: read a release's TSV tables into typed DataFrames and write them to the lake."""
