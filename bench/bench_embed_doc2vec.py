"""Doc2vec document vectors as sentiment features: ../shared/data/reviews train -> dev accuracy.

Each configuration is trained by ``nlpcli embed train --algo doc2vec``; features are the vectors
the model infers for the train and dev reviews (``Doc2VecFeatures.transform``, what
``nlpcli train --vectorizer MODEL`` uses), then scikit-learn's logistic regression. The levers
measured: the 512k unlabeled reviews as extra training documents, more epochs, word
training in DBOW (``--dbow-words``), and DM + DBOW vectors concatenated.

Tokens: Kiwi morphs for train, dev and unlabeled alike (one tokenizer for all three; Okt on
the 512k unlabeled reviews would take ~20 minutes here), cached in /tmp/nlpcli-cache/.

    python bench/bench_embed_doc2vec.py [--only NAME ...]

Results: bench/results/embed_doc2vec.json (updated after each configuration).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REVIEWS = os.path.join(HERE, "..", "..", "shared", "data", "reviews")
CACHE = "/tmp/nlpcli-cache"
TOKENIZED = {
    "train": (os.path.join(REVIEWS, "train.tsv"), os.path.join(CACHE, "reviews-train.kiwi.tsv")),
    "dev": (os.path.join(REVIEWS, "dev.tsv"), os.path.join(CACHE, "reviews-dev.kiwi.tsv")),
    "unlabeled": (
        os.path.join(REVIEWS, "unlabeled.txt.gz"),
        os.path.join(CACHE, "reviews-unlabeled.kiwi.txt"),
    ),
}
BASE = [
    "--algo",
    "doc2vec",
    "--dim",
    "100",
    "--min-count",
    "2",
    "--window",
    "5",
    "--workers",
    "2",
    "--seed",
    "1",
]
#: name -> (training corpora, options); each lever is measured against the baseline (the usual
#: setting: PV-DBOW, 100 dims, 10 epochs, min count 2, train only), then the levers that helped together
CONFIGS = {
    "dbow-train-10ep": (["train"], ["--arch", "dbow", "--epochs", "10"]),
    "dbow-train-20ep": (["train"], ["--arch", "dbow", "--epochs", "20"]),
    "dbow-unlabeled-10ep": (["train", "unlabeled"], ["--arch", "dbow", "--epochs", "10"]),
    "dbow-words-train-10ep": (["train"], ["--arch", "dbow", "--dbow-words", "--epochs", "10"]),
    "dm-train-10ep": (["train"], ["--arch", "dm", "--epochs", "10"]),
    "dbow-unlabeled-20ep": (["train", "unlabeled"], ["--arch", "dbow", "--epochs", "20"]),
    "dm-unlabeled-20ep": (["train", "unlabeled"], ["--arch", "dm", "--epochs", "20"]),
}
CONCAT = {
    "dm+dbow-train-10ep": ("dm-train-10ep", "dbow-train-10ep"),
    "dm+dbow-unlabeled-20ep": ("dm-unlabeled-20ep", "dbow-unlabeled-20ep"),
}


def tokenize() -> None:
    for src, dst in TOKENIZED.values():
        if not os.path.exists(dst):
            cmd = ["nlpcli", "preprocess", "morphs", "--tagger", "kiwi", "-j", "2", src, "-o", dst]
            print("$", " ".join(cmd), file=sys.stderr, flush=True)
            start = time.perf_counter()
            subprocess.run(cmd, check=True)
            print(f"  {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)


def read_tsv(path: str) -> tuple[list[str], np.ndarray]:
    texts, labels = [], []
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        ti, li = header.index("document"), header.index("label")
        for line in fh:
            cols = line.rstrip("\n").split("\t")
            texts.append(cols[ti])
            labels.append(int(cols[li]))
    return texts, np.array(labels)


def model_path(name: str) -> str:
    return os.path.join(CACHE, f"bench-d2v-{name}.model")


def features(name: str, texts: dict) -> dict:
    from nlpcli.embed.docs import load_features

    feats, _ = load_features(model_path(name))
    start = time.perf_counter()
    out = {split: feats.transform(t) for split, t in texts.items()}
    out["infer_seconds"] = time.perf_counter() - start
    return out


def accuracy(X_train, y_train, X_dev, y_dev) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X_train)
    clf = LogisticRegression(max_iter=2000, C=1.0).fit(scaler.transform(X_train), y_train)
    return float((clf.predict(scaler.transform(X_dev)) == y_dev).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", help="configuration names (default: all)")
    args = ap.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    tokenize()
    train_texts, y_train = read_tsv(TOKENIZED["train"][1])
    dev_texts, y_dev = read_tsv(TOKENIZED["dev"][1])
    texts = {"train": train_texts, "dev": dev_texts}
    out_path = os.path.join(HERE, "results", "embed_doc2vec.json")
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    results = json.load(open(out_path)) if os.path.exists(out_path) else {}
    cached_features = {}
    for name, (corpora, options) in CONFIGS.items():
        if args.only and name not in args.only:
            continue
        cmd = [
            "nlpcli",
            "embed",
            "train",
            *[TOKENIZED[c][1] for c in corpora],
            "-c",
            "document",
            "-o",
            model_path(name),
            *BASE,
            *options,
        ]
        print("$", " ".join(cmd), file=sys.stderr, flush=True)
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        train_s = time.perf_counter() - start
        f = features(name, texts)
        cached_features[name] = f
        acc = accuracy(f["train"], y_train, f["dev"], y_dev)
        results[name] = {
            "command": " ".join(cmd),
            "train_seconds": round(train_s, 1),
            "infer_seconds": round(f["infer_seconds"], 1),
            "dev_accuracy": acc,
        }
        print(
            f"{name}: dev accuracy {acc:.4f} (train {train_s:.0f} s, inference {f['infer_seconds']:.0f} s)",
            flush=True,
        )
        json.dump(results, open(out_path, "w"), indent=1)
    for name, (a, b) in CONCAT.items():
        if args.only and name not in args.only:
            continue
        if not all(os.path.exists(model_path(m)) for m in (a, b)):
            continue
        fa = cached_features.get(a) or features(a, texts)
        fb = cached_features.get(b) or features(b, texts)
        acc = accuracy(
            np.hstack([fa["train"], fb["train"]]), y_train, np.hstack([fa["dev"], fb["dev"]]), y_dev
        )
        results[name] = {"models": [a, b], "dev_accuracy": acc}
        print(f"{name}: dev accuracy {acc:.4f}", flush=True)
        json.dump(results, open(out_path, "w"), indent=1)


if __name__ == "__main__":
    main()
