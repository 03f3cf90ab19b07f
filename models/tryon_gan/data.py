"""Self-supervised data for the try-on GAN: real frames of clothed people, and the same frames
with their own clothing replaced by what a warped packshot looks like.

For each real frame (../shared/data/media people photos, frames sampled from
../shared/data/media/videos):

1. the person mask comes from the committed selfie_segmentation ONNX model and the body
   landmarks from pose_landmark_lite (crop centred on the mask's box, as the kiosk does);
2. the clothing region is the person mask between the neckline (a little above the shoulders)
   and below the hips, minus the head, the hands and skin-coloured pixels, cleaned and kept to
   its largest connected part;
3. ``flatten`` makes the flat garment: mean-shift texture, low-frequency shading removed.

Recipe "plain" (the committed weights' first run) makes each training sample (``sample``) by ``jitter``
alone: the flat garment re-coloured slightly and misaligned. Recipe "prints" draws, from one
such frame:

- a new colour for the clothing (hue, saturation, brightness), applied alike to the frame's
  clothing and to the flat garment, so the target always wears the packshot's colour and the
  generator learns to keep it (a live shopper's own colour must not leak onto the garment);
- sometimes a synthetic print (text, stripes, dots, blocks) on the *shopper's* clothing only: it
  shows in the luminance detail but neither in the garment nor in the target, so the generator
  learns to take folds from the detail and not the shopper's own print;
- sometimes a synthetic print on the *garment* only, shaded like the clothing in the target and
  absent from the detail, so a packshot's own print is carried through;
- ``jitter``: a small misalignment (random affine) with a hard-edged mask and a slighter
  colour mismatch than "plain"'s, as a warped packshot would have.

The generator gets (``model_inputs``) the composite (frame outside the mask, flat garment
inside), the mask, and the shopper frame's high-pass luminance inside the mask (no colour); the
target is the (re-coloured) real frame. The crop and the luminance detail are computed exactly
as the Rust runner (crates/vision/src/tryon_gan.rs) computes them.

``python models/tryon_gan/data.py heldout --out DIR`` writes the held-out evaluation sets that
``vitrine eval tryon`` reads: DIR/NNN_frame.png (the real frame, also the target),
NNN_garment.png (its own clothing flattened, re-coloured and shifted as "plain" does),
NNN_mask.png; and DIR/print/, where
the shopper wears a synthetic print that the garment lacks (NNN_target.png: the same frame
without it). ``python models/tryon_gan/data.py bases --out FILE.npz`` saves the prepared frames
so training can run on a machine without ../shared (a GPU box). Nothing from ../shared is
written into the repository.
"""

from __future__ import annotations

import argparse
import pathlib
from dataclasses import dataclass

import cv2
import numpy as np
import onnxruntime as ort

REPO = pathlib.Path(__file__).resolve().parents[2]
MEDIA = REPO.parent / "shared" / "data" / "media"

# Held out by source, never trained on: one whole video and four photos.
HELDOUT_VIDEOS = {"intel_asl_sorry.mp4"}
HELDOUT_PHOTOS = {
    "intel_asl_hungry_frame.jpg",
    "sylius_tshirt_man_03.jpg",
    "sylius_tshirt_woman_02.jpg",
    "sylius_dress_03.jpg",
}
FRAMES_PER_VIDEO = 12
MAX_SIDE = 640  # frames are shrunk so the longer side is at most this

# The runner's constants (crates/vision/src/tryon_gan.rs); keep them equal.
CROP_MARGIN = 0.15
DILATE_FRACTION = 0.02
DETAIL_SIGMA_FRACTION = 1.0 / 32.0
WORK_H, WORK_W = 256, 192


@dataclass
class Base:
    """One real frame with its clothing region and flat garment (the deterministic part)."""

    source: str
    frame: np.ndarray  # H x W x 3 uint8 RGB
    region: np.ndarray  # H x W uint8, 255 = clothing
    flat: np.ndarray  # H x W x 3 uint8 RGB, valid inside region


