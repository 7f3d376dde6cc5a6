"""Streaming check: peak memory of ``nlpcli preprocess`` over all of train.tsv against its peak
over the first 15,000 lines; worker processes (and their JVMs) included.

    python3 bench/bench_memory.py                      # okt, -j 2
    python3 bench/bench_memory.py --tagger kiwi

The command is ``nlpcli preprocess morphs --stem [--norm] --tagger T --jobs J train.tsv``,
output to /dev/null. Memory is sampled over the whole process tree every 0.1 s (see
``_common.py``): the peak of the summed PSS (shared pages split fairly between the parent,
the forkserver and the workers) and of the summed RSS. Target: full run within 15% of the
15,000-line run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tagger", default="okt")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--lines", type=int, default=15000, help="size of the small run")
    ap.add_argument("--data", type=Path, help="default: train.tsv")
    ap.add_argument("--save", type=Path)
    args = ap.parse_args()

    data = args.data or c.data_file("train.tsv")
    tmp = c.workdir("nlpcli-bench-mem-")
    small = c.head_file(data, args.lines + 1, tmp / "head.tsv")
    flags = ["--stem", "--norm"] if args.tagger == "okt" else (["--stem"] if args.tagger == "kiwi" else [])
    total = sum(1 for _ in open(data, encoding="utf-8")) - 1
    print(f"# bench_memory: nlpcli preprocess, --tagger {args.tagger} --jobs {args.jobs}; {c.machine()}")

    results = {}
    for label, path, n in (("first", small, args.lines), ("all", data, total)):
        cmd = c.NLPCLI + [
            "--quiet",
            "preprocess",
            "morphs",
            *flags,
            "--tagger",
            args.tagger,
            "--jobs",
            str(args.jobs),
            path,
            "--output-format",
            "text",
        ]
        m = c.measure(label, cmd, memory=True, interval=0.1)
        results[label] = m
        print(
            f"  {n:>7,} lines: {m.wall:6.1f} s, peak PSS {c.mib(m.peak_pss)}, peak RSS {c.mib(m.peak_rss)}"
            f"   $ {m.shell()} > /dev/null",
            flush=True,
        )
    pss = results["all"].peak_pss / results["first"].peak_pss
    rss = results["all"].peak_rss / results["first"].peak_rss
    print(
        f"\nall / first {args.lines:,}: peak PSS {pss:.3f}x, peak RSS {rss:.3f}x "
        f"(target <= 1.15x): {'ok' if pss <= 1.15 and rss <= 1.15 else 'MISSED'}"
    )
    if args.save:
        args.save.write_text(
            json.dumps(
                {
                    k: {"wall": m.wall, "peak_pss": m.peak_pss, "peak_rss": m.peak_rss, "command": m.shell()}
                    for k, m in results.items()
                },
                indent=2,
            )
        )
    return 0 if pss <= 1.15 and rss <= 1.15 else 1


if __name__ == "__main__":
    sys.exit(main())
