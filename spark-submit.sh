#!/usr/bin/env bash
# Run a photolake job through Spark's own spark-submit:  ./spark-submit.sh JOB [options]
#
# The library is shipped as a zip with --py-files, so the same command works against a cluster where
# photolake is not installed.  Extra spark-submit options (executor memory, --files, ...) go in
# PHOTOLAKE_SUBMIT_ARGS, e.g. PHOTOLAKE_SUBMIT_ARGS="--executor-memory 4g --total-executor-cores 8".
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jobs_dir="$here/jobs"

list_jobs() {
  echo "usage: ./spark-submit.sh JOB [options]      (./spark-submit.sh JOB --help for a job's options)"
  echo
  echo "jobs:"
  for file in "$jobs_dir"/*.py; do
    name="$(basename "$file" .py)"
    summary="$(sed -n 's/^"""\(.*\)/\1/p' "$file" | head -n 1)"
    printf '  %-14s %s\n' "${name//_/-}" "$summary"
  done
  echo
  echo "options every job has: --config FILE --master URL --lake DIR --images DIR --dataset DIR --set KEY=VALUE"
}

if [[ $# -eq 0 || "$1" == "--help" || "$1" == "-h" || "$1" == "help" ]]; then
  list_jobs
  exit 0
fi

job="$1"; shift
script="$jobs_dir/${job//-/_}.py"
if [[ ! -f "$script" ]]; then
  echo "spark-submit.sh: no job named '$job'" >&2
  list_jobs >&2
  exit 2
fi

# The interpreter: the project's venv when there is one, else whatever python3 is on PATH.
python="${PHOTOLAKE_PYTHON:-}"
if [[ -z "$python" ]]; then
  if [[ -x "$here/.venv/bin/python" ]]; then python="$here/.venv/bin/python"; else python="$(command -v python3)"; fi
fi

# The driver's output reaches the terminal through a pipe: say when it is a terminal, so progress lines are
# redrawn in place rather than repeated.
if [[ -t 1 ]]; then export PHOTOLAKE_TTY=1; fi

# A job's --help, and the jobs that need no Spark (models, sample, serve-images), run without a JVM.
needs_spark=1
grep -q '^NEEDS_SPARK = False' "$script" && needs_spark=0
for arg in "$@"; do
  if [[ "$arg" == "--help" || "$arg" == "-h" || "$arg" == "--show-config" ]]; then needs_spark=0; fi
done
if [[ $needs_spark == 0 ]]; then
  PYTHONPATH="$here/lib${PYTHONPATH:+:$PYTHONPATH}" exec "$python" "$script" "$@"
fi

submit="${SPARK_HOME:+$SPARK_HOME/bin/spark-submit}"
if [[ -z "$submit" || ! -x "$submit" ]]; then
  submit="$(dirname "$python")/spark-submit"
  [[ -x "$submit" ]] || submit="$(command -v spark-submit || true)"
fi
if [[ -z "$submit" ]]; then
  echo "spark-submit.sh: spark-submit not found: run 'make setup' (installs pyspark into .venv) or set SPARK_HOME" >&2
  exit 2
fi

# Ship the library: a zip of lib/photolake, rebuilt when any of its files is newer.
zip_file="$here/dist/photolake.zip"
if [[ ! -f "$zip_file" || -n "$(find "$here/lib/photolake" -newer "$zip_file" -name '*.py' -print -quit)" ]]; then
  mkdir -p "$here/dist"
  (cd "$here/lib" && "$python" - "$zip_file" <<'PY'
import pathlib, sys, zipfile
target = pathlib.Path(sys.argv[1])
tmp = target.with_suffix(".tmp")
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
    for path in sorted(pathlib.Path("photolake").rglob("*.py")):
        zf.write(path)
tmp.replace(target)
PY
  )
fi

# The job's --master (if given) is spark-submit's master too; otherwise the config decides in the job.
master_args=()
previous=""
for arg in "$@"; do
  if [[ "$previous" == "--master" ]]; then master_args=(--master "$arg"); fi
  if [[ "$arg" == --master=* ]]; then master_args=(--master "${arg#--master=}"); fi
  previous="$arg"
done

# In local mode the executors live in the driver's JVM: Spark's default of 1g is too little for a
# Lite-sized release.  PHOTOLAKE_DRIVER_MEMORY overrides it.
memory_args=(--driver-memory "${PHOTOLAKE_DRIVER_MEMORY:-4g}")

# The driver JVM maps Spark's classes from a class data sharing archive when the environment has one
# (make setup builds it): a job starts about 4 s sooner on 2 cores.  The JVM checks the archive itself
# and ignores one that does not match.  Its warnings go to stderr, never into a job's output.
# PHOTOLAKE_CLASS_ARCHIVE_OUT=FILE writes such an archive of the classes this run loads instead.
java_options="-Dlog4j2.configurationFile=file:$here/conf/log4j2.properties"
# --verbose also shows what Spark logs of failed tasks (conf/log4j2.properties keeps it off by default)
for arg in "$@"; do
  if [[ "$arg" == "--verbose" ]]; then java_options+=" -Dphotolake.tasks.log=warn"; fi
done
class_archive="$(dirname "$python")/../spark-classes.jsa"
if [[ -n "${PHOTOLAKE_CLASS_ARCHIVE_OUT:-}" ]]; then
  java_options+=" -Xlog:all=warning:stderr -XX:ArchiveClassesAtExit=$PHOTOLAKE_CLASS_ARCHIVE_OUT"
elif [[ -f "$class_archive" ]]; then
  java_options+=" -Xlog:all=warning:stderr -XX:SharedArchiveFile=$class_archive"
fi

# The download and detect jobs' JVM only hands rows to their Python workers and writes a small table:
# there C2's compilations (about 10 s of CPU early in a run) only take cores from the workers. C1 alone
# starts download about 4 s sooner on 2 cores, and runs detect's stage 10% faster.  Jobs whose JVM does the
# heavy work keep C2: ingest runs 25% slower on C1.
if [[ "$job" == "download" || "$job" == "detect" ]]; then
  java_options+=" -XX:TieredStopAtLevel=1"
fi
# Any other option for the driver's JVM (PHOTOLAKE_SUBMIT_ARGS cannot carry them: --driver-java-options is set
# here, and a second one would replace it)
java_options+="${PHOTOLAKE_JAVA_OPTIONS:+ $PHOTOLAKE_JAVA_OPTIONS}"

export PYSPARK_PYTHON="${PYSPARK_PYTHON:-$python}"
export PYSPARK_DRIVER_PYTHON="${PYSPARK_DRIVER_PYTHON:-$python}"
# Spark 4 starts its JVM with the incubating Vector API, and the JVM says so on every start; netlib's native
# code says when it falls back to its Java BLAS (same results). Neither is news to a user.
exec 2> >(grep -v --line-buffered -E '^WARNING: Using incubator modules|^netlib-(blas|lapack): JNI_OnLoad' >&2)
# shellcheck disable=SC2086
exec "$submit" "${master_args[@]}" "${memory_args[@]}" --name "photolake-$job" --py-files "$zip_file" \
  --conf "spark.pyspark.python=$PYSPARK_PYTHON" --driver-java-options "$java_options" \
  ${PHOTOLAKE_SUBMIT_ARGS:-} "$script" "$@"
