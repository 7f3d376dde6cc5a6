"""``nlpcli predict``: batch throughput on all of dev.tsv next to the same scikit-learn pipeline
called directly from Python, and the cold latency of one text (Okt and Kiwi recipes).

    python3 bench/bench_classify_predict.py

Models: logistic regression with the defaults of ``nlpcli train`` (word 1-2-gram tf-idf,
min_df 3, max_df 0.9, C 3.5), trained on train.tsv tokenized with the Okt recipe (morphs --stem
--norm) and with a Kiwi recipe (morphs); made once under /tmp/nlpcli-cache/.

Throughput, whole processes, median of ``--repeat`` runs, both writing one TSV row per review
(the input columns, then prediction and probability):

* raw: ``nlpcli predict MODEL dev.tsv --label-column label -o OUT`` (tokenizes with the
  model's recipe, Okt in this process) against a plain script: KoNLPy ``Okt().morphs(text,
  stem=True, norm=True)`` per text, then the model's fitted ``TfidfVectorizer.transform`` and
  ``LogisticRegression.predict_proba``;
* tokenized: ``nlpcli predict MODEL dev.okt.tsv --tokenized`` against the plain script on the
  same tokens (only reading, scikit-learn and writing: nlpcli's own overhead).

The script checks that both sides predict the same labels. Latency: ``echo TEXT | nlpcli
predict MODEL`` from a cold start (a new process: Python, imports, model load, tagger start),
median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402
from bench_classify import tokenized  # noqa: E402

DIRECT = r"""
import sys, time
import joblib
path, model_path, out_path, mode = sys.argv[1:5]
model = joblib.load(model_path)["payload"]          # the fitted scikit-learn objects
vectorizer, clf = model.extractor.vectorizer, model.estimator
with open(path, encoding="utf-8") as fh:
    header = fh.readline().rstrip("\n").split("\t")
    rows = [line.rstrip("\n").split("\t") for line in fh]
i = header.index("document")
texts = [r[i] for r in rows]
if mode == "raw":
    from konlpy.tag import Okt
    okt = Okt()
    texts = [" ".join(okt.morphs(t, stem=True, norm=True)) if t else "" for t in texts]
proba = clf.predict_proba(vectorizer.transform(texts))
best = proba.argmax(axis=1)
labels = model.labels
with open(out_path, "w", encoding="utf-8") as out:
    out.write("\t".join(header + ["prediction", "probability"]) + "\n")
    for r, j, p in zip(rows, best, proba):
        out.write("\t".join(r + [labels[j], f"{p[j]:.4f}"]) + "\n")
"""


def train_model(name: str, train_tsv: Path, recipe: list[str]) -> Path:
    model = c.CACHE / "bench-classify" / f"predict-{name}.joblib"
    if not model.exists():
        model.parent.mkdir(parents=True, exist_ok=True)
        c.measure(
            f"train {name}",
            c.NLPCLI + ["--quiet", "train", str(train_tsv), "--tokenized", *recipe, "-o", str(model)],
        )
    return model


def kiwi_train() -> Path:
    """train.tsv through Kiwi morphs (no --stem): the cache other benchmarks share."""
    out = c.CACHE / "reviews-train.kiwi.tsv"
    if not out.exists():
        tmp = out.with_suffix(".part")
        c.measure(
            "tokenize kiwi",
            c.NLPCLI
            + [
                "preprocess",
                "morphs",
                "--tagger",
                "kiwi",
                "-j",
                "2",
                str(c.data_file("train.tsv")),
                "-o",
                str(tmp),
            ],
        )
        tmp.rename(out)
    return out


def predictions(path: Path) -> list[str]:
    return c.tsv_column(path, "prediction")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--save", help="write the results as JSON here")
    args = ap.parse_args()
    print(c.machine(), file=sys.stderr)
    work = c.workdir("bench-predict-")
    okt_model = train_model("okt", tokenized("train.tsv", "reviews-train.okt.tsv"), ["--tagger", "okt"])
    kiwi_model = train_model("kiwi", kiwi_train(), ["--tagger", "kiwi", "--no-stem"])
    dev_raw = c.data_file("dev.tsv")
    dev_tok = tokenized("dev.tsv", "reviews-dev.okt.tsv")
    script = work / "direct.py"
    script.write_text(DIRECT)
    n_docs = len(c.tsv_column(dev_raw))
    results: dict = {"documents": n_docs, "throughput": {}, "latency": {}}
    rows = []
    for mode, data in (("tokenized", dev_tok), ("raw", dev_raw)):
        walls = {"nlpcli": [], "sklearn": []}
        for _ in range(args.repeat if mode == "tokenized" else 1):  # raw: Okt dominates, one run each
            ours = work / f"nlpcli-{mode}.tsv"
            theirs = work / f"direct-{mode}.tsv"
            command = (
                c.NLPCLI
                + [
                    "--quiet",
                    "predict",
                    str(okt_model),
                    str(data),
                    "--label-column",
                    "label",
                    "-o",
                    str(ours),
                ]
                + (["--tokenized"] if mode == "tokenized" else [])
            )
            walls["nlpcli"].append(c.measure(f"nlpcli {mode}", command, interval=0.05).wall)
            walls["sklearn"].append(
                c.measure(
                    f"direct {mode}",
                    [c.PYTHON, str(script), str(data), str(okt_model), str(theirs), mode],
                    interval=0.05,
                ).wall
            )
        a, b = predictions(ours), predictions(theirs)
        agree = sum(x == y for x, y in zip(a, b)) / len(a)
        ours_s, theirs_s = statistics.median(walls["nlpcli"]), statistics.median(walls["sklearn"])
        ratio = theirs_s / ours_s  # throughput of nlpcli relative to scikit-learn's
        results["throughput"][mode] = {
            "nlpcli_s": ours_s,
            "sklearn_s": theirs_s,
            "runs": walls,
            "nlpcli_docs_per_s": n_docs / ours_s,
            "sklearn_docs_per_s": n_docs / theirs_s,
            "throughput_ratio": ratio,
            "same_predictions": agree,
        }
        rows.append(
            [
                mode,
                f"{ours_s:.2f}",
                f"{n_docs / ours_s:,.0f}",
                f"{theirs_s:.2f}",
                f"{n_docs / theirs_s:,.0f}",
                f"{ratio:.2f}x",
                f"{agree:.2%}",
            ]
        )
    print(f"\npredict on dev.tsv ({n_docs:,} reviews), whole processes, median of runs")
    c.print_table(
        rows,
        ["input", "nlpcli s", "docs/s", "sklearn s", "docs/s", "nlpcli/sklearn throughput", "same labels"],
    )
    rows = []
    text = work / "one.txt"
    text.write_text("정말 재밌어요\n", encoding="utf-8")
    for name, model in (("okt", okt_model), ("kiwi", kiwi_model)):
        walls = [
            c.measure(f"latency {name}", c.NLPCLI + ["predict", str(model)], stdin=text, interval=0.01).wall
            for _ in range(max(3, args.repeat))
        ]
        results["latency"][name] = {
            "median_s": statistics.median(walls),
            "runs": walls,
            "model_mib": model.stat().st_size / 2**20,
        }
        rows.append(
            [
                name,
                f"{statistics.median(walls):.2f}",
                " ".join(f"{w:.2f}" for w in walls),
                f"{model.stat().st_size / 2**20:.1f}",
            ]
        )
    print("\ncold single-text latency: echo '정말 재밌어요' | nlpcli predict MODEL")
    c.print_table(rows, ["recipe", "median s", "runs", "model MiB"])
    if args.save:
        Path(args.save).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
