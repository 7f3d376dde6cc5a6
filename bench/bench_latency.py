"""Cold latency of one-off commands: whole fresh processes, ``nlpcli`` next to the bare library.

    python3 bench/bench_latency.py [--rounds 5] [--only predict-kiwi,embed] [--baseline-checkout DIR]

Builds the models it needs once into ``bench/results/latency-models/`` (from ../shared/data or
``NLPCLI_BENCH_DATA``: logistic regression with the ``nlpcli train`` defaults on train.tsv
tokenized by MeCab, Kiwi and Okt; an RNN on the MeCab tokens; word2vec on the 512k unlabeled
reviews; a small Korean -> English translator on ../shared/data/parallel), then, for each
target, runs ``--rounds`` cold ``nlpcli`` processes alternating with the baseline processes and
prints medians, differences, ratios and PASS/FAIL. stdin is one review.

Targets (seconds are medians of whole processes):

* predict-mecab: ``echo "정말 재밌어요" | nlpcli predict logreg-mecab`` at most 0.5 s;
* predict-kiwi / predict-okt: at most the bare tagger process (``Kiwi().tokenize(s)``,
  ``Okt().morphs(s, stem=True, norm=True)``) + 0.4 s; predict-okt also reports the stretch
  target, below the bare Okt process;
* predict-rnn: at most ``python -c "import torch"`` + the bare MeCab process + 0.5 s;
* embed: ``nlpcli embed similar w2v 영화`` at least 5x faster than gensim's
  ``KeyedVectors.load(kv, mmap="r").most_similar("영화")`` and at most ``import numpy`` + 0.15 s;
* translate: ``echo "오늘 날씨가 좋네요" | nlpcli translate run ko-en.pt`` at most 0.8x the same
  command run from ``--baseline-checkout`` (a checkout of the older code, e.g. ``git worktree add
  --detach ../nlpcli-base main``), same translation; ``--parts`` also times its parts in-process.

Each process is timed from its start to its exit with nothing polling it (CPU seconds from
``wait4``, children it reaped included): a poller on the second core would slow a command that
uses both cores, as nlpcli does while its tagger loads in a child process, and not a one-core
bare process.

The nlpcli packages timed (this checkout and ``--baseline-checkout``) are byte-compiled first
(``compileall``), as an installed package and the bare libraries' own site-packages are: under
``PYTHONDONTWRITEBYTECODE`` an uncompiled checkout would pay for compiling its modules in every
process, which no installed copy does.

``--check-kiwi load_multi_dict=False,...`` tokenizes all of dev.tsv with Kiwi's default load
options and with those, and counts the reviews whose tokens differ (an option nlpcli may use
must leave none).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

MODELS = c.REPO / "bench" / "results" / "latency-models"
REVIEW = "정말 재밌어요"
SENTENCE = "오늘 날씨가 좋네요"
TARGETS = ("predict-mecab", "predict-kiwi", "predict-okt", "predict-rnn", "embed", "translate")
#: the recipe options of each tagger's model (what ``nlpcli train`` stores by default)
RECIPES = {
    "mecab": ["--tagger", "mecab"],
    "kiwi": ["--tagger", "kiwi", "--stem"],
    "okt": ["--stem", "--norm"],
}
BARE = {
    "mecab": f"from mecab import MeCab; MeCab().morphs({REVIEW!r})",
    "kiwi": f"from kiwipiepy import Kiwi; Kiwi().tokenize({REVIEW!r})",
    "okt": f"from konlpy.tag import Okt; Okt().morphs({REVIEW!r}, stem=True, norm=True)",
    "torch": "import torch",
    "numpy": "import numpy",
}


def nlpcli(checkout: Path = c.REPO) -> tuple[list[str], dict]:
    """The command and environment that run ``nlpcli`` from ``checkout``. PYTHONSAFEPATH: without
    it ``python -m`` puts the working directory (this checkout) first on the path, ahead of
    PYTHONPATH, and the baseline side would run this checkout's code."""
    return [c.PYTHON, "-m", "nlpcli"], {"PYTHONPATH": str(checkout), "PYTHONSAFEPATH": "1"}


def run(cmd: list[str], env: dict | None = None, stdin: str | None = None) -> str:
    out = subprocess.run(
        [str(x) for x in cmd],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=c.REPO,
    )
    if out.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, cmd))} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return out.stdout


# -- models ------------------------------------------------------------------------------------


