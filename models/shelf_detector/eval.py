"""Detection AP50 and count error of the exported shelf detector on held-out synthetic
shelves (models/shelf_synth, --split heldout: other seeds, grocery photos from the test split).

  python eval.py --data /work/scratch/shelf_data/heldout [--threshold 0.3]

Runs models/shelf_detector/shelf_detector.onnx with ONNX Runtime, so it measures the file the
kiosk loads. Ground truth: every product, gap and label at least half visible; detections that
match (IoU >= 0.5) an object hidden more than half by an occluder are ignored, not counted
wrong. AP50 is VOC all-point AP per class. Count error per class: sum over images of
|detections scoring >= threshold - objects| / sum of objects. Gap width error: mean
|width - true width| / true width over gaps found (IoU >= 0.5). Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from detector import CLASSES, MIN_VISIBLE, ap50, box_iou, letterbox, to_input

HERE = Path(__file__).resolve().parent
GAP = CLASSES.index("gap")


def ignored_boxes(path: Path) -> list[np.ndarray]:
    ann = json.loads(path.read_text())
    return [np.array([o["box"] for o in ann[k] if o.get("visible", 1.0) < MIN_VISIBLE], np.float32).reshape(-1, 4)
            for k in ("products", "gaps", "labels")]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--threshold", type=float, default=0.3)
    p.add_argument("--model", type=Path, default=HERE / "shelf_detector.onnx")
    a = p.parse_args()
    from detector import load_annotation

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    sess = ort.InferenceSession(str(a.model), opts, providers=["CPUExecutionProvider"])
    dets = {c: [] for c in range(len(CLASSES))}
    gts = {c: [] for c in range(len(CLASSES))}
    count_abs = np.zeros(len(CLASSES))
    count_gt = np.zeros(len(CLASSES))
    gap_width_err: list[float] = []
    images = sorted(j.with_suffix(".jpg") for j in a.data.glob("*.json"))
    for img_path in images:
        rgb = cv2.cvtColor(cv2.imread(str(img_path)), cv2.COLOR_BGR2RGB)
        boxed, scale, px, py = letterbox(rgb)
        out = sess.run(None, {"image": to_input(boxed)[None]})[0][0]
        out[:, [0, 2]] = (out[:, [0, 2]] - px) / scale
        out[:, [1, 3]] = (out[:, [1, 3]] - py) / scale
        ann = load_annotation(img_path.with_suffix(".json"))
        ignore = ignored_boxes(img_path.with_suffix(".json"))
        for c in range(len(CLASSES)):
            d = out[out[:, 5] == c][:, :5]
            g = ann["boxes"][ann["classes"] == c]
            if len(ignore[c]) and len(d):
                hit_ignored = box_iou(d[:, :4], ignore[c]).max(axis=1) >= 0.5
                hit_real = box_iou(d[:, :4], g).max(axis=1) >= 0.5 if len(g) else np.zeros(len(d), bool)
                d = d[~(hit_ignored & ~hit_real)]
            dets[c].append(d)
            gts[c].append(g)
            count_abs[c] += abs(int((d[:, 4] >= a.threshold).sum()) - len(g))
            count_gt[c] += len(g)
            if c == GAP and len(g) and len(d):
                # Width error of each gap's best kept detection, where it overlaps (IoU >= 0.5).
                kept = d[d[:, 4] >= a.threshold]
                if len(kept):
                    iou = box_iou(g, kept[:, :4])
                    for gi, di in enumerate(iou.argmax(axis=1)):
                        if iou[gi, di] >= 0.5:
                            gw = g[gi, 2] - g[gi, 0]
                            gap_width_err.append(abs((kept[di, 2] - kept[di, 0]) - gw) / gw)
    result = {"images": len(images), "threshold": a.threshold}
    for c, name in enumerate(CLASSES):
        key = name.replace("-", "_")
        result[f"ap50_{key}"] = round(ap50(dets[c], gts[c]), 4)
        result[f"count_error_{key}"] = round(float(count_abs[c] / max(count_gt[c], 1)), 4)
        result[f"objects_{key}"] = int(count_gt[c])
    result["gap_width_rel_error"] = round(float(np.mean(gap_width_err)), 4) if gap_width_err else None
    result["map50"] = round(float(np.mean([result[f"ap50_{n.replace('-', '_')}"] for n in CLASSES])), 4)
    for k, v in result.items():
        print(f"{k:>24}: {v}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
