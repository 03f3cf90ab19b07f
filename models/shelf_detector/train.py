"""Train the shelf detector on synthetic shelves (models/shelf_synth), on CPU, resumably.

  python train.py --data /work/scratch/shelf_data/train --out /work/scratch/shelf_run --until 00:45

The stem and blocks 0-4 of the backbone are frozen (ImageNet weights, batch norm in
inference mode), so their stride-4 and stride-8 outputs are computed once per image and
cached in float16 under OUT/features (step 1; resumable by chunk). Training (step 2) runs
only blocks 5-10, the neck and the heads on those maps, with horizontal flips as
augmentation: on a 2-core CPU shared with other work this is several times more steps than
back-propagating through the whole network.

The learning rate follows a cosine from --lr down to 1 % over the wall-clock budget left
when training starts (until --until, UTC), so a run stopped at its deadline has annealed.
A checkpoint (`last.pt`: model, optimiser, epoch, step, schedule) is written every
--save-every steps and at each epoch's end; the same command resumes from it. One line of
JSON per epoch goes to `log.jsonl` (mean losses, samples seen, seconds).
"""

from __future__ import annotations

import datetime as dt
import argparse
import json
import math
import os
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from detector import FROZEN_BLOCKS, ShelfDetector, focal_loss, letterbox, load_annotation, make_targets, regression_loss, to_input

CHUNK = 64


def cache_features(model: ShelfDetector, images: list[Path], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(images), CHUNK):
        path = folder / f"chunk_{start // CHUNK:05d}.pt"
        if path.exists():
            continue
        names = images[start:start + CHUNK]
        c4s, c8s = [], []
        for i in range(0, len(names), 16):
            x = np.stack([to_input(letterbox(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB))[0]) for p in names[i:i + 16]])
            with torch.no_grad():
                c4, c8 = model.frozen_features(torch.from_numpy(x))
            c4s.append(c4.half())
            c8s.append(c8.half())
        torch.save({"names": [p.name for p in names], "c4": torch.cat(c4s), "c8": torch.cat(c8s)}, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").rename(path)
        print(f"cached features of {min(start + CHUNK, len(images))}/{len(images)} images", flush=True)


def load_cache(folder: Path, data: Path) -> tuple[torch.Tensor, torch.Tensor, list[dict[str, np.ndarray]]]:
    c4s, c8s, anns = [], [], []
    for path in sorted(folder.glob("chunk_*.pt")):
        chunk = torch.load(path)
        c4s.append(chunk["c4"])
        c8s.append(chunk["c8"])
        anns += [load_annotation((data / n).with_suffix(".json")) for n in chunk["names"]]
    return torch.cat(c4s), torch.cat(c8s), anns


def batch_targets(anns: list[dict[str, np.ndarray]], flips: np.ndarray, width: int) -> dict[str, torch.Tensor]:
    out: dict[str, list] = {}
    for ann, flip in zip(anns, flips):
        boxes = ann["boxes"]
        if flip:
            boxes = np.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], 1)
        for k, v in make_targets(boxes, ann["classes"]).items():
            out.setdefault(k, []).append(v)
    return {k: torch.from_numpy(np.stack(v)) for k, v in out.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="folder of synthetic images + JSON")
    p.add_argument("--out", type=Path, required=True, help="run folder: feature cache, checkpoints, log")
    p.add_argument("--until", required=True, help="UTC HH:MM to stop at (the LR schedule ends there)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--save-every", type=int, default=50, help="steps between checkpoints")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    a.out.mkdir(parents=True, exist_ok=True)
    ckpt_path = a.out / "last.pt"

    model = ShelfDetector()
    from efficientnet_lite0 import load_pretrained

    model.load_backbone(load_pretrained().state_dict())
    model.eval()
    images = sorted(j.with_suffix(".jpg") for j in a.data.glob("*.json"))
    cache_features(model, images, a.out / "features")
    c4_all, c8_all, anns = load_cache(a.out / "features", a.data)
    print(f"training on {len(anns)} images", flush=True)

    trainable = [q for name, q in model.named_parameters()
                 if not (name.startswith("backbone._conv_stem") or name.startswith("backbone._bn0")
                         or any(name.startswith(f"backbone._blocks.{i}.") for i in range(FROZEN_BLOCKS)))]
    opt = torch.optim.AdamW(trainable, lr=a.lr, weight_decay=1e-4)
    state = {"epoch": 0, "step": 0, "samples": 0}
    now = time.time()
    hh, mm = (int(v) for v in a.until.split(":"))
    utc_now = dt.datetime.now(dt.timezone.utc)
    deadline = utc_now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    if deadline <= utc_now:
        deadline += dt.timedelta(days=1)
    start = now
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state, start = ck["state"], ck["start"]
        print(f"resumed at epoch {state['epoch']} step {state['step']}", flush=True)
    budget = max(1.0, deadline.timestamp() - start)
    model.train()
    save = lambda: torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "state": state, "start": start}, ckpt_path)  # noqa: E731
    rng = np.random.default_rng(state["step"])
    width = c4_all.shape[3] * 4
    done = False
    while not done:
        sums, n, t0 = np.zeros(4), 0, time.time()
        order = rng.permutation(len(anns))
        for b in range(0, len(order) - a.batch + 1, a.batch):
            frac = (time.time() - start) / budget
            if frac >= 1.0:
                done = True
                break
            # Short warm-up, then cosine over the wall-clock budget.
            warm = min(1.0, (state["step"] + 1) / 50)
            for g in opt.param_groups:
                g["lr"] = a.lr * warm * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * frac)))
            idx = order[b:b + a.batch]
            flips = rng.random(len(idx)) < 0.5
            c4, c8 = c4_all[idx].float(), c8_all[idx].float()
            fl = torch.from_numpy(flips)
            c4[fl], c8[fl] = c4[fl].flip(3), c8[fl].flip(3)
            t = batch_targets([anns[i] for i in idx], flips, width)
            heat, size, offset = model.forward_from(c4, c8)
            l_heat = focal_loss(heat, t["heat"])
            l_size = regression_loss(size, t["index"], t["size"], t["mask"])
            l_off = regression_loss(offset, t["index"], t["offset"], t["mask"])
            loss = l_heat + l_size + l_off
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 10.0)
            opt.step()
            state["step"] += 1
            state["samples"] += len(idx)
            sums += [loss.item(), l_heat.item(), l_size.item(), l_off.item()]
            n += 1
            if state["step"] % 10 == 0:
                print(f"step {state['step']} loss {sums[0] / n:.3f} heat {sums[1] / n:.3f} size {sums[2] / n:.3f} "
                      f"offset {sums[3] / n:.3f} lr {opt.param_groups[0]['lr']:.2e} {(time.time() - t0) / n:.2f}s/step", flush=True)
            if state["step"] % a.save_every == 0:
                save()
        if n:
            rec = {"epoch": state["epoch"], "steps": n, "samples": state["samples"], "loss": sums[0] / n, "heat": sums[1] / n,
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
