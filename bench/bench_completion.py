"""Shell completion's cost: ``nlpcli --help`` with completion on (as shipped) against a copy of
this checkout with ``add_completion=False``, fresh processes interleaved, and the time to answer
a completion request (``--tagger <TAB>``).

    python3 bench/bench_completion.py [--runs 15]

Both sides run ``python -m nlpcli`` from source (PYTHONPATH), so the only difference is the
completion flag. CPU time (user + system of the process) is reported next to wall time: it
is steadier on a shared machine. Ratios > 1 mean completion costs time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402


def run(source: Path, args: list[str], extra_env: dict | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one ``python -m nlpcli ARGS`` process."""
    env = {**os.environ, "PYTHONPATH": str(source), "COLUMNS": "100", **(extra_env or {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([c.PYTHON, "-m", "nlpcli", *args], env=env, capture_output=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def without_completion(folder: Path) -> Path:
    shutil.copytree(c.REPO / "nlpcli", folder / "nlpcli", ignore=shutil.ignore_patterns("__pycache__"))
    init = folder / "nlpcli" / "cli" / "__init__.py"
    text = init.read_text(encoding="utf-8")
    assert "add_completion=True" in text
    init.write_text(text.replace("add_completion=True", "add_completion=False"), encoding="utf-8")
    return folder


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    print(f"# bench_completion: median of {args.runs}, interleaved; {c.machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        sides = {"completion on": c.REPO, "completion off": without_completion(Path(tmp))}
        complete = {
            "_NLPCLI_COMPLETE": "complete_bash",
            "COMP_WORDS": "nlpcli preprocess morphs --tagger ",
            "COMP_CWORD": "4",
        }
        cases = [
            ("--help", ["--help"], None, sides),
            ("--tagger <TAB>", [], complete, {"completion on": c.REPO}),
        ]
        for name, argv, env, where in cases:
            for side in where.values():  # warm-up: bytecode and page cache
                run(side, argv, env)
            times: dict[str, list[tuple[float, float]]] = {k: [] for k in where}
            for _ in range(args.runs):
                for label, side in where.items():
                    times[label].append(run(side, argv, env))
            med = {
                k: (statistics.median(w for w, _ in v), statistics.median(u for _, u in v))
                for k, v in times.items()
            }
            for label, (wall, cpu) in med.items():
                print(f"  {name:16s} {label:15s} wall {wall:.3f} s  cpu {cpu:.3f} s")
            if len(med) == 2:
                (w1, c1), (w0, c0) = med["completion on"], med["completion off"]
                print(f"  {name:16s} on/off ratio   wall {w1 / w0:.2f}  cpu {c1 / c0:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
