"""Trains the try-on GAN: restore real frames from their own flattened, re-coloured,
misaligned clothing (recipe plain), optionally with synthetic prints that only the shopper or
only the garment wears (recipe prints; see data.py). Generator: net.Generator (U-Net, residual over the composite); discriminator:
net.Discriminator (conditional PatchGAN, spectral norm); LSGAN loss, masked L1 reconstruction
(dominant) and discriminator feature matching.

On a GPU box, with the frames prepared here first (../shared does not travel):

    .venv/bin/python models/tryon_gan/data.py bases --out var/tryon_bases.npz
    python3 models/tryon_gan/train.py --bases var/tryon_bases.npz --recipe prints --out RUN --minutes 5.5 --workers 14

On CPU, slower and with smaller batches (the committed weights' first run: recipe plain, one core):

    OMP_NUM_THREADS=1 nice -n 19 models/.venv-train/bin/python models/tryon_gan/train.py \\
        --out RUN --minutes 44 --workers 0 --batch-half 8 --batch-full 4 --eval-every 100

The committed weights are that CPU run fine-tuned with recipe prints from its export
(--init-onnx; the command is in models/README.md).

Training runs first at half size (128x96) and then at the working size (256x192); the networks
are fully convolutional. Samples are made by --workers processes. Losses go to
models/tryon_gan/train_log.jsonl (one JSON object per logged step, with held-out L1 of the plain
composite and of the GAN every --eval-every steps, on plain held-out frames and on held-out
frames whose shopper wears a print the garment lacks); the generator is saved to
OUT/generator.pt as it trains.
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


class Samples(torch.utils.data.IterableDataset):
    """Endless fresh samples (new colour, print, jitter, crop margin and flip each time) at one
    working size; each loader worker draws from its own random stream."""

    def __init__(self, bases, size, seed, **kinds):
        self.bases, self.size, self.seed, self.kinds = bases, size, seed, kinds

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0, self.size[0]])
        while True:
            yield one_sample(self.bases, rng, self.size, **self.kinds)


def one_sample(bases, rng, size, **kinds):
    b = bases[rng.integers(len(bases))]
    x = data.sample(b, rng, **kinds)
    arrays = [x.frame, x.garment, x.mask, x.detail_frame, x.target]
    if rng.random() < 0.5:
        arrays = [a[:, ::-1].copy() for a in arrays]
    frame, garment, mask, detail_frame, target = arrays
    return tuple(torch.from_numpy(a) for a in data.model_inputs(frame, garment, mask, size, rng.uniform(0.08, 0.3), detail_frame, target))


def fixed_batch(bases, seed, n, **kinds):
    """n held-out samples, the same every evaluation."""
    rng = np.random.default_rng(seed)
    cols = list(zip(*(one_sample(bases, rng, (data.WORK_W, data.WORK_H), **kinds) for _ in range(n))))
    return [torch.stack(c) for c in cols]


def weighted_l1(fake, target, weight):
    """L1 over the whole crop, five times heavier inside the dilated garment mask (the only part
    the runner keeps)."""
    w = 1.0 + 4.0 * weight
    return (w * (fake - target).abs()).sum() / (w.sum() * 3)


def weights_from_onnx(path: pathlib.Path, g: Generator) -> dict:
    """The generator's state dict from an exported file: export keeps the parameter names."""
    import onnx
    from onnx import numpy_helper

    found = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(str(path)).graph.initializer}
    wanted = g.state_dict()
    missing = [k for k, v in wanted.items() if k not in found or found[k].shape != v.shape]
    if missing:
        raise SystemExit(f"{path} is not this generator: no matching {', '.join(missing[:5])}")
    return {k: found[k] for k in wanted}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=pathlib.Path, required=True)
    ap.add_argument("--bases", type=pathlib.Path, help="frames prepared by `data.py bases` (default: build them from ../shared)")
    ap.add_argument("--minutes", type=float, default=40.0)
    ap.add_argument("--half-size-fraction", type=float, default=0.55)
    ap.add_argument("--batch-half", type=int, default=32)
    ap.add_argument("--batch-full", type=int, default=16)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--lr-end", type=float, default=1.0, help="learning rate at the end, as a fraction of --lr (linear in time)")
    ap.add_argument("--l1", type=float, default=20.0)
    ap.add_argument("--adv", type=float, default=0.5)
    ap.add_argument("--fm", type=float, default=2.0)
    ap.add_argument("--adv-start", type=int, default=100, help="steps of reconstruction only first")
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--recipe", choices=data.RECIPES, default="plain", help="plain: own clothing, flattened and jittered (the committed weights' first run); prints: re-coloured, with synthetic prints")
    ap.add_argument("--shopper-print", type=float, default=0.35, help="share of samples whose shopper wears a print the garment lacks")
    ap.add_argument("--garment-print", type=float, default=0.25, help="share of samples whose garment has a print the shopper lacks")
    starting_point = ap.add_mutually_exclusive_group()
    starting_point.add_argument("--resume", type=pathlib.Path, help="a RUN folder whose generator.pt and discriminator.pt to start from")
    starting_point.add_argument("--init-onnx", type=pathlib.Path, help="start the generator from an exported tryon_gan.onnx (e.g. the committed one) to fine-tune it; the discriminator starts fresh")
    ap.add_argument("--log", type=pathlib.Path, default=HERE / "train_log.jsonl")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    # Loader workers are forked from here and inherit this: OpenCV's own thread pool in each of
    # them would oversubscribe the machine many times over (and cannot be changed after a fork).
    data.cv2.setNumThreads(1)
    dev = torch.device(args.device)
    if dev.type == "cpu":
        torch.set_num_threads(1)
    torch.backends.cudnn.benchmark = True
    args.out.mkdir(parents=True, exist_ok=True)

    train = data.load_bases(args.bases, "train") if args.bases else data.build("train")
    held = data.load_bases(args.bases, "heldout") if args.bases else data.build("heldout")
    n_held = 2 * len(held)
    checks = {
        "heldout": fixed_batch(held, 7, n_held, recipe=args.recipe, shopper_print=0.0, garment_print=0.0),
        "heldout_print": fixed_batch(held, 8, n_held, recipe="prints", shopper_print=1.0, garment_print=0.0),
    }

    def loader(size, n):
        return iter(torch.utils.data.DataLoader(Samples(train, size, args.seed, recipe=args.recipe, shopper_print=args.shopper_print, garment_print=args.garment_print), batch_size=n, num_workers=args.workers,
                                                pin_memory=dev.type == "cuda", persistent_workers=args.workers > 0,
                                                prefetch_factor=4 if args.workers > 0 else None))

    g, d = Generator(), Discriminator()
    if args.resume:
        g.load_state_dict(torch.load(args.resume / "generator.pt", map_location="cpu"))
        d.load_state_dict(torch.load(args.resume / "discriminator.pt", map_location="cpu"))
    elif args.init_onnx:
        g.load_state_dict(weights_from_onnx(args.init_onnx, g))
    g, d = g.to(dev), d.to(dev)
    print(f"generator {count_params(g)} params, discriminator {count_params(d)}, on {dev}", flush=True)
    opt_g = torch.optim.Adam(g.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=args.lr, betas=(0.5, 0.999))
    log = args.log.open("w")
    log.write(json.dumps({"config": {k: str(v) for k, v in vars(args).items()}, "train_frames": len(train), "heldout_frames": len(held),
                          "heldout_samples": n_held, "generator_params": count_params(g), "discriminator_params": count_params(d),
                          "torch": torch.__version__, "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"}) + "\n")
    def evaluate() -> dict:
        out = {}
        g.eval()
        with torch.no_grad():
            for name, tensors in checks.items():
                hc, hm, hd, ht, hw = (t.to(dev) for t in tensors)
                out[f"{name}_l1_plain"] = round(masked_l1(hc, ht, hw), 5)
                out[f"{name}_l1_gan"] = round(masked_l1(g(hc, hm, hd), ht, hw), 5)
        g.train()
        return out

    half_loader = loader((data.WORK_W // 2, data.WORK_H // 2), args.batch_half)
    full_loader = None
    start = time.time()
    budget = args.minutes * 60
    step = samples = 0
    while time.time() - start < budget:
        half = time.time() - start < args.half_size_fraction * budget
        for opt in (opt_g, opt_d):
            for group in opt.param_groups:
                group["lr"] = args.lr * (1 + (args.lr_end - 1) * min(1.0, (time.time() - start) / budget))
        if not half and full_loader is None:
            del half_loader  # its workers stop; the full-size ones take their cores
            full_loader = loader((data.WORK_W, data.WORK_H), args.batch_full)
        comp, mask, detail, target, weight = (t.to(dev, non_blocking=True) for t in next(half_loader if half else full_loader))
        samples += comp.shape[0]
        cond = torch.cat([comp, mask, detail], 1)
        fake = g(comp, mask, detail)
        adversarial = step >= args.adv_start

        d_loss = torch.zeros((), device=dev)
        if adversarial:
            real_score, _ = d(cond, target)
            fake_score, _ = d(cond, fake.detach())
            d_loss = 0.5 * ((real_score - 1) ** 2).mean() + 0.5 * (fake_score**2).mean()
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()

        l1 = weighted_l1(fake, target, weight)
        g_loss = args.l1 * l1
        adv = fm = torch.zeros((), device=dev)
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

        if step % 50 == 0 or step == 1:
            elapsed = time.time() - start
            rec = {"step": step, "seconds": round(elapsed, 1), "samples": samples, "size": "128x96" if half else "256x192",
                   "l1": round(l1.item(), 5), "adv": round(adv.item(), 4), "fm": round(fm.item(), 4), "d": round(d_loss.item(), 4)}
            if step % args.eval_every == 0:
                rec.update(evaluate())
                torch.save(g.state_dict(), args.out / "generator.pt")
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(rec, flush=True)
    final = {"final": True, "step": step, "samples": samples, "seconds": round(time.time() - start, 1), **evaluate()}
    log.write(json.dumps(final) + "\n")
    print(final, flush=True)
    torch.save(g.state_dict(), args.out / "generator.pt")
    torch.save(d.state_dict(), args.out / "discriminator.pt")
    print(f"done: {step} steps, {samples} samples in {time.time() - start:.0f} s", flush=True)


def masked_l1(image, target, weight):
    """Mean absolute error inside the dilated mask, in 0..1 units (images are in -1..1)."""
    return ((image - target).abs() * weight).sum().item() / (weight.sum().item() * 3) / 2


if __name__ == "__main__":
    main()
