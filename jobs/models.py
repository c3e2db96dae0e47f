"""Fetch the detection models' files ahead of time, for a machine that is online once or an offline cluster.

  ./spark-submit.sh models fetch yolov3 yolov3-tiny yolox-nano     # into the cache, or --dir DIR
  ./spark-submit.sh models list                                    # each model's files, and where they are

Every file is checked against its published sha256; a configured mirror (detect.mirror) is tried first.
Copy the folder to another machine and point PHOTOLAKE_MODELS (or detect.models_dir) at it.
"""

import sys
from pathlib import Path

from photolake.cli import job_parser, resolve_config, run_job
from photolake.detect.models import (
    MODELS,
    MODELS_ENV,
    ModelFileError,
    model_files,
    resolve_model,
    where_found,
)

JOB = "models"
NEEDS_SPARK = False  # spark-submit.sh runs it with plain Python: no JVM to start


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("action", choices=("fetch", "list"), help="fetch the files, or list where they are")
    parser.add_argument("names", nargs="*", metavar="MODEL", help=f"models ({', '.join(MODELS)}; default: all)")
    parser.add_argument("--dir", metavar="DIR", help="fetch into DIR (default: detect.cache_dir, "
                                                     "~/.cache/photolake/models)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in MODELS]
    if unknown:
        parser.error(f"no model named {', '.join(unknown)}: the models are {', '.join(MODELS)}")
    config = resolve_config(args)
    names = args.names or list(MODELS)
    folder = str(Path(args.dir or config.detect.cache_dir).expanduser())
    models_dir = config.detect.models_dir or None
    if args.action == "list":
        for name in names:
            print(f"{name}:")
            for file, path in where_found(name, models_dir, folder):
                size = Path(path).stat().st_size if path else file.size
                print(f"  {file.name:<22} {f'{size / 1e6:,.1f} MB' if size else '':>10}  {path or 'not here'}")
        return 0
    failed = 0
    for name in names:
        try:
            paths = resolve_model(name, models_dir=None if args.dir else models_dir, cache_dir=folder,
                                  mirror=config.detect.mirror or None)
        except ModelFileError as exc:
            print(f"photolake models: {name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        for path in model_files(paths):
            print(f"{name}: {path} ({Path(path).stat().st_size / 1e6:,.1f} MB, sha256 checked)")
    if failed < len(names):
        print(f"the models are in {folder}; elsewhere, copy that folder and set {MODELS_ENV}=<its path> "
              f"(or --set detect.models_dir=<its path>)")
    return 2 if failed else 0


if __name__ == "__main__":
    run_job(JOB, main)
