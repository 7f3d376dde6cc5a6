"""Throughput of `nlpcli preprocess --tagger okt` locally (--jobs 2) and on a 2-worker Dask
LocalCluster on this machine (separate worker processes, TCP on 127.0.0.1), side by side.

    python bench/bench_dask.py [--data ../shared/data/reviews/train.tsv] [--limit N] [--tagger okt]

Prints documents/s for both, the overhead ratio (local / cluster time), and checks that the two
outputs are identical. Whole processes are timed (start-up and JVM start included); the cluster
is started before the clock and its workers are warmed with one small job first, as a real
cluster would be already running.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def run(args: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "nlpcli", "-q", *args], capture_output=True)
    elapsed = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"failed: {' '.join(args)}\n{proc.stderr.decode()}")
    return elapsed, hashlib.sha256(proc.stdout).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/reviews/train.tsv"))
    ap.add_argument("--limit", type=int, default=0, help="first N documents only (0: all)")
    ap.add_argument("--tagger", default="okt")
    opts = ap.parse_args()

    data = opts.data
    if opts.limit:
        tmp = tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False, encoding="utf-8")
        with open(data, encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if i > opts.limit:
                    break
                tmp.write(line)
        tmp.close()
        data = tmp.name
    n_docs = sum(1 for _ in open(data, encoding="utf-8")) - 1
    common = ["preprocess", "morphs", "--stem", "--norm", "--tagger", opts.tagger, data]

    from _common import local_cluster

    with local_cluster(2) as cluster:
        address = cluster.scheduler_address
        with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as warm:
            warm.write("워커를 데우는 문장입니다\n" * 64)
            warm.flush()
            run(
                [
                    "preprocess",
                    "morphs",
                    "--stem",
                    "--norm",
                    "--tagger",
                    opts.tagger,
                    "--scheduler",
                    address,
                    warm.name,
                ]
            )
        t_local, h_local = run([*common, "--jobs", "2"])
        t_dask, h_dask = run([*common, "--scheduler", address])
    if opts.limit:
        os.unlink(data)
    print(f"data: {opts.data} ({n_docs:,} documents), tagger {opts.tagger}, morphs --stem --norm")
    print(f"{'local --jobs 2':<26}{t_local:8.1f} s {n_docs / t_local:9.0f} docs/s")
    print(f"{'Dask LocalCluster, 2 workers':<26}{t_dask:8.1f} s {n_docs / t_dask:9.0f} docs/s")
    print(f"cluster / local throughput: {t_local / t_dask:.2f}x  (overhead {t_dask / t_local - 1:+.1%})")
    print(f"identical output: {h_local == h_dask}")


if __name__ == "__main__":
    main()