def list_sources(split: str) -> list[tuple[str, np.ndarray]]:
    """(name, RGB frame) of the train or heldout split."""
    if not MEDIA.is_dir():
        raise SystemExit(f"{MEDIA} is missing: the try-on GAN data needs ../shared/data/media")
    out = []
    for path in sorted((MEDIA / "people").iterdir()):
        if path.suffix.lower() not in {".jpg", ".jpeg", ".png"}:
            continue
        if (path.name in HELDOUT_PHOTOS) != (split == "heldout"):
            continue
        # The ASL book frame comes from the same clip as a training video; fine, both train.
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        out.append((path.name, shrink(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))))
    for path in sorted((MEDIA / "videos").glob("*.mp4")):
        if (path.name in HELDOUT_VIDEOS) != (split == "heldout"):
            continue
        cap = cv2.VideoCapture(str(path))
        frames = []
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(bgr)
        cap.release()
        picks = np.linspace(0, len(frames) - 1, min(FRAMES_PER_VIDEO, len(frames))).round().astype(int)
        for i in sorted(set(picks.tolist())):
            out.append((f"{path.name}#{i}", shrink(cv2.cvtColor(frames[i], cv2.COLOR_BGR2RGB))))
    return out


def shrink(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = MAX_SIDE / max(h, w)
    if s >= 1:
        return rgb
    return cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


class BodyModels:
    """The committed person-segmentation and pose ONNX models, on ONNX Runtime (CPU)."""

    def __init__(self) -> None:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.seg = ort.InferenceSession(str(REPO / "models/selfie_segmentation/selfie_segmentation.onnx"), opts)
        self.pose = ort.InferenceSession(str(REPO / "models/pose_landmark_lite/pose_landmark_lite.onnx"), opts)

    def person_mask(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        x = cv2.resize(rgb, (256, 256), interpolation=cv2.INTER_AREA).astype(np.float32)[None] / 255.0
        prob = self.seg.run(None, {"input_1": x})[0][0, :, :, 0]
        return (cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR) > 0.5).astype(np.uint8) * 255

    def landmarks(self, rgb: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, float] | None:
        """33 x (x, y, visibility) in frame pixels and the pose score, from a mask-centred crop."""
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            return None
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        side = max(x1 - x0, y1 - y0) * 1.25
        scale = 256 / side
        affine = np.array([[scale, 0, 128 - cx * scale], [0, scale, 128 - cy * scale]], np.float32)
        crop = cv2.warpAffine(rgb, affine, (256, 256), flags=cv2.INTER_LINEAR, borderValue=0)
        out = self.pose.run(None, {"input_1": crop.astype(np.float32)[None] / 255.0})
        raw = out[0].reshape(39, 5)[:33]
        pts = np.stack([(raw[:, 0] - 128) / scale + cx, (raw[:, 1] - 128) / scale + cy, 1 / (1 + np.exp(-raw[:, 3]))], 1)
        return pts, float(out[1].reshape(-1)[0])


def clothing_region(rgb: np.ndarray, body: BodyModels) -> np.ndarray | None:
    """255 where the person's clothing is (see the module doc); None if none is usable."""
    h, w = rgb.shape[:2]
    person = body.person_mask(rgb)
    if person.sum() < 0.02 * h * w * 255:
        return None
    ys, xs = np.nonzero(person)
    yy, xx = np.mgrid[0:h, 0:w]
    region = person > 0
    lm = body.landmarks(rgb, person)
    if lm is not None and lm[1] > 0.5 and lm[0][[11, 12], 2].min() > 0.5:
        pts = lm[0]
        ls, rs = pts[11, :2], pts[12, :2]
        shoulder_w = max(np.linalg.norm(ls - rs), 8.0)
        shoulder_y = (ls[1] + rs[1]) / 2
        region &= yy >= shoulder_y - 0.12 * shoulder_w
        hips_ok = pts[[23, 24], 2].min() > 0.5
        hip_y = (pts[23, 1] + pts[24, 1]) / 2 if hips_ok else h
        region &= yy <= hip_y + 0.2 * max(hip_y - shoulder_y, shoulder_w)
        nose = pts[0, :2]
        region &= (xx - nose[0]) ** 2 + (yy - nose[1]) ** 2 > (0.45 * shoulder_w) ** 2
        for i in (15, 16):  # wrists: the hands are not clothing
            if pts[i, 2] > 0.5:
                region &= (xx - pts[i, 0]) ** 2 + (yy - pts[i, 1]) ** 2 > (0.22 * shoulder_w) ** 2
    else:
        # No reliable pose: drop the top fifth of the person (the head).
        region &= yy >= ys.min() + 0.2 * (ys.max() - ys.min())
    ycrcb = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    skin = (ycrcb[..., 1] >= 135) & (ycrcb[..., 1] <= 175) & (ycrcb[..., 2] >= 85) & (ycrcb[..., 2] <= 130)
    region &= ~skin
    region = region.astype(np.uint8) * 255
    k = max(3, round(0.01 * max(h, w))) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    region = cv2.morphologyEx(region, cv2.MORPH_OPEN, kernel)
    region = cv2.morphologyEx(region, cv2.MORPH_CLOSE, kernel)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(region)
    if n < 2:
        return None
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    region = (labels == biggest).astype(np.uint8) * 255
    if region.sum() < 0.02 * h * w * 255:
        return None
    return region


def masked_blur(img: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur that averages only pixels inside the mask."""
    m = (mask > 0).astype(np.float32)
    img = img.astype(np.float32)
    if img.ndim == 3:
        m3 = m[..., None]
    else:
        m3 = m
    num = cv2.GaussianBlur(img * m3, (0, 0), sigma)
    den = cv2.GaussianBlur(m, (0, 0), sigma)
    if img.ndim == 3:
        den = den[..., None]
    return num / np.maximum(den, 1e-4)


def flatten(rgb: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The clothing as a flat packshot would show it: mean-shift texture, shading removed."""
    ys, xs = np.nonzero(region)
    bbox_h = ys.max() - ys.min() + 1
    ms = cv2.pyrMeanShiftFiltering(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), sp=8, sr=24)
    lab = cv2.cvtColor(ms, cv2.COLOR_BGR2LAB).astype(np.float32)
    inside = region > 0
    mean_l = lab[..., 0][inside].mean()
    # Shading is the low-frequency part of lightness: take it out, keep edges of colour blocks.
    low = masked_blur(lab[..., 0], region, 0.08 * bbox_h)
    lab[..., 0] = mean_l + 0.6 * (lab[..., 0] - low)
    lab[..., 1:] = masked_blur(lab[..., 1:], region, 2.0)
    flat = cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
    flat[~inside] = 0
    return flat


# Colour mismatch of the degraded garment: (hue degrees, saturation and brightness fractions).
COLOUR_JITTER = {"plain": (8.0, 0.2, 0.15), "prints": (3.0, 0.08, 0.06)}


def jitter(flat: np.ndarray, region: np.ndarray, rng: np.random.Generator, colour: tuple[float, float, float] = COLOUR_JITTER["plain"]) -> tuple[np.ndarray, np.ndarray]:
    """A colour mismatch (a packshot is lit differently) and a slight misalignment; returns
    (garment RGB, hard mask 0/255)."""
    hue, sat, val = colour
    garment = recolour(flat, region, rng.uniform(-hue, hue), rng.uniform(1 - sat, 1 + sat), rng.uniform(1 - val, 1 + val))
    ys, xs = np.nonzero(region)
    cx, cy = xs.mean(), ys.mean()
    bw, bh = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    affine = cv2.getRotationMatrix2D((float(cx), float(cy)), rng.uniform(-3, 3), rng.uniform(0.96, 1.04))
    affine[0, 2] += rng.uniform(-0.03, 0.03) * bw
    affine[1, 2] += rng.uniform(-0.03, 0.03) * bh
    h, w = region.shape
    garment = cv2.warpAffine(garment, affine, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(region, affine, (w, h), flags=cv2.INTER_NEAREST)
    garment[mask == 0] = 0
    return garment, mask


def recolour(rgb: np.ndarray, region: np.ndarray, hue_shift: float, sat_scale: float, val_scale: float) -> np.ndarray:
    """rgb with the pixels inside region given a new hue, saturation and brightness; shading
    (relative brightness) is kept."""
    ys, xs = np.nonzero(region)
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))  # only the region's box is converted
    hsv = cv2.cvtColor(rgb[box], cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + hue_shift) % 180
    hsv[..., 1] *= sat_scale
    hsv[..., 2] *= val_scale
    out = rgb.copy()
    inside = region[box] > 0
    out[box][inside] = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB)[inside]
    return out


