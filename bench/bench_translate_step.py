"""One training step of the default translator against the step-by-step Bahdanau decoder.

    python3 bench/bench_translate_step.py [--threads 2] [--rounds 5]

The default model (bi-GRU 256, Bahdanau attention, embedding 256, tied output layer) at the sizes of
the default ko->en run on ../shared/data/parallel (about 9,000 Kiwi morphemes, 4,000 sentencepiece
pieces; 14.6 source and 15.1 + 1 target tokens a sentence on average), batches of 32. Each step is
forward, loss, backward, gradient clipping and the optimizer step, timed for:

* ``step-by-step``: the input-feeding decoder (``--input-feeding``: each step reads the previous
  attention context, as in Bahdanau et al. and bench/reference_translate.py) called one position
  at a time through ``Seq2Seq.step``, with ``torch.optim.Adam``, in fp32;
* ``feeding-batched``: the same model through ``Seq2Seq.forward`` (the batched teacher-forced
  path: only the attention and the recurrence in the time loop) with ``training.adam`` (fused),
  fp32;
* ``nlpcli``: the defaults: no input feeding (the decoder RNN over the whole target in one call,
  all attention at once), fused Adam, ``--precision auto`` (bf16 autocast where the CPU has
  native bfloat16, as this one does; fp32 elsewhere).

Both variants see the same batches, alternating in rounds (so a slow spell of the machine hits
both alike); it prints ms per step and pairs/s for each, and the ratio. Synthetic token ids
(the shapes are what matters); nothing is read from ../shared.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20, help="steps per variant and round")
    ap.add_argument("--save", metavar="FILE.json", help="also write the figures here")
    args = ap.parse_args()

    import torch

    from nlpcli import training
    from nlpcli.translate.config import ModelConfig
    from nlpcli.translate.model import build

    torch.set_num_threads(args.threads)
    n_src, n_tgt, batch, src_len, tgt_len = 9000, 4000, 32, 15, 17
    gen = torch.Generator().manual_seed(0)
    batches = [
        (
            torch.randint(4, n_src, (batch, src_len), generator=gen),
            torch.full((batch,), src_len),
            torch.randint(4, n_tgt, (batch, tgt_len), generator=gen),
            torch.randint(4, n_tgt, (batch, tgt_len), generator=gen),
        )
        for _ in range(args.steps)
    ]
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=0, label_smoothing=0.1)

    def step_by_step(model, src, lengths, tgt_in):
        return model.logits(model.stepwise(*model.encode(src, lengths), tgt_in))

    def batched(model, src, lengths, tgt_in):
        return model(src, lengths, tgt_in)

    cpu = torch.device("cpu")
    precision = training.resolve_precision("auto", cpu)
    variants = {}
    for name, feeding, forward, optim, amp in (
        ("step-by-step", True, step_by_step, lambda p: torch.optim.Adam(p, lr=2e-3), "fp32"),
        ("feeding-batched", True, batched, lambda p: training.adam(p, 2e-3), "fp32"),
        ("nlpcli", False, batched, lambda p: training.adam(p, 2e-3), precision),
    ):
        torch.manual_seed(0)
        model = build(ModelConfig(input_feeding=feeding).to_dict(), n_src, n_tgt)
        variants[name] = (model, forward, optim(model.parameters()), [], amp)

    def run(name, steps):
        model, forward, optimizer, times, amp = variants[name]
        started = time.perf_counter()
        for src, lengths, tgt_in, tgt_out in batches[:steps]:
            with training.autocast(amp, cpu):
                logits = forward(model, src, lengths, tgt_in).float()
            loss = loss_fn(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
        return (time.perf_counter() - started) / steps

    for name in variants:  # warm-up
        run(name, 3)
    for _ in range(args.rounds):
        for name in variants:
            variants[name][3].append(run(name, args.steps))
    print(
        f"translate training step, default model, batch {batch}, {args.threads} thread(s), "
        f"median of {args.rounds} rounds of {args.steps} steps (nlpcli: {precision}):"
    )
    ms = {name: statistics.median(v[3]) * 1000 for name, v in variants.items()}
    for name, value in ms.items():
        print(f"  {name:>15}: {value:6.1f} ms/step, {batch / value * 1000:5.0f} pairs/s")
    ratio = ms["step-by-step"] / ms["nlpcli"]
    print(
        f"  ratio: nlpcli {ratio:.2f}x the step-by-step pairs/s "
        f"(feeding-batched {ms['step-by-step'] / ms['feeding-batched']:.2f}x)"
    )
    if args.save:
        import json

        Path(args.save).write_text(
            json.dumps(
                {
                    "threads": args.threads,
                    "batch": batch,
                    "nlpcli_precision": precision,
                    "rounds": args.rounds,
                    "steps": args.steps,
                    "ms_per_step": {k: round(v, 1) for k, v in ms.items()},
                    "ratio": round(ratio, 2),
                    "rounds_ms": {k: [round(t * 1000, 1) for t in v[3]] for k, v in variants.items()},
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
