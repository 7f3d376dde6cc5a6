"""How many sentences ``translate run`` translates with numpy before torch pays for its import.

    python3 bench/bench_translate_plain.py [--model ko-en.pt] [--sizes 1,4,16,64]

For a small input, ``translate run`` decodes with numpy one sentence at a time
(:mod:`nlpcli.translate.plain`) and never imports torch; torch decodes in batches, faster per
sentence, after its import. This times, in one process, the numpy translator and the torch
translator on the first N sources of the dev pairs (tokenized the same way, so the difference is
the decoding), for greedy and beam 5, and prints where numpy's extra time per sentence adds up to
torch's import (measured here in a fresh process). Two models: the one given (by default the
latency bench's 2-minute ko->en translator) and one with ``translate train``'s default sizes
(bi-GRU 256, embeddings 256, 16k source and 8k target vocabularies) with random weights, whose
outputs run to their length limit: the slow case. The same translations on both sides are
checked and counted.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

DEFAULT_MODEL = c.REPO / "bench" / "results" / "latency-models" / "ko-en.pt"


def default_size_model(like: Path, out: Path) -> Path:
    """A translator with the default sizes and random weights, with the tokenizers of ``like``."""
    import torch

    from nlpcli import artifacts
    from nlpcli.translate.config import ModelConfig
    from nlpcli.translate.model import build

    art = artifacts.load(like)
    payload = dict(art.payload)
    src = list(payload["src_vocab"]) + [f"s{i}" for i in range(16000 - len(payload["src_vocab"]))]
    tgt = list(payload["tgt_vocab"]) + [f"t{i}" for i in range(8000 - len(payload["tgt_vocab"]))]
    config = ModelConfig().to_dict()
    torch.manual_seed(0)
    model = build(config, len(src), len(tgt))
    payload.update(config=config, src_vocab=src, tgt_vocab=tgt, state_dict=model.state_dict())
    artifacts.save_torch(out, "translator", payload, params=art.manifest.get("params"))
    return out


def torch_import_seconds(rounds: int = 3) -> float:
    code = "import time; t = time.perf_counter(); import torch; print(time.perf_counter() - t)"
    return statistics.median(
        float(subprocess.run([c.PYTHON, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(rounds)
    )


def time_model(path: Path, sources: list[str], sizes: list[int], import_s: float) -> None:
    from nlpcli.translate.translator import Translator

    numpy_tr = Translator.load_plain(str(path))
    torch_tr = numpy_tr.on_torch("cpu", threads=None)
    numpy_tr.translate(sources[:2])
    torch_tr.translate(sources[:2])
    print(f"\n{path.name}: {numpy_tr.model.cfg}")
    for beam in (1, 5):
        per_sentence = []
        for n in sizes:
            texts = sources[:n]
            t = time.perf_counter()
            a = numpy_tr.translate(texts, beam=beam)
            t_numpy = time.perf_counter() - t
            t = time.perf_counter()
            b = torch_tr.translate(texts, beam=beam)
            t_torch = time.perf_counter() - t
            same = sum(x.text == y.text for x, y in zip(a, b))
            per_sentence.append((t_numpy - t_torch) / n)
            print(
                f"  beam {beam}, {n:4d} sentences: numpy {t_numpy:7.3f} s, torch {t_torch:7.3f} s "
                f"(+ import {import_s:.2f} s); same translations {same}/{n}"
            )
        extra = max(per_sentence[-1], 1e-6)  # the largest input: the steadiest estimate
        print(
            f"  beam {beam}: numpy costs {extra * 1000:.1f} ms a sentence more; even at about {import_s / extra:.0f} sentences"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--sizes", default="1,4,16,64")
    args = ap.parse_args()
    if not args.model.exists():
        sys.exit(
            f"{args.model}: no such model; run bench/bench_latency.py --only translate first, or give --model"
        )
    pairs = c.DATA.parent / "parallel" / "dev.tsv"
    if not pairs.exists():
        sys.exit(f"bench: {pairs} not found; set NLPCLI_BENCH_DATA to the reviews folder beside parallel/")
    sources = [line.split("\t")[0] for line in pairs.read_text(encoding="utf-8").splitlines() if "\t" in line]
    sizes = [int(n) for n in args.sizes.split(",")]
    import_s = torch_import_seconds()
    print(f"# bench_translate_plain: {c.machine()}; import torch in a fresh process: {import_s:.2f} s")
    tmp = c.workdir("nlpcli-plain-")
    for path in (args.model, default_size_model(args.model, tmp / "default-size.pt")):
        time_model(path, sources, sizes, import_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
