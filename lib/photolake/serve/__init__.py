"""The online side: an HTTP API and web app over what the pipeline wrote (``./spark-submit.sh serve``).

store (a lake version in DuckDB) -> index and features (numpy arrays for search and similar photos) ->
search (filters, pages, facets) -> app (FastAPI routes, the web pages in web/), with holder swapping in
each new lake version and run starting it all from a job's configuration.
"""
