"""Product recognition with the exported embedding model on the Grocery Store Dataset
(Klasson et al., WACV 2019, MIT): 81 fine classes, query = every test-split image,
gallery = train-split images, nearest neighbour by cosine similarity.

  python eval.py [--oneshot-draws 5]

Prints, and ends with one line of JSON holding, top-1 / top-5 accuracy for
  full:      every train image in the gallery (2640), classes ranked by their best match
  centroid:  one mean embedding per class from all its train images
  one_shot:  one train image per class (a random draw, averaged over --oneshot-draws draws)
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
GROCERY = HERE.parents[2] / "shared" / "data" / "grocery-store-dataset" / "dataset"
SIZE = 224


def preprocess(bgr: np.ndarray) -> np.ndarray:
    """BGR uint8 image -> 3x224x224 float32 RGB in [-1, 1]: short side to 224, centre crop."""
    h, w = bgr.shape[:2]
    s = SIZE / min(h, w)
    img = cv2.resize(bgr, (max(SIZE, round(w * s)), max(SIZE, round(h * s))), interpolation=cv2.INTER_AREA)
    y, x = (img.shape[0] - SIZE) // 2, (img.shape[1] - SIZE) // 2
    img = cv2.cvtColor(img[y:y + SIZE, x:x + SIZE], cv2.COLOR_BGR2RGB)
    return ((img.astype(np.float32) - 127.5) / 127.5).transpose(2, 0, 1)


def read_split(name: str) -> tuple[list[Path], np.ndarray]:
    paths, labels = [], []
    for line in (GROCERY / f"{name}.txt").read_text().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 2 and parts[0]:
            paths.append(GROCERY / parts[0])
            labels.append(int(parts[1]))
    return paths, np.array(labels)


def embed(sess: ort.InferenceSession, paths: list[Path], batch: int = 16) -> np.ndarray:
    out = []
    for i in range(0, len(paths), batch):
        x = np.stack([preprocess(cv2.imread(str(p))) for p in paths[i:i + batch]])
        out.append(sess.run(None, {"image": x})[0])
        if (i // batch) % 20 == 0:
            print(f"  embedded {i + len(x)}/{len(paths)}", flush=True)
    return np.concatenate(out)


def topk_by_class(sim: np.ndarray, gallery_labels: np.ndarray, k: int = 5) -> np.ndarray:
    """For each query the k best classes, a class scored by its most similar gallery image."""
    classes = np.unique(gallery_labels)
    best = np.stack([sim[:, gallery_labels == c].max(axis=1) for c in classes], axis=1)
    return classes[np.argsort(-best, axis=1)[:, :k]]


def accuracy(ranked: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    return float((ranked[:, 0] == truth).mean()), float((ranked == truth[:, None]).any(axis=1).mean())


def scores(train_e: np.ndarray, train_y: np.ndarray, test_e: np.ndarray, test_y: np.ndarray, oneshot_draws: int) -> dict:
    """Top-1 / top-5 with the three galleries, for unit-length embeddings."""
    sim = test_e @ train_e.T
    results: dict = {"classes": int(len(np.unique(train_y))), "queries": len(test_y), "gallery": len(train_y)}
    results["full_top1"], results["full_top5"] = accuracy(topk_by_class(sim, train_y), test_y)
    classes = np.unique(train_y)
    centroids = np.stack([train_e[train_y == c].mean(0) for c in classes])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    results["centroid_top1"], results["centroid_top5"] = accuracy(classes[np.argsort(-(test_e @ centroids.T), axis=1)[:, :5]], test_y)
    rng = np.random.default_rng(0)
    one = []
    for _ in range(oneshot_draws):
        pick = np.array([rng.choice(np.flatnonzero(train_y == c)) for c in classes])
        one.append(accuracy(topk_by_class(test_e @ train_e[pick].T, train_y[pick]), test_y))
    results["one_shot_top1"], results["one_shot_top5"] = (float(np.mean([o[i] for o in one])) for i in (0, 1))
    results["one_shot_draws"] = oneshot_draws
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--oneshot-draws", type=int, default=5)
    p.add_argument("--cache", type=Path, help="npz to keep embeddings in between runs")
    p.add_argument("--model", type=Path, default=HERE / "product_embedding.onnx", help="the ONNX file to measure (e.g. the int8 one quantize.py writes)")
    a = p.parse_args()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    sess = ort.InferenceSession(str(a.model), opts, providers=["CPUExecutionProvider"])
    train_paths, train_y = read_split("train")
    test_paths, test_y = read_split("test")
    if a.cache and a.cache.exists():
        z = np.load(a.cache)
        train_e, test_e = z["train"], z["test"]
    else:
        train_e, test_e = embed(sess, train_paths), embed(sess, test_paths)
        if a.cache:
            np.savez(a.cache, train=train_e, test=test_e)
    results = scores(train_e, train_y, test_e, test_y, a.oneshot_draws)
    for key, value in results.items():
        print(f"{key:>16}: {value:.4f}" if isinstance(value, float) else f"{key:>16}: {value}")
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in results.items()}))


if __name__ == "__main__":
    main()
