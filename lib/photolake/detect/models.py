"""The detection models and their files: which files each needs, where they are found, how they are fetched.

A model's files are looked for in this order: the paths given (``--weights`` / ``--cfg``), the folder in
``$PHOTOLAKE_MODELS``, the user cache (``~/.cache/photolake/models``); a file found nowhere is downloaded
into the cache (from a configured mirror first, then its official URLs) with progress and its sha256
checked.  Files found by name (models folder, cache) are checked against the published sha256 too, so a
truncated or wrong file is an error rather than garbage detections.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from photolake.errors import PhotolakeError
from photolake.progress import Progress

log = logging.getLogger("photolake.detect")

MODELS_ENV = "PHOTOLAKE_MODELS"
DEFAULT_CACHE = Path.home() / ".cache" / "photolake" / "models"
DARKNET_RAW = "https://raw.githubusercontent.com/pjreddie/darknet/master"


@dataclass(frozen=True)
class ModelFile:
    name: str
    sha256: str
    urls: tuple[str, ...]
    size: int | None = None


@dataclass(frozen=True)
class ModelSpec:
    """``kind`` is ``darknet`` (cfg + weights, OpenCV's Darknet importer) or ``yolox`` (ONNX, raw grid
    output).  ``centered``: where the letterboxed image sits (Darknet centres it, YOLOX pads bottom-right)."""

    name: str
    kind: str
    weights: ModelFile
    cfg: ModelFile | None
    centered: bool


COCO_NAMES = ModelFile("coco.names", "634a1132eb33f8091d60f2c346ababe8b905ae08387037aed883953b7329af84",
                       (f"{DARKNET_RAW}/data/coco.names",))

MODELS: dict[str, ModelSpec] = {
    "yolov3": ModelSpec(
        "yolov3", "darknet",
        ModelFile("yolov3.weights", "523e4e69e1d015393a1b0a441cef1d9c7659e3eb2d7e15f793f060a21b32f297",
                  ("https://pjreddie.com/media/files/yolov3.weights",
                   "https://data.pjreddie.com/files/yolov3.weights"), size=248_007_048),
        ModelFile("yolov3.cfg", "22489ea38575dfa36c67a90048e8759576416a79d32dc11e15d2217777b9a953",
                  (f"{DARKNET_RAW}/cfg/yolov3.cfg",)),
        centered=True),
    "yolov3-tiny": ModelSpec(
        "yolov3-tiny", "darknet",
        ModelFile("yolov3-tiny.weights", "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c",
                  ("https://pjreddie.com/media/files/yolov3-tiny.weights",
                   "https://data.pjreddie.com/files/yolov3-tiny.weights")),
        ModelFile("yolov3-tiny.cfg", "84eb7a675ef87c906019ff5a6e0effe275d175adb75100dcb47f0727917dc2c7",
                  (f"{DARKNET_RAW}/cfg/yolov3-tiny.cfg",)),
        centered=True),
    "yolox-nano": ModelSpec(
        "yolox-nano", "yolox",
        ModelFile("yolox_nano.onnx", "695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14",
                  ("https://github.com/Kazuhito00/YOLOX-ONNX-TFLite-Sample/raw/main/model/yolox_nano.onnx",)),
        None,
        centered=False),
}


# The inference engines, fastest first (docs/benchmarks.md): ONNX Runtime, and OpenCV's DNN module as the
# reference and fallback
BACKENDS = ("onnxruntime", "opencv")


class ModelFileError(PhotolakeError):
    """A model file that is missing and cannot be downloaded, or whose contents are not the published file."""


@dataclass(frozen=True)
class ModelPaths:
    """Local paths of one model's files (weights, cfg or None, class names)."""

    spec: ModelSpec
    weights: str
    cfg: str | None
    names: str


def model_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise PhotolakeError(f"unknown model {name!r}: choose one of {', '.join(MODELS)}") from None


