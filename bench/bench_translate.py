"""``nlpcli translate`` on ../shared/data/parallel: dev BLEU against minutes, attention vs none, speed.

    python3 bench/bench_translate.py [--minutes 45] [--only NAME ...]

Each configuration is one whole ``nlpcli translate train train.tsv --dev dev.tsv --max-time MINUTES``
process (sentencepiece training, tokenization, the training loop with a greedy dev BLEU after each
epoch, saving). Its ``--metrics-out`` history gives the curve (dev BLEU, greedy, against minutes
since the start of training, evaluation time included). The saved model is then scored with
``translate evaluate`` on dev.tsv with greedy search and with beam 5 (BLEU, chrF, sacrebleu
signatures; beam 5 also with ``--length-penalty 0.6`` against the default 1.0), and the first configuration's model translates the 2,000 dev sentences with
``translate run`` (whole process, start-up included) greedy and beam 5 for throughput; the
translation-only speed comes from ``evaluate`` (timed around the translation itself).

Configurations (``--only`` picks some; ``--extra`` adds options to all that run):

* ``attention-koen``: the defaults (Kiwi morphemes on the Korean side, sentencepiece 4k on the
  English side, bi-GRU 256, Bahdanau without input feeding, bf16 autocast where the CPU has it,
  tied output embedding, label smoothing 0.1, dropout 0.3,
  word dropout 0.1, batches of 32, Adam 2e-3 with linear decay over the budget (and so no early
  stopping), weights averaged with EMA 0.999), ko->en;
* ``none-koen``: the same with ``--attention none`` (the fixed-vector baseline), scored greedy;
* ``attention-enko``: the defaults, en->ko (BLEU on characters, as ``evaluate`` does for Korean);
* ablations, not run by default: ``plateau-koen`` (``--lr-schedule plateau``), ``spm8k-koen``
  (8k pieces per side), ``words-koen`` (whitespace tokens both sides), ``threads1-koen`` and
  ``threads2-koen`` (``--threads``), ``luong-koen``, ``lstm-koen``, ``batch128-koen`` (batches of
  128, lr 3e-3), ``batch64-koen``, ``plain-koen`` (no word dropout, no weight average),
  ``nowd-koen`` (no word dropout), ``reg-koen`` (dropout 0.4, word dropout 0.2), ``spm-koen``
  (sentencepiece 4k on the Korean side too), ``char-koen`` (characters), ``floor0-koen``
  (``--lr-floor 0``: the linear decay ends at zero), ``feed-fp32-koen`` (``--input-feeding
  --precision fp32``), ``feed-koen`` (``--input-feeding``),
  ``fp32-koen`` (``--precision fp32``).

Writes ``bench/results/translate.json``, ``translate.md`` (tables) and ``translate-curve.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

PARALLEL = Path(os.environ.get("NLPCLI_PARALLEL_DATA", c.REPO.parent / "shared" / "data" / "parallel"))
RESULTS = c.REPO / "bench" / "results"

#: name -> options added to ``nlpcli translate train TRAIN --dev DEV``
CONFIGS: dict[str, list[str]] = {
    "attention-koen": [],
    "none-koen": ["--attention", "none"],
    "attention-enko": ["--source-lang", "en", "--target-lang", "ko"],
    "plateau-koen": ["--lr-schedule", "plateau"],
    "spm8k-koen": ["--src-vocab-size", "8000", "--tgt-vocab-size", "8000"],
    "words-koen": [
        "--src-tokenizer",
        "whitespace",
        "--tgt-tokenizer",
        "whitespace",
        "--src-vocab-size",
        "20000",
        "--tgt-vocab-size",
        "12000",
    ],
    "threads1-koen": ["--threads", "1"],
    "threads2-koen": ["--threads", "2"],
    "luong-koen": ["--attention", "luong"],
    "lstm-koen": ["--cell", "lstm"],
    "batch128-koen": ["--batch-size", "128", "--lr", "3e-3"],
    "batch64-koen": ["--batch-size", "64"],
    "plain-koen": ["--word-dropout", "0", "--ema", "0"],
    "nowd-koen": ["--word-dropout", "0"],
    "reg-koen": ["--dropout", "0.4", "--word-dropout", "0.2"],
    "spm-koen": ["--src-tokenizer", "spm"],
    "char-koen": ["--src-tokenizer", "char"],
    "floor0-koen": ["--lr-floor", "0"],
    "feed-fp32-koen": ["--input-feeding", "--precision", "fp32"],
    "feed-koen": ["--input-feeding"],
    "fp32-koen": ["--precision", "fp32"],
}
DEFAULT = ["attention-koen", "none-koen", "attention-enko"]


def data(name: str) -> Path:
    path = PARALLEL / name
    if not path.exists():
        sys.exit(
            f"bench: {path} not found; set NLPCLI_PARALLEL_DATA to the folder holding train.tsv and dev.tsv"
        )
    return path


def evaluate(model: Path, beam: int, outdir: Path, name: str, alpha: float = 1.0) -> dict:
    metrics = outdir / f"{name}.eval-beam{beam}-lp{alpha}.json"
    c.measure(
        f"evaluate {name} beam {beam}",
        c.NLPCLI
        + [
            "--quiet",
            "translate",
            "evaluate",
            str(model),
            str(data("dev.tsv")),
            "--beam",
            str(beam),
            "--length-penalty",
            str(alpha),
            "--device",
            "cpu",
            "--examples",
            "0",
            "--metrics-out",
            str(metrics),
        ],
    )
    return json.loads(metrics.read_text())


def launcher(torchrun: int) -> list[str]:
    """``python -m nlpcli``, or under torchrun with ``torchrun`` processes (one thread each)."""
    if torchrun > 1:
        return [
            c.PYTHON,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            str(torchrun),
            "-m",
            "nlpcli",
        ]
    return c.NLPCLI


def outputs(name: str, outdir: Path) -> tuple[Path, Path]:
    """Where a configuration's model and its training metrics go."""
    return outdir / f"{name}.pt", outdir / f"{name}.train.json"


