"""The demo shelf the kiosk scans on a fresh install without a camera: the demo catalog's grocery
products (SKUs, barcodes, prices from `crates/store/src/seed.rs`, copied into
`demo_catalog.json`) as procedural packages on three shelf rows, with one sold-out run (an empty
gap above its label) and one shelf-edge label whose price is wrong. No photos; everything is
drawn by this script, so the image is the project's own.

  python demo_shelf.py                       # writes assets/demo/shelf_demo.jpg, .json, _planogram.toml
  python demo_shelf.py --catalog FILE --out DIR

The JSON has the same fields as `shelf_synth.py`'s annotations (products, gaps, labels; boxes
[x1, y1, x2, y2] in image pixels) plus `location`, the scan's expected facings per SKU, and,
per label, the catalog price and whether the printed one is wrong.

The image is 1600x1200 so that each label's EAN-13 has about 2 pixels per module, enough for a
barcode reader; the detector sees it letterboxed to 512x384, where three rows look like the
synthetic training shelves.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from shelf_synth import Sku, ean13_modules, render_label, render_package

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WIDTH, HEIGHT, SCALE = 1600, 1200, 2
SEED = 20251129

# Shelf rows top to bottom: runs of (SKU, facings, what is special about the run).
LAYOUT = [
    [("GR-OATS-1KG", 4, None), ("GR-HONEY-350", 4, None)],
    [("GR-HONEY-350", 3, None), ("GR-OATS-1KG", 3, "sold_out"), ("GR-ESPR-250", 2, "wrong_price")],
    [("GR-OATS-1KG", 3, None), ("GR-ESPR-250", 3, None)],
]


def load_catalog(path: Path) -> dict[str, dict]:
    catalog = json.loads(path.read_text())
    by_sku = {}
    for product in catalog["products"]:
        ean13_modules(product["barcode"])  # refuses a malformed or wrongly checked barcode
        by_sku[product["sku"]] = product
    missing = {sku for row in LAYOUT for sku, _, _ in row} - by_sku.keys()
    if missing:
        raise SystemExit(f"{path}: no entry for {sorted(missing)}")
    return by_sku


def render(catalog: dict[str, dict]) -> tuple[np.ndarray, dict]:
    rng = np.random.default_rng(SEED)
    W, H = WIDTH * SCALE, HEIGHT * SCALE
    canvas = np.empty((H, W, 3), np.uint8)
    canvas[:] = (np.array([214, 208, 196], np.float32)[None, None] * np.linspace(0.88, 1.03, H)[:, None, None]).astype(np.uint8)
    board, edge = np.array([150, 120, 90], np.uint8), np.array([70, 72, 80], np.uint8)
    margin_top, rows = 40, len(LAYOUT)
    row_h = (H - margin_top) / rows
    edge_h = int(row_h * 0.14)
    objects = []
    for r, runs in enumerate(LAYOUT):
        top = margin_top + r * row_h
        floor = int(top + row_h - edge_h)
        usable_h = floor - int(top)
        canvas[floor:floor + edge_h] = edge
        canvas[floor - 3 * SCALE:floor] = board
        shadow = int(usable_h * 0.15)
        canvas[int(top):int(top) + shadow] = (canvas[int(top):int(top) + shadow] * np.linspace(0.65, 1.0, shadow)[:, None, None]).astype(np.uint8)
        x = 60
        for sku_code, facings, special in runs:
            item = catalog[sku_code]
            look = item["look"]
            sku = Sku(sku=sku_code, ean=item["barcode"], price=item["price"], name=item["label_name"], kind=look["kind"],
                      w=look["w"], h=look["h"], palette=np.array(look["palette"]), text=look["text"], crop=None, grocery_class=None)
            pw, ph = int(sku.w * usable_h), int(sku.h * usable_h)
            spacing = int(pw * 0.06)
            run_w = facings * pw + (facings - 1) * spacing
            lw, lh = int(row_h * 0.9), int(edge_h * 0.85)
            printed = item["wrong_price"] if special == "wrong_price" else item["price"]
            label = render_label(rng, lw, lh, sku.ean, printed, sku.name)
            lx, ly = x, floor + (edge_h - lh) // 2
            canvas[ly:ly + lh, lx:lx + lw] = label
            objects.append({"cls": "label", "box": [lx, ly, lx + lw, ly + lh], "shelf": r, "sku": sku_code, "ean13": sku.ean,
                            "price": printed, "catalog_price": item["price"], "wrong_price": printed != item["price"], "name": sku.name})
            if special == "sold_out":
                objects.append({"cls": "gap", "box": [x, floor - int(usable_h * 0.8), x + run_w, floor], "shelf": r, "sku": sku_code})
            else:
                for f in range(facings):
                    fx = x + f * (pw + spacing)
                    obj, mask = render_package(rng, sku, pw, ph)
                    region = canvas[floor - ph:floor, fx:fx + pw]
                    np.copyto(region, obj, where=mask[..., None].astype(bool))
                    objects.append({"cls": "product", "box": [fx, floor - ph, fx + pw, floor], "shelf": r, "sku": sku_code, "kind": sku.kind})
            x += max(run_w, lw) + int(usable_h * 0.12)
        if x > W:
            raise SystemExit(f"row {r} is {x} px wide, more than the {W} px canvas")
    # Gentle store lighting and a slight angle; no occluders, blur or heavy noise: a clean demo.
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    light = (1 + 0.12 * (xx / W - 0.5)) * (1 - 0.15 * (((xx / W - 0.5) ** 2 + (yy / H - 0.5) ** 2) * 2))
    img = np.clip(canvas.astype(np.float32) * light[..., None], 0, 255).astype(np.uint8)
    src = np.float32([[0, 0], [W, 0], [W, H], [0, H]])
    dst = np.float32([[0.01 * W, 0.015 * H], [0.99 * W, 0], [W, H], [0, 0.985 * H]])
    Hm = cv2.getPerspectiveTransform(src, dst)
    img = cv2.warpPerspective(img, Hm, (W, H), borderMode=cv2.BORDER_REPLICATE)
    img = cv2.resize(img, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    img = np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)

    def warp_box(box: list[int]) -> list[float]:
        x0, y0, x1, y1 = box
        p = cv2.perspectiveTransform(np.float32([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]]), Hm)[0] / SCALE
        return [round(float(v), 1) for v in (p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max())]

    ann = {"width": WIDTH, "height": HEIGHT, "location": "A5/B1/S3", "seed": SEED, "script": "models/shelf_synth/demo_shelf.py",
           "products": [], "gaps": [], "labels": []}
    for o in objects:
        rec = {k: v for k, v in o.items() if k != "cls"}
        rec["box"] = warp_box(o["box"])
        if o["cls"] == "gap":
            rec["width_px"] = round(rec["box"][2] - rec["box"][0], 1)
        ann[{"product": "products", "gap": "gaps", "label": "labels"}[o["cls"]]].append(rec)
    facings: dict[str, int] = {}
    for p in ann["products"]:
        facings[p["sku"]] = facings.get(p["sku"], 0) + 1
    ann["facings"] = dict(sorted(facings.items()))
    return img, ann


def planogram_toml() -> str:
    """The plan the demo shelf was stocked to: every run as laid out, the sold-out one included
    (so a scan reports it missing). Rows count from the top, as `vitrine-shelf` reads them."""
    out = ["# The demo shelf's planogram (models/shelf_synth/demo_shelf.py); rows from the top.\n"]
    for r, runs in enumerate(LAYOUT, start=1):
        expected = ", ".join(f'{{ sku = "{sku}", facings = {facings} }}' for sku, facings, _ in runs)
        out.append(f"\n[[rows]]\nrow = {r}\nexpected = [{expected}]\n")
    return "".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--catalog", type=Path, default=HERE / "demo_catalog.json", help="products: sku, barcode, price, label_name, look")
    p.add_argument("--out", type=Path, default=REPO / "assets" / "demo")
    a = p.parse_args()
    img, ann = render(load_catalog(a.catalog))
    a.out.mkdir(parents=True, exist_ok=True)
    ann["image"] = "shelf_demo.jpg"
    cv2.imwrite(str(a.out / "shelf_demo.jpg"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    (a.out / "shelf_demo.json").write_text(json.dumps(ann, indent=1) + "\n")
    (a.out / "shelf_demo_planogram.toml").write_text(planogram_toml())
    print(f"wrote {a.out / 'shelf_demo.jpg'}: {len(ann['products'])} products, {len(ann['gaps'])} gap, {len(ann['labels'])} labels, facings {ann['facings']}")


if __name__ == "__main__":
    main()
