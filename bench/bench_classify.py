"""``nlpcli train`` (logreg, mlp, linreg) on the full review sets: dev scores and training times.

    python3 bench/bench_classify.py [--only NAME ...]

Data: ../shared/data/reviews: train.tsv (150,000 labelled reviews) / dev.tsv (25,000) for the
classifiers, ratings-train.tsv (100,000) / ratings-dev.tsv (10,000) for the 1-10 star regression.
The texts are tokenized once with the default recipe (``nlpcli preprocess morphs --stem --norm
-j 2``; Okt) into /tmp/nlpcli-cache/ and trained with ``--tokenized``: the model then stores
the same recipe and holds exactly what ``nlpcli train train.tsv`` on the raw file gives (which
only adds the ~4 minutes of Okt tokenization), so ``predict`` takes raw text.

Each configuration is one whole ``nlpcli train`` process (reading, features, fit, dev report,
saving); the dev figures come from its ``--metrics-out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

#: name -> (data set, options added to ``nlpcli train TRAIN --tokenized --dev DEV``)
CONFIGS: dict[str, tuple[str, list[str]]] = {
    "logreg-defaults": ("reviews", []),
    "logreg-word+char14": ("reviews", ["--char-ngram", "1,4", "--C", "3"]),
    "logreg-word+char14-C6": ("reviews", ["--char-ngram", "1,4", "--C", "6"]),
    # character n-grams of the raw text (what stemming removes: endings, spelling, ㅋㅋ): trained
    # from the raw files (Okt runs here, -j 2), since the raw text must reach the features
    "logreg-word+rawchar14": (
        "reviews-raw",
        ["--char-ngram", "1,4", "--char-source", "text", "--C", "3", "-j", "2"],
    ),
    "mlp": (
        "reviews",
        [
            "--model",
            "mlp",
            "--hidden-sizes",
            "128",
            "--max-features",
            "50000",
            "--epochs",
            "8",
            "--batch-size",
            "256",
        ],
    ),
    "logreg-word+rawchar14-C5": (
        "reviews-raw",
        ["--char-ngram", "1,4", "--char-source", "text", "--C", "5", "-j", "2"],
    ),
    "logreg-word+rawchar14-C1.5": (
        "reviews-raw",
        ["--char-ngram", "1,4", "--char-source", "text", "--C", "1.5", "-j", "2"],
    ),
    "logreg-word+rawchar14-C2": (
        "reviews-raw",
        ["--char-ngram", "1,4", "--char-source", "text", "--C", "2", "-j", "2"],
    ),
    # word 1-3-grams: the best found (an offline grid over C, char ranges, min_df, sublinear tf)
    "logreg-word13+rawchar14-C3": (
        "reviews-raw",
        ["--ngram", "1,3", "--char-ngram", "1,4", "--char-source", "text", "--C", "3", "-j", "2"],
    ),
    "linreg-ridge-char14": (
        "ratings",
        [
            "--model",
            "linreg",
            "--task",
            "regression",
            "--ngram",
            "1,1",
            "--char-ngram",
            "1,4",
            "--min-df",
            "2",
            "--max-df",
            "1.0",
            "--alpha",
            "1.0",
        ],
    ),
    "linreg-ridge-word+char14": (
        "ratings",
        ["--model", "linreg", "--task", "regression", "--char-ngram", "1,4", "--alpha", "1.0"],
    ),
    "linreg-lad-word+char14": (
        "ratings",
        [
            "--model",
            "linreg",
            "--task",
            "regression",
            "--loss",
            "absolute",
            "--char-ngram",
            "1,4",
            "--C",
            "0.3",
        ],
    ),
    "linreg-lad-word+char14-C1": (
        "ratings",
        [
            "--model",
            "linreg",
            "--task",
            "regression",
            "--loss",
            "absolute",
            "--char-ngram",
            "1,4",
            "--C",
            "1",
        ],
    ),
    "linreg-lad-word+char14-C0.1": (
        "ratings",
        [
            "--model",
            "linreg",
            "--task",
            "regression",
            "--loss",
            "absolute",
            "--char-ngram",
            "1,4",
            "--C",
            "0.1",
        ],
    ),
    "linreg-lad-word+rawchar14": (
        "ratings-raw",
        [
            "--model",
            "linreg",
            "--task",
            "regression",
            "--loss",
            "absolute",
            "--char-ngram",
            "1,4",
            "--char-source",
            "text",
            "--C",
            "0.3",
            "-j",
            "2",
        ],
    ),
}

SETS = {
    "reviews": ("train.tsv", "dev.tsv", "label", "reviews-{}.okt.tsv"),
    "ratings": ("ratings-train.tsv", "ratings-dev.tsv", "rating", "{}.okt.tsv"),
}


def tokenized(name: str, cache_name: str) -> Path:
    """The Okt (morphs --stem --norm) tokenization of a data file, made once and cached."""
    out = c.CACHE / cache_name
    if not out.exists():
        c.CACHE.mkdir(parents=True, exist_ok=True)
        print(f"tokenizing {name} -> {out} (once)", file=sys.stderr)
        tmp = out.with_suffix(".part")
        c.measure(
            f"tokenize {name}",
            c.NLPCLI
            + ["preprocess", "morphs", "--stem", "--norm", "-j", "2", str(c.data_file(name)), "-o", str(tmp)],
        )
        tmp.rename(out)
    return out


def data_paths(kind: str) -> tuple[Path, Path, str]:
    train, dev, label, pattern = SETS[kind]
    return (tokenized(train, pattern.format(train[:-4])), tokenized(dev, pattern.format(dev[:-4])), label)


def run(name: str, outdir: Path, extra: list[str] | None = None) -> dict:
    kind, options = CONFIGS[name] if name in CONFIGS else ("reviews", [])
    options = options + (extra or [])
    if kind.endswith("-raw"):  # the raw files, tokenized by the recipe inside the run
        train_name, dev_name, label, _ = SETS[kind[:-4]]
        train, dev, given = c.data_file(train_name), c.data_file(dev_name), []
    else:
        train, dev, label = data_paths(kind)
        given = ["--tokenized"]
    model = outdir / f"{name}.joblib"
    metrics = outdir / f"{name}.json"
    command = c.NLPCLI + [
        "--quiet",
        "train",
        str(train),
        *given,
        "--dev",
        str(dev),
        "--label-column",
        label,
        "-o",
        str(model),
        "--metrics-out",
        str(metrics),
        *options,
    ]
    m = c.measure(name, command)
    result = json.loads(metrics.read_text())
    row = {
        "name": name,
        "options": " ".join(options),
        "wall_s": round(m.wall, 1),
        "peak_rss_mib": round(m.peak_rss / 2**20),
        "model_mib": round(model.stat().st_size / 2**20, 1),
        "model": str(model),
    }
    if result["task"] == "classification":
        row.update(accuracy=round(result["accuracy"], 4), macro_f1=round(result["macro_f1"], 4))
    else:
        row.update(mae=round(result["mae"], 4), rmse=round(result["rmse"], 4), r2=round(result["r2"], 4))
    print(json.dumps(row, ensure_ascii=False), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", help=f"configurations to run (default: all): {', '.join(CONFIGS)}")
    ap.add_argument(
        "--extra", nargs=argparse.REMAINDER, default=[], help="more nlpcli train options (with --only)"
    )
    ap.add_argument("--out", default=str(c.CACHE / "bench-classify"), help="where models and metrics go")
    ap.add_argument("--save", help="write the rows as JSON here")
    args = ap.parse_args()
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    print(c.machine(), file=sys.stderr)
    rows = [run(name, outdir, args.extra) for name in (args.only or CONFIGS)]
    headers = ["name", "accuracy", "macro_f1", "mae", "rmse", "wall_s", "peak_rss_mib", "model_mib"]
    print()
    c.print_table([[r.get(h, "") for h in headers] for r in rows], headers)
    if args.save:
        Path(args.save).write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
