"""Okt token equality and tagging throughput, side by side, whole processes.

    python3 bench/bench_preprocess.py            # all of dev.tsv
    python3 bench/bench_preprocess.py --limit 2000 --only loop,nlpcli-okt       # a quick look

Runs, each as its own process, start-up (Python, JVM, dictionaries) included:

1. ``loop``: the plain one-process loop ``Okt().morphs(text, stem=True, norm=True)``;
2. ``pool``: a hand-written ``multiprocessing.Pool(JOBS)`` over the same call;
3. ``nlpcli-okt``: ``nlpcli preprocess morphs --stem --norm --tagger okt --jobs JOBS``;
4. ``kiwi``: kiwipiepy called directly, ``Kiwi(num_workers=JOBS).tokenize(texts)``;
5. ``nlpcli-kiwi``: ``nlpcli preprocess morphs --tagger kiwi --jobs JOBS``.

Then checks that every line of (3) holds exactly the tokens of (1) (a token's inner spaces are
written as ``_`` by nlpcli, so (1) is compared the same way), and that (5) matches (4). Prints
seconds, CPU cores used and speed ratios; exits 1 if tokens differ or a target is missed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

LOOP = r"""
import json, sys
from konlpy.tag import Okt
texts = [l.rstrip("\n").split("\t")[1] for l in open(sys.argv[1], encoding="utf-8")][1:]
okt = Okt()
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for t in texts:
        out.write(json.dumps(okt.morphs(t, stem=True, norm=True), ensure_ascii=False) + "\n")
"""

POOL = r"""
import json, sys
from multiprocessing import Pool
okt = None
def init():
    global okt
    from konlpy.tag import Okt
    okt = Okt()
def morphs(t):
    return okt.morphs(t, stem=True, norm=True)
if __name__ == "__main__":
    texts = [l.rstrip("\n").split("\t")[1] for l in open(sys.argv[1], encoding="utf-8")][1:]
    with Pool(int(sys.argv[3]), init) as pool, open(sys.argv[2], "w", encoding="utf-8") as out:
        for tokens in pool.imap(morphs, texts, chunksize=200):
            out.write(json.dumps(tokens, ensure_ascii=False) + "\n")
"""

KIWI = r"""
import sys
from kiwipiepy import Kiwi
texts = [l.rstrip("\n").split("\t")[1] for l in open(sys.argv[1], encoding="utf-8")][1:]
kiwi = Kiwi(num_workers=int(sys.argv[3]))
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for tokens in kiwi.tokenize(texts):
        out.write("\t".join(t.form for t in tokens) + "\n")
"""

STEPS = ("loop", "pool", "nlpcli-okt", "kiwi", "nlpcli-kiwi")


def main() -> int:
    args, steps, tmp, data, texts = c.tagger_bench_setup(
        __doc__, STEPS, "bench_preprocess", "nlpcli-bench-pre-"
    )
    jobs = str(args.jobs)

    scripts = {"loop": LOOP, "pool": POOL, "kiwi": KIWI}
    for name, code in scripts.items():
        (tmp / f"{name}.py").write_text(code, encoding="utf-8")
    commands = {
        "loop": [c.PYTHON, tmp / "loop.py", data, tmp / "loop.out"],
        "pool": [c.PYTHON, tmp / "pool.py", data, tmp / "pool.out", jobs],
        "nlpcli-okt": c.NLPCLI
        + [
            "--quiet",
            "preprocess",
            "morphs",
            "--stem",
            "--norm",
            "--tagger",
            "okt",
            "--jobs",
            jobs,
            data,
            "--output-format",
            "text",
            "-o",
            tmp / "nlpcli-okt.out",
        ],
        "kiwi": [c.PYTHON, tmp / "kiwi.py", data, tmp / "kiwi.out", jobs],
        "nlpcli-kiwi": c.NLPCLI
        + [
            "--quiet",
            "preprocess",
            "morphs",
            "--tagger",
            "kiwi",
            "--jobs",
            jobs,
            data,
            "--output-format",
            "text",
            "-o",
            tmp / "nlpcli-kiwi.out",
        ],
    }
    results: dict[str, c.Measured] = {}
    for step in steps:
        m = c.measure(step, commands[step], interval=0.2)
        results[step] = m
        print(f"  {step:12s} {m.wall:7.1f} s  ({m.cores:.2f} cores)   $ {m.shell()}", flush=True)

    failures = []
    print()
    rows = []
    base = results.get("loop")
    kiwi = results.get("kiwi")
    for step, m in results.items():
        vs_loop = f"{base.wall / m.wall:.2f}x" if base else "-"
        vs_kiwi = f"{kiwi.wall / m.wall:.2f}x" if kiwi and "kiwi" in step else "-"
        rows.append(
            [
                step,
                f"{m.wall:.1f}",
                f"{m.cpu:.1f}",
                f"{m.cores:.2f}",
                f"{len(texts) / m.wall:,.0f}",
                vs_loop,
                vs_kiwi,
            ]
        )
    c.print_table(rows, ["run", "wall s", "cpu s", "cores", "docs/s", "speed vs loop", "speed vs kiwi"])

    read = lambda name: (tmp / name).read_text(encoding="utf-8").split("\n")[:-1]  # noqa: E731
    print()
    if "loop" in results:
        reference = [json.loads(line) for line in read("loop.out")]
        for other in ("pool", "nlpcli-okt"):
            if other not in results:
                continue
            lines = read(f"{other}.out")
            if other == "pool":
                lines = [" ".join(t.replace(" ", "_") for t in json.loads(x)) for x in lines]
            bad = c.compare_tokens(reference, lines, other, texts)
            print(
                f"tokens {other} vs Okt().morphs(stem=True, norm=True): "
                f"{len(reference) - len(bad):,}/{len(reference):,} lines identical"
            )
            if (
                bad
                and other == "nlpcli-okt"
                and c.recheck_without_nfc(bad, reference, texts, tmp, ["--stem", "--norm"], other)
            ):
                print(
                    f"  the {len(bad)} other line(s) hold text not in Unicode NFC, which nlpcli normalizes "
                    "first by default; with --no-nfc they are identical too"
                )
            elif bad:
                failures.append(f"{other}: {len(bad)} lines differ from Okt")
    if "kiwi" in results and "nlpcli-kiwi" in results:
        reference = [line.split("\t") if line else [] for line in read("kiwi.out")]
        bad = c.compare_tokens(reference, read("nlpcli-kiwi.out"), "nlpcli-kiwi", texts)
        print(
            f"tokens nlpcli-kiwi vs kiwipiepy: {len(reference) - len(bad):,}/{len(reference):,} lines identical"
            " (nlpcli applies NFC first by default)"
        )

    if base and "nlpcli-okt" in results:
        c.check_target(
            f"nlpcli --tagger okt --jobs {jobs}",
            "the loop",
            base.wall / results["nlpcli-okt"].wall,
            1.5,
            failures,
        )
    if kiwi and "nlpcli-kiwi" in results:
        c.check_target(
            "nlpcli --tagger kiwi",
            "kiwipiepy's own speed",
            kiwi.wall / results["nlpcli-kiwi"].wall,
            0.9,
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
