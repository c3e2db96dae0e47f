"""Detect objects in the images with YOLO on the executors: labels, boxes and confidences.

Reads the downloads table's ok rows (or, with --from-dir DIR, every image file under DIR, photo_id being
the path relative to DIR) and writes the detections table (partition model=<model>: a run replaces only
its model's rows). Models: yolov3 (Darknet, 416 px, OpenCV DNN), yolov3-tiny, yolox-nano (ONNX). Model
files come from --weights/--cfg, $PHOTOLAKE_MODELS, the cache (~/.cache/photolake/models), or are
downloaded there with their sha256 checked; they travel to the executors with the job.
"""

from photolake.cli import run_job
from photolake.stage import stage_job
from photolake.stages import STAGES


def main(argv=None) -> int:
    return stage_job(STAGES["detect"], __doc__, argv)


if __name__ == "__main__":
    run_job("detect", main)
