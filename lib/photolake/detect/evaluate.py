"""Detection accuracy as COCO reports it: mAP@0.5 and mAP@0.5:0.95 with 101-point interpolated AP.

Ground truth comes in YOLO label files (``class cx cy w h``, normalised to the image), one per image, next
to an ``images`` folder as in coco128; predictions are the detections table's objects (pixels, top-left).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0, 1, 101)


@dataclass(frozen=True)
class Box:
    class_id: int
    x: float
    y: float
    w: float
    h: float
    confidence: float = 1.0


def read_yolo_labels(label_file: Path, width: int, height: int) -> list[Box]:
    """Boxes of one YOLO label file in pixels (top-left corner, size)."""
    boxes = []
    for line in label_file.read_text().split("\n"):
        parts = line.split()
        if len(parts) >= 5:
            class_id, cx, cy, w, h = int(parts[0]), *(float(v) for v in parts[1:5])
            boxes.append(Box(class_id, (cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height))
    return boxes


def iou_matrix(a: list[Box], b: list[Box]) -> np.ndarray:
    if not a or not b:
        return np.zeros((len(a), len(b)))
    first = np.array([(p.x, p.y, p.x + p.w, p.y + p.h) for p in a])
    second = np.array([(t.x, t.y, t.x + t.w, t.y + t.h) for t in b])
    left = np.maximum(first[:, None, 0], second[None, :, 0])
    top = np.maximum(first[:, None, 1], second[None, :, 1])
    right = np.minimum(first[:, None, 2], second[None, :, 2])
    bottom = np.minimum(first[:, None, 3], second[None, :, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area_a = (first[:, 2] - first[:, 0]) * (first[:, 3] - first[:, 1])
    area_b = (second[:, 2] - second[:, 0]) * (second[:, 3] - second[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)


def average_precision(hits: np.ndarray, confidences: np.ndarray, positives: int) -> float:
    """101-point interpolated AP of detections (hit or not, with confidences) against ``positives`` truths."""
    if positives == 0:
        return float("nan")
    if not len(hits):
        return 0.0
    order = np.argsort(-confidences, kind="stable")
    true_pos = np.cumsum(hits[order])
    recall = true_pos / positives
    precision = true_pos / np.arange(1, len(order) + 1)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]  # precision never rises as recall falls
    at = np.searchsorted(recall, RECALL_POINTS, side="left")
    return float(np.mean([envelope[i] if i < len(envelope) else 0.0 for i in at]))


def match(predictions: list[Box], truths: list[Box], threshold: float) -> np.ndarray:
    """Which predictions of one image and class are true positives: greedy by confidence, each truth once."""
    hits = np.zeros(len(predictions))
    if not predictions or not truths:
        return hits
    ious = iou_matrix(predictions, truths)
    taken = np.zeros(len(truths), dtype=bool)
    for i in np.argsort([-p.confidence for p in predictions], kind="stable"):
        candidates = np.where(~taken & (ious[i] >= threshold))[0]
        if len(candidates):
            best = candidates[ious[i, candidates].argmax()]
            taken[best], hits[i] = True, 1.0
    return hits


def mean_average_precision(predictions: dict[str, list[Box]], truths: dict[str, list[Box]]) -> dict[str, float]:
    """mAP@0.5 and mAP@0.5:0.95 (percent) over the classes that have ground truth; per-image keys."""
    classes = sorted({b.class_id for boxes in truths.values() for b in boxes})
    per_threshold = []
    for threshold in IOU_THRESHOLDS:
        aps = []
        for class_id in classes:
            hits, confidences, positives = [], [], 0
            for image, image_truths in truths.items():
                gt = [b for b in image_truths if b.class_id == class_id]
                pred = [b for b in predictions.get(image, []) if b.class_id == class_id]
                positives += len(gt)
                hits.append(match(pred, gt, threshold))
                confidences.append(np.array([p.confidence for p in pred]))
            aps.append(average_precision(np.concatenate(hits), np.concatenate(confidences), positives))
        per_threshold.append(np.nanmean(aps))
    return {"map50": 100 * float(per_threshold[0]), "map50_95": 100 * float(np.mean(per_threshold)),
            "classes": len(classes), "boxes": sum(len(b) for b in truths.values())}


def evaluate_rows(rows: list[dict], labels_dir: Path) -> dict[str, float]:
    """mAP of detections rows (photo_id = an image's file name, as --from-dir gives) against the YOLO label
    files in ``labels_dir``; an image without a label file has no objects (its detections are all false)."""
    truths, predictions = {}, {}
    for row in rows:
        label_file = labels_dir / (Path(row["photo_id"]).with_suffix(".txt").name)
        truths[row["photo_id"]] = (read_yolo_labels(label_file, row["image_width"], row["image_height"])
                                   if label_file.is_file() and row["image_width"] else [])
        predictions[row["photo_id"]] = [Box(o["class_id"], o["x"], o["y"], o["w"], o["h"], o["confidence"])
                                        for o in row["objects"] or []]
    return mean_average_precision(predictions, truths)
