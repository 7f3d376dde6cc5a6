"""`nlpcli vectorize fit` locally and with `--scheduler` on a 1-worker and a 2-worker Dask
LocalCluster (separate worker processes, TCP on 127.0.0.1), side by side, in one run.

    python bench/bench_dask_fit.py [--limit N] [--partition-mb 4] [--hashing 20]

The reviews (``train.tsv``) are tokenized once with MeCab (``preprocess morphs``, cached), so the
fits time reading, counting, merging and pruning, not tagging. Whole processes are timed
(start-up included); each cluster is started before the clock and warmed with a tiny fit, as a
running cluster would be. Prints documents/s, the ratios to the local fit, and whether each
cluster's vectorizer equals the local one (vocabulary, idf and document frequencies).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CACHE, NLPCLI, data_file, head_file, local_cluster, machine, measure, workdir  # noqa: E402


def tokenized(limit: int) -> tuple[Path, int]:
    src = data_file("train.tsv")
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"train.mecab{'.' + str(limit) if limit else ''}.tsv"
    if not out.exists():
        if limit:
            src = head_file(src, limit + 1, CACHE / f"train.head{limit}.tsv")
        measure(
            "tokenize", [*NLPCLI, "-q", "preprocess", "morphs", "--tagger", "mecab", str(src), "-o", str(out)]
        )
    with open(out, encoding="utf-8") as fh:
        return out, sum(1 for _ in fh) - 1


def same_vectorizer(a: str, b: str) -> bool:
    import numpy as np

    from nlpcli.features.vectorize import load

    (fa, _, _), (fb, _, _) = load(a), load(b)
    same = fa.n_docs == fb.n_docs and np.array_equal(fa.doc_freq, fb.doc_freq)
    if fa.config.hashing is None:
        same = same and fa.vectorizer.vocabulary_ == fb.vectorizer.vocabulary_
        same = same and np.array_equal(fa.vectorizer.idf_, fb.vectorizer.idf_)
    return bool(same)


def on_cluster(workers: int, fit: list[str], out: Path, partition_mb: float, warm: Path):
    with local_cluster(workers) as cluster:
        remote = ["--scheduler", cluster.scheduler_address, "--partition-mb", str(partition_mb)]
        measure("warm", [*NLPCLI, "-q", "vectorize", "fit", str(warm), "-o", str(out), *remote])
        return measure(f"{workers} worker(s)", [*fit, "-o", str(out), *remote])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0, help="first N reviews only (0: all 150,000)")
    ap.add_argument("--partition-mb", type=float, default=4.0)
    ap.add_argument("--hashing", type=int, default=0, help="fit with --hashing BITS instead of a vocabulary")
    opts = ap.parse_args()

    data, n_docs = tokenized(opts.limit)
    tmp = workdir("bench-dask-fit-")
    warm = tmp / "warm.txt"
    warm.write_text("워커 를 데우는 문장 입니다\n" * 64, encoding="utf-8")
    options = ["--ngram", "1,2", "--min-df", "2"] + (["--hashing", str(opts.hashing)] if opts.hashing else [])
    fit = [*NLPCLI, "-q", "vectorize", "fit", str(data), *options]

    local = measure("local", [*fit, "-o", str(tmp / "local.joblib")])
    rows = [("local", local, True)]
    for workers in (1, 2):
        out = tmp / f"cluster{workers}.joblib"
        result = on_cluster(workers, fit, out, opts.partition_mb, warm)
        rows.append(
            (
                f"LocalCluster, {workers} worker(s)",
                result,
                same_vectorizer(str(tmp / "local.joblib"), str(out)),
            )
        )

    size = os.path.getsize(data) / 2**20
    print(machine(), f"load average {os.getloadavg()[0]:.1f}")
    print(f"data: {data} ({n_docs:,} documents, {size:.1f} MB, parts of {opts.partition_mb} MB)")
    print(f"vectorize fit {' '.join(options)}")
    for label, m, same in rows:
        print(
            f"{label:<28}{m.wall:8.1f} s {n_docs / m.wall:9.0f} docs/s  {local.wall / m.wall:5.2f}x local"
            f"  driver peak RSS {m.peak_rss / 2**20:6.0f} MiB  equal to local: {same}"
        )


if __name__ == "__main__":
    main()