def train(
    name: str, minutes: float, outdir: Path, extra: list[str], torchrun: int = 1, one_thread: bool = False
):
    """Train one configuration (a whole process, or a torchrun group of one-thread processes);
    returns what score() needs."""
    options = CONFIGS[name] + extra + (["--threads", "1"] if torchrun > 1 or one_thread else [])
    model, metrics = outputs(name, outdir)
    command = launcher(torchrun) + [
        "translate",
        "train",
        str(data("train.tsv")),
        "--dev",
        str(data("dev.tsv")),
        "--max-time",
        str(minutes),
        "--epochs",
        "200",
        "--device",
        "cpu",
        "--seed",
        "0",
        "-o",
        str(model),
        "--checkpoint",
        str(outdir / f"{name}.ckpt"),
        "--metrics-out",
        str(metrics),
        *options,
    ]
    m = c.measure(name, command)
    launched = f"torchrun --nproc-per-node {torchrun}: " if torchrun > 1 else ""
    return name, launched + " ".join(options), minutes, model, metrics, m


def score(name: str, options: str, minutes: float, model: Path, metrics: Path, m, outdir: Path) -> dict:
    summary = json.loads(metrics.read_text())
    greedy = evaluate(model, 1, outdir, name)
    beam5 = evaluate(model, 5, outdir, name)
    lp06 = evaluate(model, 5, outdir, name, alpha=0.6)  # to choose the default --length-penalty
    row = {
        "name": name,
        "options": options,
        "minutes": minutes,
        "wall_min": round(m.wall / 60, 1),
        "epochs": summary["epochs"],
        "best_epoch": summary["best_epoch"],
        "stopped": summary["stopped"],
        "bleu_greedy": greedy["bleu"],
        "chrf_greedy": greedy["chrf"],
        "bleu_beam5": beam5["bleu"],
        "chrf_beam5": beam5["chrf"],
        "bleu_beam5_lp06": lp06["bleu"],
        "bleu_signature": beam5["bleu_signature"],
        "chrf_signature": beam5["chrf_signature"],
        "peak_rss_mib": round(m.peak_rss / 2**20),
        "translate_per_s_greedy": greedy["sentences_per_second"],
        "translate_per_s_beam5": beam5["sentences_per_second"],
        "curve": [
            {
                "minutes": round(h["seconds"] / 60, 2),
                "epoch": h["epoch"],
                "bleu": h.get("bleu"),
                "chrf": h.get("chrf"),
                "dev_loss": h.get("dev_loss"),
                "loss": round(h["loss"], 4),
                "lr": h.get("lr"),
            }
            for h in summary["history"]
        ],
        "model": str(model),
    }
    print(json.dumps({k: v for k, v in row.items() if k != "curve"}, ensure_ascii=False), flush=True)
    return row


