"""``train --model sgd`` in one process and with ``--scheduler`` on a 1-worker and a 2-worker
Dask ``LocalCluster`` (worker processes with one thread each, TCP on 127.0.0.1): the same tokens,
options, seed and epochs in every run.

Printed for each run: the first pass (reading, checking and caching on the workers; fitting the
hashed features), the epochs' docs/s (all documents over the epochs' wall time, weight traffic
and mixing included), the docs/s of one worker (each shard's task: documents / seconds), dev
accuracy, the weights sent each way per worker and epoch (the pickled estimator), and the
ratios 1 worker / local and 2 workers / 1 worker. The 'cpu' column counts the client's process
tree only, not the workers'.

The clusters start before the clock and the runs alternate (local, 1 worker, 2 workers, with
``--repeat`` rounds), so load from other jobs falls on all three; the table shows, of each, the
run with the median epochs' docs/s (of two rounds, the slower); the JSON keeps every run.

Input: ``train.tsv`` and ``dev.tsv`` tokenized once with MeCab into ``bench/out/`` and trained
with ``--tokenized`` (``--limit N``: the first N training reviews).

    python3 bench/bench_sgd_cluster.py [--epochs 3] [--repeat 2] [--limit N] [--sgd ARGS] [--save FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    NLPCLI,
    REPO,
    data_file,
    finish,
    head_file,
    local_cluster,
    machine,
    measure,
    print_table,
)

OUT = REPO / "bench" / "out"


def tokenized(name: str) -> Path:
    """``bench/out/NAME.mecab.tsv``: the MeCab tokens of ``NAME.tsv``, made once."""
    dest = OUT / f"{name}.mecab.tsv"
    if not dest.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        print(f"tokenizing {name}.tsv with MeCab ...", file=sys.stderr, flush=True)
        cmd = ["preprocess", "morphs", "-t", "mecab", "-j", "2", data_file(f"{name}.tsv"), "-o", dest]
        measure(f"mecab {name}", NLPCLI + cmd)
    return dest


def run(label: str, args: list, model: Path) -> dict:
    m = measure(label, NLPCLI + ["train", *args, "-o", model])
    from nlpcli import artifacts

    art = artifacts.load(model)
    data = art.manifest["data"]
    epochs = data["epochs"]
    seconds = sum(e["seconds"] for e in epochs)
    shards = [v for e in epochs for v in e.get("shard_docs_per_second", [])]
    row = {
        "label": label,
        "wall": round(m.wall, 1),
        "client_cpu": round(m.cpu, 1),
        "first_pass_s": data.get("first_pass_seconds"),
        "epoch_s": [e["seconds"] for e in epochs],
        "docs_per_s": round(sum(e["documents"] for e in epochs) / seconds),
        "worker_docs_per_s": round(sum(shards) / len(shards)) if shards else None,
        "accuracy": data["dev_metrics"]["accuracy"],
        "weights_bytes": len(pickle.dumps(art.payload.estimator, protocol=5)),
        "features": int(art.payload.estimator.coef_.size),
        "command": shlex.join(map(str, m.command)),
    }
    print(json.dumps({k: v for k, v in row.items() if k != "command"}), file=sys.stderr, flush=True)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--limit", type=int, help="train on the first N reviews only")
    ap.add_argument("--sgd", default="", help="more train options for every run (e.g. --average)")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of local, 1 worker, 2 workers (median)")
    ap.add_argument("--save", type=Path)
    a = ap.parse_args()
    # this checkout's nlpcli in the client and in the workers (spawned with this sys.path)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    sys.path.insert(0, str(REPO))
    train_tsv, dev_tsv = tokenized("train"), tokenized("dev")
    if a.limit:
        train_tsv = head_file(train_tsv, a.limit + 1, OUT / f"train-{a.limit}.mecab.tsv")
    common = [train_tsv, "--tokenized", "--model", "sgd", "--dev", dev_tsv, "--epochs", str(a.epochs)]
    common += ["--no-early-stopping", "--seed", "0", *shlex.split(a.sgd)]
    runs: dict[str, list[dict]] = {"local": [], "1 worker": [], "2 workers": []}
    with local_cluster(1) as one, local_cluster(2) as two:  # started before the clock; runs alternate
        for _ in range(a.repeat):
            runs["local"].append(run("local", common, OUT / "sgd-local.joblib"))
            for label, c in (("1 worker", one), ("2 workers", two)):
                args = [*common, "--scheduler", c.scheduler_address]
                runs[label].append(run(label, args, OUT / f"sgd-{label[0]}w.joblib"))
    return report([_median(r) for r in runs.values()], a, runs)


def _median(rows: list[dict]) -> dict:
    """The run with the median epochs' docs/s (its other figures with it)."""
    return sorted(rows, key=lambda r: r["docs_per_s"])[(len(rows) - 1) // 2]


def report(rows: list[dict], a, runs: dict) -> int:
    print(machine())
    print_table(
        [
            [
                r["label"],
                r["wall"],
                r["first_pass_s"] or "",
                " ".join(str(s) for s in r["epoch_s"]),
                f"{r['docs_per_s']:,}",
                f"{r['worker_docs_per_s']:,}" if r["worker_docs_per_s"] else "",
                r["accuracy"],
            ]
            for r in rows
        ],
        ["run", "wall s", "first pass s", "epoch s", "docs/s (epochs)", "docs/s per worker", "dev accuracy"],
    )
    local, one, two = rows
    print(
        f"\nepochs' docs/s: 1 worker / local {one['docs_per_s'] / local['docs_per_s']:.2f}x, "
        f"2 workers / 1 worker {two['docs_per_s'] / one['docs_per_s']:.2f}x; "
        f"per worker: 2 workers / 1 worker {two['worker_docs_per_s'] / one['worker_docs_per_s']:.2f}x"
    )
    print(
        f"dev accuracy: 1 worker - local {one['accuracy'] - local['accuracy']:+.4f}, "
        f"2 workers - local {two['accuracy'] - local['accuracy']:+.4f}"
    )
    print(
        f"weights per worker and epoch, each way: {two['weights_bytes'] / 2**20:.1f} MiB "
        f"({two['features']:,} features x classes x 8 bytes = {two['features'] * 8 / 2**20:.1f} MiB)"
    )
    failures = []
    if abs(two["accuracy"] - local["accuracy"]) > 0.005:
        failures.append(
            f"2-worker dev accuracy {two['accuracy']} is not within 0.005 of local {local['accuracy']}"
        )
    saved = {
        "machine": machine(),
        "epochs": a.epochs,
        "limit": a.limit,
        "sgd": a.sgd,
        "median": rows,
        "runs": runs,
    }
    if a.save:
        a.save.parent.mkdir(parents=True, exist_ok=True)
    return finish(failures, saved, a.save)


if __name__ == "__main__":
    sys.exit(main())
