"""Peak memory of fitting on 10x the data: ``vectorize fit --hashing 20`` + ``train --model sgd``
on 1.5M reviews against the same on 150k, with today's in-memory ``train --model logreg`` on both
sizes beside it for reference.

The 1.5M-line file is the Okt tokens of ``train.tsv`` (``bench/out/train.okt.tsv``, made by
``bench_sgd.py`` or here) written ten times with the ids made unique. Every figure is the peak
of the summed RSS of the whole process tree, sampled every 0.1 s (``_common.measure``).

Target: sgd (vectorize fit + train, the larger of the two peaks) on 1.5M lines within 1.25x of
the same on 150k; logreg is expected to grow about 10x.

    python3 bench/bench_scale.py [--epochs 1] [--skip-logreg-large] [--save bench/results/scale.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import NLPCLI, REPO, measure, mib, print_table  # noqa: E402
from bench_sgd import tokenized  # noqa: E402

OUT = REPO / "bench" / "out"


def tenfold(src: Path, dest: Path, times: int = 10) -> Path:
    """``src`` ``times`` times under one header, each copy's ids suffixed with its number."""
    if dest.exists():
        return dest
    tmp = dest.with_suffix(".part")
    with open(src, encoding="utf-8") as fin:
        header, *lines = fin.read().splitlines()
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(header + "\n")
        for k in range(times):
            for line in lines:
                ident, rest = line.split("\t", 1)
                out.write(f"{ident}-{k}\t{rest}\n")
    tmp.rename(dest)
    return dest


def sgd_pipeline(name: str, data: Path, epochs: int) -> dict:
    vec = OUT / f"scale-{name}.vec.joblib"
    fit = measure(
        f"vectorize fit {name}",
        NLPCLI
        + [
            "vectorize",
            "fit",
            data,
            "--hashing",
            "20",
            "--ngram",
            "1,2",
            "--min-df",
            "3",
            "--max-df",
            "0.9",
            "-o",
            vec,
        ],
    )
    train = measure(
        f"sgd {name}",
        NLPCLI
        + [
            "train",
            data,
            "--tokenized",
            "--model",
            "sgd",
            "--vectorizer",
            vec,
            "--epochs",
            str(epochs),
            "-o",
            OUT / f"scale-{name}.sgd.joblib",
        ],
    )
    return {
        "run": f"sgd {name}",
        "vectorize_peak": fit.peak_rss,
        "train_peak": train.peak_rss,
        "peak": max(fit.peak_rss, train.peak_rss),
        "wall": round(fit.wall + train.wall, 1),
        "cpu": round(fit.cpu + train.cpu, 1),
    }


def logreg(name: str, data: Path) -> dict:
    m = measure(
        f"logreg {name}",
        NLPCLI
        + ["train", data, "--tokenized", "--model", "logreg", "-o", OUT / f"scale-{name}.logreg.joblib"],
    )
    return {"run": f"logreg {name}", "peak": m.peak_rss, "wall": round(m.wall, 1), "cpu": round(m.cpu, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=1, help="sgd epochs (memory does not grow with them)")
    ap.add_argument("--skip-logreg-large", action="store_true", help="no logreg on 1.5M lines (long)")
    ap.add_argument("--save", type=Path)
    a = ap.parse_args()
    small = tokenized("train")
    large = tenfold(small, OUT / "train-x10.okt.tsv")
    rows = [
        sgd_pipeline("150k", small, a.epochs),
        sgd_pipeline("1.5M", large, a.epochs),
        logreg("150k", small),
    ]
    if not a.skip_logreg_large:
        rows.append(logreg("1.5M", large))
    for r in rows:
        print(f"{r['run']}: peak {mib(r['peak'])}, wall {r['wall']} s", file=sys.stderr, flush=True)
    print_table(
        [
            [
                r["run"],
                mib(r["peak"]),
                r["wall"],
                r["cpu"],
                f"{mib(r['vectorize_peak'])} / {mib(r['train_peak'])}" if "train_peak" in r else "",
            ]
            for r in rows
        ],
        ["run", "peak RSS", "wall s", "cpu s", "vectorize / train peak"],
    )
    ratio = rows[1]["peak"] / rows[0]["peak"]
    print(f"\nsgd peak 1.5M / 150k: {ratio:.2f}x")
    if len(rows) > 3:
        print(f"logreg peak 1.5M / 150k: {rows[3]['peak'] / rows[2]['peak']:.2f}x")
    failures = [f"sgd peak grew {ratio:.2f}x (> 1.25x)"] if ratio > 1.25 else []
    if a.save:
        a.save.parent.mkdir(parents=True, exist_ok=True)
        a.save.write_text(json.dumps({"rows": rows, "sgd_ratio": ratio, "failures": failures}, indent=1))
    for f in failures:
        print(f"MISSED: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
