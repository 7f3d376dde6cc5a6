"""``nlpcli embed import`` of word2vec text files of ~100 MB and ~1 GB: speed and peak memory.

The files are synthetic (../shared holds no pretrained vectors): 300-dimensional vectors like
Facebook's cc.ko.300.vec, random numbers with 4 decimals (``+0.1234``) and unique Hangul words, a
fixed seed. Each import runs as a whole process; its peak RSS is the kernel's ``ru_maxrss``
(``/usr/bin/time -v``) when available, else the sampled peak of the process tree (psutil).

Prints MB/s for each size, the peak RSS of each and the ratio 1 GB / 100 MB (target <= 1.3),
gensim's ``KeyedVectors.load_word2vec_format`` on the 100 MB file for reference (wall, peak RSS),
and checks ``embed similar`` against gensim's ``most_similar`` (top 10, scores to 1e-5) for a few
words. Files go to a temporary folder (or ``--workdir``) removed at the end unless ``--keep``.

    nice python3 bench/bench_embed_import.py [--sizes 100,1000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import NLPCLI, PYTHON, REPO, machine, measure, mib, print_table, workdir  # noqa: E402

DIM = 300
TIME = "/usr/bin/time"
PROBES = 3


def _word(i: int, rng: np.random.Generator) -> str:
    """A unique Hangul word: 1-2 random syllables, then ``i`` written in syllables (base 11172)."""
    out = [chr(0xAC00 + int(s)) for s in rng.integers(0, 11172, size=int(rng.integers(1, 3)))]
    while True:
        out.append(chr(0xAC00 + i % 11172))
        i //= 11172
        if not i:
            return "".join(out)


def make_vectors(path: Path, megabytes: int, seed: int = 0) -> int:
    """A word2vec text file of about ``megabytes`` MB; returns its word count."""
    rng = np.random.default_rng(seed)
    pool_values = np.round(rng.normal(0, 0.15, size=65536).clip(-0.9999, 0.9999), 4)
    pool = np.array([f" {v:+.4f}".encode() for v in pool_values], dtype="S8").view(np.uint8).reshape(-1, 8)
    line_bytes = 8 * DIM + 8  # about: numbers, word, newline
    words = max(1, megabytes * 1_000_000 // line_bytes)
    with open(path, "wb") as fh:
        fh.write(f"{words} {DIM}\n".encode())
        done = 0
        while done < words:
            n = min(4096, words - done)
            numbers = pool[rng.integers(0, len(pool), size=(n, DIM))].reshape(n, DIM * 8)
            fh.write(b"".join(_word(done + j, rng).encode() + numbers[j].tobytes() + b"\n" for j in range(n)))
            done += n
    return words


def _max_rss(stderr: str) -> int | None:
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    return int(found.group(1)) * 1024 if found else None


def run_import(vec: Path, model: Path) -> dict:
    timed = [TIME, "-v"] if os.path.exists(TIME) else []
    m = measure(
        f"import {vec.name}", timed + NLPCLI + ["embed", "import", str(vec), "-o", str(model)], memory=False
    )
    manifest = json.loads((model / "nlpcli.json").read_text(encoding="utf-8"))
    size = vec.stat().st_size
    rss = _max_rss(m.stderr) or m.peak_rss
    return {
        "file": vec.name,
        "bytes": size,
        "words": manifest["words"],
        "wall": round(m.wall, 2),
        "mb_per_s": round(size / 1e6 / m.wall, 1),
        "peak_rss": rss,
        "sampled_peak_rss": m.peak_rss,
        "rss_source": "ru_maxrss" if timed else "psutil",
    }


GENSIM_REF = """
import json, sys, time
t = time.perf_counter()
from gensim.models import KeyedVectors
kv = KeyedVectors.load_word2vec_format(sys.argv[1], binary=False)
took = time.perf_counter() - t
probes = [kv.index_to_key[i] for i in (0, len(kv) // 2, len(kv) - 1)][:int(sys.argv[2])]
print(json.dumps({"seconds": took, "similar": {w: kv.most_similar(w, topn=10) for w in probes}}))
"""


def gensim_reference(vec: Path) -> dict:
    timed = [TIME, "-v"] if os.path.exists(TIME) else []
    out = vec.with_suffix(".gensim.json")
    m = measure(
        "gensim load_word2vec_format", timed + [PYTHON, "-c", GENSIM_REF, str(vec), str(PROBES)], stdout=out
    )
    result = json.loads(out.read_text(encoding="utf-8"))
    out.unlink()
    size = vec.stat().st_size
    return {
        "load_seconds": round(result["seconds"], 2),
        "wall": round(m.wall, 2),
        "mb_per_s": round(size / 1e6 / result["seconds"], 1),
        "peak_rss": _max_rss(m.stderr) or m.peak_rss,
        "similar": result["similar"],
    }


def check_queries(model: Path, reference: dict) -> list[str]:
    """``embed similar --json`` against gensim's most_similar: same words, scores within 1e-5."""
    failures = []
    for word, theirs in reference.items():
        done = subprocess.run(
            NLPCLI + ["embed", "similar", str(model), word, "--json"],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        ours = json.loads(done.stdout)["results"]
        same = [h["word"] for h in ours] == [w for w, _ in theirs] and all(
            abs(h["score"] - s) <= 1e-5 for h, (_, s) in zip(ours, theirs)
        )
        if not same:
            failures.append(f"similar {word}: ours {ours[:3]} gensim {theirs[:3]}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000", help="file sizes in MB (the first is the baseline)")
    parser.add_argument("--workdir", type=Path, help="where the files go (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the files")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    base = args.workdir or workdir("nlpcli-bench-import-")
    base.mkdir(parents=True, exist_ok=True)
    print(machine())
    rows, results, failures, reference = [], [], [], None
    try:
        for mb in sizes:
            vec = base / f"synthetic-{mb}mb.vec"
            make_vectors(vec, mb)
            model = base / f"model-{mb}mb"
            result = run_import(vec, model)
            if reference is None:
                reference = gensim_reference(vec)
                failures += check_queries(model, reference.pop("similar"))
            results.append(result)
            rows.append(
                [
                    vec.name,
                    f"{result['bytes'] / 1e6:,.0f} MB",
                    f"{result['words']:,}",
                    f"{result['wall']:.1f} s",
                    f"{result['mb_per_s']:.1f}",
                    mib(result["peak_rss"]),
                ]
            )
            if not args.keep:
                vec.unlink()
                shutil.rmtree(model)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(base, ignore_errors=True)
    print_table(rows, ["file", "size", "words", "wall", "MB/s", "peak RSS"])
    ratio = results[-1]["peak_rss"] / results[0]["peak_rss"]
    print(f"peak RSS ratio {results[-1]['file']} / {results[0]['file']}: {ratio:.2f} (target <= 1.3)")
    print(
        f"gensim load_word2vec_format on {results[0]['file']}: {reference['load_seconds']:.1f} s "
        f"({reference['mb_per_s']:.1f} MB/s), peak RSS {mib(reference['peak_rss'])}"
    )
    print(f"queries against gensim most_similar (top 10, 1e-5): {'equal' if not failures else 'DIFFER'}")
    if ratio > 1.3:
        failures.append(f"peak RSS ratio {ratio:.2f} > 1.3")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "imports": results,
                    "gensim": reference,
                    "rss_ratio": round(ratio, 3),
                    "failures": failures,
                },
                indent=2,
            )
        )
    for f in failures:
        print(f"FAIL {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
