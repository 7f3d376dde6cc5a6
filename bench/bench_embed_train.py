"""``nlpcli embed``: training throughput against gensim called directly, and cold-query latency.

Side by side in one run, under the shared lock:

    python bench/bench_embed_train.py

1. Training: ../shared/data/reviews/unlabeled.txt.gz (512k reviews), whitespace tokens (the file
   decompressed once, NFC, to /tmp/nlpcli-cache/reviews-unlabeled.ws.txt). ``nlpcli embed train``
   on that file vs a fresh python doing ``Word2Vec(**same params)``, ``build_vocab`` and ``train``
   on the same file (``corpus_file``), same workers; alternated, ``--repeats`` times each.
   Throughput = corpus words x epochs / training seconds (vocabulary scan excluded, both sides);
   end-to-end wall time of each process (import, scan, train, save) is reported too, and the two
   vocabularies (words, order, counts) are compared.
2. Cold query: ``nlpcli embed similar MODEL 영화 --topn 10`` as a fresh process vs a fresh python
   doing ``Word2Vec.load(path, mmap='r').wv.most_similar('영화', topn=10)`` on the same model
   (median of 5, alternated), and the neighbours and scores of both compared.

Results: bench/results/embed_train.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
UNLABELED = os.path.join(HERE, "..", "..", "shared", "data", "reviews", "unlabeled.txt.gz")
CACHE = "/tmp/nlpcli-cache"
CORPUS = os.path.join(CACHE, "reviews-unlabeled.ws.txt")
PARAMS = dict(
    algo="word2vec",
    arch="cbow",
    dim=100,
    window=5,
    min_count=5,
    epochs=5,
    negative=5,
    sample=1e-3,
    workers=2,
    seed=1,
)

GENSIM_TRAIN = r"""
import json, sys, time
t0 = time.perf_counter()
from gensim.models import Word2Vec
params, corpus, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
model = Word2Vec(**params)
t1 = time.perf_counter()
model.build_vocab(corpus_file=corpus)
t2 = time.perf_counter()
model.train(corpus_file=corpus, total_examples=model.corpus_count, total_words=model.corpus_total_words,
            epochs=model.epochs)
t3 = time.perf_counter()
model.save(out)
t4 = time.perf_counter()
print(json.dumps({"words": model.corpus_total_words, "vocab_seconds": t2 - t1, "train_seconds": t3 - t2,
                  "words_per_second": model.corpus_total_words * model.epochs / (t3 - t2),
                  "vocabulary": len(model.wv)}))
