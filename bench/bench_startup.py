"""Start-up time: ``nlpcli --help``, ``--version``, ``preprocess --help``, ``vectorize fit --help``
and ``info`` on a torch model, median of 5 fresh processes.

    python3 bench/bench_startup.py

Runs the installed console script (the ``nlpcli`` next to this Python, not a pyenv/asdf shim,
whose own start-up is not nlpcli's), after one untimed warm-up run so the files are in the
page cache. Also checks that none of them imports torch, gensim or scikit-learn
(``python -X importtime``). Targets: ``nlpcli --help`` and ``nlpcli --version`` under 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

HEAVY = ("torch", "gensim", "sklearn")


def console_script() -> list[str]:
    here = Path(c.PYTHON).parent / "nlpcli"
    if here.exists():
        return [str(here)]
    found = shutil.which("nlpcli")
    return [found] if found else c.NLPCLI


def heavy_imports(args: list[str]) -> list[str]:
    out = subprocess.run(
        [c.PYTHON, "-X", "importtime", "-m", "nlpcli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "100"},
    )
    names = {
        line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")
    }
    return sorted(n for n in names if n.split(".")[0] in HEAVY)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--save", type=Path)
    args = ap.parse_args()

    exe = console_script()
    print(f"# bench_startup: {' '.join(exe)}; median of {args.runs}; {c.machine()}")
    failures, saved = [], {}
    model = str(c.REPO / "tests" / "data" / "v0.1-rnn.pt")
    commands = (["--help"], ["--version"], ["preprocess", "--help"], ["vectorize", "fit", "--help"])
    for extra in (*commands, ["info", model]):
        cmd = exe + extra
        label = " ".join(Path(a).name if "/" in a else a for a in extra)
        c.measure("warm-up", cmd)
        median, walls = c.median_wall(label, cmd, args.runs)
        heavy = heavy_imports(extra)
        print(
            f"  nlpcli {label:22s} median {median:.3f} s  runs {[round(w, 3) for w in walls]}  "
            f"heavy imports: {', '.join(heavy) or 'none'}"
        )
        saved[label] = {"median": median, "runs": walls, "heavy_imports": heavy}
        if heavy:
            failures.append(f"nlpcli {label} imports {', '.join(heavy)}")
        if extra in (["--help"], ["--version"]) and median >= 0.3:
            failures.append(f"nlpcli {extra[0]} takes {median:.3f} s >= 0.3 s")
    python_only = c.median_wall("python", [c.PYTHON, "-c", "pass"], args.runs)[0]
    print(f"  (bare 'python -c pass': {python_only:.3f} s)")
    print(
        "target: nlpcli --help and --version < 0.3 s: "
        f"{'ok' if not any(' takes ' in f for f in failures) else 'MISSED'}"
    )
    return c.finish(failures, saved, args.save)


if __name__ == "__main__":
    sys.exit(main())