def build_models(names: set[str]) -> None:
    """Each model the chosen targets need, made once (a few minutes; Okt's tokens the longest)."""
    MODELS.mkdir(parents=True, exist_ok=True)
    cmd, env = nlpcli()
    quiet = cmd + ["--quiet"]
    taggers = {n.split("-")[1] for n in names if n.startswith("predict-")} - {"rnn"}
    if "predict-rnn" in names:
        taggers.add("mecab")
    for tagger in sorted(taggers):
        tokens = MODELS / f"train.{tagger}.tsv"
        if not tokens.exists():
            print(f"tokenizing train.tsv with {tagger} (once)", file=sys.stderr)
            part = tokens.with_suffix(".part")
            run(
                quiet
                + ["preprocess", "morphs", *RECIPES[tagger], "-j", "2", c.data_file("train.tsv"), "-o", part],
                env,
            )
            part.rename(tokens)
        model = MODELS / f"logreg-{tagger}.joblib"
        if f"predict-{tagger}" in names and not model.exists():
            run(quiet + ["train", tokens, "--tokenized", "--tagger", tagger, "-o", model], env)
    rnn = MODELS / "rnn-mecab.pt"
    if "predict-rnn" in names and not rnn.exists():
        options = ["--model", "rnn", "--epochs", "1", "--max-time", "1"]
        run(
            quiet
            + ["train", MODELS / "train.mecab.tsv", "--tokenized", "--tagger", "mecab", *options, "-o", rnn],
            env,
        )
    if "embed" in names and not (MODELS / "w2v.model").exists():
        data = c.data_file("unlabeled.txt.gz")
        run(
            quiet
            + [
                "embed",
                "train",
                data,
                "--tagger",
                "mecab",
                "-j",
                "2",
                "--epochs",
                "3",
                "-o",
                MODELS / "w2v.model",
            ],
            env,
        )
    if "embed" in names and not (MODELS / "w2v.kv").exists():  # gensim's own KeyedVectors file
        save = (
            "import sys; from gensim.models import Word2Vec; Word2Vec.load(sys.argv[1]).wv.save(sys.argv[2])"
        )
        run([c.PYTHON, "-c", save, MODELS / "w2v.model" / "model.gensim", MODELS / "w2v.kv"])
    if "translate" in names and not (MODELS / "ko-en.pt").exists():
        parallel = c.DATA.parent / "parallel"
        options = ["--max-time", "2", "--hidden", "128", "--embedding-dim", "128", "--dev-limit", "200"]
        run(
            quiet
            + [
                "translate",
                "train",
                parallel / "train.tsv",
                "--dev",
                parallel / "dev.tsv",
                *options,
                "-o",
                MODELS / "ko-en.pt",
            ],
            env,
        )


# -- timing ------------------------------------------------------------------------------------


#: CPU seconds (user + system, whole process tree) of each side's runs, by target: printed beside
#: the wall times, as they vary less on a busy machine
CPU: dict[str, list[float]] = {}


def timed(name: str, cmd: list[str], env: dict | None, stdin: Path | None) -> float:
    """Wall seconds of one whole process; its CPU seconds (children it reaped included, from
    ``wait4``) go to ``CPU``. Nothing polls the process meanwhile: a poller on the second core
    would slow a command that uses both (nlpcli's tagger child) and not a one-core bare process."""
    import tempfile
    import time

    with open(stdin or os.devnull, "rb") as fin, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(x) for x in cmd],
            stdin=fin,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, **(env or {})},
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(
                f"bench: {' '.join(map(str, cmd))} failed ({proc.returncode}):\n{err.read()[-2000:].decode()}"
            )
    CPU.setdefault(name, []).append(usage.ru_utime + usage.ru_stime)
    return wall


def alternate(
    rounds: int, sides: dict[str, tuple[list[str], dict | None, Path | None]]
) -> dict[str, list[float]]:
    """``rounds`` cold runs of each side, taken in turn (one warm-up each first, untimed)."""
    for cmd, env, stdin in sides.values():
        timed("warm-up", cmd, env, stdin)
    CPU.clear()
    walls: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, (cmd, env, stdin) in sides.items():
            walls[name].append(timed(name, cmd, env, stdin))
    return walls


def bare(what: str) -> tuple[list[str], None, None]:
    return [c.PYTHON, "-c", BARE[what]], None, None


class Report:
    def __init__(self):
        self.rows: list[list[str]] = []
        self.failures: list[str] = []
        self.saved: dict = {}

    def add(self, name: str, walls: dict[str, list[float]], target: str, ok: bool, note: str = "") -> None:
        med = {k: statistics.median(v) for k, v in walls.items()}
        cpu = {k: statistics.median(v) for k, v in CPU.items()}
        self.saved[name] = {"medians": med, "runs": walls, "cpu_medians": cpu, "target": target, "pass": ok}
        parts = "  ".join(f"{k} {v:.3f}" for k, v in med.items())
        cpus = "  ".join(f"{k} {v:.3f}" for k, v in cpu.items())
        self.rows.append([name, parts, cpus, note, target, "PASS" if ok else "FAIL"])
        print(
            f"{name}: wall {parts}  (cpu {cpus})  {note}  target {target}: {'PASS' if ok else 'FAIL'}",
            flush=True,
        )
        if not ok:
            self.failures.append(f"{name}: {note} (target {target})")


