"""Word-vector quality on Korean Wikipedia: word2vec and fastText trained by ``nlpcli embed train``
on ../shared/data/kowiki/corpus.txt.gz (whitespace tokens, punctuation removed with --keep no-punct),
evaluated by ``nlpcli embed evaluate`` on ../shared/data/wordeval (WS353-ko, analogies).

Run under the shared lock (about 15-45 minutes of training per model on 2 cores):

    python bench/bench_embed_kowiki.py [--only word2vec|fasttext|fasttext-sg] [--evaluate-only]

Models go to /tmp/nlpcli-cache/kowiki-*.model (the tokenized corpus is cached beside them);
the results to bench/results/embed_kowiki.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "data")
CORPUS = os.path.join(SHARED, "kowiki", "corpus.txt.gz")
WORDEVAL = os.path.join(SHARED, "wordeval")
CACHE = "/tmp/nlpcli-cache"

#: the configurations documented in the README (what each lever is, see there)
CONFIGS = {
    "word2vec": [
        "--algo",
        "word2vec",
        "--arch",
        "skipgram",
        "--dim",
        "300",
        "--window",
        "5",
        "--min-count",
        "5",
        "--negative",
        "5",
        "--sample",
        "1e-4",
        "--epochs",
        "10",
    ],
    # CBOW, not skip-gram: about a third of the training time, so it fits the time left on a
    # shared machine (the lock queue); character n-grams of 2-4 syllables (with < > markers)
    "fasttext": [
        "--algo",
        "fasttext",
        "--arch",
        "cbow",
        "--dim",
        "300",
        "--window",
        "5",
        "--min-count",
        "5",
        "--negative",
        "5",
        "--sample",
        "1e-4",
        "--epochs",
        "5",
        "--min-n",
        "2",
        "--max-n",
        "4",
        "--bucket",
        "1000000",
    ],
    # skip-gram with the same subwords: CBOW's subwords win the syntactic sections, skip-gram
    # wins the semantic ones (capitals, languages) and the similarity pairs; about 3x CBOW's time
    "fasttext-sg": [
        "--algo",
        "fasttext",
        "--arch",
        "skipgram",
        "--dim",
        "300",
        "--window",
        "5",
        "--min-count",
        "5",
        "--negative",
        "5",
        "--sample",
        "1e-4",
        "--epochs",
        "5",
        "--min-n",
        "2",
        "--max-n",
        "4",
        "--bucket",
        "1000000",
    ],
}


def run(cmd: list[str]) -> float:
    print("$", " ".join(cmd), file=sys.stderr, flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=list(CONFIGS))
    ap.add_argument("--evaluate-only", action="store_true")
    ap.add_argument("--workers", default="2")
    args = ap.parse_args()
    out_path = os.path.join(HERE, "results", "embed_kowiki.json")
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    results = json.load(open(out_path)) if os.path.exists(out_path) else {}
    for name, options in CONFIGS.items():
        if args.only and name != args.only:
            continue
        model = os.path.join(CACHE, f"kowiki-{name}.model")
        entry = results.get(name, {})
        if not args.evaluate_only:
            cmd = [
                "nlpcli",
                "embed",
                "train",
                CORPUS,
                "--keep",
                "no-punct",
                "-o",
                model,
                "--workers",
                args.workers,
                *options,
            ]
            entry = {"command": " ".join(cmd), "wall_seconds": round(run(cmd), 1)}
            with open(os.path.join(model, "nlpcli.json")) as fh:
                entry["data"] = json.load(fh)["data"]
        ev = subprocess.run(
            [
                "nlpcli",
                "embed",
                "evaluate",
                model,
                "--analogies",
                os.path.join(WORDEVAL, "analogy.txt"),
                "--pairs",
                os.path.join(WORDEVAL, "similarity.tsv"),
                "--json",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        entry["evaluation"] = json.loads(ev.stdout)
        results[name] = entry
        with open(out_path, "w") as fh:
            json.dump(results, fh, ensure_ascii=False, indent=1)
        print(json.dumps({name: entry}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
