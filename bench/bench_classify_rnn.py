"""``nlpcli train --model rnn`` on the full review set: dev accuracy against training time.

    python3 bench/bench_classify_rnn.py [--only NAME] [--train-docs N]

Data: train.tsv (150,000) / dev.tsv (25,000), tokenized once with the default recipe (Okt
morphs --stem --norm) into /tmp/nlpcli-cache/ and trained with ``--tokenized`` (see
bench_classify.py). CPU only, ``--threads 2``, ``--max-time 30`` (minutes): the run keeps the
best epoch by dev accuracy (early stopping on dev.tsv, which is also where the score is read).
One whole ``nlpcli train`` process per configuration; the per-epoch history (loss, dev
accuracy, elapsed seconds) is read back from the saved model's manifest.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402
from bench_classify import tokenized  # noqa: E402

COMMON = ["--model", "rnn", "--threads", "2", "--device", "cpu", "--max-time", "30", "--seed", "0"]

#: name -> options added to COMMON
CONFIGS: dict[str, list[str]] = {
    "bigru-max": [
        "--cell",
        "gru",
        "--bidirectional",
        "--hidden",
        "128",
        "--embedding-dim",
        "128",
        "--pooling",
        "max",
        "--dropout",
        "0.4",
        "--batch-size",
        "64",
        "--lr",
        "2e-3",
        "--epochs",
        "6",
        "--patience",
        "2",
        "--min-count",
        "2",
        "--max-length",
        "80",
    ],
    "bigru-max-sub3-decay": [
        "--cell",
        "gru",
        "--bidirectional",
        "--hidden",
        "128",
        "--embedding-dim",
        "128",
        "--pooling",
        "max",
        "--dropout",
        "0.5",
        "--batch-size",
        "64",
        "--lr",
        "2e-3",
        "--lr-decay",
        "0.5",
        "--subwords",
        "3",
        "--epochs",
        "5",
        "--patience",
        "2",
        "--min-count",
        "2",
        "--max-length",
        "80",
    ],
    # the best configuration, embeddings initialized from word2vec on Okt tokens of the unlabeled
    # reviews + train.tsv (see --embeddings below; made once by this script when missing)
    "bigru-max-sub3-w2v": [
        "--cell",
        "gru",
        "--bidirectional",
        "--hidden",
        "128",
        "--embedding-dim",
        "128",
        "--pooling",
        "max",
        "--dropout",
        "0.4",
        "--batch-size",
        "64",
        "--lr",
        "2e-3",
        "--subwords",
        "3",
        "--epochs",
        "6",
        "--patience",
        "1",
        "--min-count",
        "2",
        "--max-length",
        "80",
        "--embeddings",
        "@W2V",
    ],
    # the same with the learning rate halved after each epoch (the pretrained start peaks early)
    "bigru-max-sub3-w2v-decay": [
        "--cell",
        "gru",
        "--bidirectional",
        "--hidden",
        "128",
        "--embedding-dim",
        "128",
        "--pooling",
        "max",
        "--dropout",
        "0.4",
        "--batch-size",
        "64",
        "--lr",
        "2e-3",
        "--lr-decay",
        "0.5",
        "--subwords",
        "3",
        "--epochs",
        "6",
        "--patience",
        "2",
        "--min-count",
        "2",
        "--max-length",
        "80",
        "--embeddings",
        "@W2V",
    ],
    "bilstm-last": [
        "--cell",
        "lstm",
        "--bidirectional",
        "--hidden",
        "128",
        "--embedding-dim",
        "128",
        "--pooling",
        "last",
        "--dropout",
        "0.4",
        "--batch-size",
        "64",
        "--lr",
        "2e-3",
        "--epochs",
        "6",
        "--patience",
        "2",
        "--min-count",
        "2",
        "--max-length",
        "80",
    ],
}


W2V = c.CACHE / "reviews-okt-w2v-128.model"


def word_vectors(train: Path) -> Path:
    """word2vec (skip-gram, 128 dims) on the Okt tokens (morphs --stem --norm) of the 512k
    unlabeled reviews and of train.tsv: in-domain vectors for the RNN's embedding layer."""
    if W2V.exists():
        return W2V
    unlabeled = c.CACHE / "unlabeled.okt.txt"
    if not unlabeled.exists():
        c.measure(
            "tokenize unlabeled",
            c.NLPCLI
            + [
                "--quiet",
                "preprocess",
                "morphs",
                "--stem",
                "--norm",
                "-j",
                "2",
                str(c.data_file("unlabeled.txt.gz")),
                "-o",
                str(unlabeled),
            ],
        )
    c.measure(
        "word2vec",
        c.NLPCLI
        + [
            "--quiet",
            "embed",
            "train",
            str(unlabeled),
            str(train),
            "--algo",
            "word2vec",
            "--arch",
            "skipgram",
            "--dim",
            "128",
            "--window",
            "5",
            "--min-count",
            "2",
            "--epochs",
            "5",
            "--workers",
            "2",
            "-o",
            str(W2V),
        ],
    )
    return W2V


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", help=f"configurations (default: bigru-max): {', '.join(CONFIGS)}")
    ap.add_argument("--train-docs", type=int, help="train on the first N reviews only (quick look)")
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more nlpcli train options")
    ap.add_argument("--out", default=str(c.CACHE / "bench-classify"))
    ap.add_argument("--save", help="write the rows as JSON here")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(c.machine(), file=sys.stderr)
    train = tokenized("train.tsv", "reviews-train.okt.tsv")
    dev = tokenized("dev.tsv", "reviews-dev.okt.tsv")
    if args.train_docs:
        train = c.head_file(train, args.train_docs + 1, out / f"train-{args.train_docs}.tsv")
    rows = []
    for name in args.only or ["bigru-max"]:
        options = COMMON + CONFIGS[name] + args.extra
        if "@W2V" in options:
            options[options.index("@W2V")] = str(word_vectors(train))
        model = out / f"rnn-{name}.pt"
        metrics = out / f"rnn-{name}.json"
        command = c.NLPCLI + [
            "train",
            str(train),
            "--tokenized",
            "--dev",
            str(dev),
            "-o",
            str(model),
            "--metrics-out",
            str(metrics),
            *options,
        ]
        m = c.measure(name, command, interval=1.0)
        result = json.loads(metrics.read_text())
        from nlpcli import artifacts

        data = artifacts.load(model).manifest["data"]
        row = {
            "name": name,
            "options": " ".join(options),
            "wall_s": round(m.wall, 1),
            "train_s": data["train_seconds"],
            "accuracy": round(result["accuracy"], 4),
            "macro_f1": round(result["macro_f1"], 4),
            "best_epoch": data["best_epoch"],
            "stopped": data["stopped"],
            "history": data["history"],
            "model_mib": round(model.stat().st_size / 2**20, 1),
            "peak_rss_mib": round(m.peak_rss / 2**20),
        }
        print(json.dumps(row), flush=True)
        for h in data["history"]:
            print(
                f"  epoch {h['epoch']}: loss {h['loss']:.4f}, dev accuracy {h['accuracy']:.4f}, "
                f"{h['seconds']:.0f} s",
                flush=True,
            )
        rows.append(row)
    headers = ["name", "accuracy", "macro_f1", "best_epoch", "stopped", "train_s", "wall_s", "model_mib"]
    print()
    c.print_table([[r[h] for h in headers] for r in rows], headers)
    if args.save:
        Path(args.save).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
