#!/usr/bin/env python3
"""The mirror pipeline in Python (onnxruntime + OpenCV), stage for stage the same as the Rust
one in crates/mirror: decode -> mirror + resize + normalise -> infer -> mask upsample, blurred
background at 1/4 scale, blend -> JPEG. `vitrine bench mirror` runs it as the peer.

Prints per-stage milliseconds and, last, one line of JSON with the figures."""

import argparse
import json
import time

import cv2
import numpy as np
import onnxruntime as ort

BLUR_SCALE = 4


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--quality", type=int, default=80)
    args = ap.parse_args()

    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    _, in_h, in_w, _ = inp.shape
    cap = cv2.VideoCapture(args.input)
    if not cap.isOpened():
        raise SystemExit(f"cannot open {args.input}")

    def read():
        ok, frame = cap.read()
        if not ok:
            cap.open(args.input)
            ok, frame = cap.read()
        return frame

    def process(frame, t):
        frame = cv2.flip(frame, 1)
        small = cv2.resize(frame, (in_w, in_h), interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        x = (rgb.astype(np.float32) / 255.0)[None]
        t["preprocess_ms"] += time.perf_counter()
        t0 = time.perf_counter()
        mask = session.run(None, {inp.name: x})[0][0, :, :, 0]
        t["infer_ms"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        h, w = frame.shape[:2]
        # The idiomatic fast path in Python: every pixel operation stays inside OpenCV.
        alpha = cv2.resize(np.clip(mask, 0.0, 1.0), (w, h), interpolation=cv2.INTER_LINEAR)
        bg = cv2.resize(frame, (w // BLUR_SCALE, h // BLUR_SCALE), interpolation=cv2.INTER_AREA)
        bg = cv2.GaussianBlur(bg, (0, 0), 4.0)
        bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
        out = cv2.blendLinear(frame, bg, alpha, 1.0 - alpha)
        t["composite_ms"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        ok, jpeg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, args.quality])
        assert ok and len(jpeg) > 0
        t["encode_ms"] += time.perf_counter() - t0

    scratch = {k: 0.0 for k in ("preprocess_ms", "infer_ms", "composite_ms", "encode_ms")}
    for _ in range(10):
        f = read()
        scratch["preprocess_ms"] -= time.perf_counter()
        process(f, scratch)

    t = {k: 0.0 for k in ("decode_ms", "preprocess_ms", "infer_ms", "composite_ms", "encode_ms")}
    start = time.perf_counter()
    for _ in range(args.frames):
        t0 = time.perf_counter()
        frame = read()
        t["decode_ms"] += time.perf_counter() - t0
        t["preprocess_ms"] -= time.perf_counter()
        process(frame, t)
    secs = time.perf_counter() - start
    figures = {k: v * 1000.0 / args.frames for k, v in t.items()}
    figures["fps"] = args.frames / secs
    figures["width"], figures["height"] = frame.shape[1], frame.shape[0]
    print(" | ".join(f"{k} {v:.2f}" for k, v in figures.items()))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
