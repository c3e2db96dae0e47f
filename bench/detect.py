"""Detect benchmark: the detect job vs a bare per-image OpenCV loop (one process, OpenCV's own threads on all
cores), on the same images with the same model and input size.

    .venv/bin/python bench/detect.py [--model yolov3-tiny] [--images 1000] [--cores 1,2]
                                     [--backends onnxruntime,opencv] [--random-weights]

Builds a folder of N images by copying, cycled, the COCO images of $PHOTOLAKE_SHARED/data/coco128
(640 px JPEGs).  Then times:
  bare loop     cv2.imread, letterbox, blobFromImage, OpenCV's net.forward and the output decoding, image
                after image
  job local[C]  ./spark-submit.sh detect --from-dir --backend B for each C in --cores and B in --backends
                (wall time, JVM start included, and the detections stage alone as the run summary reports it)
  engines       the forward pass alone, one thread, on the same letterboxed images: OpenCV, ONNX Runtime
                (one image, and --batch images a pass) and OpenVINO when it is installed (pip install
                openvino: it is measured, not a dependency)
  arithmetic    the network's GFLOP an image (its convolutions, from the ONNX graph's shapes) against one
                core's f32 peak (numpy's sgemm on one thread): what 2.5x the bare loop would need of the cores
  scaling       the job's stage from local[1] to the most cores in --cores
--random-weights runs the model's cfg with random weights of the right shapes (for yolov3, whose 248 MB
weights are not in ../shared: speed does not depend on the values).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
SHARED = Path(os.environ.get("PHOTOLAKE_SHARED", ROOT.parent / "shared"))

from photolake.detect.darknet_onnx import random_weights  # noqa: E402
from photolake.detect.models import BACKENDS, MODELS, ModelPaths, resolve_model  # noqa: E402
from photolake.detect.yolo import DecodedImage, Detector  # noqa: E402


def model_files(model: str, random: bool, work: Path) -> ModelPaths:
    """The model's files from ../shared, or its cfg with random weights written into ``work``."""
    if not random:
        return resolve_model(model, models_dir=str(SHARED / "models"), cache_dir="/nonexistent")
    spec = MODELS[model]
    cfg = SHARED / "models" / spec.cfg.name
    weights = work / f"random-{spec.weights.name}"
    weights.write_bytes(random_weights(cfg.read_text(), seed=0))
    return ModelPaths(spec, str(weights), str(cfg), str(SHARED / "models" / "coco.names"))


def build_folder(folder: Path, count: int) -> list[Path]:
    sources = sorted((SHARED / "data" / "coco128" / "images" / "train2017").glob("*.jpg"))
    folder.mkdir(parents=True)
    files = []
    for n in range(count):
        target = folder / f"{n // 500:03d}" / f"{n:06d}.jpg"
        target.parent.mkdir(exist_ok=True)
        # copies, not links: the job reads each real file once (a folder's walk skips a second link to a file)
        shutil.copyfile(sources[n % len(sources)], target)
        files.append(target)
    return files


def bare_loop(files: list[Path], paths: ModelPaths, size: int) -> float:
    """Images/s of the plainest loop: OpenCV decodes the full image, OpenCV's network runs on all cores."""
    detector = Detector(paths, size=size, backend="opencv")
    started = time.perf_counter()
    for path in files:
        bgr = cv2.imread(str(path))
        detector.detect(DecodedImage(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), bgr.shape[1], bgr.shape[0]))
    return len(files) / (time.perf_counter() - started)


def engine_onnx(paths: ModelPaths, size: int, work: Path) -> str:
    """The model's ONNX file: a Darknet model converted (into ``work``), a YOLOX file as it is."""
    from photolake.detect.darknet_onnx import cached_conversion

    if paths.spec.kind == "darknet":
        return cached_conversion(paths.cfg, paths.weights, size, str(work / "conversions"))
    return paths.weights


