"""Shared helpers for the benchmarks: where the data is, and running a whole process while
watching its wall time, CPU time and memory, children included.

Every figure here is for a *whole process* (start-up included), as a user meets it: the
command is started with :func:`measure`, which polls the process tree (the command and every
descendant: forkserver, worker processes, JVMs) every ``interval`` seconds and records

* ``wall``: seconds from start to exit;
* ``cpu``: user + system seconds of the whole tree (the last value seen for each process);
* ``peak_rss``: the largest *sum* of resident set sizes over the tree seen at one instant;
* ``peak_pss``: the same with proportional set sizes (shared pages split between the
  processes that share them; forked workers share much of their parent), Linux only.

Run benchmarks on an otherwise idle machine, one at a time, so that timings stay honest:
``python3 bench/<script>.py``.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: the full NSMC-derived review sets (not in the repository: ../shared/data/reviews)
DATA = Path(os.environ.get("NLPCLI_BENCH_DATA", REPO.parent / "shared" / "data" / "reviews"))
CACHE = Path(os.environ.get("NLPCLI_CACHE", "/tmp/nlpcli-cache"))
PYTHON = sys.executable
NLPCLI = [PYTHON, "-m", "nlpcli"]


def data_file(name: str) -> Path:
    path = DATA / name
    if not path.exists():
        sys.exit(f"bench: {path} not found; set NLPCLI_BENCH_DATA to the folder holding {name}")
    return path


def head_file(src: Path, lines: int, dest: Path) -> Path:
    """The first ``lines`` lines of ``src`` (a header counts as one) written to ``dest``."""
    with open(src, encoding="utf-8") as fin, open(dest, "w", encoding="utf-8") as fout:
        for i, line in enumerate(fin):
            if i >= lines:
                break
            fout.write(line)
    return dest


def tsv_column(path: Path, column: str = "document", limit: int | None = None) -> list[str]:
    """One column of a header-first TSV (tab split, no quoting: as ``nlpcli`` reads it)."""
    out = []
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        index = header.index(column)
        for line in fh:
            if limit is not None and len(out) >= limit:
                break
            row = line.rstrip("\n").split("\t")
            out.append(row[index] if len(row) > index else "")
    return out


def workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


@dataclass
class Measured:
    label: str
    command: list[str]
    wall: float
    cpu: float
    peak_rss: int
    peak_pss: int
    returncode: int
    stderr: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def cores(self) -> float:
        return self.cpu / self.wall if self.wall else 0.0

    def shell(self) -> str:
        return " ".join(shlex.quote(str(c)) for c in self.command)


def _tree(root) -> list:
    try:
        return [root] + root.children(recursive=True)
    except Exception:
        return [root]


def measure(
    label: str,
    command: list[str],
    stdin: Path | None = None,
    stdout: Path | None = None,
    interval: float = 0.1,
    memory: bool = False,
    env: dict | None = None,
    check: bool = True,
) -> Measured:
    """Run ``command`` to completion and measure it (see the module docstring).

    ``memory`` also samples PSS (slower: reads smaps_rollup); RSS is always sampled.
    """
    import psutil

    cpu_seen: dict[tuple[int, float], float] = {}
    peak_rss = peak_pss = 0
    fin = open(stdin, "rb") if stdin else subprocess.DEVNULL
    fout = open(stdout, "wb") if stdout else subprocess.DEVNULL
    errf = tempfile.TemporaryFile()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(c) for c in command], stdin=fin, stdout=fout, stderr=errf, env={**os.environ, **(env or {})}
    )
    root = psutil.Process(proc.pid)
    while True:
        rss = pss = 0
        for p in _tree(root):
            try:
                with p.oneshot():
                    t = p.cpu_times()
                    cpu_seen[(p.pid, p.create_time())] = t.user + t.system
                    if memory:
                        full = p.memory_full_info()
                        rss += full.rss
                        pss += getattr(full, "pss", full.rss)
                    else:
                        rss += p.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        if proc.poll() is not None:
            break
        time.sleep(interval)
    wall = time.perf_counter() - start
    for f in (fin, fout):
        if f is not subprocess.DEVNULL:
            f.close()
    errf.seek(0)
    err = errf.read().decode("utf-8", "replace")
    result = Measured(label, command, wall, sum(cpu_seen.values()), peak_rss, peak_pss, proc.returncode, err)
    if check and proc.returncode != 0:
        sys.exit(f"bench: {label} failed (exit {proc.returncode}):\n{err[-2000:]}")
    return result


def median_wall(label: str, command: list[str], runs: int = 5) -> tuple[float, list[float]]:
    walls = [measure(label, command, interval=0.01).wall for _ in range(runs)]
    return statistics.median(walls), walls


def mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def print_table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))


def finish(failures: list[str], saved: dict | None = None, path: Path | None = None) -> int:
    """Write ``saved`` as JSON to ``path`` (if given), print the failures; the exit status."""
    import json

    if path is not None and saved is not None:
        path.write_text(json.dumps({**saved, "failures": failures}, indent=2), encoding="utf-8")
    for f in failures:
        print(f"FAIL {f}")
    return 1 if failures else 0


def machine() -> str:
    import platform

    return f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}"


# --------------------------------------------------------------------------------------------
# token checks shared by the tagger benchmarks


def check_target(what: str, against: str, ratio: float, target: float, failures: list[str]) -> None:
    """Print whether ``ratio`` (``what`` against ``against``) reaches ``target``; a miss is a failure."""
    ok = ratio >= target
    print(f"target {what} >= {target}x {against}: {ratio:.2f}x {'ok' if ok else 'MISSED'}")
    if not ok:
        failures.append(f"{what}: {ratio:.2f}x < {target}x {against}")


def tagger_bench_setup(doc: str, steps: tuple[str, ...], name: str, prefix: str):
    """The options every tagger benchmark takes (--data, --limit, --jobs, --only, --save) and its
    input: ``(args, steps to run, work folder, data file, its 'document' column)``."""
    import argparse

    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="TSV with a 'document' column (default: dev.tsv)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N reviews")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default=",".join(steps), help=f"comma list of {','.join(steps)}")
    ap.add_argument("--save", type=Path, help="also write the figures as JSON here")
    args = ap.parse_args()
    chosen = [s for s in args.only.split(",") if s]
    unknown = set(chosen) - set(steps)
    if unknown:
        ap.error(f"unknown steps: {', '.join(sorted(unknown))}")
    tmp = workdir(prefix)
    data = args.data or data_file("dev.tsv")
    if args.limit:
        data = head_file(data, args.limit + 1, tmp / "input.tsv")
    texts = tsv_column(data)
    print(f"# {name}: {len(texts):,} reviews of {data}, --jobs {args.jobs}; {machine()}")
    return args, chosen, tmp, data, texts


def compare_tokens(reference: list[list[str]], lines: list[str], label: str, texts: list[str]) -> list[int]:
    """The indices of the lines whose tokens differ from ``reference`` (a token's own spaces
    written as ``_``, as nlpcli writes them); prints the first few."""
    if len(reference) != len(lines):
        print(f"  {label}: {len(lines)} lines, expected {len(reference)}")
        return list(range(len(reference)))
    bad = []
    for i, (ref, line) in enumerate(zip(reference, lines)):
        want = [t.replace(" ", "_") for t in ref]
        got = line.split(" ") if line else []
        if want != got:
            bad.append(i)
            if len(bad) <= 5:
                print(
                    f"  {label}: line {i + 2} differs\n    text: {ascii(texts[i])}\n"
                    f"    want: {ascii(want)}\n    got:  {ascii(got)}"
                )
    return bad


def recheck_without_nfc(
    bad: list[int], reference: list[list[str]], texts: list[str], tmp: Path, options: list[str], label: str
) -> bool:
    """Lines that differ only because nlpcli's default --nfc changed their text (e.g. a CJK
    compatibility ideograph): tag just those again with --no-nfc; True if they then match."""
    import unicodedata

    if not bad or any(unicodedata.normalize("NFC", texts[i]) == texts[i] for i in bad):
        return False
    subset = tmp / "non-nfc.tsv"
    subset.write_text("document\n" + "".join(texts[i] + "\n" for i in bad), encoding="utf-8")
    measure(
        "no-nfc",
        NLPCLI
        + [
            "--quiet",
            "preprocess",
            "morphs",
            *options,
            "--no-nfc",
            subset,
            "--output-format",
            "text",
            "-o",
            tmp / "non-nfc.out",
        ],
    )
    lines = (tmp / "non-nfc.out").read_text(encoding="utf-8").split("\n")[:-1]
    return not compare_tokens(
        [reference[i] for i in bad], lines, f"{label} --no-nfc", [texts[i] for i in bad]
    )


def local_cluster(n_workers: int):
    """A Dask LocalCluster of ``n_workers`` worker processes, one thread each, on 127.0.0.1."""
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=50,
    )
