"""The shelf detector: a CenterNet-style anchor-free dense detector on EfficientNet-Lite0.

Backbone: EfficientNet-Lite0 blocks 0-10 (ImageNet weights), taps at strides 4, 8 and 16;
the stem and blocks 0-4 stay frozen in training (their outputs are cached, see train.py).
Neck: a small top-down path (1x1 laterals, nearest 2x upsampling, depthwise-separable 3x3)
to one 64-channel map at stride 4. Heads on that map:
  heatmap  3 channels (product, gap, shelf-label), a peak at each object's centre
  size     2 channels, log(width / 4), log(height / 4) in input pixels
  offset   2 channels, sub-cell position of the centre (0..1 cells)
`decode` turns the heads into the top-K boxes; the exported ONNX model includes it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "product_embedding"))
from efficientnet_lite0 import EfficientNetLite0  # noqa: E402

CLASSES = ["product", "gap", "shelf-label"]
INPUT_W, INPUT_H = 512, 384
STRIDE = 4
TOP_K = 256
FROZEN_BLOCKS = 5  # stem and blocks 0-4 (strides 2-8) keep their ImageNet weights in training
MIN_VISIBLE = 0.5  # objects hidden more than this by occluders are not targets


def sep_conv(c: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
        nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
    )


def head(cin: int, cout: int, bias: float = 0.0) -> nn.Sequential:
    # Depthwise-separable: a full 3x3 conv at stride 4 would cost more than the backbone.
    last = nn.Conv2d(64, cout, 1)
    nn.init.constant_(last.bias, bias)
    return nn.Sequential(nn.Conv2d(cin, cin, 3, padding=1, groups=cin), nn.Conv2d(cin, 64, 1), nn.ReLU(inplace=True), last)


class ShelfDetector(nn.Module):
    def __init__(self, neck: int = 64):
        super().__init__()
        self.backbone = EfficientNetLite0()
        # Blocks 11-15 (stride 32, 192/320 channels) and the classifier head are not used.
        del self.backbone._conv_head, self.backbone._bn1, self.backbone._fc
        self.backbone._blocks = self.backbone._blocks[:11]
        self.lat16 = nn.Conv2d(112, neck, 1)
        self.lat8 = nn.Conv2d(40, neck, 1)
        self.lat4 = nn.Conv2d(24, neck, 1)
        self.smooth8 = sep_conv(neck)
        self.smooth4 = sep_conv(neck)
        # Prior 0.1 for a peak, as in CenterNet, keeps the focal loss stable at the start.
        self.heatmap = head(neck, len(CLASSES), bias=-2.19)
        # Start at the training set's mean log size and the cell centre, so early steps learn
        # shapes instead of spending hundreds of steps moving the biases.
        self.size = head(neck, 2, bias=2.25)
        self.offset = head(neck, 2, bias=0.5)

    def load_backbone(self, state: dict) -> None:
        keep = {k: v for k, v in state.items() if k in self.backbone.state_dict()}
        self.backbone.load_state_dict(keep, strict=True)

    def frozen_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Stride-4 and stride-8 maps from the frozen part (stem, blocks 0-4)."""
        feats = self.backbone.features(x, upto=FROZEN_BLOCKS - 1)
        return feats[2], feats[4]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.forward_from(*self.frozen_features(x))

    def forward_from(self, c4: torch.Tensor, c8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c16 = c8
        for block in self.backbone._blocks[FROZEN_BLOCKS:]:
            c16 = block(c16)
        p = self.lat16(c16)
        p = self.smooth8(F.interpolate(p, scale_factor=2.0, mode="nearest") + self.lat8(c8))
        p = self.smooth4(F.interpolate(p, scale_factor=2.0, mode="nearest") + self.lat4(c4))
        return self.heatmap(p), self.size(p), self.offset(p)


def decode(heat_logits: torch.Tensor, size: torch.Tensor, offset: torch.Tensor, k: int = TOP_K) -> torch.Tensor:
    """[N, K, 6] rows of x1, y1, x2, y2 (input pixels), score, class id, best first."""
    n, c, h, w = heat_logits.shape
    heat = torch.sigmoid(heat_logits)
    # A 3x3 local maximum is a peak; this stands in for NMS.
    peaks = heat * (F.max_pool2d(heat, 3, stride=1, padding=1) == heat).float()
    scores, idx = peaks.reshape(n, -1).topk(k)
    cls = torch.div(idx, h * w, rounding_mode="floor")
    pix = idx - cls * (h * w)
    ys = torch.div(pix, w, rounding_mode="floor")
    xs = pix - ys * w
    size = size.reshape(n, 2, h * w)
    offset = offset.reshape(n, 2, h * w)
    g = lambda t, i: t[:, i, :].gather(1, pix)  # noqa: E731
    bw, bh = torch.exp(g(size, 0)) * STRIDE, torch.exp(g(size, 1)) * STRIDE
    cx = (xs.float() + g(offset, 0)) * STRIDE
    cy = (ys.float() + g(offset, 1)) * STRIDE
    return torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2, scores, cls.float()], dim=2)


class ShelfExport(nn.Module):
    """What the ONNX file holds: normalised image in, decoded boxes out."""

    def __init__(self, model: ShelfDetector):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return decode(*self.model(image))


