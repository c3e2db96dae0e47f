"""Detect objects in the images with YOLO on the executors: labels, boxes and confidences.

Reads the downloads table's ok rows (or, with --from-dir DIR, every image file under DIR, photo_id being
the path relative to DIR) and writes the detections table (partition model=<model>: a run replaces only
its model's rows). Models: yolov3 (Darknet, 416 px, OpenCV DNN), yolov3-tiny, yolox-nano (ONNX). Model
files come from --weights/--cfg, $PHOTOLAKE_MODELS, the cache (~/.cache/photolake/models), or are
downloaded there with their sha256 checked; they travel to the executors with the job.
"""

from photolake import stages
from photolake.cli import existing_folder, job_parser, resolve_config, run_job, run_step
from photolake.detect.models import MODELS

JOB = "detect"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--from-dir", metavar="DIR", type=existing_folder,
                        help="detect in every image file under DIR instead of downloads")
    parser.add_argument("--model", choices=list(MODELS), help="the detector (default yolov3)")
    parser.add_argument("--conf", type=float, metavar="P", help="minimum confidence of a box (default 0.25)")
    parser.add_argument("--nms", type=float, metavar="IOU", help="class-wise NMS IoU threshold (default 0.45)")
    parser.add_argument("--size", type=int, metavar="PX", help="network input side, a multiple of 32 (default 416)")
    parser.add_argument("--annotate", metavar="DIR", help="also write a copy of each image with its boxes drawn")
    parser.add_argument("--weights", metavar="FILE", help="the weights (.weights or .onnx) instead of the model's own")
    parser.add_argument("--cfg", metavar="FILE", help="the Darknet cfg instead of the model's own")
    parser.add_argument("--follow-links", action="store_true",
                        help="with --from-dir: also read files and folders that links under DIR lead out to")
    args = parser.parse_args(argv)
    config = resolve_config(args, {"detect.model": args.model, "detect.conf": args.conf, "detect.nms": args.nms,
                                   "detect.size": args.size, "detect.annotate_dir": args.annotate})
    return run_step(JOB, config, stages.detect, paths=stages.model_paths(config, args.weights, args.cfg),
                    from_dir=args.from_dir, follow_links=args.follow_links)


if __name__ == "__main__":
    run_job(JOB, main)
