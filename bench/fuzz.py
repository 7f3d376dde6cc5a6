"""A fuzzing campaign against nlpcli, whole processes, seeded.

    python3 bench/fuzz.py --minutes 20 --seed 1            # all families
    python3 bench/fuzz.py --minutes 2 --families readers   # one family

Families (``bench/fuzz_inputs.py`` makes the inputs):

- ``readers``: generated plain text, TSV, CSV and JSONL, gzipped or not (truncated streams too),
  with NUL, BOM, lone CR, U+2028/U+0085/U+001C, surrogate-escaped bytes, long lines, empty
  fields, duplicate or empty column names, random bytes; read by ``preprocess`` and ``predict``.
  Contract: exit 0 with output line N for input line N, or exit 1/2 with one ``nlpcli: error:``
  line naming the input, no traceback and no output file left.
- ``artifacts``: byte flips, truncations and appended garbage in every kind of artifact (vectorizer,
  logreg, mlp, regressor, RNN, translator, each file of an embed model), all made small at the
  start; plus pickles that ask to run code. Contract: a clean load that answers as the original,
  or one clear error naming the file; never a traceback; never code run. A share of the files
  lose their checksum footer first (as nlpcli 0.1 wrote them), so that the unpickler and torch's
  loader meet the damage themselves: for those, a clean load may answer differently.
- ``cli``: generated option values (negative, zero, huge, NaN, empty, missing paths) for every
  command. Contract: exit 2 with a usage message, or a clean run or error; never a traceback.

Each input runs in a process of its own, forked from a server that has imported nlpcli and its
libraries once (``bench/fuzz_server.py``); a sample also runs as a fresh ``python -m nlpcli``
to check that the two agree. Prints a table (family, inputs, ok runs, clean errors, violations),
writes a JSON summary, and saves each violation's input and command under ``--repro``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fuzz_inputs as gen  # noqa: E402
from fuzz_server import REPO, ForkServer, Outcome, RemoteServer, finish_fresh, start_fresh  # noqa: E402

SAMPLE = os.path.join(REPO, "sample_data")
FAMILIES = {"readers": 0.5, "artifacts": 0.3, "cli": 0.2}
TIMEOUTS = {"readers": 30.0, "artifacts": 60.0, "cli": 30.0}
GENERIC_BUG = "(run with --debug for the traceback)"


# --------------------------------------------------------------------------------------------
# the small artifacts every family reads


def _head(path: str, lines: int) -> bytes:
    with open(path, "rb") as fh:
        return b"".join(fh.readline() for _ in range(lines))


def build_bases(server: RemoteServer, root: str) -> dict:
    """Tiny models trained on slices of sample_data, and the answers of the originals."""
    os.makedirs(root, exist_ok=True)
    data = {
        "train.tsv": _head(os.path.join(SAMPLE, "reviews-train.tsv"), 401),
        "reg.tsv": _head(os.path.join(SAMPLE, "ratings-train.tsv"), 301),
        "pairs.tsv": _head(os.path.join(SAMPLE, "tatoeba-train.tsv"), 400),
    }
    texts = [line.split(b"\t")[1] for line in data["train.tsv"].splitlines()[1:]]
    data["text.txt"] = b"\n".join(texts) + b"\n"
    data["in.txt"] = b"\n".join(texts[:6]) + b"\n\n" + "영화 정말 좋다\n".encode()
    data["in_ko.txt"] = (
        b"\n".join(line.split(b"\t")[0] for line in data["pairs.tsv"].splitlines()[:5]) + b"\n"
    )
    for name, content in data.items():
        with open(os.path.join(root, name), "wb") as fh:
            fh.write(content)
    recipes = {
        "vectorizer": (["vectorize", "fit", "text.txt", "-o", "vec.joblib", "--min-df", "2"], "vec.joblib"),
        "logreg": (
            [
                "train",
                "train.tsv",
                "--tagger",
                "none",
                "--label-column",
                "label",
                "-o",
                "logreg.joblib",
                "--dev-fraction",
                "0.1",
            ],
            "logreg.joblib",
        ),
        "mlp": (
            [
                "train",
                "train.tsv",
                "--tagger",
                "none",
                "--label-column",
                "label",
                "--model",
                "mlp",
                "--hidden-sizes",
                "8",
                "--epochs",
                "3",
                "--max-features",
                "300",
                "-o",
                "mlp.joblib",
            ],
            "mlp.joblib",
        ),
        "regressor": (
            [
                "train",
                "reg.tsv",
                "--tagger",
                "none",
                "--label-column",
                "rating",
                "--model",
                "linreg",
                "--task",
                "regression",
                "-o",
                "linreg.joblib",
            ],
            "linreg.joblib",
        ),
        "rnn": (
            [
                "train",
                "train.tsv",
                "--tagger",
                "none",
                "--label-column",
                "label",
                "--model",
                "rnn",
                "--epochs",
                "1",
                "--hidden",
                "8",
                "--embedding-dim",
                "8",
                "--device",
                "cpu",
                "--threads",
                "1",
                "-o",
                "rnn.pt",
            ],
            "rnn.pt",
        ),
        "translator": (
            [
                "translate",
                "train",
                "pairs.tsv",
                "--src-tokenizer",
                "spm",
                "--tgt-tokenizer",
                "spm",
                "--src-vocab-size",
                "800",
                "--tgt-vocab-size",
                "400",
                "--epochs",
                "1",
                "--hidden",
                "16",
                "--embedding-dim",
                "16",
                "--device",
                "cpu",
                "--threads",
                "1",
                "-o",
                "tr.pt",
            ],
            "tr.pt",
        ),
        "embed": (
            [
                "embed",
                "train",
                "text.txt",
                "-o",
                "w2v.model",
                "--dim",
                "8",
                "--min-count",
                "1",
                "--epochs",
                "1",
                "--workers",
                "1",
                "--seed",
                "1",
            ],
            "w2v.model",
        ),
    }
    readers = {
        "vectorizer": ["-q", "vectorize", "inspect", "ART", "--json", "--top", "5"],
        "logreg": ["-q", "predict", "ART", "in.txt", "--top-k", "2"],
        "mlp": ["-q", "predict", "ART", "in.txt"],
        "regressor": ["-q", "predict", "ART", "in.txt"],
        "rnn": ["-q", "predict", "ART", "in.txt", "--device", "cpu", "--threads", "1"],
        "translator": [
            "-q",
            "translate",
            "run",
            "ART",
            "in_ko.txt",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--beam",
            "2",
        ],
        "embed": ["-q", "embed", "similar", "ART", "영화", "정말", "-n", "3"],
    }
    bases: dict = {"files": {}, "artifacts": {}}
    for kind, (argv, out) in recipes.items():
        started = time.monotonic()
        res = server.run(["-q", *argv], root, timeout=600)
        if res.code != 0:
            raise SystemExit(
                f"fuzz: could not make the {kind} artifact ({' '.join(argv)}):\n"
                f"{res.err.decode(errors='replace')}"
            )
        path = os.path.join(root, out)
        bases["files"][out] = path
        check_dir = tempfile.mkdtemp(dir=root, prefix=f"baseline-{kind}-")
        name = "model" if os.path.isdir(path) else "artifact" + os.path.splitext(path)[1]
        _place(path, os.path.join(check_dir, name))
        inputs = {n: os.path.join(root, n) for n in ("in.txt", "in_ko.txt")}
        for n, p in inputs.items():
            _place(p, os.path.join(check_dir, n))
        reader = [name if a == "ART" else a for a in readers[kind]]
        base = server.run(reader, check_dir, timeout=120)
        if base.code != 0:
            raise SystemExit(
                f"fuzz: the {kind} artifact does not answer ({' '.join(reader)}):\n"
                f"{base.err.decode(errors='replace')}"
            )
        bases["artifacts"][kind] = {"path": path, "argv": readers[kind], "out": base.out, "inputs": inputs}
        print(f"  {kind:<11} {time.monotonic() - started:5.1f} s  {_size(path):>9,} bytes", file=sys.stderr)
    for name in ("train.tsv", "pairs.tsv"):
        bases["files"][name] = os.path.join(root, name)
    return bases


def _size(path: str) -> int:
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, n)) for n in os.listdir(path))
    return os.path.getsize(path)


def _place(src: str, dst: str) -> None:
    """Hard links (nlpcli replaces files, never writes into them), a tree of them for a folder."""
    if os.path.isdir(src):
        shutil.copytree(src, dst, copy_function=os.link)
    else:
        os.link(src, dst)


# --------------------------------------------------------------------------------------------
# the contract


def check(case: gen.Case, res: Outcome, workdir: str) -> tuple[str, str]:
    """``(status, reason)``: status is ok, error (a clean one), timeout or violation."""
    err = res.err.decode("utf-8", "replace")
    if res.timed_out:
        return ("timeout", "ran past its time limit") if case.family == "cli" else ("violation", "hang")
    if "Traceback" in err:
        return "violation", "traceback"
    if GENERIC_BUG in err:
        return "violation", "unexpected exception: " + _error_line(err)
    if res.code not in (0, 1, 2):
        return "violation", f"exit status {res.code}"
    left = [n for n in _walk(workdir) if n.endswith((".part", ".old"))]
    if left:
        return "violation", f"temporary file left: {left[0]}"
    if case.expect.get("marker") and os.path.exists(os.path.join(workdir, case.expect["marker"])):
        return "violation", "code ran"
    if res.code == 0:
        if "nlpcli: error:" in err:
            return "violation", "exit 0 with an error message"
        return _check_ok(case, res, workdir)
    lines = [line for line in err.splitlines() if line.startswith("nlpcli: error:")]
    if res.code == 1 and len(lines) != 1:
        return "violation", f"exit 1 with {len(lines)} error lines"
    if res.code == 2 and not lines and "Usage:" not in err:
        return "violation", "exit 2 without a usage message"
    named = case.expect.get("input") or case.expect.get("artifact")
    if lines and named and named not in lines[0] and os.path.basename(named) not in lines[0]:
        return "violation", f"error does not name {named}: {lines[0]}"
    output = case.expect.get("output")
    if output and os.path.exists(os.path.join(workdir, output)):
        return "violation", "output file left after an error"
    return "error", lines[0] if lines else "usage"


def _check_ok(case: gen.Case, res: Outcome, workdir: str) -> tuple[str, str]:
    exp = case.expect
    if case.family == "readers":
        want = gen.expected_lines(exp["raw"], exp["format"], exp["errors"])
        if want is None:
            return "violation", "accepted an input that breaks the format"
        if exp["output"]:
            with open(os.path.join(workdir, exp["output"]), "rb") as fh:
                out = fh.read()
        else:
            out = res.out
        if out and not out.endswith(b"\n"):
            return "violation", "output does not end with a newline"
        got = out.count(b"\n")
        header = 1 if exp["out_format"] == "tsv" and want > 0 else 0
        if got != want + header:
            return "violation", f"{got - header} output lines for {want} documents"
    elif case.family == "artifacts":
        if exp.get("crafted"):
            return "violation", "a pickle that names code loaded"
        if res.out != exp["baseline"] and not exp["legacy"]:  # without a checksum, a changed weight
            return "violation", "clean load, different answers"  # loads and answers differently
    return "ok", ""


def _error_line(err: str) -> str:
    return next((line for line in err.splitlines() if line.startswith("nlpcli: error:")), err[:200])


def _walk(root: str) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(root):
        for name in files + dirs:
            found.append(os.path.relpath(os.path.join(folder, name), root))
    return found


# --------------------------------------------------------------------------------------------
# the campaign


def prepare(case: gen.Case, workdir: str) -> None:
    os.makedirs(workdir)
    for name, data in case.files.items():
        path = os.path.join(workdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
    for name, src in case.links.items():
        _place(src, os.path.join(workdir, name))


def make_case(family: str, rng: random.Random, bases: dict) -> gen.Case:
    if family == "readers":
        return gen.reader_case(rng, {"logreg": bases["files"].get("logreg.joblib")})
    if family == "artifacts":
        if rng.random() < 0.1:
            return gen.crafted_case(rng, bases)
        return gen.artifact_case(rng, bases["artifacts"])
    return gen.cli_case(rng, bases)


def save_repro(case: gen.Case, res: Outcome, reason: str, repro: str, index: int) -> str:
    folder = os.path.join(repro, f"{case.family}-{index:06d}")
    prepare(case, folder)
    with open(os.path.join(folder, ".stdin"), "wb") as fh:
        fh.write(case.stdin)
    command = "python3 -m nlpcli " + " ".join(shlex.quote(a) for a in case.argv)
    with open(os.path.join(folder, "command.sh"), "w", encoding="utf-8") as fh:
        fh.write(f'#!/bin/sh\n# {reason}\ncd "$(dirname "$0")" && {command} < .stdin\n')
    with open(os.path.join(folder, "stderr.txt"), "wb") as fh:
        fh.write(res.err)
    return folder


class Campaign:
    def __init__(
        self, args: argparse.Namespace, light: ForkServer, heavy: RemoteServer, bases: dict, scratch: str
    ):
        self.args, self.light, self.heavy, self.bases, self.scratch = args, light, heavy, bases, scratch
        self.counts: dict[str, Counter] = defaultdict(Counter)
        self.kinds: dict[str, Counter] = defaultdict(Counter)
        self.violations: list[dict] = []
        self.fresh_checks = 0
        self.index = 0
        self.pending: list = []  # fresh-process checks under way

    def next_case(self) -> gen.Case:
        families = self.args.families
        weights = [FAMILIES[f] for f in families]
        rng = random.Random(f"{self.args.seed}-{self.index}")
        family = rng.choices(families, weights)[0]
        return make_case(family, rng, self.bases)

    def record(self, case: gen.Case, res: Outcome, workdir: str, index: int) -> None:
        status, reason = check(case, res, workdir)
        shutil.rmtree(workdir, ignore_errors=True)
        if (
            status != "violation"
            and random.Random(f"fresh-{self.args.seed}-{index}").random() < self.args.fresh
        ):
            self.fresh_checks += 1
            again = workdir + ".fresh"
            prepare(case, again)
            self.pending.append((case, res, status, again, index, start_fresh(case.argv, again, case.stdin)))
            return
        self._count(case, res, status, reason, index)

    def _count(self, case: gen.Case, res: Outcome, status: str, reason: str, index: int) -> None:
        self.counts[case.family]["inputs"] += 1
        self.counts[case.family][status] += 1
        kind = self.kinds[f"{case.family}/{case.kind.split(':')[0]}"]
        kind[status] += 1
        kind["seconds"] = round(kind["seconds"] + res.seconds, 3)
        if status == "violation":
            folder = save_repro(case, res, reason, self.args.repro, index)
            command = "python3 -m nlpcli " + " ".join(shlex.quote(a) for a in case.argv)
            self.violations.append(
                {
                    "family": case.family,
                    "kind": case.kind,
                    "reason": reason,
                    "repro": folder,
                    "command": command,
                }
            )
            print(
                f"VIOLATION {case.family}/{case.kind}: {reason}\n  reproduce: sh {folder}/command.sh",
                file=sys.stderr,
                flush=True,
            )

    def poll_fresh(self, wait: bool = False) -> None:
        """Finish the fresh-process checks that are done: the same input as a new interpreter must
        give the same exit status (and, outside the cli family, the same data)."""
        still = []
        for case, res, status, again, index, proc in self.pending:
            if proc.poll() is None and not wait:
                still.append((case, res, status, again, index, proc))
                continue
            other = finish_fresh(proc)
            other_status, other_reason = check(case, other, again)
            shutil.rmtree(again, ignore_errors=True)
            reason = ""
            if other_status == "violation":
                status, reason = "violation", "fresh process: " + other_reason
            elif status != "timeout" and not other.timed_out and other.code != res.code:
                status, reason = "violation", f"fork server exit {res.code}, fresh process exit {other.code}"
            elif case.family != "cli" and res.code == 0 and other.out != res.out:
                status, reason = "violation", "fork server and fresh process wrote different data"
            self._count(case, res, status, reason, index)
        self.pending = still

    def run(self) -> float:
        deadline = time.monotonic() + self.args.minutes * 60
        started = last_report = time.monotonic()
        running: list[tuple[gen.Case, object, str, int, bool]] = []
        while time.monotonic() < deadline or running:
            while len(running) < self.args.jobs and time.monotonic() < deadline:
                case = self.next_case()
                workdir = os.path.join(self.scratch, f"c{self.index}")
                prepare(case, workdir)
                heavy = needs_heavy(case)
                server = self.heavy if heavy else self.light
                handle = (
                    server.start(case.argv, workdir, case.stdin, TIMEOUTS[case.family])
                    if heavy
                    else server.begin(case.argv, workdir, case.stdin, TIMEOUTS[case.family])
                )
                running.append((case, handle, workdir, self.index, heavy))
                self.index += 1
            still = []
            for case, handle, workdir, index, heavy in running:
                res = (self.heavy if heavy else self.light).poll(handle, workdir)
                if res is None:
                    still.append((case, handle, workdir, index, heavy))
                else:
                    self.record(case, res, workdir, index)
            running = still
            self.poll_fresh()
            time.sleep(0.002)
            if time.monotonic() - last_report > 60:
                last_report = time.monotonic()
                total = sum(c["inputs"] for c in self.counts.values())
                print(
                    f"  {total:,} inputs, {total / (last_report - started):.1f}/s, "
                    f"{len(self.violations)} violations",
                    file=sys.stderr,
                    flush=True,
                )
        self.poll_fresh(wait=True)
        return time.monotonic() - started


def needs_heavy(case: gen.Case) -> bool:
    """Whether the command imports scikit-learn, torch or gensim (forked from the heavy server)."""
    return case.family != "readers" or "predict" in case.argv


def table(counts: dict[str, Counter]) -> str:
    rows = [("family", "inputs", "ok runs", "clean errors", "timeouts", "violations")]
    total: Counter = Counter()
    for family in sorted(counts):
        c = counts[family]
        total.update(c)
        rows.append(
            (
                family,
                f"{c['inputs']:,}",
                f"{c['ok']:,}",
                f"{c['error']:,}",
                f"{c['timeout']:,}",
                f"{c['violation']:,}",
            )
        )
    rows.append(
        (
            "total",
            f"{total['inputs']:,}",
            f"{total['ok']:,}",
            f"{total['error']:,}",
            f"{total['timeout']:,}",
            f"{total['violation']:,}",
        )
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths)))
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=20.0, help="How long to generate inputs.")
    parser.add_argument("--seed", type=int, default=1, help="Campaign seed (input i uses seed-i).")
    parser.add_argument(
        "--families", default=",".join(FAMILIES), help=f"Comma-separated subset of {', '.join(FAMILIES)}."
    )
    parser.add_argument("--jobs", type=int, default=6, help="Inputs running at once.")
    parser.add_argument(
        "--fresh",
        type=float,
        default=0.004,
        help="Share of inputs also run as a fresh 'python -m nlpcli', alongside (default 0.004).",
    )
    parser.add_argument(
        "--json",
        default=os.path.join(REPO, "bench", "results", "fuzz.json"),
        help="Where to write the summary.",
    )
    parser.add_argument(
        "--repro",
        default=None,
        help="Folder for violations' reproducers (default: fuzz-repro/ in the temporary folder).",
    )
    args = parser.parse_args(argv)
    args.families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = set(args.families) - set(FAMILIES)
    if unknown:
        parser.error(f"unknown families: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scratch = tempfile.mkdtemp(prefix="nlpcli-fuzz-")
    args.repro = args.repro or os.path.join(scratch, "repro")
    os.makedirs(args.repro, exist_ok=True)
    print(
        f"fuzz: seed {args.seed}, {args.minutes:g} minutes, families {', '.join(args.families)}; "
        f"scratch {scratch}",
        file=sys.stderr,
    )
    light, heavy = ForkServer(heavy=False), RemoteServer()
    print("fuzz: making the artifacts", file=sys.stderr)
    bases = build_bases(heavy, os.path.join(scratch, "base"))
    campaign = Campaign(args, light, heavy, bases, os.path.join(scratch, "runs"))
    os.makedirs(campaign.scratch)
    seconds = campaign.run()
    heavy.close()
    total = sum(c["inputs"] for c in campaign.counts.values())
    print(table(campaign.counts))
    print(
        f"\n{total:,} inputs in {seconds / 60:.1f} minutes ({total / seconds:.1f}/s), "
        f"{campaign.fresh_checks} also run as fresh processes; "
        f"{len(campaign.violations)} violations"
    )
    for v in campaign.violations:
        print(f"  {v['family']}/{v['kind']}: {v['reason']}\n    sh {v['repro']}/command.sh")
    summary = {
        "command": "python3 bench/fuzz.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])),
        "seed": args.seed,
        "minutes": args.minutes,
        "families": args.families,
        "jobs": args.jobs,
        "seconds": round(seconds, 1),
        "inputs": total,
        "rate_per_s": round(total / seconds, 2),
        "fresh_checks": campaign.fresh_checks,
        "counts": {f: dict(c) for f, c in sorted(campaign.counts.items())},
        "kinds": {k: dict(c) for k, c in sorted(campaign.kinds.items())},
        "violations": campaign.violations,
        "python": sys.version.split()[0],
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=1, ensure_ascii=False)
    print(f"summary: {args.json}", file=sys.stderr)
    if not campaign.violations:
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if campaign.violations else 0


if __name__ == "__main__":
    sys.exit(main())
