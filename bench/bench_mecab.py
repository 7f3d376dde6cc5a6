"""MeCab (python-mecab-ko): token equality and throughput, side by side, whole processes.

    nice python3 bench/bench_mecab.py                 # all of dev.tsv, --jobs 2
    nice python3 bench/bench_mecab.py --limit 5000 --only loop,nlpcli   # a quick look

Runs, each as its own process, start-up included:

1. ``loop``: the plain one-process loop ``MeCab().morphs(text)``;
2. ``threads``: the same call on a ``ThreadPoolExecutor(JOBS)``, one ``MeCab`` per thread;
3. ``pool``: the same call on a ``multiprocessing.Pool(JOBS)``;
4. ``nlpcli-1``: ``nlpcli preprocess morphs --tagger mecab`` (one process);
5. ``nlpcli``: ``nlpcli preprocess morphs --tagger mecab --jobs JOBS``.

(2) against (3) is what decides how ``--jobs`` runs MeCab: the binding holds the GIL while it
parses, so threads do not add a core, worker processes do. Then checks that every line of (4)
and (5) holds exactly the tokens of (1) and prints seconds, cores and speed ratios; exits 1 if
tokens differ or ``nlpcli --jobs JOBS`` is not at least 1.6x the loop.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

READ = r"""
import json, sys
texts = [l.rstrip("\n").split("\t")[1] for l in open(sys.argv[1], encoding="utf-8")][1:]
"""

LOOP = (
    READ
    + r"""
from mecab import MeCab
mecab = MeCab()
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for t in texts:
        out.write(json.dumps(mecab.morphs(t), ensure_ascii=False) + "\n")
"""
)

THREADS = (
    READ
    + r"""
import threading
from concurrent.futures import ThreadPoolExecutor
from mecab import MeCab
local = threading.local()
def morphs(part):
    if not hasattr(local, "mecab"):
        local.mecab = MeCab()
    return [local.mecab.morphs(t) for t in part]
parts = [texts[i:i + 500] for i in range(0, len(texts), 500)]
with ThreadPoolExecutor(int(sys.argv[3])) as pool, open(sys.argv[2], "w", encoding="utf-8") as out:
    for part in pool.map(morphs, parts):
        out.writelines(json.dumps(tokens, ensure_ascii=False) + "\n" for tokens in part)
"""
)

POOL = (
    r"""
import json, sys
from multiprocessing import Pool
mecab = None
def init():
    global mecab
    from mecab import MeCab
    mecab = MeCab()
def morphs(t):
    return mecab.morphs(t)
if __name__ == "__main__":
"""
    + "\n".join("    " + line for line in READ.strip().splitlines())
    + r"""
    with Pool(int(sys.argv[3]), init) as pool, open(sys.argv[2], "w", encoding="utf-8") as out:
        for tokens in pool.imap(morphs, texts, chunksize=500):
            out.write(json.dumps(tokens, ensure_ascii=False) + "\n")
"""
)

STEPS = ("loop", "threads", "pool", "nlpcli-1", "nlpcli")
TARGET = 1.6


def main() -> int:
    args, steps, tmp, data, texts = c.tagger_bench_setup(__doc__, STEPS, "bench_mecab", "nlpcli-bench-mecab-")
    jobs = str(args.jobs)

    for name, code in {"loop": LOOP, "threads": THREADS, "pool": POOL}.items():
        (tmp / f"{name}.py").write_text(code, encoding="utf-8")
    nlpcli = c.NLPCLI + [
        "--quiet",
        "preprocess",
        "morphs",
        "--tagger",
        "mecab",
        data,
        "--output-format",
        "text",
    ]
    commands = {
        "loop": [c.PYTHON, tmp / "loop.py", data, tmp / "loop.out"],
        "threads": [c.PYTHON, tmp / "threads.py", data, tmp / "threads.out", jobs],
        "pool": [c.PYTHON, tmp / "pool.py", data, tmp / "pool.out", jobs],
        "nlpcli-1": nlpcli + ["-o", tmp / "nlpcli-1.out"],
        "nlpcli": nlpcli + ["--jobs", jobs, "-o", tmp / "nlpcli.out"],
    }
    results: dict[str, c.Measured] = {}
    for step in steps:
        m = c.measure(step, commands[step], interval=0.1)
        results[step] = m
        print(f"  {step:10s} {m.wall:7.2f} s  ({m.cores:.2f} cores)   $ {m.shell()}", flush=True)

    failures: list[str] = []
    base = results.get("loop")
    rows = [
        [
            step,
            f"{m.wall:.2f}",
            f"{m.cpu:.2f}",
            f"{m.cores:.2f}",
            f"{len(texts) / m.wall:,.0f}",
            f"{base.wall / m.wall:.2f}x" if base else "-",
        ]
        for step, m in results.items()
    ]
    print()
    c.print_table(rows, ["run", "wall s", "cpu s", "cores", "docs/s", "speed vs loop"])

    read = lambda name: (tmp / name).read_text(encoding="utf-8").split("\n")[:-1]  # noqa: E731
    print()
    if base:
        reference = [json.loads(line) for line in read("loop.out")]
        for other in ("threads", "pool", "nlpcli-1", "nlpcli"):
            if other not in results:
                continue
            lines = read(f"{other}.out")
            if other in ("threads", "pool"):
                lines = [" ".join(json.loads(x)) for x in lines]
            bad = c.compare_tokens(reference, lines, other, texts)
            print(
                f"tokens {other} vs MeCab().morphs: {len(reference) - len(bad):,}/{len(reference):,} "
                "lines identical"
            )
            if (
                bad
                and other.startswith("nlpcli")
                and c.recheck_without_nfc(bad, reference, texts, tmp, ["--tagger", "mecab"], other)
            ):
                print(
                    f"  the {len(bad)} other line(s) hold text not in Unicode NFC, which nlpcli normalizes "
                    "first by default; with --no-nfc they are identical too"
                )
            elif bad:
                failures.append(f"{other}: {len(bad)} lines differ from MeCab().morphs")
        if "nlpcli" in results:
            c.check_target(
                f"nlpcli --tagger mecab --jobs {jobs}",
                "the loop",
                base.wall / results["nlpcli"].wall,
                TARGET,
                failures,
            )
    saved = {
        "reviews": len(texts),
        "data": str(data),
        "jobs": args.jobs,
        "runs": {k: {"wall": m.wall, "cpu": m.cpu, "command": m.shell()} for k, m in results.items()},
    }
    return c.finish(failures, saved, args.save)


if __name__ == "__main__":
    sys.exit(main())