def synthetic_print(region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random print (text, stripes, dots or blocks) over the clothing: H x W float 0..1 coverage,
    anti-aliased, zero outside the region."""
    h, w = region.shape
    ys, xs = np.nonzero(region)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    bw, bh = x1 - x0 + 1, y1 - y0 + 1
    canvas = np.zeros((h, w), np.uint8)
    kind = rng.integers(4)
    if kind == 0:  # a slogan or logo text across the chest
        letters = "ABCDEFGHKMNPRSTUVWXYZ0123456789"
        for _ in range(rng.integers(1, 3)):
            text = "".join(rng.choice(list(letters), rng.integers(2, 7)))
            scale = rng.uniform(0.004, 0.012) * bw
            thick = max(1, round(scale * rng.uniform(1.5, 4)))
            org = (x0 + round(rng.uniform(0.05, 0.5) * bw), y0 + round(rng.uniform(0.2, 0.8) * bh))
            cv2.putText(canvas, text, org, int(rng.choice([cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_TRIPLEX])),
                        scale, 255, thick, cv2.LINE_AA)
    elif kind == 1:  # stripes, any direction
        period = rng.uniform(0.04, 0.15) * bh
        angle = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        phase = (xx * np.cos(angle) + yy * np.sin(angle)) / period
        canvas = ((phase % 1.0) < rng.uniform(0.3, 0.6)).astype(np.uint8) * 255
    elif kind == 2:  # dots
        r = max(2, round(rng.uniform(0.01, 0.035) * bh))
        step = round(r * rng.uniform(2.5, 5))
        for cy in range(y0, y1, step):
            for cx in range(x0 + (step // 2 if (cy // step) % 2 else 0), x1, step):
                cv2.circle(canvas, (cx, cy), r, 255, -1, cv2.LINE_AA)
    else:  # colour blocks or a chest logo
        for _ in range(rng.integers(1, 4)):
            cx, cy = x0 + rng.uniform(0.1, 0.9) * bw, y0 + rng.uniform(0.15, 0.85) * bh
            rw, rh = rng.uniform(0.08, 0.4) * bw, rng.uniform(0.05, 0.3) * bh
            box = ((float(cx), float(cy)), (float(rw), float(rh)), float(rng.uniform(-30, 30)))
            if rng.random() < 0.5:
                cv2.fillPoly(canvas, [cv2.boxPoints(box).astype(np.int32)], 255, cv2.LINE_AA)
            else:
                cv2.ellipse(canvas, box, 255, -1, cv2.LINE_AA)
    coverage = canvas.astype(np.float32) / 255.0
    return coverage * (region > 0)


def print_on_shopper(frame: np.ndarray, coverage: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The frame with the print as the camera sees it on worn clothing: lighter or darker
    where printed, the fabric's shading underneath."""
    gain = 1.0 + rng.choice([-1.0, 1.0]) * rng.uniform(0.25, 0.6) * coverage
    return np.clip(frame.astype(np.float32) * gain[..., None], 0, 255).astype(np.uint8)


def print_on_garment(flat: np.ndarray, target: np.ndarray, region: np.ndarray, coverage: np.ndarray,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(flat garment with a flat-coloured print, target with the same print shaded by the
    clothing's own light and dark)."""
    colour = rng.uniform(0, 255, 3).astype(np.float32)
    a = coverage[..., None]
    garment = flat.astype(np.float32) * (1 - a) + colour * a
    luma = target.astype(np.float32).mean(2)
    inside = region > 0
    shade = np.clip(luma / max(float(masked_blur(luma, region, 0.08 * region.shape[0])[inside].mean()), 1.0), 0.4, 1.6)
    shaded = target.astype(np.float32) * (1 - a) + np.clip(colour * shade[..., None], 0, 255) * a
    return garment.clip(0, 255).astype(np.uint8), shaded.clip(0, 255).astype(np.uint8)


@dataclass
class Sample:
    frame: np.ndarray  # the shopper frame the composite is made over (outside the mask)
    detail_frame: np.ndarray  # the frame the luminance detail is taken from (what the camera sees)
    garment: np.ndarray
    mask: np.ndarray
    target: np.ndarray


RECIPES = ("plain", "prints")


def sample(b: Base, rng: np.random.Generator, recipe: str = "plain", shopper_print: float = 0.35, garment_print: float = 0.25) -> Sample:
    """One training sample from a prepared frame. Recipe "plain": the frame's own clothing,
    flattened and jittered (the committed weights' first run); "prints": re-coloured clothing and
    synthetic prints as well (see the module doc)."""
    if recipe == "plain":
        garment, mask = jitter(b.flat, b.region, rng)
        return Sample(b.frame, b.frame, garment, mask, b.frame)
    hue = rng.uniform(-90, 90) if rng.random() < 0.7 else 0.0
    colour = (hue, rng.uniform(0.6, 1.3), rng.uniform(0.8, 1.15))
    frame = recolour(b.frame, b.region, *colour)
    flat = recolour(b.flat, b.region, *colour)
    detail_frame, target = frame, frame
    kind = rng.random()
    if kind < shopper_print:
        detail_frame = print_on_shopper(frame, synthetic_print(b.region, rng), rng)
    elif kind < shopper_print + garment_print:
        flat, target = print_on_garment(flat, frame, b.region, synthetic_print(b.region, rng), rng)
    garment, mask = jitter(flat, b.region, rng, COLOUR_JITTER["prints"])
    return Sample(frame, detail_frame, garment, mask, target)


def crop_rect(mask: np.ndarray, margin: float = CROP_MARGIN, aspect: float = WORK_W / WORK_H) -> tuple[int, int, int, int]:
    """(x, y, w, h): the runner's crop around the mask (see TryOnInputs::crop_rect)."""
    fh, fw = mask.shape
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    bw, bh = float(x1 - x0), float(y1 - y0)
    m = margin * max(bw, bh)
    w, h = bw + 2 * m, bh + 2 * m
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect

    def place(centre: float, length: float, limit: int) -> tuple[int, int]:
        length = min(length, float(limit))
        start = min(max(centre - length / 2, 0.0), limit - length)
        a, b = int(np.floor(start)), min(int(np.ceil(start + length)), limit)
        return a, b - a

    x, w_ = place((x0 + x1) / 2, w, fw)
    y, h_ = place((y0 + y1) / 2, h, fh)
    return x, y, w_, h_


def resize_to(img: np.ndarray, w: int, h: int) -> np.ndarray:
    shrinking = w < img.shape[1] or h < img.shape[0]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def composite(frame: np.ndarray, garment: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.uint32)[..., None]
    return ((frame.astype(np.uint32) * (255 - m) + garment.astype(np.uint32) * m + 127) // 255).astype(np.uint8)


def luminance_detail(rgb: np.ndarray, mask01: np.ndarray) -> np.ndarray:
    y = (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]).astype(np.float32) / 255.0
    blurred = cv2.GaussianBlur(y, (0, 0), rgb.shape[0] * DETAIL_SIGMA_FRACTION)
    return np.clip(2 * (y - blurred), -1, 1) * mask01


def model_inputs(frame, garment, mask, work=(WORK_W, WORK_H), margin=CROP_MARGIN, detail_frame=None, target=None):
    """Model inputs and target for one sample, as the runner computes them. The detail comes
    from detail_frame (default: frame), the target is target (default: frame).

    Returns (composite [3,H,W] in -1..1, mask [1,H,W] 0..1, detail [1,H,W], target [3,H,W] in
    -1..1, blend weight [1,H,W]: the dilated mask)."""
    w, h = work
    detail_frame = frame if detail_frame is None else detail_frame
    target = frame if target is None else target
    x, y, cw, ch = crop_rect(mask, margin, w / h)
    sl = (slice(y, y + ch), slice(x, x + cw))
    comp = resize_to(composite(frame, garment, mask)[sl], w, h)
    shopper = resize_to(detail_frame[sl], w, h)
    m = cv2.resize(mask[sl], (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
    detail = luminance_detail(shopper, m)
    radius = max(2, round(DILATE_FRACTION * h))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    dilated = cv2.dilate((m > 0).astype(np.uint8), kernel).astype(np.float32)

    def chw(img):
        return img.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0

    return chw(comp), m[None], detail[None], chw(resize_to(target[sl], w, h)), dilated[None]


def build(split: str, log=print) -> list[Base]:
    body = BodyModels()
    bases = []
    for name, rgb in list_sources(split):
        region = clothing_region(rgb, body)
        if region is None:
            log(f"skip {name}: no usable clothing region")
            continue
        bases.append(Base(name, rgb, region, flatten(rgb, region)))
    log(f"{split}: {len(bases)} frames from {len({b.source.split('#')[0] for b in bases})} sources")
    return bases


def bgr(img: np.ndarray) -> np.ndarray:
    """An RGB image as OpenCV writes it (BGR); a one-channel mask as it is."""
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)


def save_bases(path: pathlib.Path) -> None:
    """Both splits' prepared frames in one file (for training away from ../shared), each image
    stored as PNG bytes (lossless, and small enough to travel to a GPU box)."""
    arrays = {}
    for split in ("train", "heldout"):
        for i, b in enumerate(build(split)):
            key = f"{split}/{i:03d}"
            for name, img in (("frame", b.frame), ("region", b.region), ("flat", b.flat)):
                ok, png = cv2.imencode(".png", bgr(img), [cv2.IMWRITE_PNG_COMPRESSION, 9])
                assert ok, f"{b.source}: {name} did not encode"
                arrays[f"{key}/{name}"] = png
            arrays[f"{key}/source"] = np.array(b.source)
    np.savez(path, **arrays)


def load_bases(path: pathlib.Path, split: str) -> list[Base]:
    def image(png: np.ndarray) -> np.ndarray:
        img = cv2.imdecode(png, cv2.IMREAD_UNCHANGED)
        return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    with np.load(path) as z:
        keys = sorted({k.rsplit("/", 1)[0] for k in z.files if k.startswith(split + "/")})
        return [Base(str(z[f"{k}/source"]), image(z[f"{k}/frame"]), image(z[f"{k}/region"]), image(z[f"{k}/flat"])) for k in keys]


def write_heldout(out: pathlib.Path, seed: int = 7) -> int:
    """The held-out evaluation sets: one degraded version of each held-out frame (the real
    frame is the target), and in out/print the same frames worn with a synthetic print that
    the garment lacks (NNN_target.png: the frame without the print)."""
    printed = out / "print"
    for folder in (out, printed):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
    rng = np.random.default_rng(seed)
    print_rng = np.random.default_rng(seed + 1)  # its own stream: the plain set stays as it was
    bases = build("heldout")

    def write(folder: pathlib.Path, i: int, images: dict[str, np.ndarray]) -> None:
        for name, img in images.items():
            cv2.imwrite(str(folder / f"{i:03d}_{name}.png"), bgr(img))

    for i, b in enumerate(bases):
        garment, mask = jitter(b.flat, b.region, rng)
        write(out, i, {"frame": b.frame, "garment": garment, "mask": mask})
        worn = print_on_shopper(b.frame, synthetic_print(b.region, print_rng), print_rng)
        garment, mask = jitter(b.flat, b.region, print_rng)
        write(printed, i, {"frame": worn, "target": b.frame, "garment": garment, "mask": mask})
    (out / "SOURCES.txt").write_text("".join(f"{i:03d} {b.source}\n" for i, b in enumerate(bases)))
    return len(bases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    held = sub.add_parser("heldout", help="write the held-out evaluation sets")
    held.add_argument("--out", type=pathlib.Path, required=True)
    held.add_argument("--seed", type=int, default=7)
    bases = sub.add_parser("bases", help="save both splits' prepared frames to one .npz, for training elsewhere")
    bases.add_argument("--out", type=pathlib.Path, required=True)
    preview = sub.add_parser("preview", help="write a few training samples as images, to look at")
    preview.add_argument("--out", type=pathlib.Path, required=True)
    preview.add_argument("--bases", type=pathlib.Path, help="a .npz from `bases` instead of ../shared")
    preview.add_argument("--recipe", choices=RECIPES, default="prints")
    args = parser.parse_args()
    if args.cmd == "heldout":
        print(f"wrote {write_heldout(args.out, args.seed)} held-out frames to {args.out} and {args.out / 'print'}")
    elif args.cmd == "bases":
        save_bases(args.out)
        print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        for i, b in enumerate(load_bases(args.bases, "train") if args.bases else build("train")):
            x = sample(b, rng, args.recipe)
            comp, m, detail, target, _ = model_inputs(x.frame, x.garment, x.mask, detail_frame=x.detail_frame, target=x.target)
            row = [((comp + 1) * 127.5), np.repeat(m * 255, 3, 0), np.repeat((detail + 1) * 127.5, 3, 0), (target + 1) * 127.5]
            img = np.concatenate([r.transpose(1, 2, 0) for r in row], 1).clip(0, 255).astype(np.uint8)
            cv2.imwrite(str(args.out / f"{i:03d}.jpg"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    main()
