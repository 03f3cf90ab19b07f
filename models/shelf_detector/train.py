"""Train the shelf detector on synthetic shelves (models/shelf_synth), on CPU, resumably.

  python train.py --data /work/scratch/shelf_data/train --out /work/scratch/shelf_run --until 00:50

The learning rate follows a cosine from --lr down to 1 % over the wall-clock budget (until
--until, UTC), so a run that is stopped at its deadline has annealed. A checkpoint
(`last.pt`: model, optimiser, epoch, step, budget) is written every --save-every steps and at
each epoch's end; running the same command again resumes from it. One line of JSON per
epoch goes to `log.jsonl` (mean losses, images seen, seconds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from detector import FROZEN_BLOCKS, INPUT_H, INPUT_W, ShelfDetector, focal_loss, load_annotation, make_targets, regression_loss, to_input


class ShelfImages(Dataset):
    """Synthetic shelf images with scale/translate, flip and colour augmentation."""

    def __init__(self, folder: Path, augment: bool):
        # Only images whose annotation is written: the generator may still be adding more.
        self.images = sorted(j.with_suffix(".jpg") for j in folder.glob("*.json"))
        self.augment = augment

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        path = self.images[i]
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        ann = load_annotation(path.with_suffix(".json"))
        boxes, classes = ann["boxes"], ann["classes"]
        rng = np.random.default_rng()
        if rgb.shape[:2] != (INPUT_H, INPUT_W):
            sx, sy = INPUT_W / rgb.shape[1], INPUT_H / rgb.shape[0]
            rgb = cv2.resize(rgb, (INPUT_W, INPUT_H), interpolation=cv2.INTER_AREA)
            boxes = boxes * [sx, sy, sx, sy]
        if self.augment:
            rgb, boxes, classes = augment(rng, rgb, boxes, classes)
        t = make_targets(boxes, classes)
        t["image"] = to_input(rgb)
        return t


def augment(rng: np.random.Generator, rgb: np.ndarray, boxes: np.ndarray, classes: np.ndarray):
    s = rng.uniform(0.7, 1.4)
    tx = rng.uniform(min(0, INPUT_W * (1 - s)), max(0, INPUT_W * (1 - s)))
    ty = rng.uniform(min(0, INPUT_H * (1 - s)), max(0, INPUT_H * (1 - s)))
    m = np.float32([[s, 0, tx], [0, s, ty]])
    rgb = cv2.warpAffine(rgb, m, (INPUT_W, INPUT_H), flags=cv2.INTER_LINEAR, borderValue=tuple(int(v) for v in rng.integers(0, 256, 3)))
    boxes = boxes * s + [tx, ty, tx, ty]
    if rng.random() < 0.5:
        rgb = rgb[:, ::-1].copy()
        boxes = np.stack([INPUT_W - boxes[:, 2], boxes[:, 1], INPUT_W - boxes[:, 0], boxes[:, 3]], 1)
    # Keep boxes mostly inside the frame, clipped.
    clipped = boxes.copy()
    clipped[:, [0, 2]] = clipped[:, [0, 2]].clip(0, INPUT_W)
    clipped[:, [1, 3]] = clipped[:, [1, 3]].clip(0, INPUT_H)
    area = lambda b: (b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0)  # noqa: E731
    keep = area(clipped) >= 0.5 * np.maximum(area(boxes), 1e-6)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + rng.integers(-8, 9)) % 180
    hsv[..., 1] = (hsv[..., 1] * rng.uniform(0.7, 1.3)).clip(0, 255)
    hsv[..., 2] = (hsv[..., 2] * rng.uniform(0.6, 1.3)).clip(0, 255)
    rgb = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
    return rgb, clipped[keep].astype(np.float32), classes[keep]


def seed_worker(worker_id: int) -> None:
    np.random.seed(torch.initial_seed() % 2 ** 32)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="folder of synthetic images + JSON")
    p.add_argument("--out", type=Path, required=True, help="run folder: checkpoints and log")
    p.add_argument("--until", required=True, help="UTC HH:MM to stop at (the LR schedule ends there)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--save-every", type=int, default=50, help="steps between checkpoints")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    a.out.mkdir(parents=True, exist_ok=True)
    ckpt_path = a.out / "last.pt"

    model = ShelfDetector()
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    state = {"epoch": 0, "step": 0, "images": 0}
    now = dt.datetime.now(dt.timezone.utc)
    hh, mm = (int(v) for v in a.until.split(":"))
    deadline = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    if deadline <= now:
        deadline += dt.timedelta(days=1)
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        start = ck["start"]
        print(f"resumed at epoch {state['epoch']} step {state['step']}", flush=True)
    else:
        from efficientnet_lite0 import load_pretrained

        model.load_backbone(load_pretrained().state_dict())
        start = now.timestamp()
    budget = deadline.timestamp() - start

    # The stride-2/4 layers are the costliest to back-propagate on a CPU; ImageNet features are
    # good enough there, so they stay frozen (batch-norm statistics too).
    frozen = [model.backbone._conv_stem, model.backbone._bn0, *model.backbone._blocks[:FROZEN_BLOCKS]]
    for module in frozen:
        for param in module.parameters():
            param.requires_grad = False
    model.train()
    for module in frozen:
        module.eval()
    save = lambda: torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "state": state, "start": start}, ckpt_path)  # noqa: E731
    done = False
    while not done:
        # Re-listed each epoch so images the generator adds meanwhile are used.
        loader = DataLoader(ShelfImages(a.data, augment=True), batch_size=a.batch, shuffle=True, num_workers=1,
                            drop_last=True, worker_init_fn=seed_worker)
        sums, n, t0 = np.zeros(4), 0, time.time()
        for batch in loader:
            frac = min(1.0, (time.time() - start) / budget)
            if frac >= 1.0:
                done = True
                break
            # Short warm-up, then cosine over the remaining wall-clock budget.
            warm = min(1.0, (state["step"] + 1) / 100)
            for g in opt.param_groups:
                g["lr"] = a.lr * warm * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * frac)))
            heat, size, offset = model(batch["image"])
            l_heat = focal_loss(heat, batch["heat"])
            l_size = regression_loss(size, batch["index"], batch["size"], batch["mask"])
            l_off = regression_loss(offset, batch["index"], batch["offset"], batch["mask"])
            loss = l_heat + l_size + l_off
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            state["step"] += 1
            state["images"] += a.batch
            sums += [loss.item(), l_heat.item(), l_size.item(), l_off.item()]
            n += 1
            if state["step"] % 10 == 0:
                print(f"step {state['step']} loss {sums[0] / n:.3f} heat {sums[1] / n:.3f} size {sums[2] / n:.3f} "
                      f"offset {sums[3] / n:.3f} lr {opt.param_groups[0]['lr']:.2e} {(time.time() - t0) / n:.2f}s/step", flush=True)
            if state["step"] % a.save_every == 0:
                save()
        if n:
            rec = {"epoch": state["epoch"], "steps": n, "images": state["images"], "loss": sums[0] / n, "heat": sums[1] / n,
                   "size": sums[2] / n, "offset": sums[3] / n, "lr": opt.param_groups[0]["lr"], "seconds": round(time.time() - t0, 1),
                   "complete": not done}
            with open(a.out / "log.jsonl", "a") as f:
                f.write(json.dumps(rec) + "\n")
            print(json.dumps(rec), flush=True)
        if not done:
            state["epoch"] += 1
        save()
    torch.save(model.state_dict(), a.out / "final.pt")
    print("saved", a.out / "final.pt", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    main()