def engine_times(files: list[Path], paths: ModelPaths, size: int, batch: int, work: Path) -> dict[str, float]:
    """Milliseconds an image of the forward pass alone on one thread, per engine."""
    from photolake.detect.yolo import batched_onnx, letterbox, onnx_session

    spec = paths.spec
    canvases = [letterbox(cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB), size, spec.centered)[0]
                for f in files[:4 * batch]]
    scale, swap = (1 / 255.0, False) if spec.kind == "darknet" else (1.0, True)
    blob = cv2.dnn.blobFromImages(canvases, scale, swapRB=swap)
    onnx_file = engine_onnx(paths, size, work)
    model = batched_onnx(onnx_file) if spec.kind == "yolox" else Path(onnx_file).read_bytes()

    def per_image(run, step: int) -> float:
        run(blob[:step])  # warm up
        started = time.perf_counter()
        for start in range(0, len(blob), step):
            run(blob[start:start + step])
        return (time.perf_counter() - started) * 1000 / len(blob)

    cv2.setNumThreads(1)
    opencv = Detector(paths, size=size, backend="opencv")
    out = {"opencv": per_image(lambda b: (opencv.net.setInput(b), opencv.net.forward(opencv.outputs)), 1)}
    cv2.setNumThreads(-1)
    session = onnx_session(model, 1)
    name = session.get_inputs()[0].name
    out["onnxruntime"] = per_image(lambda b: session.run(None, {name: b}), 1)
    out[f"onnxruntime, {batch} a pass"] = per_image(lambda b: session.run(None, {name: b}), batch)
    try:
        import openvino
    except ImportError:
        print("  (openvino is not installed: pip install openvino to measure it)")
        return out
    core, model_file = openvino.Core(), work / "model.onnx"
    model_file.write_bytes(model)
    # f32 is the precision of the other engines; OpenVINO's default on a CPU with AVX-512 BF16 is bf16,
    # measured beside it (its outputs differ: see docs/benchmarks.md)
    for step, precision in ((1, "f32"), (batch, "f32"), (1, "bf16")):
        network = core.read_model(str(model_file))
        network.reshape({network.inputs[0]: [step, 3, size, size]})
        compiled = core.compile_model(network, "CPU", {"INFERENCE_NUM_THREADS": 1, "NUM_STREAMS": 1,
                                                        "PERFORMANCE_HINT": "LATENCY",
                                                        "INFERENCE_PRECISION_HINT": precision})
        out[f"openvino {precision}" + (f", {step} a pass" if step > 1 else "")] = per_image(lambda b: compiled(b),
                                                                                             step)
    return out


def convolution_gflop(onnx_file: str, size: int) -> float:
    """The network's arithmetic for one image: 2 x multiply-adds of its convolutions (nearly all of it)."""
    import onnx
    from onnx import shape_inference

    model = onnx.load(onnx_file)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    model.graph.input[0].type.tensor_type.shape.dim[2].dim_value = size
    model.graph.input[0].type.tensor_type.shape.dim[3].dim_value = size
    inferred = shape_inference.infer_shapes(model).graph
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in [*inferred.value_info, *inferred.output]}
    kernels = {i.name: list(i.dims) for i in inferred.initializer}
    total = 0
    for node in inferred.node:
        if node.op_type == "Conv":
            out = shapes[node.output[0]]
            total += 2 * math.prod(kernels[node.input[1]]) * out[2] * out[3]
    return total / 1e9


def core_peak_gflops() -> float:
    """One core's f32 multiply-add rate as a large matrix product reaches it (numpy's BLAS on one thread):
    the most any engine's convolutions can get out of a core."""
    code = ("import numpy as np, time\n"
            "a = np.random.rand(2048, 2048).astype(np.float32); a @ a\n"
            "t = time.perf_counter()\n"
            "for _ in range(20): a @ a\n"
            "print(20 * 2 * 2048 ** 3 / (time.perf_counter() - t) / 1e9)")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return float(subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                                text=True).stdout)


