"""Product look embedding in 8-bit integers: static QDQ quantization of product_embedding.onnx
(per-channel weights, activations calibrated on Grocery Store Dataset train-split images only;
the test split the recognition figure is measured on is never seen).

  python quantize.py [--calibration 256] [--out product_embedding_int8.onnx]

Then `python eval.py --model product_embedding_int8.onnx` for top-1 on the test split.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

HERE = Path(__file__).resolve().parent
GROCERY = HERE.parents[2] / "shared" / "data" / "grocery-store-dataset" / "dataset"

from eval import embed, preprocess, read_split  # noqa: E402  (the kiosk's preprocessing, the eval's splits)


class TrainImages(CalibrationDataReader):
    def __init__(self, paths: list[Path], batch: int = 16):
        self.batches = [paths[i:i + batch] for i in range(0, len(paths), batch)]

    def get_next(self):
        if not self.batches:
            return None
        paths = self.batches.pop(0)
        return {"image": np.stack([preprocess(cv2.imread(str(p), cv2.IMREAD_COLOR)) for p in paths])}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--calibration", type=int, default=256, help="train-split images to calibrate on")
    p.add_argument("--out", type=Path, default=HERE / "product_embedding_int8.onnx")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--check-images", type=int, default=200, help="test-split images the int8 embedding is compared on")
    args = p.parse_args()

    paths, _ = read_split("train")
    random.Random(args.seed).shuffle(paths)
    prepared = args.out.with_suffix(".prep.onnx")
    quant_pre_process(str(HERE / "product_embedding.onnx"), str(prepared), skip_symbolic_shape=True)
    quantize_static(
        str(prepared),
        str(args.out),
        TrainImages(paths[: args.calibration]),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
    )
    prepared.unlink()
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")

    # Check: the int8 embedding against the float one on test-split images (not calibrated on).
    test, _ = read_split("test")
    test = random.Random(args.seed).sample(test, args.check_images)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    float_model = ort.InferenceSession(str(HERE / "product_embedding.onnx"), opts, providers=["CPUExecutionProvider"])
    int8_model = ort.InferenceSession(str(args.out), opts, providers=["CPUExecutionProvider"])
    a, b = embed(float_model, test), embed(int8_model, test)
    cosine = (a * b).sum(axis=1)
    print(f"check on {len(test)} test images: max abs diff {np.abs(a - b).max():.4f}, cosine to the float embedding min {cosine.min():.4f} mean {cosine.mean():.4f}")


if __name__ == "__main__":
    main()
