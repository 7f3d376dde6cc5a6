"""``translate evaluate``: translate the source side of a PAIRS file and score it against the target side.

Corpus BLEU and chrF from sacrebleu on the detokenized output against the raw references (so the
figures compare with any other system scored the same way), with sacrebleu's signatures. The
direction defaults to the model's; pairs with an empty side are left out (counted). A few of the
best and worst sentences (by sentence chrF) go to stderr; ``--output`` keeps the hypotheses, one
per pair, in file order.
"""

from __future__ import annotations

import time

from nlpcli import progress
from nlpcli.translate.data import PairSpec, read_pairs
from nlpcli.translate.run import RunOptions, write_json


def evaluate_file(
    model_path: str,
    pairs_path: str,
    spec: dict | None,
    options: RunOptions,
    *,
    output: str | None = None,
    bleu_tokenize: str | None = None,
    examples: int = 3,
    device: str = "auto",
    threads: int | None = None,
    metrics_out: str | None = None,
) -> dict:
    from nlpcli.textio import open_output
    from nlpcli.translate.train import corpus_scores, default_bleu_tokenize
    from nlpcli.translate.translator import Translator

    translator = Translator.load(model_path, device=device, threads=threads)
    spec = _pair_spec(translator, spec, model_path)
    pairs = read_pairs(pairs_path, spec)
    if pairs.empty:
        progress.warn(f"{pairs.name}: left out {pairs.empty:,} pair(s) with an empty side")
    started = time.perf_counter()
    results = translator.translate(
        pairs.sources,
        beam=options.beam,
        n_best=1,
        max_length=options.max_length,
        alpha=options.alpha,
        batch_size=options.batch_size,
    )
    seconds = time.perf_counter() - started
    hyps = [r.text for r in results]
    tokenize = bleu_tokenize or default_bleu_tokenize(spec.target_lang)
    scores = corpus_scores(hyps, pairs.targets, tokenize)
    summary = {
        "model": model_path,
        "pairs": pairs.name,
        "n": len(pairs),
        "direction": f"{spec.source_lang}->{spec.target_lang}",
        "beam": options.beam,
        "length_penalty": options.alpha,
        "bleu": scores["bleu"],
        "chrf": scores["chrf"],
        "bleu_signature": scores["bleu_signature"],
        "chrf_signature": scores["chrf_signature"],
        "seconds": round(seconds, 2),
        "sentences_per_second": round(len(pairs) / max(seconds, 1e-9), 1),
        "truncated": sum(r.truncated for r in results),
    }
    if output:
        with open_output(output) as fh:
            for h in hyps:
                fh.write(h.replace("\n", " ") + "\n")
    if examples:
        _show_examples(pairs, hyps, examples)
    progress.info(f"BLEU {scores['bleu']:.2f}  ({scores['bleu_signature']})")
    progress.info(f"chrF {scores['chrf']:.2f}  ({scores['chrf_signature']})")
    progress.info(
        f"{len(pairs):,} pairs in {seconds:.1f} s ({summary['sentences_per_second']:.1f} sentences/s, "
        f"{'greedy' if options.beam == 1 else f'beam {options.beam}'})"
    )
    if metrics_out:
        write_json(metrics_out, summary)
    return summary


def _pair_spec(translator, given: dict | None, model_path: str) -> PairSpec:
    """How to read the pairs: the languages the model was trained on, unless given; a warning
    when the given direction is not the model's."""
    stored = translator.info.get("pairs") or {}
    given = {k: v for k, v in (given or {}).items() if v is not None}
    spec = PairSpec(
        **{
            "source_lang": stored.get("source_lang") or "ko",
            "target_lang": stored.get("target_lang") or "en",
            **given,
        }
    )
    if stored and (spec.source_lang, spec.target_lang) != (
        stored.get("source_lang"),
        stored.get("target_lang"),
    ):
        progress.warn(
            f"{model_path} translates {stored.get('source_lang')} -> {stored.get('target_lang')}, "
            f"but the pairs are read as {spec.source_lang} -> {spec.target_lang}"
        )
    return spec


def _show_examples(pairs, hyps: list[str], examples: int) -> None:
    """The ``examples`` worst and best translations by sentence chrF (references of 3+ words)."""
    import sacrebleu

    chrf = sacrebleu.metrics.CHRF()
    ranked = sorted(
        (chrf.sentence_score(h, [ref]).score, i)
        for i, (h, ref) in enumerate(zip(hyps, pairs.targets))
        if len(ref.split()) >= 3
    )
    pick = [("worst", i, s) for s, i in ranked[:examples]] + [
        ("best", i, s) for s, i in ranked[::-1][:examples]
    ]
    progress.table(
        f"{len(pick)} examples (sentence chrF)",
        ["", "line", "chrF", "source", "reference", "output"],
        [
            [kind, pairs.lines[i], f"{s:.1f}", pairs.sources[i], pairs.targets[i], hyps[i]]
            for kind, i, s in pick
        ],
    )