def sha256_of(*paths: Path | str) -> str:
    """The sha256 of the files' bytes, one after the other."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def cached_derivative(sources: list[str], name: str, make: Callable[[], bytes], cache_dir: str | None) -> str:
    """A file made from model files (a conversion), kept in the model cache as ``<name>.<sha256 of the
    sources, 16 hex>.onnx`` and reused: made once per machine on the driver, written atomically, never into
    a models folder of the user's (which may be shared or read-only). Raises OSError when the cache cannot
    be written."""
    folder = Path(cache_dir or DEFAULT_CACHE).expanduser()
    target = folder / f"{name}.{sha256_of(*sources)[:16]}.onnx"
    if target.is_file():
        return str(target)
    made = make()
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.")
    with os.fdopen(handle, "wb") as out:
        out.write(made)
    os.replace(temporary, target)
    return str(target)


def search_dirs(models_dir: str | None, cache_dir: str | None) -> list[Path]:
    dirs = [models_dir or os.environ.get(MODELS_ENV), cache_dir or DEFAULT_CACHE]
    return [Path(d).expanduser() for d in dirs if d]


def resolve_model(name: str, weights: str | None = None, cfg: str | None = None, names: str | None = None,
                  models_dir: str | None = None, cache_dir: str | None = None, mirror: str | None = None,
                  timeout_s: float = 30.0) -> ModelPaths:
    """The local files of model ``name``, downloading what is not found."""
    spec = model_spec(name)
    cache = Path(cache_dir or DEFAULT_CACHE).expanduser()
    dirs = search_dirs(models_dir, str(cache))

    def locate(given: str | None, file: ModelFile) -> str:
        if given:
            if not Path(given).is_file():
                raise ModelFileError(f"{file.name}: {given} is not a file")
            return str(Path(given).resolve())  # the user's own file (perhaps their own training): not checked
        try:
            return str(find_or_download(file, dirs, cache, mirror, timeout_s))
        except ModelFileError as missing:
            raise ModelFileError(f"{missing}. On a machine with a network run './spark-submit.sh models fetch "
                                 f"{name}' (or 'make models'), then copy the files into {cache} or point "
                                 f"${MODELS_ENV} at them; or pass --weights/--cfg") from None

    return ModelPaths(spec, locate(weights, spec.weights), locate(cfg, spec.cfg) if spec.cfg else None,
                      locate(names, COCO_NAMES))


def where_found(name: str, models_dir: str | None = None, cache_dir: str | None = None) -> list[tuple[ModelFile,
                                                                                                      str | None]]:
    """Each file of model ``name`` with where it is (models folder, then the cache), or None (by name)."""
    spec = model_spec(name)
    dirs = search_dirs(models_dir, cache_dir)
    return [(f, next((str(d / f.name) for d in dirs if (d / f.name).is_file()), None))
            for f in (spec.weights, spec.cfg, COCO_NAMES) if f]


def found_locally(name: str, models_dir: str | None = None, cache_dir: str | None = None) -> bool:
    """Whether every file of model ``name`` is already in the models folder or the cache (by name)."""
    return all(path for _, path in where_found(name, models_dir, cache_dir))


def model_files(paths: ModelPaths) -> list[str]:
    return [p for p in (paths.weights, paths.cfg, paths.names) if p]


def find_or_download(file: ModelFile, dirs: list[Path], cache: Path, mirror: str | None, timeout_s: float) -> Path:
    for folder in dirs:
        candidate = folder / file.name
        if candidate.is_file():
            actual = sha256_of(candidate)
            if actual == file.sha256:
                return candidate
            if folder != cache:
                raise ModelFileError(f"{candidate} is not the published {file.name}: sha256 {actual}, "
                                     f"expected {file.sha256} (use --weights/--cfg for your own files)")
            log.warning("%s in the cache is damaged (sha256 %s): downloading it again", candidate, actual)
    return download(file, cache, mirror, timeout_s, dirs)


def download(file: ModelFile, cache: Path, mirror: str | None, timeout_s: float, looked_in: list[Path]) -> Path:
    """Fetch ``file`` into ``cache`` (temp file, checksum, rename), trying the mirror then each URL."""
    urls = ((f"{mirror.rstrip('/')}/{file.name}",) if mirror else ()) + file.urls
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / file.name
    failures = []
    for url in urls:
        partial = cache / f".{file.name}.{os.getpid()}.part"
        try:
            digest = _fetch(url, partial, file, timeout_s)
            if digest != file.sha256:
                failures.append(f"{url}: sha256 {digest}, expected {file.sha256}")
                continue
            partial.replace(target)
            return target
        except (requests.RequestException, OSError) as exc:
            failures.append(f"{url}: {failure_text(exc)}")
        finally:
            partial.unlink(missing_ok=True)
    raise ModelFileError(
        f"model file {file.name} is not in {', '.join(str(d) for d in looked_in)} and could not be downloaded "
        f"({'; '.join(failures)})")


def failure_text(exc: Exception) -> str:
    """A download failure in a few words: what a user can check."""
    text = str(exc)
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    if "Failed to resolve" in text or "Name or service not known" in text:
        return "cannot resolve the host (no network?)"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if "Connection refused" in text:
        return "connection refused"
    return f"{type(exc).__name__}: {text.splitlines()[0][:120]}" if text else type(exc).__name__


def _fetch(url: str, partial: Path, file: ModelFile, timeout_s: float) -> str:
    digest = hashlib.sha256()
    with requests.get(url, stream=True, timeout=timeout_s) as response:
        response.raise_for_status()
        total = int(response.headers.get("Content-Length") or file.size or 0)
        log.info("downloading %s from %s", file.name, url)
        with partial.open("wb") as out, Progress(file.name, total / 1e6 if total else None, "MB", decimals=1,
                                                 serve=False) as progress:
            for chunk in response.iter_content(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                progress.add(len(chunk) / 1e6)
    return digest.hexdigest()
