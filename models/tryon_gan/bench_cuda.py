"""Times the try-on generator on a CUDA GPU (PyTorch, float32 and bfloat16) at the live/still
size and larger ones, for the figures issue 3 asks of a GPU box. The kiosk itself runs the ONNX
export through ONNX Runtime; this measures the same network on the card.

    python3 models/tryon_gan/bench_cuda.py --weights RUN/generator.pt

Ends with one line of JSON: milliseconds per image by size and precision.
"""

from __future__ import annotations

import argparse
import json
import pathlib

import torch

from net import Generator


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", type=pathlib.Path, required=True)
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this benchmark is for a GPU box")
    dev = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    g = Generator()
    g.load_state_dict(torch.load(args.weights, map_location="cpu"))
    g = g.to(dev).eval()
    figures = {"device": torch.cuda.get_device_name(dev), "torch": torch.__version__}
    for h, w in ((256, 192), (512, 384), (720, 1280)):
        for precision, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            comp, mask, detail = torch.zeros(1, 3, h, w, device=dev), torch.zeros(1, 1, h, w, device=dev), torch.zeros(1, 1, h, w, device=dev)
            with torch.no_grad(), torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
                for _ in range(20):
                    g(comp, mask, detail)
                torch.cuda.synchronize()
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                for _ in range(args.repeats):
                    g(comp, mask, detail)
                end.record()
                torch.cuda.synchronize()
            ms = start.elapsed_time(end) / args.repeats
            print(f"generator {h}x{w} {precision}: {ms:.3f} ms ({1000 / ms:.0f} images/s)")
            figures[f"ms_{h}x{w}_{precision}"] = round(ms, 3)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
