"""Export the trained try-on generator to ONNX (opset 17, dynamic H and W) and write its
manifest, after checking ONNX Runtime against PyTorch on held-out frames at the live and the
still size.

    models/.venv-train/bin/python models/tryon_gan/export.py --weights RUN/generator.pt [--bases var/tryon_bases.npz]

The manifest is the drop-in contract (issue 3, item 4): another generator with the same inputs
and outputs replaces this one without rebuilding the kiosk.
"""

from __future__ import annotations

import argparse
import hashlib
import pathlib

import numpy as np
import onnxruntime as ort
import torch

import data
from net import Generator, count_params

HERE = pathlib.Path(__file__).resolve().parent
ONNX = HERE / "tryon_gan.onnx"
TOLERANCE = 1e-3

MANIFEST = """name = "tryon_gan"
task = "tryon-generator"
file = "tryon_gan.onnx"
sha256 = "{sha}"
license = "Apache-2.0"
source = "Vitrine's own try-on GAN ({params} generator parameters), trained by models/tryon_gan/train.py (from scratch, then fine-tuned: the runs are in models/README.md) on frames of models/tryon_gan/data.py's train split (../shared/data/media people photos and video frames: Intel sample videos CC-BY 4.0, Sylius MIT, TF.js models Apache-2.0 / Pexels; see models/README.md)"
script = "models/tryon_gan/export.py"
description = "Try-on refinement: turns the plain composite of a warped garment over a shopper frame into the final image, carrying the shopper's shading and folds onto the garment and blending its seams. Sizes: live={live_h}x{live_w} still={still_h}x{still_w} (H x W); H and W are dynamic and must be multiples of 16. The runner (crates/vision/src/tryon_gan.rs) crops around the garment mask's box (margin 0.15 of its longer side, grown to the W/H aspect, kept inside the frame), resizes the crop to the working size (INTER_AREA when shrinking, else bilinear), runs the model, adds the model's change (output minus the input composite, at the working size, resized back bilinearly) to the full-resolution composite, so the working size costs no sharpness where the model changes nothing, and keeps the result only inside the garment mask dilated by max(2, 0.02 x crop height) px with a feathered edge: every pixel outside that region is the input frame's, so a generator may return anything there."

[check]
reference = "PyTorch {torch} (float32, CPU), the trained generator, at the live and the still size"
max_abs_diff = {tol:.1e}
measured_max_abs_diff = {diff:.2e}
images = {images}

[[inputs]]
name = "composite"
dtype = "float32"
shape = [1, 3, -1, -1]
layout = "NCHW"
color = "RGB"
range = [-1.0, 1.0]
description = "the plain composite: the shopper frame outside the garment mask, the warped garment inside (out = (frame x (255 - m) + garment x m + 127) / 255 per 8-bit channel, m the mask byte), 8-bit value v fed as v / 127.5 - 1"

[[inputs]]
name = "garment_mask"
dtype = "float32"
shape = [1, 1, -1, -1]
layout = "NCHW"
description = "where the warped garment is, 0..1 (the 8-bit mask / 255, bilinear-resized; soft at its edge); arms in front of the body are outside it"

[[inputs]]
name = "luminance_detail"
dtype = "float32"
shape = [1, 1, -1, -1]
layout = "NCHW"
description = "the shopper frame's luminance detail inside the mask, no colour: clamp(2 x (Y - G(Y)), -1, 1) x garment_mask, Y = (0.299 R + 0.587 G + 0.114 B) / 255 of the resized frame crop, G a Gaussian blur with sigma = H / 32 px"

[[outputs]]
name = "image"
dtype = "float32"
shape = [1, 3, -1, -1]
layout = "NCHW"
color = "RGB"
range = [-1.0, 1.0]
description = "the whole refined image at the input size, same value mapping as composite; only the dilated garment region is used"
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", type=pathlib.Path, required=True)
    ap.add_argument("--bases", type=pathlib.Path, help="frames prepared by `data.py bases` (default: build them from ../shared)")
    ap.add_argument("--live", default="256x192", help="live working size, HxW")
    # The still runs where this generator restores best, the size it was trained at; a
    # generator trained larger (e.g. a parser-free model at 512x384) sets a larger still.
    ap.add_argument("--still", default="256x192", help="still working size, HxW")
    args = ap.parse_args()
    live = tuple(int(v) for v in args.live.split("x"))
    still = tuple(int(v) for v in args.still.split("x"))
    for h, w in (live, still):
        assert h % 16 == 0 and w % 16 == 0, "sizes must be multiples of 16"

    g = Generator()
    g.load_state_dict(torch.load(args.weights, map_location="cpu"))
    g.eval()
    example = (torch.zeros(1, 3, *live), torch.zeros(1, 1, *live), torch.zeros(1, 1, *live))
    dims = {2: "height", 3: "width"}
    names = ["composite", "garment_mask", "luminance_detail"]
    # Written beside the committed file and moved over it only once every check has passed.
    fresh = ONNX.with_suffix(".onnx.new")
    torch.onnx.export(g, example, str(fresh), input_names=names, output_names=["image"],
                      dynamic_axes={n: dims for n in [*names, "image"]}, opset_version=17, dynamo=False)

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(str(fresh), opts)
    held = data.load_bases(args.bases, "heldout") if args.bases else data.build("heldout")
    rng = np.random.default_rng(7)
    worst, images = 0.0, 0
    l1 = {"plain": 0.0, "gan": 0.0}
    for h, w in (live, still):
        for b in held[:4]:
            garment, mask = data.jitter(b.flat, b.region, rng)
            comp, m, detail, target, weight = data.model_inputs(b.frame, garment, mask, (w, h))
            feeds = {"composite": comp[None], "garment_mask": m[None], "luminance_detail": detail[None]}
            ours = session.run(None, feeds)[0]
            with torch.no_grad():
                ref = g(*(torch.from_numpy(feeds[n]) for n in names)).numpy()
            worst = max(worst, float(np.abs(ours - ref).max()))
            images += 1
            # Restoration error inside the dilated mask (0..1 units), of the input and the output.
            for key, img in (("plain", comp), ("gan", ours[0])):
                l1[key] += float((np.abs(img - target) * weight).sum() / (weight.sum() * 3) / 2) / (2 * len(held[:4]))
    print(f"ONNX vs PyTorch max abs diff {worst:.2e} over {images} inputs")
    print(f"held-out L1 inside the dilated mask: plain composite {l1['plain']:.4f}, generator {l1['gan']:.4f}")
    if worst > TOLERANCE:
        fresh.unlink()
        raise SystemExit(f"ONNX output differs from PyTorch by {worst} (> {TOLERANCE}); nothing written")
    # Weights that restore nothing (e.g. an untrained checkpoint: the head starts at zero, so the
    # output is the composite) must not replace a model silently.
    if l1["gan"] >= l1["plain"]:
        fresh.unlink()
        raise SystemExit(f"the generator does not beat the plain composite on held-out frames ({l1['gan']:.4f} >= {l1['plain']:.4f}); nothing written")
    fresh.replace(ONNX)
    sha = hashlib.sha256(ONNX.read_bytes()).hexdigest()
    (HERE / "manifest.toml").write_text(MANIFEST.format(
        sha=sha, params=count_params(g), live_h=live[0], live_w=live[1], still_h=still[0], still_w=still[1],
        torch=torch.__version__, tol=TOLERANCE, diff=worst, images=images))
    print(f"wrote {ONNX.name} ({ONNX.stat().st_size} B, sha256 {sha}) and manifest.toml")


if __name__ == "__main__":
    main()