def bench_predict(tagger: str, rounds: int, stdin: Path, report: Report) -> None:
    cmd, env = nlpcli()
    model = MODELS / (f"logreg-{tagger}.joblib" if tagger != "rnn" else "rnn-mecab.pt")
    sides = {"nlpcli": (cmd + ["predict", model], env, stdin)}
    if tagger == "rnn":
        sides.update(torch=bare("torch"), mecab=bare("mecab"))
    else:
        sides[tagger] = bare(tagger)
    walls = alternate(rounds, sides)
    med = {k: statistics.median(v) for k, v in walls.items()}
    mine = med["nlpcli"]
    if tagger == "mecab":
        report.add(
            "predict-mecab", walls, "<= 0.5 s", mine <= 0.5, f"+{mine - med['mecab']:.3f} s over bare MeCab"
        )
    elif tagger == "rnn":
        budget = med["torch"] + med["mecab"] + 0.5
        report.add(
            "predict-rnn",
            walls,
            f"<= torch + mecab + 0.5 = {budget:.3f} s",
            mine <= budget,
            f"{mine - budget + 0.5:+.3f} s over torch + mecab",
        )
    else:
        diff = mine - med[tagger]
        note = f"{diff:+.3f} s, {mine / med[tagger]:.2f}x the bare {tagger}"
        report.add(f"predict-{tagger}", walls, f"<= bare {tagger} + 0.4 s", diff <= 0.4, note)
        if tagger == "okt":
            print(f"  stretch: below the bare Okt process: {'yes' if diff < 0 else 'no'} ({diff:+.3f} s)")


GENSIM = "import sys; from gensim.models import KeyedVectors; KeyedVectors.load(sys.argv[1], mmap='r').most_similar(sys.argv[2], topn=10)"


def bench_embed(rounds: int, report: Report) -> None:
    cmd, env = nlpcli()
    sides = {
        "nlpcli": (cmd + ["embed", "similar", MODELS / "w2v.model", "영화"], env, None),
        "gensim": ([c.PYTHON, "-c", GENSIM, MODELS / "w2v.kv", "영화"], None, None),
        "numpy": bare("numpy"),
    }
    walls = alternate(rounds, sides)
    med = {k: statistics.median(v) for k, v in walls.items()}
    ratio, over = med["gensim"] / med["nlpcli"], med["nlpcli"] - med["numpy"]
    ok = ratio >= 5 and over <= 0.15
    report.add(
        "embed", walls, ">= 5x gensim, <= numpy + 0.15 s", ok, f"{ratio:.2f}x gensim, numpy {over:+.3f} s"
    )


def bench_translate(rounds: int, stdin: Path, baseline: Path | None, report: Report) -> None:
    cmd, env = nlpcli()
    sides = {"nlpcli": (cmd + ["translate", "run", MODELS / "ko-en.pt"], env, stdin)}
    if baseline is None:
        print("translate: no --baseline-checkout: timing this checkout only")
    else:
        old_cmd, old_env = nlpcli(baseline)
        sides["baseline"] = (old_cmd + ["translate", "run", MODELS / "ko-en.pt"], old_env, stdin)
        same = [run(side[:3] + ["--quiet"] + side[3:], e, SENTENCE + "\n") for side, e, _ in sides.values()]
        print(f"translate: same translation as the baseline: {same[0] == same[1]} ({same[0].strip()!r})")
    walls = alternate(rounds, sides)
    if baseline is None:
        report.add("translate", walls, "<= 0.8x baseline", True, "(no baseline)")
        return
    ratio = statistics.median(walls["nlpcli"]) / statistics.median(walls["baseline"])
    report.add("translate", walls, "<= 0.8x baseline", ratio <= 0.8, f"{ratio:.2f}x the baseline")


PARTS = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
parts = {}
t = time.perf_counter(); import numpy; parts["numpy_import"] = time.perf_counter() - t
from nlpcli import artifacts
try:
    from nlpcli.text.taggers import new_tagger as create_tagger
except ImportError:  # the baseline
    from nlpcli.text.taggers import create_tagger
plain = hasattr(artifacts, "load_arrays")  # this checkout: numpy alone for one sentence
if not plain:
    t = time.perf_counter(); import torch; parts["torch_import"] = time.perf_counter() - t