"""

GENSIM_QUERY = r"""
import json, sys
from gensim.models import Word2Vec
m = Word2Vec.load(sys.argv[1], mmap='r')
print(json.dumps(m.wv.most_similar(sys.argv[2], topn=10), ensure_ascii=False))
"""


def tokenize_once(source: str = UNLABELED) -> None:
    if os.path.exists(CORPUS):
        return
    os.makedirs(CACHE, exist_ok=True)
    tmp = CORPUS + ".part"
    with gzip.open(source, "rt", encoding="utf-8") as src, open(tmp, "w", encoding="utf-8") as dst:
        for line in src:
            dst.write(" ".join(unicodedata.normalize("NFC", line).split()) + "\n")
    os.replace(tmp, CORPUS)


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, done.stdout


def nlpcli_train(model: str) -> dict:
    cmd = ["nlpcli", "embed", "train", CORPUS, "-o", model]
    for k, v in PARAMS.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    wall, _ = timed(cmd)
    with open(os.path.join(model, "nlpcli.json"), encoding="utf-8") as fh:
        data = json.load(fh)["data"]
    return {
        "wall_seconds": wall,
        "words_per_second": data["words_per_second"],
        "words": data["words"],
        "vocabulary": data["vocabulary"],
        "command": " ".join(cmd),
    }


def gensim_train(out: str) -> dict:
    from nlpcli.embed.train import EmbedConfig

    params = EmbedConfig(**PARAMS).gensim_params()
    wall, stdout = timed([sys.executable, "-c", GENSIM_TRAIN, json.dumps(params), CORPUS, out])
    return {"wall_seconds": wall, **json.loads(stdout), "params": params}


def compare_vocab(model_dir: str, gensim_file: str) -> dict:
    from gensim.models import Word2Vec

    ours = Word2Vec.load(os.path.join(model_dir, "model.gensim"), mmap="r").wv
    theirs = Word2Vec.load(gensim_file, mmap="r").wv
    same_order = ours.index_to_key == theirs.index_to_key
    same_counts = (
        all(ours.get_vecattr(w, "count") == theirs.get_vecattr(w, "count") for w in ours.index_to_key)
        if same_order
        else False
    )
    return {
        "ours": len(ours),
        "gensim": len(theirs),
        "identical_words_and_order": same_order,
        "identical_counts": same_counts,
    }


def cold_query(model: str, word: str, runs: int) -> dict:
    gensim_file = os.path.join(model, "model.gensim")
    ours_t, theirs_t = [], []
    ours_out = theirs_out = ""
    for _ in range(runs):
        t, ours_out = timed(["nlpcli", "embed", "similar", model, word, "--topn", "10"])
        ours_t.append(t)
        t, theirs_out = timed([sys.executable, "-c", GENSIM_QUERY, gensim_file, word])
        theirs_t.append(t)
    ours = [(w, float(s)) for w, s in (line.split("\t") for line in ours_out.splitlines())]
    theirs = [(w, s) for w, s in json.loads(theirs_out)]
    same_words = [w for w, _ in ours] == [w for w, _ in theirs]
    max_diff = max(abs(a[1] - b[1]) for a, b in zip(ours, theirs))
    return {
        "nlpcli_seconds": ours_t,
        "gensim_seconds": theirs_t,
        "nlpcli_median": statistics.median(ours_t),
        "gensim_median": statistics.median(theirs_t),
        "speedup": statistics.median(theirs_t) / statistics.median(ours_t),
        "same_neighbours": same_words,
        "max_score_difference": max_diff,
        "nlpcli": ours,
        "gensim": theirs,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--query-runs", type=int, default=5)
    ap.add_argument("--source", default=UNLABELED, help="gzip corpus (a smoke test: sample_data/...)")
    ap.add_argument("--tag", default="", help="suffix for the cache/result names (smoke tests)")
    args = ap.parse_args()
    global CORPUS
    if args.tag:
        CORPUS = CORPUS.replace(".ws.txt", f".{args.tag}.ws.txt")
    tokenize_once(args.source)
    model = os.path.join(CACHE, f"bench-reviews-w2v{args.tag}.model")
    gensim_file = os.path.join(CACHE, f"bench-reviews-w2v{args.tag}.gensim")
    runs = {"nlpcli": [], "gensim": []}
    for _ in range(args.repeats):
        runs["gensim"].append(gensim_train(gensim_file))
        runs["nlpcli"].append(nlpcli_train(model))
        print(
            json.dumps({k: v[-1] for k, v in runs.items()}, ensure_ascii=False), file=sys.stderr, flush=True
        )
    best = {k: max(r["words_per_second"] for r in v) for k, v in runs.items()}
    result = {
        "corpus": CORPUS,
        "params": PARAMS,
        "runs": runs,
        "throughput_best": best,
        "throughput_ratio": best["nlpcli"] / best["gensim"],
        "throughput_ratio_median": statistics.median(r["words_per_second"] for r in runs["nlpcli"])
        / statistics.median(r["words_per_second"] for r in runs["gensim"]),
        "wall_ratio_median": statistics.median(r["wall_seconds"] for r in runs["gensim"])
        / statistics.median(r["wall_seconds"] for r in runs["nlpcli"]),
        "vocabulary": compare_vocab(model, gensim_file),
        "cold_query": cold_query(model, "영화", args.query_runs),
    }
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", f"embed_train{args.tag}.json"), "w", encoding="utf-8") as fh:
        json.dump(result, fh, ensure_ascii=False, indent=1)
    q = result["cold_query"]
    print(
        f"throughput: nlpcli {best['nlpcli']:,.0f} words/s, gensim {best['gensim']:,.0f} words/s, "
        f"ratio {result['throughput_ratio']:.3f} (median ratio {result['throughput_ratio_median']:.3f})"
    )
    print(f"vocabulary: {result['vocabulary']}")
    print(
        f"cold query: nlpcli {q['nlpcli_median']:.3f} s, gensim {q['gensim_median']:.3f} s, "
        f"{q['speedup']:.1f}x; same neighbours {q['same_neighbours']}, max |score diff| {q['max_score_difference']:.2e}"
    )


if __name__ == "__main__":
    main()