def job(folder: Path, count: int, paths: ModelPaths, size: int, cores: int, backend: str,
        work: Path) -> tuple[float, float]:
    """(images/s over the wall time of spark-submit, images/s of the detections stage alone)."""
    env = {**os.environ, "PHOTOLAKE_MODELS": str(SHARED / "models")}
    files = ["--weights", paths.weights] + (["--cfg", paths.cfg] if paths.cfg else [])
    started = time.perf_counter()
    result = subprocess.run([str(ROOT / "spark-submit.sh"), "detect", "--from-dir", str(folder),
                             "--lake", str(work / f"lake-{cores}-{backend}"), "--model", paths.spec.name,
                             "--size", str(size), "--backend", backend, *files, "--set",
                             f"detect.cache_dir={work / 'conversions'}", "--master", f"local[{cores}]"],
                            check=True, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    stage = re.search(r"^\s+detections\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+([\d.]+)", result.stdout, re.M)
    return count / wall, count / float(stage.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=list(MODELS), default="yolov3-tiny")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--size", type=int, default=416)
    parser.add_argument("--cores", default="1,2", help="local[C] runs of the job, comma-separated")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="the job's backends, comma-separated")
    parser.add_argument("--batch", type=int, default=8, help="images a forward pass for the engines' figures")
    parser.add_argument("--no-jobs", action="store_true", help="only the bare loop and the engines")
    parser.add_argument("--random-weights", action="store_true",
                        help="random weights of the cfg's shapes (Darknet models; for speed only)")
    args = parser.parse_args()
    import onnxruntime

    print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, OpenCV {cv2.__version__}, "
          f"ONNX Runtime {onnxruntime.__version__}; model {args.model} at {args.size} px, {args.images} COCO images"
          + (", random weights" if args.random_weights else ""))
    with tempfile.TemporaryDirectory() as work:
        files = build_folder(Path(work) / "images", args.images)
        paths = model_files(args.model, args.random_weights, Path(work))
        bare = bare_loop(files, paths, args.size)
        print(f"{'bare loop (1 process, OpenCV threads: ' + str(cv2.getNumThreads()) + ')':<48} {bare:8.1f} images/s")
        for engine, ms in engine_times(files, paths, args.size, args.batch, Path(work)).items():
            print(f"{f'forward pass alone, 1 thread: {engine}':<48} {ms:8.1f} ms an image")
        gflop, peak = convolution_gflop(engine_onnx(paths, args.size, Path(work)), args.size), core_peak_gflops()
        cores = os.cpu_count() or 1
        print(f"arithmetic: {gflop:.2f} GFLOP an image (convolutions); one core's f32 peak (sgemm): {peak:.0f} GFLOP/s")
        print(f"  the bare loop does {bare * gflop:.0f} GFLOP/s; 2.5x it needs {2.5 * bare * gflop:.0f} GFLOP/s, "
              f"{2.5 * bare * gflop / (cores * peak):.2f}x the {cores} cores' peak of {cores * peak:.0f}")
        for backend in [] if args.no_jobs else args.backends.split(","):
            stages = {}
            for cores in (int(c) for c in args.cores.split(",")):
                wall, stage = job(Path(work) / "images", args.images, paths, args.size, cores, backend, Path(work))
                stages[cores] = stage
                print(f"{f'job {backend} local[{cores}], wall (JVM start included)':<48} {wall:8.2f} images/s  "
                      f"{wall / bare:5.2f}x bare")
                print(f"{f'job {backend} local[{cores}], detections stage':<48} {stage:8.2f} images/s  "
                      f"{stage / bare:5.2f}x bare")
            if 1 in stages and len(stages) > 1:
                most = max(stages)
                print(f"{f'job {backend}, local[1] to local[{most}]':<48} {stages[most] / stages[1]:8.2f}x")


if __name__ == "__main__":
    main()