t = time.perf_counter()
art = artifacts.load_arrays(sys.argv[2]) if plain else artifacts.load(sys.argv[2])
parts["artifact_load_(numpy)" if plain else "artifact_load_(torch.load)"] = time.perf_counter() - t
kind = art.payload["src_tokenizer"]["kind"]
t = time.perf_counter(); tagger = create_tagger(kind); parts[f"{kind}_constructor"] = time.perf_counter() - t
t = time.perf_counter(); tagger.pos([sys.argv[3]]); parts[f"{kind}_first_call"] = time.perf_counter() - t
from nlpcli.translate.translator import Translator
t = time.perf_counter()
tr = Translator.load_plain(sys.argv[2]) if plain else Translator.load(sys.argv[2])
parts["Translator_load_(tagger_again)"] = time.perf_counter() - t
t = time.perf_counter(); tr.translate([sys.argv[3]]); parts["first_translation_(its_tagger's_first_call)"] = time.perf_counter() - t
t = time.perf_counter(); tr.translate([sys.argv[3]]); parts["translation"] = time.perf_counter() - t
print(" ".join(f"{k}={v:.3f}" for k, v in parts.items()))
"""


def translate_parts(baseline: Path | None, rounds: int) -> None:
    for label, checkout in (("this checkout", c.REPO), ("baseline", baseline)):
        if checkout is None:
            continue
        runs = [
            run([c.PYTHON, "-c", PARTS, checkout, MODELS / "ko-en.pt", SENTENCE]).strip()
            for _ in range(rounds)
        ]
        table: dict[str, list[float]] = {}
        for line in runs:
            for item in line.split(" "):
                key, _, value = item.rpartition("=")
                table.setdefault(key, []).append(float(value))
        print(
            f"translate parts, {label} (in-process, median of {rounds}; each load is the first of its kind):"
        )
        for key, values in table.items():
            print(f"  {key.replace('_', ' '):44s} {statistics.median(values):.3f} s")


CHECK_KIWI = r"""
import sys, unicodedata
sys.path.insert(0, sys.argv[1])
from kiwipiepy import Kiwi
KIWI_OPTIONS = {k: eval(v) for k, v in (o.split("=") for o in sys.argv[3].split(",") if o)}
lines = open(sys.argv[2], encoding="utf-8").read().split("\n")[1:]
col = open(sys.argv[2], encoding="utf-8").readline().rstrip("\n").split("\t").index("document")
texts = [unicodedata.normalize("NFC", l.split("\t")[col]) for l in lines if l]
def tokens(kiwi):
    return [[(t.form, t.tag, t.start, t.len) for t in kiwi.tokenize(x)] if x else [] for x in texts]
ref, mine = tokens(Kiwi()), tokens(Kiwi(**KIWI_OPTIONS))
bad = [i for i in range(len(texts)) if ref[i] != mine[i]]
print(f"{len(texts)} reviews, options {KIWI_OPTIONS}: {len(bad)} differ", [texts[i] for i in bad[:5]])
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", default=",".join(TARGETS), help=f"comma list of {','.join(TARGETS)}")
    ap.add_argument("--baseline-checkout", type=Path, help="checkout of the older code, for translate")
    ap.add_argument("--parts", action="store_true", help="also time the parts of translate run in-process")
    ap.add_argument(
        "--check-kiwi",
        metavar="OPTIONS",
        help="only compare Kiwi's tokens on dev.tsv: default Kiwi() against Kiwi(OPTIONS), e.g. load_multi_dict=False",
    )
    ap.add_argument("--save", type=Path, help="also write the figures as JSON here")
    args = ap.parse_args()
    if args.check_kiwi:
        print(run([c.PYTHON, "-c", CHECK_KIWI, c.REPO, c.data_file("dev.tsv"), args.check_kiwi]).strip())
        return 0
    chosen = [s for s in args.only.split(",") if s]
    unknown = set(chosen) - set(TARGETS)
    if unknown:
        ap.error(f"unknown targets: {', '.join(sorted(unknown))}")
    build_models(set(chosen))
    for checkout in filter(None, (c.REPO, args.baseline_checkout)):
        run([c.PYTHON, "-m", "compileall", "-q", str(Path(checkout) / "nlpcli")])
    tmp = c.workdir("nlpcli-latency-")
    review, sentence = tmp / "review.txt", tmp / "sentence.txt"
    review.write_text(REVIEW + "\n", encoding="utf-8")
    sentence.write_text(SENTENCE + "\n", encoding="utf-8")
    print(f"# bench_latency: median of {args.rounds} cold processes per side, alternating; {c.machine()}")
    report = Report()
    for name in chosen:
        if name.startswith("predict-"):
            bench_predict(name.split("-")[1], args.rounds, review, report)
        elif name == "embed":
            bench_embed(args.rounds, report)
        elif name == "translate":
            bench_translate(args.rounds, sentence, args.baseline_checkout, report)
            if args.parts:
                translate_parts(args.baseline_checkout, args.rounds)
    print()
    c.print_table(report.rows, ["target", "wall medians (s)", "cpu medians (s)", "", "goal", ""])
    return c.finish(report.failures, report.saved, args.save)


if __name__ == "__main__":
    sys.exit(main())
