"""Detect objects in the images with YOLO on the executors: labels, boxes and confidences.

Reads the downloads table's ok rows (or, with --from-dir DIR, every image file under DIR, photo_id being
the path relative to DIR) and writes the detections table (partition model=<model>: a run replaces only
its model's rows). Models: yolov3 (Darknet, 416 px, OpenCV DNN), yolov3-tiny, yolox-nano (ONNX). Model
files come from --weights/--cfg, $PHOTOLAKE_MODELS, the cache (~/.cache/photolake/models), or are
downloaded there with their sha256 checked; they travel to the executors with the job.
"""

from photolake import lake, storage
from photolake.cli import job_parser, log_config, resolve_config, run_job
from photolake.detect.models import MODELS, resolve_model
from photolake.detect.run import DetectSettings, detect_all, detect_counts
from photolake.extract.run import files_from_dir, files_from_downloads
from photolake.runs import RunSummary, new_run_id
from photolake.session import build_session

JOB = "detect"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--from-dir", metavar="DIR", help="detect in every image file under DIR instead of downloads")
    parser.add_argument("--model", choices=list(MODELS), help="the detector (default yolov3)")
    parser.add_argument("--conf", type=float, metavar="P", help="minimum confidence of a box (default 0.25)")
    parser.add_argument("--nms", type=float, metavar="IOU", help="class-wise NMS IoU threshold (default 0.45)")
    parser.add_argument("--size", type=int, metavar="PX", help="network input side, a multiple of 32 (default 416)")
    parser.add_argument("--annotate", metavar="DIR", help="also write a copy of each image with its boxes drawn")
    parser.add_argument("--weights", metavar="FILE", help="the weights (.weights or .onnx) instead of the model's own")
    parser.add_argument("--cfg", metavar="FILE", help="the Darknet cfg instead of the model's own")
    args = parser.parse_args(argv)
    config = resolve_config(args, {"detect.model": args.model, "detect.conf": args.conf, "detect.nms": args.nms,
                                   "detect.size": args.size})
    log_config(JOB, config)
    paths = resolve_model(config["detect.model"], weights=args.weights, cfg=args.cfg,
                          models_dir=config["detect.models_dir"] or None, cache_dir=config["detect.cache_dir"],
                          mirror=config["detect.mirror"] or None)
    lake_dir = config["paths.lake"]
    spark = build_session(JOB, config, extra_conf={
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(config["detect.arrow_batch_rows"])})
    settings = DetectSettings(
        model=paths.spec.name, conf=config["detect.conf"], nms=config["detect.nms"], size=config["detect.size"],
        max_pixels=config["detect.max_pixels"], threads=int(spark.conf.get("spark.task.cpus", "1")),
        annotate_dir=storage.absolute(args.annotate) if args.annotate else None)
    summary = RunSummary(JOB, new_run_id(JOB), config)
    with summary.recorded(spark, lake_dir):
        files = (files_from_dir(spark, args.from_dir) if args.from_dir
                 else files_from_downloads(lake.read_table(spark, lake_dir, "downloads")))
        rows = detect_all(files, paths, settings, config["detect.rows_per_partition"])
        table = f"detections/model={settings.model}"
        lake.write_table(rows, lake_dir, table, summary.run_id)
        summary.add(detect_counts(lake.read_table(spark, lake_dir, "detections")
                                  .filter(f"model = '{settings.model}'"), summary.elapsed_s))
    spark.stop()
    return 0


if __name__ == "__main__":
    run_job(JOB, main)
