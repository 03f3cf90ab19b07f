"""Take the PP-OCRv4 text detector, recogniser and the direction classifier out of the
`rapidocr-onnxruntime` wheel (Apache-2.0), and write them with their manifests:

  models/ocr/det/  ch_PP-OCRv4_det_infer.onnx          text detection (DB), probability map
  models/ocr/rec/  ch_PP-OCRv4_rec_infer.onnx          text recognition (SVTR-LCNet, CTC)
                   ppocr_keys.txt                      its character list, one per line
  models/ocr/cls/  ch_ppocr_mobile_v2.0_cls_infer.onnx 0 / 180 degree text-line classifier

  python fetch_ppocr.py                 # downloads the pinned wheel with pip
  python fetch_ppocr.py --wheel FILE    # or uses a wheel already here
  python fetch_ppocr.py --check         # only verifies the files against the manifests

Only the standard library and pip (plus `onnx`, to read the character list from the rec
model's metadata) are needed. The sha256 of each file is pinned below, so a different wheel
fails loudly instead of silently changing the models.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "rapidocr-onnxruntime==1.4.4"
HERE = Path(__file__).resolve().parent

# Each model: folder, file in the wheel, pinned sha256, manifest body (without name/file/sha256).
MODELS = {
    "det": {
        "file": "ch_PP-OCRv4_det_infer.onnx",
        "sha256": "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
        "task": "text-detection",
        "description": (
            "PP-OCRv4 mobile text detector (DB). Input: BGR image scaled so both sides are multiples of 32 "
            "(RapidOCR limits the short side to >= 736 px), (x / 255 - 0.5) / 0.5. Output: per-pixel text "
            "probability at input size; threshold 0.3, boxes with mean score >= 0.5, unclip ratio 1.6."
        ),
        "inputs": [("x", [-1, 3, -1, -1], "NCHW", "BGR", [-1.0, 1.0], "BGR image, sides multiples of 32")],
        "outputs": [("sigmoid_0.tmp_0", [-1, 1, -1, -1], "NCHW", "text probability 0..1, same size as the input")],
    },
    "rec": {
        "file": "ch_PP-OCRv4_rec_infer.onnx",
        "sha256": "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
        "task": "text-recognition",
        "description": (
            "PP-OCRv4 mobile text recogniser (Chinese + Latin + digits). Input: one text line, BGR, resized to "
            "height 48 keeping aspect (width up to 48 * max aspect, zero-padded right), (x / 255 - 0.5) / 0.5. "
            "Output: per time step probabilities over 6625 classes for CTC greedy decoding: index 0 is the CTC "
            "blank, 1..=6623 are the lines of ppocr_keys.txt (the model's metadata key 'character'), 6624 is a space."
        ),
        "inputs": [("x", [-1, 3, 48, -1], "NCHW", "BGR", [-1.0, 1.0], "text-line crops, height 48")],
        "outputs": [("softmax_11.tmp_0", [-1, -1, 6625], None, "per time step (width / 8) class probabilities")],
    },
    "cls": {
        "file": "ch_ppocr_mobile_v2.0_cls_infer.onnx",
        "sha256": "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
        "task": "text-direction",
        "description": (
            "PP-OCR mobile v2.0 text-line direction classifier. Input: text line, BGR, resized to height 48 and "
            "width <= 192 (zero-padded), (x / 255 - 0.5) / 0.5. Output: probabilities of [0 deg, 180 deg]; "
            "RapidOCR rotates a line when 180 deg scores >= 0.9."
        ),
        "inputs": [("x", [-1, 3, 48, 192], "NCHW", "BGR", [-1.0, 1.0], "text-line crops, 48 x 192")],
        "outputs": [("save_infer_model/scale_0.tmp_1", [-1, 2], "NC", "probabilities of 0 and 180 degrees")],
    },
}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def manifest(key: str, spec: dict) -> str:
    name = Path(spec["file"]).stem
    lines = [
        f"name = {toml_str(name)}",
        f"task = {toml_str(spec['task'])}",
        f"file = {toml_str(spec['file'])}",
        f"sha256 = {toml_str(spec['sha256'])}",
        'license = "Apache-2.0"',
        f"source = {toml_str('PaddleOCR PP-OCR models converted to ONNX by RapidOCR, PyPI ' + WHEEL + ', rapidocr_onnxruntime/models/' + spec['file'])}",
        'script = "models/ocr/fetch_ppocr.py"',
        # Run many times per scan: the CPU arena keeps its working memory between runs.
        "memory_arena = true",
        f"description = {toml_str(spec['description'])}",
    ]
    for name_, shape, layout, color, rng, desc in spec["inputs"]:
        lines += ["", "[[inputs]]", f"name = {toml_str(name_)}", 'dtype = "float32"', f"shape = {shape}",
                  f'layout = "{layout}"', f'color = "{color}"', f"range = [{rng[0]}, {rng[1]}]", f"description = {toml_str(desc)}"]
    for name_, shape, layout, desc in spec["outputs"]:
        lines += ["", "[[outputs]]", f"name = {toml_str(name_)}", 'dtype = "float32"', f"shape = {shape}"]
        if layout:
            lines.append(f'layout = "{layout}"')
        lines.append(f"description = {toml_str(desc)}")
    return "\n".join(lines) + "\n"


def check() -> bool:
    ok = True
    for key, spec in MODELS.items():
        path = HERE / key / spec["file"]
        actual = sha256(path) if path.is_file() else "missing"
        good = actual == spec["sha256"]
        ok &= good
        print(f"{'ok ' if good else 'BAD'} {path.relative_to(HERE.parent.parent)} {actual}")
    return ok


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wheel", type=Path, help="a downloaded rapidocr_onnxruntime wheel")
    p.add_argument("--check", action="store_true", help="only verify the files")
    a = p.parse_args()
    if a.check:
        sys.exit(0 if check() else 1)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = a.wheel
        if wheel is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, WHEEL], check=True)
            wheel = next(Path(tmp).glob("rapidocr_onnxruntime-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            for key, spec in MODELS.items():
                out_dir = HERE / key
                out_dir.mkdir(exist_ok=True)
                out = out_dir / spec["file"]
                out.write_bytes(zf.read(f"rapidocr_onnxruntime/models/{spec['file']}"))
                actual = sha256(out)
                if actual != spec["sha256"]:
                    out.unlink()
                    sys.exit(f"{spec['file']} from {wheel} has sha256 {actual}, expected {spec['sha256']}: not the pinned model")
                (out_dir / "manifest.toml").write_text(manifest(key, spec))
                print(f"wrote {out.relative_to(HERE.parent.parent)} ({out.stat().st_size} bytes) and its manifest")
    import onnx  # only needed for the character list

    rec = onnx.load(str(HERE / "rec" / MODELS["rec"]["file"]))
    chars = next(p.value for p in rec.metadata_props if p.key == "character")
    keys = chars.split("\n")
    if len(keys) != 6623:
        sys.exit(f"expected 6623 characters in the rec model's metadata, found {len(keys)}")
    (HERE / "rec" / "ppocr_keys.txt").write_text("\n".join(keys) + "\n", encoding="utf-8")
    print(f"wrote models/ocr/rec/ppocr_keys.txt ({len(keys)} characters)")


if __name__ == "__main__":
    main()
