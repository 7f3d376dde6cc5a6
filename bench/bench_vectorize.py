"""``nlpcli vectorize fit`` against scikit-learn's own ``fit_transform``, whole processes.

    python3 bench/bench_vectorize.py

Input: the 150,000 reviews of train.tsv, pre-tokenized (whitespace tokens). The script uses
``/tmp/nlpcli-cache/reviews-train.okt.tsv`` when it exists (made by
``nlpcli preprocess morphs --stem --norm -j 2 train.tsv``), else it makes
``reviews-train.kiwi.tsv`` there once with ``--tagger kiwi`` (fast) and reuses it.

For each parameter set, both sides are whole processes (start-up, reading, fitting and saving
the fitted vectorizer with joblib included):

* ``nlpcli vectorize fit TOKENIZED.tsv -o model.joblib <options>``;
* a plain script: read the same column, ``TfidfVectorizer(tokenizer=str.split,
  token_pattern=None, lowercase=False, <same options>).fit_transform(texts)``, ``joblib.dump``.

Each pair runs ``--repeat`` times (median). Checks the vocabularies (and idf weights) are
identical; target: nlpcli's time at most 1.15x scikit-learn's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

SKLEARN = r"""
import json, sys
import joblib
import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
path, out, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with open(path, encoding="utf-8") as fh:
    header = fh.readline().rstrip("\n").split("\t")
    i = header.index("document")
    texts = [line.rstrip("\n").split("\t")[i] for line in fh]
kind = params.pop("kind")
if "ngram_range" in params:
    params["ngram_range"] = tuple(params["ngram_range"])
cls = TfidfVectorizer if kind == "tfidf" else CountVectorizer
vec = cls(tokenizer=str.split, token_pattern=None, lowercase=False, dtype=np.float64, **params)
X = vec.fit_transform(texts)
joblib.dump(vec, out)
"""

#: (name, nlpcli options, scikit-learn parameters)
CONFIGS = [
    ("tfidf 1-gram", ["--kind", "tfidf"], {"kind": "tfidf"}),
    (
        "tfidf 1,2-gram min_df 2 sublinear",
        ["--kind", "tfidf", "--ngram", "1,2", "--min-df", "2", "--sublinear-tf"],
        {"kind": "tfidf", "ngram_range": [1, 2], "min_df": 2, "sublinear_tf": True},
    ),
    (
        "count 1,2-gram max_features 50k",
        ["--kind", "count", "--ngram", "1,2", "--max-features", "50000"],
        {"kind": "count", "ngram_range": [1, 2], "max_features": 50000},
    ),
]


def tokenized_train() -> Path:
    okt = c.CACHE / "reviews-train.okt.tsv"
    if okt.exists():
        return okt
    kiwi = c.CACHE / "reviews-train.kiwi.tsv"
    if not kiwi.exists():
        c.CACHE.mkdir(parents=True, exist_ok=True)
        print(f"# making {kiwi} once (nlpcli preprocess morphs --tagger kiwi -j 2)", flush=True)
        c.measure(
            "tokenize",
            c.NLPCLI
            + [
                "--quiet",
                "preprocess",
                "morphs",
                "--tagger",
                "kiwi",
                "-j",
                "2",
                c.data_file("train.tsv"),
                "-o",
                kiwi,
            ],
        )
    return kiwi


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", type=Path, help="pre-tokenized TSV with a 'document' column")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--configs", default="all", help="comma list of config numbers (1-based) or 'all'")
    ap.add_argument("--save", type=Path)
    args = ap.parse_args()

    data = args.input or tokenized_train()
    tmp = c.workdir("nlpcli-bench-vec-")
    (tmp / "sk.py").write_text(SKLEARN, encoding="utf-8")
    configs = CONFIGS if args.configs == "all" else [CONFIGS[int(i) - 1] for i in args.configs.split(",")]
    n = sum(1 for _ in open(data, encoding="utf-8")) - 1
    print(f"# bench_vectorize: {n:,} pre-tokenized documents of {data}; {c.machine()}")

    import joblib

    from nlpcli import artifacts

    failures, rows, saved = [], [], {}
    for name, options, params in configs:
        ours = c.NLPCLI + ["--quiet", "vectorize", "fit", data, "-o", tmp / "nlpcli.joblib"] + options
        theirs = [c.PYTHON, tmp / "sk.py", data, tmp / "sk.joblib", json.dumps(params)]
        t_ours, t_theirs = [], []
        for _ in range(args.repeat):  # alternate, so drift on a shared machine hits both
            t_theirs.append(c.measure("sklearn", theirs).wall)
            t_ours.append(c.measure("nlpcli", ours).wall)
        mine = artifacts.load(tmp / "nlpcli.joblib", kinds=("vectorizer",)).payload.vectorizer
        ref = joblib.load(tmp / "sk.joblib")
        same_vocab = mine.vocabulary_ == ref.vocabulary_
        same_idf = not hasattr(ref, "idf_") or (
            mine.idf_.shape == ref.idf_.shape and bool((abs(mine.idf_ - ref.idf_) < 1e-12).all())
        )
        a, b = statistics.median(t_ours), statistics.median(t_theirs)
        ratio = a / b
        rows.append(
            [
                name,
                f"{b:.2f}",
                f"{a:.2f}",
                f"{ratio:.2f}",
                f"{len(ref.vocabulary_):,}",
                "yes" if same_vocab and same_idf else "NO",
            ]
        )
        print(
            f"  {name}: sklearn {[round(x, 2) for x in t_theirs]} nlpcli {[round(x, 2) for x in t_ours]}\n"
            f"    $ {c.Measured('', ours, 0, 0, 0, 0, 0).shell()}",
            flush=True,
        )
        saved[name] = {
            "sklearn": t_theirs,
            "nlpcli": t_ours,
            "ratio": ratio,
            "vocabulary": len(ref.vocabulary_),
            "same_vocabulary": same_vocab,
            "same_idf": same_idf,
        }
        if not (same_vocab and same_idf):
            failures.append(f"{name}: vocabulary or idf differ")
        if ratio > 1.15:
            failures.append(f"{name}: {ratio:.2f}x > 1.15x scikit-learn")
    print()
    c.print_table(rows, ["parameters", "sklearn s", "nlpcli s", "ratio", "vocabulary", "same vocab+idf"])
    print("target: ratio <= 1.15 and the same vocabulary")
    return c.finish(failures, saved, args.save)


if __name__ == "__main__":
    sys.exit(main())