def load_annotation(path: Path) -> dict[str, np.ndarray]:
    """Boxes [M, 4] and class ids [M] of the objects a detector should find."""
    ann = json.loads(path.read_text())
    boxes, classes = [], []
    for cls, key in enumerate(("products", "gaps", "labels")):
        for o in ann[key]:
            if o.get("visible", 1.0) >= MIN_VISIBLE:
                boxes.append(o["box"])
                classes.append(cls)
    return {"boxes": np.array(boxes, np.float32).reshape(-1, 4), "classes": np.array(classes, np.int64)}


def to_input(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB of INPUT_W x INPUT_H -> 3xHxW float32 in [-1, 1]."""
    return ((rgb.astype(np.float32) - 127.5) / 127.5).transpose(2, 0, 1)


def letterbox(rgb: np.ndarray) -> tuple[np.ndarray, float, int, int]:
    """Resize keeping aspect into INPUT_W x INPUT_H, pad grey; returns image, scale, pad x, pad y."""
    h, w = rgb.shape[:2]
    s = min(INPUT_W / w, INPUT_H / h)
    nw, nh = round(w * s), round(h * s)
    out = np.full((INPUT_H, INPUT_W, 3), 127, np.uint8)
    px, py = (INPUT_W - nw) // 2, (INPUT_H - nh) // 2
    out[py:py + nh, px:px + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    return out, s, px, py


def make_targets(boxes: np.ndarray, classes: np.ndarray, max_objs: int = 192) -> dict[str, np.ndarray]:
    """Heatmap with an elliptical Gaussian per object (sigma = box side / 6, as in TTFNet),
    and size/offset regression targets at each centre cell."""
    oh, ow = INPUT_H // STRIDE, INPUT_W // STRIDE
    heat = np.zeros((len(CLASSES), oh, ow), np.float32)
    index = np.zeros(max_objs, np.int64)
    size = np.zeros((max_objs, 2), np.float32)
    offset = np.zeros((max_objs, 2), np.float32)
    mask = np.zeros(max_objs, np.float32)
    ys, xs = np.arange(oh, dtype=np.float32)[:, None], np.arange(ow, dtype=np.float32)[None, :]
    # Large objects first so a small one drawn later keeps its own peak.
    order = np.argsort(-(boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    n = 0
    for i in order[:max_objs]:
        x0, y0, x1, y1 = boxes[i] / STRIDE
        bw, bh = x1 - x0, y1 - y0
        if bw < 0.5 or bh < 0.5:
            continue
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        ix, iy = min(int(cx), ow - 1), min(int(cy), oh - 1)
        sx, sy = max(bw / 6, 0.5), max(bh / 6, 0.5)
        g = np.exp(-((xs - ix) ** 2) / (2 * sx * sx) - ((ys - iy) ** 2) / (2 * sy * sy))
        np.maximum(heat[classes[i]], g, out=heat[classes[i]])
        heat[classes[i], iy, ix] = 1.0
        index[n] = iy * ow + ix
        size[n] = np.log([bw, bh])
        offset[n] = [cx - ix, cy - iy]
        mask[n] = 1
        n += 1
    return {"heat": heat, "index": index, "size": size, "offset": offset, "mask": mask}


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced pixel-wise focal loss (alpha 2, beta 4)."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    neg_w = torch.pow(1 - target, 4)
    pos_loss = torch.log(p) * torch.pow(1 - p, 2) * pos
    neg_loss = torch.log(1 - p) * torch.pow(p, 2) * neg_w * (1 - pos)
    num_pos = pos.sum().clamp(min=1)
    return -(pos_loss.sum() + neg_loss.sum()) / num_pos


def regression_loss(pred: torch.Tensor, index: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    n, c = pred.shape[:2]
    picked = pred.reshape(n, c, -1).gather(2, index[:, None, :].expand(n, c, index.shape[1])).permute(0, 2, 1)
    m = mask[..., None]
    return (F.l1_loss(picked * m, target * m, reduction="sum")) / m.sum().clamp(min=1)


def ap50(dets: list[np.ndarray], gts: list[np.ndarray]) -> float:
    """VOC-style all-point average precision at IoU 0.5 for one class.
    dets[i]: [D, 5] x1 y1 x2 y2 score; gts[i]: [G, 4]."""
    records, total = [], sum(len(g) for g in gts)
    if total == 0:
        return float("nan")
    for i, (d, g) in enumerate(zip(dets, gts)):
        used = np.zeros(len(g), bool)
        for row in d[np.argsort(-d[:, 4])]:
            hit = False
            if len(g):
                iou = box_iou(row[None, :4], g)[0]
                j = int(np.argmax(np.where(used, -1, iou)))
                if iou[j] >= 0.5 and not used[j]:
                    used[j] = hit = True
            records.append((row[4], hit))
    if not records:
        return 0.0
    records.sort(key=lambda r: -r[0])
    tp = np.cumsum([r[1] for r in records])
    fp = np.cumsum([not r[1] for r in records])
    recall = tp / total
    precision = tp / np.maximum(tp + fp, 1e-9)
    mrec = np.concatenate([[0], recall, [1]])
    mpre = np.concatenate([[0], precision, [0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    steps = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ix0 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy0 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix1 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area = lambda t: (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)

