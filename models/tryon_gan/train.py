"""Trains the try-on GAN on CPU: restore real frames from their own flattened, re-coloured,
misaligned clothing (see data.py). Generator: net.Generator (U-Net, residual over the
composite); discriminator: net.Discriminator (conditional PatchGAN, spectral norm); LSGAN loss,
masked L1 reconstruction (dominant) and discriminator feature matching.

    OMP_NUM_THREADS=1 nice -n 19 models/.venv-train/bin/python models/tryon_gan/train.py \\
        --out /work/scratch/E2/run --minutes 40

Training runs first at half size (128x96, batch 8) and then at the working size (256x192,
batch 4); the networks are fully convolutional. Losses go to models/tryon_gan/train_log.jsonl
(one JSON object per logged step, with a held-out L1 of the plain composite and of the GAN
every --eval-every steps); the generator is saved to OUT/generator.pt as it trains.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np
import torch
import torch.nn.functional as F

import data
from net import Discriminator, Generator, count_params

HERE = pathlib.Path(__file__).resolve().parent


def batch(bases, rng, size, n):
    """n random samples: fresh jitter, crop margin, flip for each."""
    cols = [[] for _ in range(5)]
    for _ in range(n):
        b = bases[rng.integers(len(bases))]
        garment, mask = data.jitter(b.flat, b.region, rng)
        frame = b.frame
        if rng.random() < 0.5:
            frame, garment, mask = frame[:, ::-1].copy(), garment[:, ::-1].copy(), mask[:, ::-1].copy()
        for col, arr in zip(cols, data.model_inputs(frame, garment, mask, size, rng.uniform(0.08, 0.3))):
            col.append(arr)
    return [torch.from_numpy(np.stack(c)) for c in cols]


def weighted_l1(fake, target, weight):
    """L1 over the whole crop, five times heavier inside the dilated garment mask (the only part
    the runner keeps)."""
    w = 1.0 + 4.0 * weight
    return (w * (fake - target).abs()).sum() / (w.sum() * 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=pathlib.Path, required=True)
    ap.add_argument("--minutes", type=float, default=40.0)
    ap.add_argument("--half-size-fraction", type=float, default=0.55)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--l1", type=float, default=20.0)
    ap.add_argument("--adv", type=float, default=0.5)
    ap.add_argument("--fm", type=float, default=2.0)
    ap.add_argument("--adv-start", type=int, default=100, help="steps of reconstruction only first")
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log", type=pathlib.Path, default=HERE / "train_log.jsonl")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)

    train = data.build("train")
    held = data.build("heldout")
    held_rng = np.random.default_rng(7)
    held_batch = batch(held, held_rng, (data.WORK_W, data.WORK_H), min(8, len(held)))

    g, d = Generator(), Discriminator()
    print(f"generator {count_params(g)} params, discriminator {count_params(d)}", flush=True)
    opt_g = torch.optim.Adam(g.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=args.lr, betas=(0.5, 0.999))
    log = args.log.open("w")
    log.write(json.dumps({"config": {k: str(v) for k, v in vars(args).items()}, "train_frames": len(train), "heldout_frames": len(held),
                          "generator_params": count_params(g), "discriminator_params": count_params(d)}) + "\n")
    start = time.time()
    budget = args.minutes * 60
    step = 0
    while time.time() - start < budget:
        half = time.time() - start < args.half_size_fraction * budget
        size, n = ((data.WORK_W // 2, data.WORK_H // 2), 8) if half else ((data.WORK_W, data.WORK_H), 4)
        comp, mask, detail, target, weight = batch(train, rng, size, n)
        cond = torch.cat([comp, mask, detail], 1)
        fake = g(comp, mask, detail)
        adversarial = step >= args.adv_start

        d_loss = torch.zeros(())
        if adversarial:
            real_score, _ = d(cond, target)
            fake_score, _ = d(cond, fake.detach())
            d_loss = 0.5 * ((real_score - 1) ** 2).mean() + 0.5 * (fake_score**2).mean()
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()

        l1 = weighted_l1(fake, target, weight)
        g_loss = args.l1 * l1
        adv = fm = torch.zeros(())
        if adversarial:
            fake_score, fake_feats = d(cond, fake)
            with torch.no_grad():
                _, real_feats = d(cond, target)
            adv = ((fake_score - 1) ** 2).mean()
            fm = sum(F.l1_loss(f, r) for f, r in zip(fake_feats, real_feats)) / len(real_feats)
            g_loss = g_loss + args.adv * adv + args.fm * fm
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        step += 1

        if step % 10 == 0 or step == 1:
            rec = {"step": step, "seconds": round(time.time() - start, 1), "size": f"{size[1]}x{size[0]}", "l1": round(l1.item(), 5),
                   "adv": round(adv.item(), 4), "fm": round(fm.item(), 4), "d": round(d_loss.item(), 4)}
            if step % args.eval_every == 0:
                g.eval()
                with torch.no_grad():
                    hc, hm, hd, ht, hw = held_batch
                    rec["heldout_l1_plain"] = round(masked_l1(hc, ht, hw), 5)
                    rec["heldout_l1_gan"] = round(masked_l1(g(hc, hm, hd), ht, hw), 5)
                g.train()
                torch.save(g.state_dict(), args.out / "generator.pt")
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(rec, flush=True)
    torch.save(g.state_dict(), args.out / "generator.pt")
    torch.save(d.state_dict(), args.out / "discriminator.pt")
    print(f"done: {step} steps in {time.time() - start:.0f} s", flush=True)


def masked_l1(image, target, weight):
    """Mean absolute error inside the dilated mask, in 0..1 units (images are in -1..1)."""
    return ((image - target).abs() * weight).sum().item() / (weight.sum().item() * 3) / 2


if __name__ == "__main__":
    main()
