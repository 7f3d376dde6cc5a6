"""``train --model sgd`` side by side with ``train --model logreg``: dev accuracy, wall and CPU
time of the whole process, and the docs/s of each SGD epoch; then SGD regression on the ratings.

All on the Okt tokens (``preprocess morphs --stem --norm``, the defaults' recipe) of
``train.tsv``/``dev.tsv`` and ``ratings-train.tsv``/``ratings-dev.tsv``, made once into
``bench/out/`` and trained with ``--tokenized``. The compared commands run alternately (logreg,
sgd, logreg, sgd, ... with ``--repeat``), so load from other jobs on the machine falls on both.

Targets: sgd defaults >= 0.865 dev accuracy; the best configuration (``--best``) >= 0.875;
ratings MAE <= 1.60; sgd's wall time below logreg's on the same input and features.

    python3 bench/bench_sgd.py [--repeat 1] [--save bench/results/sgd.json]
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import NLPCLI, REPO, data_file, measure, print_table  # noqa: E402

OUT = REPO / "bench" / "out"
FEATURES = ["--ngram", "1,2", "--min-df", "3", "--max-df", "0.9"]  # the train defaults, said out loud


def tokenized(name: str) -> Path:
    """``bench/out/NAME.okt.tsv``: the Okt tokens of ``NAME.tsv``, made once."""
    dest = OUT / f"{name}.okt.tsv"
    if not dest.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        print(f"tokenizing {name}.tsv with Okt (minutes) ...", file=sys.stderr)
        measure(
            f"okt {name}",
            NLPCLI
            + ["preprocess", "morphs", "--stem", "--norm", "-j", "2", data_file(f"{name}.tsv"), "-o", dest],
        )
    return dest


def train(label: str, args: list, metrics: Path, tokens: bool = True) -> dict:
    m = measure(
        label, NLPCLI + ["train", "--metrics-out", metrics] + (["--tokenized"] if tokens else []) + args
    )
    result = json.loads(metrics.read_text())
    row = {
        "label": label,
        "wall": round(m.wall, 1),
        "cpu": round(m.cpu, 1),
        "peak_rss_mib": m.peak_rss >> 20,
        "accuracy": result.get("accuracy"),
        "mae": result.get("mae"),
        "command": shlex.join(map(str, m.command)),
    }
    model = Path(args[args.index("-o") + 1])
    if "--model" in args and args[args.index("--model") + 1] == "sgd":
        manifest = _manifest(model)
        row["epochs"] = [
            {k: e.get(k) for k in ("epoch", "seconds", "docs_per_second", "dev_score")}
            for e in manifest["data"]["epochs"]
        ]
        row["best_epoch"] = manifest["data"].get("best_epoch")
    print(
        f"{label}: wall {row['wall']} s, cpu {row['cpu']} s, accuracy {row['accuracy']}, mae {row['mae']}",
        file=sys.stderr,
        flush=True,
    )
    return row


def _manifest(path: Path) -> dict:
    sys.path.insert(0, str(REPO))
    from nlpcli import artifacts

    return artifacts.read_manifest(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=1, help="alternating logreg/sgd pairs (median wall)")
    ap.add_argument(
        "--best",
        default="--ngram 1,3 --char-ngram 1,4 --char-source text --average --epochs 4 -j 2",
        help="the options of the best sgd configuration (on the raw files: Okt in the first pass, "
        "its tokens cached in bench/out/ for the epochs)",
    )
    ap.add_argument(
        "--ratings", default="", help="options of the sgd ratings regression (default: sgd's defaults)"
    )
    ap.add_argument(
        "--sgd", default="", help="options added to the sgd run compared with logreg (e.g. --epochs 3)"
    )
    ap.add_argument("--skip", default="", help="comma-separated: best, ratings")
    ap.add_argument("--save", type=Path)
    a = ap.parse_args()
    skip = set(a.skip.split(","))
    train_tsv, dev_tsv = tokenized("train"), tokenized("dev")
    common = [train_tsv, "--dev", dev_tsv] + FEATURES
    rows = []
    for _ in range(a.repeat):
        rows.append(
            train("logreg", common + ["--model", "logreg", "-o", OUT / "logreg.joblib"], OUT / "logreg.json")
        )
        rows.append(
            train(
                "sgd",
                common + ["--model", "sgd", "-o", OUT / "sgd.joblib"] + shlex.split(a.sgd),
                OUT / "sgd.json",
            )
        )
    if "best" not in skip:
        rows.append(
            train(
                "sgd best",
                [
                    data_file("train.tsv"),
                    "--dev",
                    data_file("dev.tsv"),
                    "--model",
                    "sgd",
                    "-o",
                    OUT / "sgd-best.joblib",
                ]
                + shlex.split(a.best),
                OUT / "sgd-best.json",
                tokens=False,
            )
        )
    if "ratings" not in skip:
        rtrain, rdev = tokenized("ratings-train"), tokenized("ratings-dev")
        rows.append(
            train(
                "sgd ratings",
                [
                    rtrain,
                    "--dev",
                    rdev,
                    "--label-column",
                    "rating",
                    "--task",
                    "regression",
                    "--model",
                    "sgd",
                    "-o",
                    OUT / "sgd-ratings.joblib",
                ]
                + shlex.split(a.ratings),
                OUT / "sgd-ratings.json",
            )
        )
    return report(rows, a.save)


def report(rows: list[dict], save: Path | None) -> int:
    print_table(
        [
            [
                r["label"],
                r["wall"],
                r["cpu"],
                r["peak_rss_mib"],
                r["accuracy"] or "",
                r["mae"] or "",
                " ".join(f"{e['docs_per_second']:,}" for e in r.get("epochs", [])),
            ]
            for r in rows
        ],
        ["run", "wall s", "cpu s", "peak MiB", "accuracy", "MAE", "docs/s per epoch"],
    )
    by = {}
    for r in rows:
        by.setdefault(r["label"], []).append(r)
    failures = []
    logreg_wall = statistics.median(r["wall"] for r in by["logreg"])
    sgd_wall = statistics.median(r["wall"] for r in by["sgd"])
    print(
        f"\nwall, median: sgd {sgd_wall:.1f} s vs logreg {logreg_wall:.1f} s ({sgd_wall / logreg_wall:.2f}x)"
    )
    if sgd_wall >= logreg_wall:
        failures.append("sgd is not faster than logreg")
    if by["sgd"][0]["accuracy"] < 0.865:
        failures.append(f"sgd defaults accuracy {by['sgd'][0]['accuracy']} < 0.865")
    if "sgd best" in by and by["sgd best"][0]["accuracy"] < 0.875:
        failures.append(f"sgd best accuracy {by['sgd best'][0]['accuracy']} < 0.875")
    if "sgd ratings" in by and by["sgd ratings"][0]["mae"] > 1.60:
        failures.append(f"sgd ratings MAE {by['sgd ratings'][0]['mae']} > 1.60")
    if save:
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_text(json.dumps({"rows": rows, "failures": failures}, indent=1, ensure_ascii=False))
    for f in failures:
        print(f"MISSED: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
