#!/usr/bin/env python3
"""Convert MediaPipe's selfie-segmentation and BlazePose-landmark-lite TFLite
models to ONNX, verify them against the TFLite interpreter, and write the
per-model manifests used by the Rust loader.

Reproduce (from the repository root, in a venv outside the repository):

    python3 -m venv /tmp/convert-venv
    /tmp/convert-venv/bin/pip install -r models/requirements-convert.txt
    /tmp/convert-venv/bin/python models/convert_mediapipe.py

Sources (all Apache-2.0, both published by Google under the MediaPipe name):

* PyPI ``mediapipe==0.10.21`` (the last wheel that ships the .tflite files):
    mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite
    mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite
  fetched with ``pip download --no-deps`` (or given with ``--wheel``).
* npm ``@mediapipe/pose@0.5.1675469404``: package/pose_landmark_lite.tflite.
  The PyPI wheels only carry ``pose_landmark_full.tflite`` (the Python
  solution downloaded the lite/heavy variants at run time), so the lite model
  is taken from Google's npm package of the same solution, fetched with
  ``npm pack`` (or given with ``--pose-tarball``).  Its
  pose_landmark_full.tflite is byte-identical to the one in the PyPI wheel.
  Every extracted .tflite is checked against a pinned sha256.

Conversion: tf2onnx (TFLite front end), opset 17 (HardSwish needs >= 14),
float32, NHWC input/outputs exactly as in the TFLite model, batch fixed at 1.
MediaPipe's custom op ``Convolution2DTransposeBias`` (selfie models only) is
left by tf2onnx as an unknown node ``TFL_Convolution2DTransposeBias``; this
script rewrites it with the onnx API into

    Transpose(NHWC->NCHW) -> ConvTranspose(W, b) -> Transpose(NCHW->NHWC)

where W is the op's OHWI weight permuted to ONNX's (C_in, C_out, kH, kW),
strides/padding come from the op's custom options, and then lets tf2onnx's
optimizer cancel the redundant transposes (after teaching it that HardSwish is
elementwise).  Identity Reshapes are dropped and nodes/names canonicalized so
the output is byte-for-byte reproducible.

Verification: the TFLite interpreter (tensorflow-cpu) cannot run the custom
op, so the reference is the original .tflite flatbuffer in which that single
op is replaced by TFLite's builtin TRANSPOSE_CONV (which takes the same OHWI
weights plus a bias).  That replacement is itself checked, on every image,
against a NumPy transcription of MediaPipe's own kernel
(mediapipe/util/tflite/operations/transpose_conv_bias.cc).  ONNX Runtime's
outputs must then match the TFLite outputs within the per-output tolerances
in MODELS, or the script exits non-zero and writes nothing.  For an extra
check against MediaPipe's own runtime see crosscheck_mediapipe_runtime.py.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# tf2onnx's optimizer walks Python sets; pin string hashing so its choices vary
# less (canonicalize() below removes the rest of the run-to-run variation).
if __name__ == "__main__" and os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:])

import numpy as np  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "models"
SCRIPT_REL = "models/convert_mediapipe.py"

MEDIAPIPE_VERSION = "0.10.21"
NPM_POSE = "@mediapipe/pose@0.5.1675469404"
OPSET = 17

# Relative to the repository root; credit in models/README.md.
DEFAULT_IMAGE_DIR = REPO_ROOT.parent / "shared" / "data" / "media" / "people"
N_SYNTHETIC = 4  # used only when no real image is found

# Tolerances are on max |ONNX Runtime - TFLite| over all images and elements,
# in each output's own units (see "compare" for the one output checked after a
# sigmoid).  The reference is TFLite with its reference kernels
# (OpResolverType.BUILTIN_REF: plain float32 loops).  These networks are badly
# conditioned in float32 (the selfie logits reach about +-900 before the
# sigmoid, the pose segmentation logits about +-1000), so even TFLite's own
# XNNPACK and reference kernels differ (up to 2.5e-4 on the selfie masks,
# 1.1e-2 px on the pose z values), and ONNX Runtime's kernels change with the
# CPU's instruction set, so each tolerance is about 2-3x the largest spread
# seen between TFLite's own kernels; the script prints that spread too.  A
# wrong weight layout, padding or resize mode gives errors of order 0.1-1.
SEG_TOL = 5e-4  # masks are probabilities 0..1 (5e-4 = 1/8 of an 8-bit level)
# TFLite builtin TRANSPOSE_CONV vs the NumPy transcription of MediaPipe's
# kernel, per element as |diff| / (1 + |value|).
TC_REL_TOL = 1e-5

MODELS = [
    {
        "name": "selfie_segmentation",
        "task": "person-segmentation",
        "origin": "wheel",
        "member": "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
        "tflite_sha256": "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
        "source": (
            f"MediaPipe selfie segmentation (general, 256x256), PyPI mediapipe=={MEDIAPIPE_VERSION}, "
            "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite"
        ),
        "description": (
            "MediaPipe selfie segmentation (general model): per-pixel person probability "
            "for a 256x256 RGB image."
        ),
        "outputs": {
            "*": {
                "tol": SEG_TOL,
                "description": "probability that the pixel is a person, 0..1 (sigmoid already applied)",
            }
        },
    },
    {
        "name": "selfie_segmentation_landscape",
        "task": "person-segmentation",
        "origin": "wheel",
        "member": "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
        "tflite_sha256": "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
        "source": (
            f"MediaPipe selfie segmentation (landscape), PyPI mediapipe=={MEDIAPIPE_VERSION}, "
            "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite"
        ),
        "description": (
            "MediaPipe selfie segmentation (landscape model): per-pixel person probability "
            "for a 256 wide x 144 high RGB image."
        ),
        "outputs": {
            "*": {
                "tol": SEG_TOL,
                "description": "probability that the pixel is a person, 0..1 (sigmoid already applied)",
            }
        },
    },
    {
        "name": "pose_landmark_lite",
        "task": "pose-landmarks",
        "origin": "npm",
        "member": "package/pose_landmark_lite.tflite",
        "tflite_sha256": "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
        "source": (
            f"MediaPipe BlazePose GHUM landmark (lite), npm {NPM_POSE}, package/pose_landmark_lite.tflite "
            f"(not shipped in the PyPI mediapipe=={MEDIAPIPE_VERSION} wheel, whose "
            "mediapipe/modules/pose_landmark/pose_landmark_full.tflite is byte-identical to the npm package's)"
        ),
        "description": (
            "MediaPipe BlazePose GHUM landmark model (lite): 33 body landmarks plus 6 auxiliary points, "
            "pose presence, segmentation, heatmaps and world landmarks for a 256x256 RGB crop around one person."
        ),
        # Output semantics follow mediapipe/modules/pose_landmark/
        # tensors_to_pose_landmarks_and_segmentation.pbtxt and were checked
        # against the converted model's names and shapes.
        "outputs": {
            "Identity": {
                "tol": 3e-2,  # pixels of the 256x256 input (and logits for visibility/presence)
                "description": (
                    "195 = 39 landmarks x (x, y, z, visibility, presence); landmarks 0..32 are the BlazePose body "
                    "points (0 nose ... 32 right foot index), 33..38 auxiliary (33..34 used for the next ROI); "
                    "x, y in input pixels (0..256), z depth in the same pixel scale (smaller = nearer, origin "
                    "about at the hips); visibility and presence are logits (apply sigmoid)"
                ),
            },
            "Identity_1": {
                "tol": 2e-4,
                "description": (
                    "pose presence score, a probability 0..1 (sigmoid already applied in the model); "
                    "MediaPipe treats >= 0.5 as a pose present"
                ),
            },
            "Identity_2": {
                # Logits up to ~1000 in magnitude: compared as probabilities.
                "tol": 2e-2,
                "compare": "sigmoid",
                "description": (
                    "person segmentation of the 256x256 input crop, logits (apply sigmoid for a 0..1 mask)"
                ),
            },
            "Identity_3": {
                "tol": 2e-3,
                "description": (
                    "64x64 heatmap per landmark (channel i = landmark i of the 39), logits (apply sigmoid); "
                    "MediaPipe refines x, y with a 7x7 sigmoid-weighted mean around each landmark"
                ),
            },
            "Identity_4": {
                "tol": 1e-4,
                "description": (
                    "117 = 39 world landmarks x (x, y, z) in metres, origin at the centre between the hips "
                    "(only 0..32 are meaningful)"
                ),
            },
        },
    },
]


def log(msg: str) -> None:
    print(msg, flush=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------
# Fetching the sources
# --------------------------------------------------------------------------

def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vitrine-models"


def fetch_wheel(cache: Path) -> Path:
    found = sorted(cache.glob(f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    log(f"pip download --no-deps mediapipe=={MEDIAPIPE_VERSION} -> {cache}")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         f"mediapipe=={MEDIAPIPE_VERSION}", "-d", str(cache)],
        check=True,
    )
    found = sorted(cache.glob(f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"))
    if not found:
        sys.exit(f"no mediapipe-{MEDIAPIPE_VERSION} wheel appeared in {cache}")
    return found[0]


def fetch_pose_tarball(cache: Path) -> Path:
    name = "mediapipe-pose-" + NPM_POSE.rsplit("@", 1)[1] + ".tgz"
    path = cache / name
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    npm = shutil.which("npm")
    if npm is None:
        sys.exit(f"npm is needed to fetch {NPM_POSE} (or pass --pose-tarball PATH to its .tgz)")
    log(f"npm pack {NPM_POSE} -> {cache}")
    subprocess.run([npm, "pack", NPM_POSE, "--pack-destination", str(cache)], check=True,
                   stdout=subprocess.DEVNULL)
    if not path.exists():
        sys.exit(f"npm pack did not produce {path}")
    return path


def extract_tflite(spec: dict, wheel: Path, pose_tgz: Path, workdir: Path) -> Path:
    out = workdir / (spec["name"] + ".tflite")
    if spec["origin"] == "wheel":
        with zipfile.ZipFile(wheel) as z:
            data = z.read(spec["member"])
    else:
        with tarfile.open(pose_tgz, "r:gz") as t:
            member = t.extractfile(spec["member"])
            if member is None:
                sys.exit(f"{spec['member']} missing from {pose_tgz}")
            data = member.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec["tflite_sha256"]:
        sys.exit(f"{spec['member']}: sha256 {digest} != pinned {spec['tflite_sha256']}")
    out.write_bytes(data)
    log(f"  {spec['member']}: {len(data)} bytes, sha256 {digest} (pinned, ok)")
    return out


# --------------------------------------------------------------------------
# TFLite side: find the custom op, build the reference model
# --------------------------------------------------------------------------

CUSTOM_OP = "Convolution2DTransposeBias"


def _schema():
    from tensorflow.lite.python import schema_py_generated as schema_fb
    return schema_fb


def load_tflite_model(path: Path):
    s = _schema()
    buf = path.read_bytes()
    return s.ModelT.InitFromObj(s.Model.GetRootAsModel(buf, 0))


def tensor_array(model, sg, idx: int) -> np.ndarray:
    """Constant value of a tensor, following a DEQUANTIZE (fp16 weights) if needed."""
    s = _schema()
    t = sg.tensors[idx]
    buf = model.buffers[t.buffer].data
    if buf is not None and len(buf) > 0:
        dt = {s.TensorType.FLOAT32: np.float32, s.TensorType.FLOAT16: np.float16,
              s.TensorType.INT32: np.int32}[t.type]
        return np.frombuffer(bytes(bytearray(buf)), dtype=dt).reshape(list(t.shape)).astype(np.float32)
    for op in sg.operators:
        if idx in list(op.outputs):
            oc = model.operatorCodes[op.opcodeIndex]
            code = max(oc.builtinCode, oc.deprecatedBuiltinCode)
            if code == s.BuiltinOperator.DEQUANTIZE:
                return tensor_array(model, sg, op.inputs[0])
    raise ValueError(f"tensor {t.name!r} is not a constant")


def find_custom_ops(model):
    """[(subgraph, op, params)] for each Convolution2DTransposeBias."""
    found = []
    for sg in model.subgraphs:
        for op in sg.operators:
            oc = model.operatorCodes[op.opcodeIndex]
            if oc.customCode and oc.customCode.decode() == CUSTOM_OP:
                raw = bytes(bytearray(op.customOptions))
                # TfLiteTransposeConvParams as MediaPipe reads it:
                # {TfLitePadding padding; int stride_width; int stride_height;}
                padding, stride_w, stride_h = struct.unpack("<3i", raw[:12])
                found.append((sg, op, {"padding": padding, "stride_w": stride_w, "stride_h": stride_h}))
    return found


def build_reference_tflite(path: Path, out: Path):
    """Copy of the model with each Convolution2DTransposeBias replaced by the
    builtin TRANSPOSE_CONV (+bias), and the custom op's input and output added
    as extra model outputs so the replacement can be checked numerically.
    Returns (path, [(input_name, output_name, weights OHWI, bias, params)])."""
    import flatbuffers

    s = _schema()
    model = load_tflite_model(path)
    customs = find_custom_ops(model)
    checks = []
    if not customs:
        shutil.copyfile(path, out)
        return out, checks

    oc = s.OperatorCodeT()
    oc.builtinCode = s.BuiltinOperator.TRANSPOSE_CONV
    oc.deprecatedBuiltinCode = s.BuiltinOperator.TRANSPOSE_CONV
    oc.version = 3  # version 3 = with bias input
    model.operatorCodes.append(oc)
    tc_index = len(model.operatorCodes) - 1

    for sg, op, params in customs:
        x_idx, w_idx, b_idx = list(op.inputs)
        y_idx = op.outputs[0]
        if params["padding"] not in (1, 2):  # kTfLitePaddingSame / kTfLitePaddingValid
            raise ValueError(f"unexpected padding {params}")
        weights = tensor_array(model, sg, w_idx)
        bias = tensor_array(model, sg, b_idx)

        shape_buf = s.BufferT()
        shape_buf.data = np.array(sg.tensors[y_idx].shape, dtype=np.int32).tobytes()
        model.buffers.append(shape_buf)
        shape_t = s.TensorT()
        shape_t.shape = [4]
        shape_t.type = s.TensorType.INT32
        shape_t.buffer = len(model.buffers) - 1
        shape_t.name = (sg.tensors[y_idx].name or b"tconv") + b"/output_shape"
        sg.tensors.append(shape_t)
        shape_idx = len(sg.tensors) - 1

        opts = s.TransposeConvOptionsT()
        opts.padding = s.Padding.SAME if params["padding"] == 1 else s.Padding.VALID
        opts.strideW = params["stride_w"]
        opts.strideH = params["stride_h"]
        op.opcodeIndex = tc_index
        op.inputs = [shape_idx, w_idx, x_idx, b_idx]
        op.builtinOptionsType = s.BuiltinOptions.TransposeConvOptions
        op.builtinOptions = opts
        op.customOptions = None
        op.customOptionsFormat = 0

        sg.outputs = list(sg.outputs) + [x_idx, y_idx]
        checks.append((sg.tensors[x_idx].name.decode(), sg.tensors[y_idx].name.decode(),
                       weights, bias, params))

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    out.write_bytes(builder.Output())
    return out, checks


def mediapipe_transpose_conv_bias(x: np.ndarray, w: np.ndarray, b: np.ndarray, params: dict,
                                  out_hw: tuple[int, int]) -> np.ndarray:
    """NumPy transcription of MediaPipe's TransposeConvBias kernel (float32,
    NHWC input, OHWI weights): out = bias; out[y*sh - ph + fy, x*sw - pw + fx, o]
    += in[y, x, i] * w[o, fy, fx, i], out-of-range positions dropped."""
    n, ih, iw, _ = x.shape
    oc, kh, kw, _ = w.shape
    sh, sw = params["stride_h"], params["stride_w"]
    ph = pw = 0
    if params["padding"] == 1:  # SAME
        ph = max(0, kh - (ih - 1) % sh - 1) // 2
        pw = max(0, kw - (iw - 1) % sw - 1) // 2
    oh, ow = out_hw
    full = np.zeros((n, (ih - 1) * sh + kh, (iw - 1) * sw + kw, oc), dtype=np.float64)
    for fy in range(kh):
        for fx in range(kw):
            contrib = np.einsum("nyxi,oi->nyxo", x.astype(np.float64), w[:, fy, fx, :].astype(np.float64))
            full[:, fy:fy + (ih - 1) * sh + 1:sh, fx:fx + (iw - 1) * sw + 1:sw, :] += contrib
    return (full[:, ph:ph + oh, pw:pw + ow, :] + b.astype(np.float64)).astype(np.float32)


# --------------------------------------------------------------------------
# ONNX side: convert, rewrite the custom op
# --------------------------------------------------------------------------

def const_value(graph, name: str) -> np.ndarray:
    from onnx import numpy_helper
    for init in graph.initializer:
        if init.name == name:
            return numpy_helper.to_array(init)
    for node in graph.node:
        if node.op_type == "Constant" and node.output[0] == name:
            for a in node.attribute:
                if a.name == "value":
                    return numpy_helper.to_array(a.t)
    raise ValueError(f"{name} is not a constant in the ONNX graph")


def rewrite_custom_ops(model_proto, customs_by_output: dict):
    """Replace each TFL_Convolution2DTransposeBias node (NHWC in/out) by
    Transpose -> ConvTranspose -> Transpose.  customs_by_output maps the
    node's output name to the TFLite op's params and OHWI weights/bias."""
    from onnx import helper, numpy_helper

    g = model_proto.graph
    new_nodes = []
    rewritten = 0
    for node in g.node:
        if node.op_type != "TFL_" + CUSTOM_OP:
            new_nodes.append(node)
            continue
        out_name = node.output[0]
        if out_name not in customs_by_output:
            raise ValueError(f"no TFLite op found for ONNX node {node.name} ({out_name})")
        params, w_tfl, b_tfl, in_hw, out_hw = customs_by_output[out_name]
        x_name, w_name, b_name = node.input
        w = const_value(g, w_name).astype(np.float32)
        b = const_value(g, b_name).astype(np.float32)
        # tf2onnx must have carried the weights through unchanged (OHWI).
        if w.shape != w_tfl.shape or not np.array_equal(w, w_tfl):
            raise ValueError(f"{node.name}: ONNX weight {w.shape} differs from TFLite OHWI {w_tfl.shape}")
        if not np.array_equal(b.reshape(-1), b_tfl.reshape(-1)):
            raise ValueError(f"{node.name}: ONNX bias differs from TFLite bias")

        oc, kh, kw, ic = w.shape
        sh, sw = params["stride_h"], params["stride_w"]
        base = f"{node.name}_rewritten"
        w_onnx = np.ascontiguousarray(w.transpose(3, 0, 1, 2))  # OHWI -> (C_in, C_out, kH, kW)
        g.initializer.append(numpy_helper.from_array(w_onnx, base + "/W"))
        g.initializer.append(numpy_helper.from_array(b.reshape(oc), base + "/B"))

        # Padding exactly as MediaPipe computes it: for SAME, total
        # t = max(0, k - (in - 1) % s - 1), t // 2 at the start, the rest at the
        # end, output = s * (in - 1) + k - t; for VALID no padding.  Explicit
        # pads reproduce that (ONNX output = s * (in - 1) + k - pad_begin - pad_end).
        ih, iw = in_hw
        th = max(0, kh - (ih - 1) % sh - 1) if params["padding"] == 1 else 0
        tw = max(0, kw - (iw - 1) % sw - 1) if params["padding"] == 1 else 0
        pads = [th // 2, tw // 2, th - th // 2, tw - tw // 2]
        if (sh * (ih - 1) + kh - th, sw * (iw - 1) + kw - tw) != tuple(out_hw):
            raise ValueError(f"{node.name}: output size mismatch for {params}")
        attrs = dict(kernel_shape=[kh, kw], strides=[sh, sw], pads=pads)
        new_nodes.append(helper.make_node("Transpose", [x_name], [base + "/nchw_in"],
                                          name=base + "/to_nchw", perm=[0, 3, 1, 2]))
        new_nodes.append(helper.make_node("ConvTranspose", [base + "/nchw_in", base + "/W", base + "/B"],
                                          [base + "/nchw_out"], name=base + "/conv_transpose", **attrs))
        new_nodes.append(helper.make_node("Transpose", [base + "/nchw_out"], [out_name],
                                          name=base + "/to_nhwc", perm=[0, 2, 3, 1]))
        rewritten += 1
    del g.node[:]
    g.node.extend(new_nodes)
    # Drop initializers that are no longer used (the OHWI weight/bias copies).
    used = {i for n in g.node for i in n.input}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    # Clear stale shape info; it is recomputed by the checker/shape inference.
    del g.value_info[:]
    if rewritten != len(customs_by_output):
        raise ValueError(f"rewrote {rewritten} custom nodes, expected {len(customs_by_output)}")
    return model_proto


def patch_tf2onnx_transpose_optimizer() -> None:
    """tf2onnx 1.16.1's transpose optimizer does not know that HardSwish (and
    HardSigmoid) are elementwise, so it leaves an NCHW->NHWC->NCHW Transpose
    pair around each of the selfie models' 11 HardSwish nodes (on tensors up
    to 128x128x16), which in turn blocks folding the rest.  Let it push
    transposes through them like Relu/Sigmoid."""
    from tf2onnx.optimizer.transpose_optimizer import TransposeOptimizer

    if getattr(TransposeOptimizer, "_vitrine_patched", False):
        return
    original = TransposeOptimizer._initialize_handlers

    def _initialize_handlers(self):
        original(self)
        for op in ("HardSwish", "HardSigmoid"):
            self._handler_map.setdefault(op, self._simple_through_handler)

    TransposeOptimizer._initialize_handlers = _initialize_handlers
    TransposeOptimizer._vitrine_patched = True


def remove_identity_reshapes(model_proto):
    """Drop Reshape nodes whose target shape equals their input's shape.

    After moving the selfie models to NCHW, tf2onnx turns the NHWC<->NCHW
    transposes on the 1x1 squeeze-excitation tensors into Reshape
    [1,C,1,1] -> [1,C,1,1], and removes a varying subset of them from run to
    run.  Removing all of them makes the graph smaller and the result
    deterministic."""
    import onnx
    from onnx import numpy_helper

    g = model_proto.graph
    inferred = onnx.shape_inference.infer_shapes(model_proto)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = [d.dim_value for d in dims]
    inits = {i.name: i for i in g.initializer}
    graph_outputs = {o.name for o in g.output}
    replace = {}
    keep = []
    for n in g.node:
        if (n.op_type == "Reshape" and n.input[1] in inits and n.output[0] not in graph_outputs
                and n.input[0] in shapes
                and numpy_helper.to_array(inits[n.input[1]]).tolist() == shapes[n.input[0]]):
            replace[n.output[0]] = n.input[0]
            continue
        keep.append(n)

    def resolve(name):
        while name in replace:
            name = replace[name]
        return name

    for n in keep:
        n.input[:] = [resolve(i) for i in n.input]
    del g.node[:]
    g.node.extend(keep)
    used = {i for n in g.node for i in n.input}
    kept_inits = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(kept_inits)
    return model_proto, len(replace)


def canonicalize(model_proto):
    """Make the serialized model independent of tf2onnx's run-to-run choices.

    tf2onnx numbers the tensors it creates and orders nodes by walking Python
    sets of objects, so two runs give the same graph under different names and
    node orders (and so a different sha256).  Re-emit the nodes in a
    deterministic topological order (ties broken by op type, attributes and the
    canonical names of their inputs; constants are keyed by content) and rename
    every internal tensor, constant and node by that order.  Graph input and
    output names are kept."""
    from onnx import numpy_helper

    g = model_proto.graph
    inits = {i.name: i for i in g.initializer}
    init_hash = {}
    for name, t in inits.items():
        arr = numpy_helper.to_array(t)
        init_hash[name] = hashlib.sha256(
            str((t.data_type, tuple(arr.shape))).encode() + arr.tobytes()).hexdigest()[:16]
    key = {i.name: "i:" + i.name for i in g.input}
    key.update({name: "c:" + h for name, h in init_hash.items()})
    for n in g.node:
        n.attribute.sort(key=lambda a: a.name)
        n.doc_string = ""

    def node_key(n):
        attrs = b"".join(a.SerializeToString() for a in n.attribute)
        return (n.op_type, n.domain, hashlib.sha256(attrs).hexdigest(),
                tuple(key.get(i, "") for i in n.input))

    pending = list(g.node)
    ordered = []
    while pending:
        ready = [n for n in pending if all(i == "" or i in key for i in n.input)]
        if not ready:
            raise ValueError("graph is not a DAG")
        n = min(ready, key=node_key)
        pending.remove(n)
        idx = len(ordered)
        for j, o in enumerate(n.output):
            key[o] = f"n:{idx:05d}:{j}"
        ordered.append(n)

    graph_outputs = {o.name for o in g.output}
    rename = {}
    new_inits = []
    for idx, n in enumerate(ordered):
        for i in n.input:
            if i in inits and i not in rename:
                rename[i] = f"const_{len(new_inits)}"
                new_inits.append(inits[i])
        for j, o in enumerate(n.output):
            if o and o not in graph_outputs:
                rename[o] = f"t{idx}_{j}" if len(n.output) > 1 else f"t{idx}"
        n.name = f"{n.op_type}_{idx}"
    for n in ordered:
        n.input[:] = [rename.get(i, i) for i in n.input]
        n.output[:] = [rename.get(o, o) for o in n.output]
    for t in new_inits:
        t.name = rename[t.name]
    del g.node[:]
    g.node.extend(ordered)
    del g.initializer[:]
    g.initializer.extend(new_inits)
    del g.value_info[:]
    return model_proto


def convert(spec: dict, tflite_path: Path, workdir: Path):
    import onnx
    import tf2onnx
    from tf2onnx.graph import GraphUtil

    patch_tf2onnx_transpose_optimizer()

    model = load_tflite_model(tflite_path)
    customs = find_custom_ops(model)
    customs_by_output = {}
    for sg, op, params in customs:
        x = sg.tensors[op.inputs[0]]
        y = sg.tensors[op.outputs[0]]
        w = tensor_array(model, sg, op.inputs[1])
        b = tensor_array(model, sg, op.inputs[2])
        customs_by_output[y.name.decode()] = (params, w, b, (int(x.shape[1]), int(x.shape[2])),
                                              (int(y.shape[1]), int(y.shape[2])))
        log(f"  custom op {CUSTOM_OP} -> {y.name.decode()}: params {params}, weight OHWI {w.shape}")
    if customs_by_output:
        log(f"  (tf2onnx will log {CUSTOM_OP} as unresolved/unsupported; it is rewritten below)")

    model_proto, _ = tf2onnx.convert.from_tflite(str(tflite_path), opset=OPSET)
    if customs_by_output:
        model_proto = rewrite_custom_ops(model_proto, customs_by_output)
        model_proto = GraphUtil.optimize_model_proto(model_proto, catch_errors=False)

    bad = [(n.domain, n.op_type) for n in model_proto.graph.node
           if n.domain not in ("", "ai.onnx") or n.op_type.startswith("TFL_")]
    if bad:
        raise ValueError(f"non-standard ops left in {spec['name']}: {bad}")
    # Only the default domain is used; drop tf2onnx's unused ai.onnx.ml import.
    keep = [o for o in model_proto.opset_import if o.domain in ("", "ai.onnx")]
    del model_proto.opset_import[:]
    model_proto.opset_import.extend(keep)

    for vi in list(model_proto.graph.input) + list(model_proto.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if not dims or dims[0].dim_value != 1 or any(d.dim_value <= 0 for d in dims):
            raise ValueError(f"{vi.name}: expected a fixed shape with batch 1, got {dims}")
        if vi.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
            raise ValueError(f"{vi.name}: expected float32")

    model_proto, n_reshapes = remove_identity_reshapes(model_proto)
    if n_reshapes:
        log(f"  removed {n_reshapes} identity Reshape nodes")
    model_proto = canonicalize(model_proto)
    model_proto.producer_name = "tf2onnx + models/convert_mediapipe.py"
    model_proto.doc_string = f"{spec['name']}: {spec['source']}. License Apache-2.0."
    onnx.checker.check_model(model_proto, full_check=True)
    return model_proto


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------

def load_images(image_dir: Path):
    from PIL import Image

    paths = sorted(p for p in glob.glob(str(image_dir / "*"))
                   if p.lower().endswith((".jpg", ".jpeg", ".png")))
    images = []
    for p in paths:
        with Image.open(p) as im:
            images.append((Path(p).name, im.convert("RGB")))
    if images:
        return images, "real"
    log(f"  no images in {image_dir}; using {N_SYNTHETIC} synthetic images")
    rng = np.random.default_rng(20240601)
    for i in range(N_SYNTHETIC):
        h, w = 480, 640
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (w + h)], -1)
        noise = rng.integers(0, 256, size=(h, w, 3))
        # A bright ellipse, a rough stand-in for a body.
        mask = ((xx - w / 2) / (w / 6)) ** 2 + ((yy - h / 2) / (h / 2.5)) ** 2 < 1
        arr = np.where(mask[..., None], 220, (base * 0.7 + noise * 0.3)).astype(np.uint8)
        images.append((f"synthetic_{i}", Image.fromarray(arr, "RGB")))
    return images, "synthetic"


def output_spec(spec: dict, name: str) -> dict:
    return spec["outputs"].get(name) or spec["outputs"]["*"]


def sigmoid(v: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(v.astype(np.float64), -80, 80)))).astype(np.float32)


def to_input(img, height: int, width: int) -> np.ndarray:
    from PIL import Image
    arr = np.asarray(img.resize((width, height), Image.BILINEAR), dtype=np.float32) / 255.0
    return arr[None]  # 1 x H x W x 3, RGB, 0..1


def verify(spec: dict, ref_tflite: Path, tc_checks, onnx_bytes: bytes, images):
    import onnxruntime as ort
    import tensorflow as tf

    resolvers = tf.lite.experimental.OpResolverType
    interp = tf.lite.Interpreter(model_path=str(ref_tflite),
                                 experimental_op_resolver_type=resolvers.BUILTIN_REF)
    interp.allocate_tensors()
    # TFLite's default (XNNPACK) kernels, only to show TFLite's own spread.
    interp_xnn = tf.lite.Interpreter(model_path=str(ref_tflite))
    interp_xnn.allocate_tensors()
    in_det = interp.get_input_details()
    out_det = {d["name"]: d for d in interp.get_output_details()}
    if len(in_det) != 1:
        raise ValueError("expected one input")
    _, h, w, c = in_det[0]["shape"]

    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    (ort_in,) = sess.get_inputs()
    ort_outs = sess.get_outputs()

    diffs = {o.name: 0.0 for o in ort_outs}
    spread = {o.name: 0.0 for o in ort_outs}
    raw = {o.name: 0.0 for o in ort_outs}
    tc_diff = 0.0
    stats = {o.name: [] for o in ort_outs}
    for img_name, img in images:
        x = to_input(img, h, w)
        interp.set_tensor(in_det[0]["index"], x)
        interp.invoke()
        ref = {name: interp.get_tensor(d["index"]).copy() for name, d in out_det.items()}
        interp_xnn.set_tensor(interp_xnn.get_input_details()[0]["index"], x)
        interp_xnn.invoke()
        xnn = {d["name"]: interp_xnn.get_tensor(d["index"]).copy() for d in interp_xnn.get_output_details()}
        for x_name, y_name, wt, bias, params in tc_checks:
            y_ref = ref[y_name]
            y_np = mediapipe_transpose_conv_bias(ref[x_name], wt, bias, params, y_ref.shape[1:3])
            # Relative to the magnitude: the pre-sigmoid logits reach several
            # hundred, where one float32 ulp is already ~6e-5.
            tc_diff = max(tc_diff, float((np.abs(y_np - y_ref) / (1.0 + np.abs(y_ref))).max()))
        got = sess.run(None, {ort_in.name: x})
        for o, val in zip(ort_outs, got):
            r = ref[o.name]
            if r.shape != val.shape:
                raise ValueError(f"{o.name}: TFLite shape {r.shape} != ONNX {val.shape}")
            f = output_spec(spec, o.name).get("compare") == "sigmoid" and sigmoid or (lambda v: v)
            diffs[o.name] = max(diffs[o.name], float(np.abs(f(r) - f(val)).max()))
            spread[o.name] = max(spread[o.name], float(np.abs(f(r) - f(xnn[o.name])).max()))
            raw[o.name] = max(raw[o.name], float(np.abs(r - val).max()))
            stats[o.name].append(val)
    return {
        "input": (ort_in.name, ort_in.type, list(ort_in.shape)),
        "outputs": [(o.name, o.type, list(o.shape)) for o in ort_outs],
        "diffs": diffs,
        "spread": spread,
        "raw": raw,
        "tc_diff": tc_diff,
        "stats": stats,
    }


# --------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------

def toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fmt_float(v: float) -> str:
    if v == 0:
        return "0.0"
    return f"{v:.2e}".replace("e-0", "e-").replace("e+0", "e+")


def write_manifest(spec: dict, onnx_path: Path, res: dict, tol: float, measured: float, n_images: int,
                   reference: str) -> Path:
    in_name, in_type, in_shape = res["input"]
    assert in_type == "tensor(float)"
    lines = [
        f"name = {toml_str(spec['name'])}",
        f"task = {toml_str(spec['task'])}",
        f"file = {toml_str(onnx_path.name)}",
        f"sha256 = {toml_str(sha256_file(onnx_path))}",
        'license = "Apache-2.0"',
        f"source = {toml_str(spec['source'])}",
        f"script = {toml_str(SCRIPT_REL)}",
        f"description = {toml_str(spec['description'])}",
        "",
        "[check]",
        f"reference = {toml_str(reference)}",
        f"max_abs_diff = {fmt_float(tol)}",
        f"measured_max_abs_diff = {fmt_float(measured)}",
        f"images = {n_images}",
        "",
        "[[inputs]]",
        f"name = {toml_str(in_name)}",
        'dtype = "float32"',
        f"shape = [{', '.join(str(d) for d in in_shape)}]",
        'layout = "NHWC"',
        'color = "RGB"',
        "range = [0.0, 1.0]",
    ]
    for name, typ, shape in res["outputs"]:
        assert typ == "tensor(float)"
        o = spec["outputs"].get(name) or spec["outputs"]["*"]
        lines += [
            "",
            "[[outputs]]",
            f"name = {toml_str(name)}",
            'dtype = "float32"',
            f"shape = [{', '.join(str(d) for d in shape)}]",
        ]
        if len(shape) == 4:
            lines.append('layout = "NHWC"')
        lines.append(f"description = {toml_str(o['description'])}")
    path = onnx_path.parent / "manifest.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", type=Path, help=f"mediapipe-{MEDIAPIPE_VERSION} wheel (default: pip download)")
    ap.add_argument("--pose-tarball", type=Path, help=f"npm tarball of {NPM_POSE} (default: npm pack)")
    ap.add_argument("--cache", type=Path, default=default_cache_dir(), help="download cache directory")
    ap.add_argument("--images", type=Path, default=DEFAULT_IMAGE_DIR, help="directory of test images")
    ap.add_argument("--out", type=Path, default=MODELS_DIR, help="models directory to write")
    ap.add_argument("--only", action="append", help="convert only this model (repeatable)")
    args = ap.parse_args()

    import onnx
    import onnxruntime
    import tensorflow as tf
    import tf2onnx

    specs = [s for s in MODELS if not args.only or s["name"] in args.only]
    wheel = args.wheel or (fetch_wheel(args.cache) if any(s["origin"] == "wheel" for s in specs) else None)
    pose_tgz = args.pose_tarball or (fetch_pose_tarball(args.cache) if any(s["origin"] == "npm" for s in specs)
                                     else None)
    log(f"tensorflow {tf.__version__}, tf2onnx {tf2onnx.__version__}, onnx {onnx.__version__}, "
        f"onnxruntime {onnxruntime.__version__}, numpy {np.__version__}")
    images, kind = load_images(args.images)
    log(f"{len(images)} {kind} test images from {args.images if kind == 'real' else 'generator'}")
    reference = f"TFLite interpreter (tensorflow-cpu {tf.__version__}, reference kernels)"

    failed = False
    results = []
    with tempfile.TemporaryDirectory(prefix="mp2onnx-") as tmp:
        tmp = Path(tmp)
        for spec in specs:
            log(f"== {spec['name']}")
            tfl = extract_tflite(spec, wheel, pose_tgz, tmp)
            model_proto = convert(spec, tfl, tmp)
            onnx_bytes = model_proto.SerializeToString()
            ref_path, tc_checks = build_reference_tflite(tfl, tmp / (spec["name"] + ".ref.tflite"))
            res = verify(spec, ref_path, tc_checks, onnx_bytes, images)
            if tc_checks:
                ok = res["tc_diff"] <= TC_REL_TOL
                failed |= not ok
                log(f"  TFLite TRANSPOSE_CONV vs MediaPipe kernel (NumPy): max |diff| / (1 + |value|) "
                    f"{res['tc_diff']:.3g} (tolerance {TC_REL_TOL:g}) {'ok' if ok else 'FAIL'}")
            tol_max = 0.0
            measured = 0.0
            for name, d in res["diffs"].items():
                o = output_spec(spec, name)
                tol = o["tol"]
                ok = d <= tol
                failed |= not ok
                tol_max = max(tol_max, tol)
                measured = max(measured, d)
                vals = np.stack(res["stats"][name])
                how = " after sigmoid" if o.get("compare") == "sigmoid" else ""
                extra = f", raw {res['raw'][name]:.3g}" if how else ""
                log(f"  {name}: max abs diff{how} {d:.3g} (tolerance {tol:g}) {'ok' if ok else 'FAIL'}"
                    f"{extra}; TFLite XNNPACK vs reference kernels {res['spread'][name]:.3g}; "
                    f"ONNX value range [{vals.min():.3g}, {vals.max():.3g}]")
            results.append((spec, model_proto, res, tol_max, measured))

        if failed:
            log("verification FAILED; nothing written")
            return 1

        for spec, model_proto, res, tol_max, measured in results:
            d = args.out / spec["name"]
            d.mkdir(parents=True, exist_ok=True)
            onnx_path = d / (spec["name"] + ".onnx")
            onnx.save_model(model_proto, str(onnx_path))
            mpath = write_manifest(spec, onnx_path, res, tol_max, measured, len(images), reference)
            size = onnx_path.stat().st_size
            log(f"wrote {onnx_path.relative_to(args.out.parent) if args.out.parent in onnx_path.parents else onnx_path}"
                f" ({size} bytes, sha256 {sha256_file(onnx_path)}) and {mpath.name}")
            log(f"  input  {res['input'][0]} {res['input'][2]}")
            for name, _, shape in res["outputs"]:
                log(f"  output {name} {shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
