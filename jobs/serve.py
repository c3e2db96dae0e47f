"""The service: an HTTP API and web app over the lake (search, photos, similar, users, recommendations).

Reads the lake's Parquet with DuckDB and numpy, no Spark: it starts in seconds and picks up each new pipeline
run without a restart. Open http://127.0.0.1:8000/ for the web app, /docs for the API.
"""

import os

# One BLAS/OpenMP thread: on 2 cores multithreaded BLAS made small queries 25-100x slower (set before numpy).
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from photolake.cli import job_parser, resolve_config, run_job  # noqa: E402

JOB = "serve"
NEEDS_SPARK = False  # spark-submit.sh runs it with plain Python: no JVM to start


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, help="port (default 8000)")
    parser.add_argument("--wait", action="store_true",
                        help="start without a lake and serve it once it appears (readyz says 503 until then)")
    args = parser.parse_args(argv)
    config = resolve_config(args, {"serve.host": args.host, "serve.port": args.port})
    from photolake.serve.run import serve

    return serve(config, wait=args.wait)


if __name__ == "__main__":
    run_job(JOB, main)
