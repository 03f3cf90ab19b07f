"""Synthetic store shelves with exact annotations, deterministic from a seed.

Each image shows 3-5 shelf rows in mild perspective. Products stand on the boards in runs of
facings per SKU: procedural packages (boxes, bottles, cans, bags, each with a drawn label) and
crops of natural grocery photos (Grocery Store Dataset, MIT). Every SKU run has a shelf-edge
price label under its left edge (EAN-13 barcode, price, short name); some runs are sold out,
which leaves an empty gap above a label, the case label-anchored out-of-stock checks look for.
Lighting gradients, vignette, blur, noise, JPEG artefacts and occluders (a hand, a trolley
bar, a passer-by) are applied on top.

Annotations (one JSON per image) in output pixels, boxes as [x1, y1, x2, y2]:
  products: box, sku, kind (box|bottle|can|bag|photo), grocery_class (fine class id or null),
            shelf, visible (fraction not hidden by occluders)
  gaps:     box, width_px, shelf, sku (the sold-out SKU whose label sits under the gap)
  labels:   box, ean13, price, name, shelf, sku

Usage:
  python shelf_synth.py --out DIR --split train --count 3000 --seed 1
  python shelf_synth.py --out DIR --split heldout --count 300 --seed 1000001
  python shelf_synth.py --out DIR --split labels --count 200 --seed 2000001
  python shelf_synth.py --out DIR --split heldout --count 3 --seed 1000001 --no-photos   # committed fixtures

A `labels` image is one shelf-edge label photographed up close (tilt, perspective, blur,
glare) with its ean13, price, name, corners and blur_sigma.

The train split takes crops only from the grocery dataset's train.txt images, the held-out
split only from test.txt, and the two use disjoint seed ranges.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import string
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

GROCERY_ROOT = Path(__file__).resolve().parents[3] / "shared" / "data" / "grocery-store-dataset" / "dataset"

# EAN-13 symbol tables (GS1 General Specifications, 5.2.1.2).
_L = ["0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111", "0001011"]
_G = ["0100111", "0110011", "0011011", "0100001", "0011101", "0111001", "0000101", "0010001", "0001001", "0010111"]
_R = ["1110010", "1100110", "1101100", "1000010", "1011100", "1001110", "1010000", "1000100", "1001000", "1110100"]
# Which of L/G encodes left digits 2..7, chosen by the first digit.
_PARITY = ["LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"]


def ean13_check_digit(first12: str) -> str:
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError(f"EAN-13 needs 12 digits before the check digit, got {first12!r}")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def ean13_modules(code: str) -> str:
    """The 95 modules of an EAN-13 symbol as '1' (bar) / '0' (space)."""
    if len(code) != 13 or not code.isdigit() or ean13_check_digit(code[:12]) != code[12]:
        raise ValueError(f"not a valid EAN-13: {code!r}")
    parity = _PARITY[int(code[0])]
    left = "".join((_L if p == "L" else _G)[int(d)] for p, d in zip(parity, code[1:7]))
    right = "".join(_R[int(d)] for d in code[7:])
    return "101" + left + "01010" + right + "101"


def _font(size: int) -> ImageFont.FreeTypeFont:
    # Pillow's bundled font, so output does not depend on the fonts a machine has.
    return ImageFont.load_default(size=max(6, int(size)))


def render_label(rng: np.random.Generator, w: int, h: int, ean: str, price: str, name: str) -> np.ndarray:
    """A shelf-edge price label (RGB): name top-left, price right, EAN-13 bottom-left."""
    paper = tuple(int(v) for v in rng.choice([[250, 250, 245], [255, 244, 160], [245, 250, 255], [255, 255, 255]]))
    img = Image.new("RGB", (w, h), paper)
    d = ImageDraw.Draw(img)
    if rng.random() < 0.5:  # coloured store band along the top
        band = tuple(int(v) for v in rng.integers(0, 200, 3))
        d.rectangle([0, 0, w, max(2, h // 10)], fill=band)
    d.text((int(0.04 * w), int(0.1 * h)), name, fill=(20, 20, 20), font=_font(0.15 * h))
    d.text((int(0.64 * w), int(0.30 * h)), price, fill=(10, 10, 10), font=_font(min(0.38 * h, 0.085 * w)))
    modules = ean13_modules(ean)
    # 95 modules plus the quiet zones the symbology requires (11 left, 7 right) in 62 % of the
    # width; whole-pixel modules where the label is big enough to be read at all.
    module_w = 0.62 * w / 113
    if module_w >= 1:
        module_w = float(int(module_w))
    quiet = 11 * module_w
    bar_top, bar_bottom = 0.28 * h, 0.84 * h
    for i, m in enumerate(modules):
        if m == "1":
            x0 = quiet + i * module_w
            d.rectangle([x0, bar_top, x0 + module_w - 0.01, bar_bottom], fill=(0, 0, 0))
    d.text((quiet, 0.83 * h), ean, fill=(0, 0, 0), font=_font(0.13 * h))
    return np.asarray(img)


@dataclass
class Sku:
    sku: str
    ean: str
    price: str
    name: str
    kind: str
    w: float  # width relative to row height
    h: float  # height relative to row height
    palette: np.ndarray
    text: str
    crop: np.ndarray | None
    grocery_class: int | None


def _brand(rng: np.random.Generator) -> str:
    letters = string.ascii_uppercase
    return "".join(rng.choice(list(letters), size=int(rng.integers(3, 7))))


class GroceryCrops:
    """Natural product photos from one split of the Grocery Store Dataset, loaded lazily."""

    def __init__(self, root: Path | None, split: str):
        """`root` None: no photos at all."""
        list_file = root / f"{split}.txt" if root else None
        self.items: list[tuple[Path, int]] = []
        if list_file and list_file.exists():
            for line in list_file.read_text().splitlines():
                parts = [p.strip() for p in line.split(",")]
                if len(parts) >= 2 and parts[0]:
                    self.items.append((root / parts[0], int(parts[1])))
        self._cache: dict[int, np.ndarray] = {}

    def pick(self, rng: np.random.Generator) -> tuple[np.ndarray, int] | None:
        if not self.items:
            return None
        i = int(rng.integers(len(self.items)))
        if i not in self._cache:
            img = cv2.imread(str(self.items[i][0]), cv2.IMREAD_COLOR)
            if img is None:
                return None
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
            s = 256 / max(img.shape[:2])
            self._cache[i] = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        img = self._cache[i]
        # The item fills the middle of these photos; a random central window looks like a front.
        hh, ww = img.shape[:2]
        ch, cw = int(hh * rng.uniform(0.45, 0.8)), int(ww * rng.uniform(0.35, 0.7))
        y0, x0 = int(rng.integers(0, hh - ch + 1)), int(rng.integers(0, ww - cw + 1))
        return img[y0:y0 + ch, x0:x0 + cw].copy(), self.items[i][1]


def make_sku(rng: np.random.Generator, crops: GroceryCrops, serial: int) -> Sku:
    if crops.items:
        kind = str(rng.choice(["box", "bottle", "can", "bag", "photo"], p=[0.3, 0.2, 0.15, 0.15, 0.2]))
    else:  # no photos (--no-photos, or the dataset is absent): the procedural kinds only
        kind = str(rng.choice(["box", "bottle", "can", "bag"], p=[0.375, 0.25, 0.1875, 0.1875]))
    size = {
        "box": (rng.uniform(0.35, 0.8), rng.uniform(0.55, 0.9)),
        "bottle": (rng.uniform(0.2, 0.35), rng.uniform(0.7, 0.92)),
        "can": (rng.uniform(0.22, 0.35), rng.uniform(0.35, 0.6)),
        "bag": (rng.uniform(0.4, 0.7), rng.uniform(0.5, 0.85)),
        "photo": (rng.uniform(0.3, 0.6), rng.uniform(0.5, 0.9)),
    }[kind]
    crop, grocery_class = None, None
    if kind == "photo":
        picked = crops.pick(rng)
        if picked is None:
            kind = "box"
        else:
            crop, grocery_class = picked
    ean = "".join(str(d) for d in rng.integers(0, 10, 12))
    ean += ean13_check_digit(ean)
    price = f"{rng.integers(0, 30)}.{rng.integers(0, 100):02d}"
    brand = _brand(rng)
    return Sku(
        sku=f"SYN-{serial:06d}", ean=ean, price=price, name=f"{brand} {rng.choice(['MILK', 'RICE', 'SOAP', 'TEA', 'JUICE', 'OATS', 'PASTA', 'CHIPS', 'COLA', 'SALT'])}",
        kind=kind, w=float(size[0]), h=float(size[1]), palette=rng.integers(0, 256, (3, 3)),
        text=brand, crop=crop, grocery_class=grocery_class,
    )


def render_package(rng: np.random.Generator, sku: Sku, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """RGB image and 0/1 mask of one facing, w x h pixels."""
    img = Image.new("RGB", (w, h), (0, 0, 0))
    mask = Image.new("L", (w, h), 0)
    d, m = ImageDraw.Draw(img), ImageDraw.Draw(mask)
    c0, c1, c2 = (tuple(int(v) for v in c) for c in sku.palette)
    if sku.kind == "photo":
        crop = cv2.resize(sku.crop, (w, h), interpolation=cv2.INTER_AREA)
        img = Image.fromarray(crop)
        d = ImageDraw.Draw(img)
        m.rectangle([0, 0, w - 1, h - 1], fill=1)
    elif sku.kind == "box":
        d.rectangle([0, 0, w - 1, h - 1], fill=c0)
        d.rectangle([0, int(0.25 * h), w - 1, int(0.6 * h)], fill=c1)
        d.rectangle([int(0.1 * w), int(0.65 * h), int(0.9 * w), int(0.9 * h)], fill=c2)
        m.rectangle([0, 0, w - 1, h - 1], fill=1)
    elif sku.kind == "bottle":
        neck_w, shoulder = max(2, int(0.38 * w)), int(0.3 * h)
        x_neck = (w - neck_w) // 2
        d.rectangle([x_neck, 0, x_neck + neck_w, shoulder], fill=c0)
        d.rectangle([x_neck - 1, 0, x_neck + neck_w + 1, int(0.06 * h)], fill=c2)  # cap
        d.polygon([(x_neck, shoulder * 0.7), (0, shoulder), (w - 1, shoulder), (x_neck + neck_w, shoulder * 0.7)], fill=c0)
        d.rounded_rectangle([0, shoulder, w - 1, h - 1], radius=max(1, w // 6), fill=c0)
        d.rectangle([0, int(0.45 * h), w - 1, int(0.75 * h)], fill=c1)
        for dr in (m,):
            dr.rectangle([x_neck, 0, x_neck + neck_w, shoulder], fill=1)
            dr.polygon([(x_neck, shoulder * 0.7), (0, shoulder), (w - 1, shoulder), (x_neck + neck_w, shoulder * 0.7)], fill=1)
            dr.rounded_rectangle([0, shoulder, w - 1, h - 1], radius=max(1, w // 6), fill=1)
    elif sku.kind == "can":
        d.rounded_rectangle([0, 0, w - 1, h - 1], radius=max(1, w // 8), fill=c0)
        d.rectangle([0, int(0.2 * h), w - 1, int(0.8 * h)], fill=c1)
        d.rectangle([0, 0, w - 1, int(0.05 * h)], fill=(180, 180, 185))
        m.rounded_rectangle([0, 0, w - 1, h - 1], radius=max(1, w // 8), fill=1)
    else:  # bag: crimped top, bulging sides
        pts = [(0.08 * w, 0.08 * h), (0.92 * w, 0.08 * h), (w - 1, 0.5 * h), (0.95 * w, h - 1), (0.05 * w, h - 1), (0, 0.5 * h)]
        d.polygon(pts, fill=c0)
        d.rectangle([0.08 * w, 0, 0.92 * w, 0.1 * h], fill=c2)
        d.ellipse([0.15 * w, 0.3 * h, 0.85 * w, 0.75 * h], fill=c1)
        m.polygon(pts, fill=1)
        m.rectangle([0.08 * w, 0, 0.92 * w, 0.1 * h], fill=1)
    if sku.kind != "photo":
        font = _font(min(h * 0.16, w * 1.6 / max(1, len(sku.text))))
        d.text((int(0.06 * w), int(0.3 * h)), sku.text, fill=c2 if sku.kind != "box" else (255 - c1[0], 255 - c1[1], 255 - c1[2]), font=font)
    arr = np.asarray(img).astype(np.float32)
    if sku.kind in ("bottle", "can"):
        # Cylinder shading: darker at the sides, a specular stripe left of centre.
        x = np.linspace(-1, 1, w)
        shade = 0.65 + 0.35 * np.sqrt(np.clip(1 - x ** 2, 0, 1)) + 0.35 * np.exp(-((x + 0.35) / 0.12) ** 2)
        arr *= shade[None, :, None]
    arr *= rng.uniform(0.85, 1.1)
    return np.clip(arr, 0, 255).astype(np.uint8), np.asarray(mask, dtype=np.uint8)


def _paste(canvas: np.ndarray, obj: np.ndarray, mask: np.ndarray, x: int, y: int) -> None:
    h, w = mask.shape
    H, W = canvas.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    sub_m = mask[y0 - y:y1 - y, x0 - x:x1 - x, None].astype(bool)
    region = canvas[y0:y1, x0:x1]
    np.copyto(region, obj[y0 - y:y1 - y, x0 - x:x1 - x], where=sub_m)


def render_shelf(rng: np.random.Generator, crops: GroceryCrops, width: int, height: int, scale: int = 2) -> tuple[np.ndarray, dict]:
    """One shelf image (RGB, width x height) and its annotation."""
    W, H = width * scale, height * scale
    wall = rng.integers(150, 235, 3).astype(np.float32)
    canvas = np.empty((H, W, 3), np.uint8)
    canvas[:] = (wall[None, None] * np.linspace(0.85, 1.05, H)[:, None, None]).clip(0, 255).astype(np.uint8)
    board_color = rng.integers(60, 230, 3)
    edge_color = np.clip(board_color * rng.uniform(0.5, 0.9), 0, 255)
    rows = int(rng.integers(3, 6))
    margin_top = int(rng.uniform(-0.05, 0.08) * H)
    row_h = (H - margin_top) / rows
    edge_h = int(row_h * rng.uniform(0.11, 0.16))
    products, gaps, labels = [], [], []
    # Each object: (kind, box in canvas pixels, record). Occlusion needs a per-object id map.
    id_map = np.zeros((H, W), np.int32)
    objects: list[dict] = []
    serial = int(rng.integers(0, 10 ** 6))
    for r in range(rows):
        top = margin_top + r * row_h
        floor = int(top + row_h - edge_h)  # products stand here; the board edge is below
        usable_h = floor - top
        # Shelf board edge with the labels rail.
        canvas[max(0, floor):min(H, floor + edge_h)] = edge_color.astype(np.uint8)
        canvas[max(0, floor - 3 * scale):max(0, floor)] = board_color.astype(np.uint8)
        # Back of the shelf a little darker than the wall, shading under the board above.
        shadow_y0 = int(max(0, top))
        shadow_h = int(usable_h * rng.uniform(0.1, 0.25))
        if shadow_h > 0:
            ramp = np.linspace(0.6, 1.0, shadow_h)[:, None, None]
            y1 = min(H, shadow_y0 + shadow_h)
            canvas[shadow_y0:y1] = (canvas[shadow_y0:y1] * ramp[: y1 - shadow_y0]).astype(np.uint8)
        x = int(rng.uniform(-0.05, 0.03) * W)
        while x < W:
            sku = make_sku(rng, crops, serial)
            serial += 1
            pw = max(6, int(sku.w * usable_h * rng.uniform(0.9, 1.1)))
            ph = max(6, int(min(sku.h * usable_h, usable_h * 0.96)))
            facings = int(rng.integers(1, 6))
            spacing = int(pw * rng.uniform(0.0, 0.12))
            run_w = facings * pw + (facings - 1) * spacing
            sold_out = rng.random() < 0.15
            lw = int(min(max(row_h * 0.55, run_w * 0.6), row_h * 0.9))
            lh = int(edge_h * 0.85)
            lx, ly = x + int(rng.uniform(0, 0.1) * pw), floor + (edge_h - lh) // 2
            if lx + lw < W and lx > 0 and rng.random() < 0.92:
                label = render_label(rng, lw, lh, sku.ean, sku.price, sku.name)
                _paste(canvas, label, np.ones((lh, lw), np.uint8), lx, ly)
                objects.append({"cls": "label", "box": [lx, ly, lx + lw, ly + lh], "shelf": r, "sku": sku.sku,
                                "ean13": sku.ean, "price": sku.price, "name": sku.name})
            if sold_out:
                # The gap: from the board up to the height the neighbours reach.
                gap_top = floor - int(usable_h * 0.8)
                objects.append({"cls": "gap", "box": [x, gap_top, x + run_w, floor], "shelf": r, "sku": sku.sku})
            else:
                # Partly sold runs leave a gap at their end.
                partial = facings > 2 and rng.random() < 0.1
                shown = facings - (int(rng.integers(1, facings - 1)) if partial else 0)
                for f in range(facings):
                    fx = x + f * (pw + spacing) + int(rng.normal(0, 0.02 * pw))
                    if f >= shown:
                        continue
                    obj, mask = render_package(rng, sku, pw, ph)
                    fy = floor - ph
                    _paste(canvas, obj, mask, fx, fy)
                    objects.append({"cls": "product", "box": [fx, fy, fx + pw, floor], "shelf": r, "sku": sku.sku,
                                    "kind": sku.kind, "grocery_class": sku.grocery_class, "mask": (mask, fx, fy)})
                if shown < facings:
                    gx = x + shown * (pw + spacing)
                    objects.append({"cls": "gap", "box": [gx, floor - int(usable_h * 0.8), x + run_w, floor], "shelf": r, "sku": sku.sku})
            x += run_w + int(pw * rng.uniform(0.05, 0.35))
    # Products are opaque only inside their mask; rebuild the id map for visibility after occluders.
    for i, o in enumerate(objects):
        if o["cls"] == "product":
            mask, fx, fy = o.pop("mask")
            _paste(id_map[..., None], np.full((*mask.shape, 1), i + 1, np.int32), mask, fx, fy)
        else:
            x0, y0, x1, y1 = (int(v) for v in o["box"])
            id_map[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = np.where(
                id_map[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] == 0, i + 1, id_map[max(0, y0):max(0, y1), max(0, x0):max(0, x1)])
    visible_before = np.bincount(id_map.ravel(), minlength=len(objects) + 1)
    _occlude(rng, canvas, id_map, W, H)
    visible_after = np.bincount(id_map.ravel(), minlength=len(objects) + 1)
    # Lighting: a broad gradient and a vignette.
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    grad = 1 + rng.uniform(0, 0.35) * ((xx / W - 0.5) * math.cos(angle) + (yy / H - 0.5) * math.sin(angle))
    vign = 1 - rng.uniform(0, 0.35) * (((xx / W - 0.5) ** 2 + (yy / H - 0.5) ** 2) * 2)
    light = (grad * vign * rng.uniform(0.6, 1.15)).astype(np.float32)
    img = np.clip(canvas.astype(np.float32) * light[..., None] * rng.uniform(0.9, 1.1, 3)[None, None], 0, 255).astype(np.uint8)
    # Mild perspective: the camera is off to one side and a little above or below.
    src = np.float32([[0, 0], [W, 0], [W, H], [0, H]])
    jitter = rng.uniform(-0.06, 0.06, (4, 2)) * [W, H]
    dst = (src + jitter).astype(np.float32)
    Hm = cv2.getPerspectiveTransform(src, dst)
    img = cv2.warpPerspective(img, Hm, (W, H), borderMode=cv2.BORDER_REFLECT)
    # Downscale to the output size, then blur, noise, JPEG.
    img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        k = int(rng.choice([3, 5]))
        img = cv2.GaussianBlur(img, (k, k), 0)
    if rng.random() < 0.2:
        k = int(rng.integers(3, 8))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1 / k  # horizontal motion blur: a sweep along the aisle
        img = cv2.filter2D(img, -1, kernel)
    img = np.clip(img.astype(np.float32) + rng.normal(0, rng.uniform(0, 6), img.shape), 0, 255).astype(np.uint8)
    quality = int(rng.integers(40, 95))
    ok, enc = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    img = cv2.cvtColor(cv2.imdecode(enc, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    def warp_box(box: list[float]) -> list[float] | None:
        x0, y0, x1, y1 = box
        pts = np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])[None]
        p = cv2.perspectiveTransform(pts, Hm)[0] / scale
        bx0, by0 = p[:, 0].min().clip(0, width), p[:, 1].min().clip(0, height)
        bx1, by1 = p[:, 0].max().clip(0, width), p[:, 1].max().clip(0, height)
        area = (p[:, 0].max() - p[:, 0].min()) * (p[:, 1].max() - p[:, 1].min())
        if bx1 - bx0 < 2 or by1 - by0 < 2 or (bx1 - bx0) * (by1 - by0) < 0.5 * area:
            return None  # mostly outside the frame
        return [round(float(v), 1) for v in (bx0, by0, bx1, by1)]

    for i, o in enumerate(objects):
        box = warp_box(o["box"])
        if box is None:
            continue
        visible = float(visible_after[i + 1]) / max(1.0, float(visible_before[i + 1]))
        rec = {k: v for k, v in o.items() if k not in ("cls", "box")}
        rec["box"] = box
        rec["visible"] = round(visible, 3)
        if o["cls"] == "product":
            products.append(rec)
        elif o["cls"] == "gap":
            rec["width_px"] = round(box[2] - box[0], 1)
            gaps.append(rec)
        else:
            labels.append(rec)
    return img, {"width": width, "height": height, "products": products, "gaps": gaps, "labels": labels}


def render_label_photo(rng: np.random.Generator, crops: GroceryCrops, serial: int) -> tuple[np.ndarray, dict]:
    """A photo of one shelf-edge label as a handheld camera sees it: tilted, in perspective,
    blurred, with glare; for measuring barcode and price reading. The label's corners in the
    photo are part of the annotation."""
    sku = make_sku(rng, crops, serial)
    lw = int(rng.integers(300, 640))
    lh = int(lw / rng.uniform(2.6, 3.4))
    label = render_label(rng, lw, lh, sku.ean, sku.price, sku.name)
    W, H = int(lw * rng.uniform(1.3, 1.7)), int(lh * rng.uniform(1.8, 2.6))
    bg = np.empty((H, W, 3), np.uint8)
    bg[:] = rng.integers(40, 200, 3)
    corners = np.float32([[0, 0], [lw, 0], [lw, lh], [0, lh]])
    angle = math.radians(rng.uniform(-10, 10))
    rot = np.float32([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    placed = (corners - [lw / 2, lh / 2]) @ rot.T + [W / 2, H / 2]
    placed += rng.uniform(-0.05, 0.05, (4, 2)) * [lw, lh]  # perspective
    Hm = cv2.getPerspectiveTransform(corners, placed.astype(np.float32))
    warped = cv2.warpPerspective(label, Hm, (W, H))
    inside = cv2.warpPerspective(np.ones((lh, lw), np.uint8), Hm, (W, H)).astype(bool)
    img = np.where(inside[..., None], warped, bg).astype(np.float32)
    if rng.random() < 0.6:  # glare: a soft bright spot from a ceiling light
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        cx, cy, r = rng.uniform(0.2, 0.8) * W, rng.uniform(0.2, 0.8) * H, rng.uniform(0.1, 0.3) * W
        img += rng.uniform(80, 200) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))[..., None]
    img *= rng.uniform(0.6, 1.1)
    img = np.clip(img, 0, 255).astype(np.uint8)
    sigma = rng.uniform(0, 1.8)
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    img = np.clip(img + rng.normal(0, rng.uniform(0, 5), img.shape), 0, 255).astype(np.uint8)
    ann = {"width": W, "height": H, "ean13": sku.ean, "price": sku.price, "name": sku.name,
           "corners": [[round(float(x), 1), round(float(y), 1)] for x, y in placed], "blur_sigma": round(float(sigma), 2)}
    return img, ann


def _occlude(rng: np.random.Generator, canvas: np.ndarray, id_map: np.ndarray, W: int, H: int) -> None:
    """Draw 0-2 occluders and clear the id map under them."""
    for _ in range(int(rng.choice([0, 0, 1, 1, 2]))):
        mask = np.zeros((H, W), np.uint8)
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = rng.choice(["blob", "bar", "person"])
        if kind == "blob":  # a hand or a bag in front of the lens
            c = (int(rng.uniform(0, W)), int(rng.uniform(0, H)))
            axes = (int(rng.uniform(0.04, 0.12) * W), int(rng.uniform(0.05, 0.18) * H))
            cv2.ellipse(mask, c, axes, rng.uniform(0, 180), 0, 360, 1, -1)
        elif kind == "bar":  # a trolley handle
            y = int(rng.uniform(0.3, 1.0) * H)
            cv2.line(mask, (0, y), (W, y + int(rng.uniform(-0.1, 0.1) * H)), 1, int(rng.uniform(0.01, 0.03) * H))
        else:  # a passer-by at the edge of the frame
            x = int(rng.choice([rng.uniform(-0.1, 0.05), rng.uniform(0.85, 1.0)]) * W)
            cv2.rectangle(mask, (x, int(rng.uniform(0, 0.3) * H)), (x + int(0.18 * W), H), 1, -1)
            cv2.circle(mask, (x + int(0.09 * W), int(rng.uniform(0, 0.3) * H)), int(0.06 * W), 1, -1)
        m = mask.astype(bool)
        canvas[m] = color
        id_map[m] = 0


def generate(out: Path, split: str, count: int, seed: int, width: int, height: int, start: int = 0, photos: bool = True) -> None:
    labels_only = split == "labels"
    crops = GroceryCrops(GROCERY_ROOT if photos else None, "train" if split == "train" else "test")
    img_dir = out / split
    img_dir.mkdir(parents=True, exist_ok=True)
    for i in range(start, count):
        rng = np.random.default_rng([seed, i])
        if labels_only:
            img, ann = render_label_photo(rng, crops, i)
        else:
            img, ann = render_shelf(rng, crops, width, height)
        name = f"{i:06d}"
        ann.update({"image": f"{name}.jpg", "seed": [seed, i], "split": split})
        cv2.imwrite(str(img_dir / f"{name}.jpg"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
        (img_dir / f"{name}.json").write_text(json.dumps(ann))
        if (i + 1) % 100 == 0:
            print(f"{split}: {i + 1}/{count}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--split", choices=["train", "heldout", "labels"], required=True,
                   help="labels: single shelf-edge label photos (blur, tilt, glare) for label reading")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--start", type=int, default=0, help="first index, to resume or to add images")
    p.add_argument("--size", default="512x384", help="WIDTHxHEIGHT of the output images")
    p.add_argument("--no-photos", action="store_true",
                   help="procedural packages only, no Grocery Store Dataset crops (for images committed to the repository)")
    a = p.parse_args()
    width, height = (int(v) for v in a.size.lower().split("x"))
    if a.split != "train" and a.seed < 1_000_000:
        p.error("held-out seeds start at 1000000 so they never meet training seeds")
    if a.split == "train" and a.seed >= 1_000_000:
        p.error("training seeds stay below 1000000")
    generate(a.out, a.split, a.count, a.seed, width, height, a.start, photos=not a.no_photos)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
