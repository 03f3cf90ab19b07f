#!/usr/bin/env python3
"""Optional second check: the committed .onnx files against MediaPipe's own
runtime, which (unlike tensorflow's TFLite interpreter) has the real
Convolution2DTransposeBias kernel.

convert_mediapipe.py verifies against TFLite with that one custom op swapped
for the builtin TRANSPOSE_CONV; this script closes the remaining gap by
running the original .tflite files through MediaPipe 0.10.21's calculators,
as its selfie-segmentation and pose graphs do:

    ImageToTensorCalculator (0..1 float range) -> InferenceCalculator
    (with TfLiteCustomOpResolverCalculator's resolver) -> TensorsToFloatsCalculator

The images are resized to the model size beforehand, so the
ImageToTensorCalculator transform is the identity and both sides see the
same pixels.  MediaPipe pins protobuf 4 while tf2onnx pins protobuf 3, so this
needs its own venv:

    python3 -m venv /tmp/mediapipe-venv
    /tmp/mediapipe-venv/bin/pip install -r models/requirements-crosscheck.txt
    /tmp/mediapipe-venv/bin/python models/crosscheck_mediapipe_runtime.py

It uses the same sources, pinned tflite hashes, images and tolerances as
convert_mediapipe.py and exits non-zero if any output is out of tolerance.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import convert_mediapipe as cm  # noqa: E402


def run_mediapipe(model_path: Path, h: int, w: int, n_out: int, delegate: str, frames):
    import mediapipe as mp
    from google.protobuf import text_format
    from mediapipe.calculators.core import split_vector_calculator_pb2  # noqa: F401 (registers options)
    from mediapipe.calculators.tensor import image_to_tensor_calculator_pb2  # noqa: F401
    from mediapipe.calculators.tensor import inference_calculator_pb2  # noqa: F401
    from mediapipe.framework import calculator_pb2
    from mediapipe.python import packet_creator, packet_getter

    splits = " ".join(f"ranges {{ begin: {i} end: {i + 1} }}" for i in range(n_out))
    txt = f"""
input_stream: "image"
node {{
  calculator: "ImageToTensorCalculator"
  input_stream: "IMAGE:image"
  output_stream: "TENSORS:tensors"
  options {{ [mediapipe.ImageToTensorCalculatorOptions.ext] {{
    output_tensor_width: {w} output_tensor_height: {h} keep_aspect_ratio: false
    output_tensor_float_range {{ min: 0.0 max: 1.0 }} border_mode: BORDER_ZERO }} }}
}}
node {{ calculator: "TfLiteCustomOpResolverCalculator" output_side_packet: "OP_RESOLVER:op_resolver" }}
node {{
  calculator: "InferenceCalculator"
  input_stream: "TENSORS:tensors"
  output_stream: "TENSORS:out"
  input_side_packet: "OP_RESOLVER:op_resolver"
  options {{ [mediapipe.InferenceCalculatorOptions.ext] {{
    model_path: "{model_path}" delegate {{ {delegate} {{}} }} }} }}
}}
node {{
  calculator: "SplitTensorVectorCalculator"
  input_stream: "out"
  {" ".join(f'output_stream: "t{i}"' for i in range(n_out))}
  options {{ [mediapipe.SplitVectorCalculatorOptions.ext] {{ {splits} }} }}
}}
"""
    for i in range(n_out):
        txt += f'node {{ calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:t{i}" output_stream: "FLOATS:f{i}" }}\n'
        txt += f'output_stream: "f{i}"\n'
    config = text_format.Parse(txt, calculator_pb2.CalculatorGraphConfig())
    results = {i: [] for i in range(n_out)}
    graph = mp.CalculatorGraph(graph_config=config)
    for i in range(n_out):
        graph.observe_output_stream(
            f"f{i}", lambda _name, p, i=i: results[i].append(
                np.array(packet_getter.get_float_list(p), dtype=np.float32)))
    graph.start_run()
    for ts, frame in enumerate(frames):
        packet = packet_creator.create_image_frame(image_format=mp.ImageFormat.SRGB,
                                                   data=np.ascontiguousarray(frame))
        graph.add_packet_to_input_stream("image", packet.at(ts))
    graph.close()
    return [np.stack(results[i]) for i in range(n_out)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", type=Path)
    ap.add_argument("--pose-tarball", type=Path)
    ap.add_argument("--cache", type=Path, default=cm.default_cache_dir())
    ap.add_argument("--images", type=Path, default=cm.DEFAULT_IMAGE_DIR)
    ap.add_argument("--models", type=Path, default=cm.MODELS_DIR)
    args = ap.parse_args()

    import mediapipe
    import onnxruntime as ort
    from PIL import Image

    print(f"mediapipe {mediapipe.__version__}, onnxruntime {ort.__version__}")
    wheel = args.wheel or cm.fetch_wheel(args.cache)
    pose_tgz = args.pose_tarball or cm.fetch_pose_tarball(args.cache)
    images, kind = cm.load_images(args.images)
    print(f"{len(images)} {kind} test images")
    failed = False
    with tempfile.TemporaryDirectory(prefix="mpcheck-") as tmp:
        for spec in cm.MODELS:
            print(f"== {spec['name']}")
            tfl = cm.extract_tflite(spec, wheel, pose_tgz, Path(tmp))
            onnx_path = args.models / spec["name"] / (spec["name"] + ".onnx")
            sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
            (inp,) = sess.get_inputs()
            _, h, w, _ = inp.shape
            frames = [np.asarray(img.resize((w, h), Image.BILINEAR), dtype=np.uint8) for _, img in images]
            got = [sess.run(None, {inp.name: (f.astype(np.float32) / 255.0)[None]}) for f in frames]
            outs = sess.get_outputs()
            for delegate in ("xnnpack", "tflite"):
                ref = run_mediapipe(tfl, h, w, len(outs), delegate, frames)
                for i, o in enumerate(outs):
                    spec_o = cm.output_spec(spec, o.name)
                    f = cm.sigmoid if spec_o.get("compare") == "sigmoid" else (lambda v: v)
                    onnx_vals = np.stack([g[i].reshape(-1) for g in got])
                    d = float(np.abs(f(onnx_vals) - f(ref[i])).max())
                    ok = d <= spec_o["tol"]
                    failed |= not ok
                    how = " after sigmoid" if spec_o.get("compare") == "sigmoid" else ""
                    print(f"  MediaPipe ({delegate:7s}) vs ONNX {o.name}: max abs diff{how} {d:.3g} "
                          f"(tolerance {spec_o['tol']:g}) {'ok' if ok else 'FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