def throughput(model: Path, outdir: Path, row: dict) -> list[dict]:
    sources = outdir / "dev.ko.txt"
    with open(data("dev.tsv"), encoding="utf-8") as fin, open(sources, "w", encoding="utf-8") as fout:
        for line in fin:
            fout.write(line.split("\t")[0] + "\n")
    n = sum(1 for _ in open(sources, encoding="utf-8"))
    rows = []
    for beam in (1, 5):
        m = c.measure(
            f"run beam {beam}",
            c.NLPCLI
            + [
                "--quiet",
                "translate",
                "run",
                str(model),
                str(sources),
                "--beam",
                str(beam),
                "--device",
                "cpu",
            ],
            stdout=outdir / f"dev.beam{beam}.txt",
        )
        rows.append(
            {
                "search": "greedy" if beam == 1 else f"beam {beam}",
                "sentences": n,
                "wall_s": round(m.wall, 1),
                "sentences_per_s": round(n / m.wall, 1),
                "in_process_per_s": row["translate_per_s_greedy" if beam == 1 else "translate_per_s_beam5"],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in rows:
        xs = [p["minutes"] for p in r["curve"] if p["bleu"] is not None]
        ys = [p["bleu"] for p in r["curve"] if p["bleu"] is not None]
        ax.plot(xs, ys, marker="o", label=r["name"])
    ax.set_xlabel("minutes of training (dev evaluation included)")
    ax.set_ylabel("dev BLEU (greedy, after each epoch)")
    ax.set_title("nlpcli translate: dev BLEU against minutes")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def markdown(rows: list[dict], speed: list[dict]) -> str:
    out = [
        f"machine: {c.machine()}",
        "",
        "| config | options | epochs | dev BLEU greedy | dev BLEU beam 5 | chrF beam 5 | BLEU beam 5, "
        "--length-penalty 0.6 | wall min |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['name']} | {r['options'] or '(defaults)'} | {r['epochs']} | {r['bleu_greedy']} | "
            f"{r['bleu_beam5']} | {r['chrf_beam5']} | {r['bleu_beam5_lp06']} | {r['wall_min']} |"
        )
    if rows:
        out += [
            "",
            f"BLEU signature: `{rows[0]['bleu_signature']}`",
            f"chrF signature: `{rows[0]['chrf_signature']}`",
        ]
    for r in rows:
        out += [
            "",
            f"curve {r['name']}:",
            "",
            "| minutes | epoch | dev BLEU (greedy) | chrF | dev loss | train loss |",
            "|---|---|---|---|---|---|",
        ]
        out += [
            f"| {p['minutes']} | {p['epoch']} | {p['bleu']} | {p['chrf']} | {p['dev_loss']} | {p['loss']} |"
            for p in r["curve"]
        ]
    if speed:
        out += [
            "",
            f"translation speed ({rows[0]['name']}, dev sources, --device cpu):",
            "",
            "| search | sentences | wall s (whole process) | sentences/s (whole process) | sentences/s "
            "(translation only, from evaluate) |",
            "|---|---|---|---|---|",
        ]
        out += [
            f"| {s['search']} | {s['sentences']} | {s['wall_s']} | {s['sentences_per_s']} | {s['in_process_per_s']} |"
            for s in speed
        ]
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=45.0, help="--max-time of every training (default 45)")
    ap.add_argument(
        "--only", nargs="*", help=f"configurations (default: {', '.join(DEFAULT)}); all: {', '.join(CONFIGS)}"
    )
    ap.add_argument(
        "--extra", nargs=argparse.REMAINDER, default=[], help="more 'translate train' options for every run"
    )
    ap.add_argument("--out", default=str(c.CACHE / "bench-translate"), help="where models and metrics go")
    ap.add_argument("--results", default=str(RESULTS), help="where translate.json/.md/-curve.png go")
    ap.add_argument(
        "--torchrun",
        type=int,
        default=1,
        metavar="N",
        help="train each configuration under torchrun with N processes of one thread each",
    )
    ap.add_argument(
        "--side-by-side",
        action="store_true",
        help="train the configurations at the same time, one thread each (a fair comparison at the "
        "same budget when there are as many cores as configurations)",
    )
    ap.add_argument("--no-speed", action="store_true", help="skip the throughput runs")
    ap.add_argument(
        "--merge",
        action="store_true",
        help="keep the runs (and speed) already in translate.json that this invocation does not redo",
    )
    ap.add_argument(
        "--rescore",
        action="store_true",
        help="train nothing: score the models already in --out again, and measure the speed, keeping "
        "their training figures from translate.json (after a change to translation itself)",
    )
    args = ap.parse_args()
    unknown = [n for n in (args.only or []) if n not in CONFIGS]
    if unknown:
        sys.exit(f"bench: unknown configuration(s) {', '.join(unknown)}; choose from {', '.join(CONFIGS)}")
    if args.side_by_side and args.torchrun > 1:
        sys.exit(
            "bench: --side-by-side runs one single-thread process per configuration; it cannot be combined "
            "with --torchrun"
        )
    outdir, results = Path(args.out), Path(args.results)
    outdir.mkdir(parents=True, exist_ok=True)
    results.mkdir(parents=True, exist_ok=True)
    print(c.machine(), file=sys.stderr)
    names = args.only or DEFAULT
    if args.rescore:
        from types import SimpleNamespace

        args.merge = True
        before = {r["name"]: r for r in json.loads((results / "translate.json").read_text())["runs"]}
        missing = [n for n in names if n not in before or not outputs(n, outdir)[0].exists()]
        if missing:
            sys.exit(f"bench: --rescore: no trained {', '.join(missing)} in translate.json and {outdir}")
        trained = [
            (
                n,
                before[n]["options"],
                before[n]["minutes"],
                *outputs(n, outdir),
                SimpleNamespace(wall=before[n]["wall_min"] * 60, peak_rss=before[n]["peak_rss_mib"] * 2**20),
            )
            for n in names
        ]
    elif args.side_by_side:  # all trainings at once, one thread each: the same budget on a shared CPU
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(names)) as pool:
            trained = list(
                pool.map(lambda n: train(n, args.minutes, outdir, args.extra, one_thread=True), names)
            )
    else:
        trained = [train(n, args.minutes, outdir, args.extra, args.torchrun) for n in names]
    rows = [score(*t, outdir=outdir) for t in trained]
    speed = [] if args.no_speed or not rows else throughput(Path(rows[0]["model"]), outdir, rows[0])
    if args.merge and (results / "translate.json").exists():
        old = json.loads((results / "translate.json").read_text())
        done = {r["name"] for r in rows}
        rows = [r for r in old["runs"] if r["name"] not in done] + rows
        rows.sort(key=lambda r: list(CONFIGS).index(r["name"]))
        speed = speed or old.get("speed", [])
    (results / "translate.json").write_text(
        json.dumps({"runs": rows, "speed": speed}, indent=2, ensure_ascii=False) + "\n"
    )
    plot(rows, results / "translate-curve.png")
    text = markdown(rows, speed)
    (results / "translate.md").write_text(text)
    print()
    print(text)
    byname = {r["name"]: r for r in rows}
    if "attention-koen" in byname and "none-koen" in byname:
        gap = byname["attention-koen"]["bleu_beam5"] - byname["none-koen"]["bleu_greedy"]
        print(f"attention + beam 5 vs none + greedy: {gap:+.2f} BLEU (target: +2)")


if __name__ == "__main__":
    main()
