"""``translate train``: read pairs, build tokenizers and vocabularies, train with the shared loop, save.

The loop is :mod:`nlpcli.training` (batches, clipping, early stopping on dev BLEU, ``--max-time``
keeping the best model, checkpoints, ``--resume``, Ctrl-C). What is particular to translation:

* batches come in length buckets (:func:`nlpcli.translate.data.length_batches`), padded, with the
  padding masked out of the encoder (packed sequences), of attention and of the loss;
* the loss is token-level cross-entropy with optional label smoothing; with ``teacher_forcing``
  below 1 the decoder is fed its own predictions part of the time;
* after each epoch the dev sources are translated greedily (the same :class:`Translator` as
  ``translate run``) and scored with sacrebleu; dev BLEU is the early-stopping metric;
* the learning rate follows ``--lr-schedule``: ``linear`` decays it to ``--lr-floor`` (10 %)
  over the budget (``--max-time`` when given, else ``--epochs``), ``plateau`` halves it whenever
  dev BLEU does not improve, ``constant`` leaves it. The rate lives in the optimizer state, so
  ``--resume`` continues the schedule (a time-based schedule follows the clock, so it is
  reproducible only as far as the clock is).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from nlpcli import artifacts, progress
from nlpcli.errors import DataError, UsageError
from nlpcli.translate import KIND
from nlpcli.translate import tokenizers as tok
from nlpcli.translate.config import ModelConfig
from nlpcli.translate.data import BOS, UNK, Pairs, PairSpec, Vocabulary, length_batches, pad, read_pairs

SCHEDULES = ("linear", "plateau", "constant")


@dataclass
class TrainConfig:
    pairs: PairSpec = field(default_factory=PairSpec)
    src_tokenizer: str = "auto"  # auto: see default_tokenizer
    tgt_tokenizer: str = "auto"
    src_vocab_size: int | None = None  # None: 4000 sentencepiece pieces, else 20000 tokens at most
    tgt_vocab_size: int | None = None
    spm_coverage: float = 0.9995
    min_count: int = 2  # word/morpheme/char tokenizers: rarer tokens become <unk>
    max_length: int = 100  # training pairs with more tokens on a side are skipped
    learning_rate: float = 2e-3
    lr_schedule: str = "linear"
    lr_floor: float = 0.1  # linear: the rate at the end of the decay, as a share of learning_rate
    label_smoothing: float = 0.1
    teacher_forcing: float = 1.0
    word_dropout: float = 0.0  # training: share of source/decoder-input tokens made <unk> (CLI default 0.1)
    dev: list[str] | None = None
    dev_fraction: float = 0.05
    dev_limit: int | None = None  # translate at most this many dev pairs per evaluation
    metrics_out: str | None = None

    def __post_init__(self):
        for side in (self.src_tokenizer, self.tgt_tokenizer):
            if side != "auto" and side not in tok.KINDS:
                raise UsageError(f"unknown tokenizer {side!r}; choose auto or one of {', '.join(tok.KINDS)}")
        if self.src_tokenizer == "auto":
            self.src_tokenizer = default_tokenizer(self.pairs.source_lang, "source")
        if self.tgt_tokenizer == "auto":
            self.tgt_tokenizer = default_tokenizer(self.pairs.target_lang, "target")
        if self.src_vocab_size is None:
            self.src_vocab_size = default_vocab_size(self.src_tokenizer)
        if self.tgt_vocab_size is None:
            self.tgt_vocab_size = default_vocab_size(self.tgt_tokenizer)
        if self.lr_schedule not in SCHEDULES:
            raise UsageError(f"--lr-schedule must be one of {', '.join(SCHEDULES)}")
        if not 0 <= self.lr_floor <= 1:
            raise UsageError("--lr-floor must be in [0, 1] (a share of --lr)")
        if not 0 <= self.label_smoothing < 1:
            raise UsageError("--label-smoothing must be in [0, 1)")
        if not 0 <= self.word_dropout < 1:
            raise UsageError("--word-dropout must be in [0, 1)")
        if not 0 < self.teacher_forcing <= 1:
            raise UsageError("--teacher-forcing must be in (0, 1]")
        if self.learning_rate <= 0:
            raise UsageError("--learning-rate must be positive")
        if not 0 < self.dev_fraction < 1:
            raise UsageError("--dev-fraction must be between 0 and 1")
        if min(self.src_vocab_size, self.tgt_vocab_size) < 8 or self.max_length < 1 or self.min_count < 1:
            raise UsageError("--src-vocab-size/--tgt-vocab-size must be at least 8, --max-length and "
                             "--min-count positive")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["pairs"] = self.pairs.to_dict()
        return d


def default_tokenizer(lang: str, side: str) -> str:
    """What ``--src-tokenizer/--tgt-tokenizer auto`` picks: Kiwi morphemes for a Korean source
    (measured: 5.35 greedy dev BLEU at 12 minutes against 3.76 for sentencepiece and 2.88 for
    words; bench/results/translate-tokenizers), sentencepiece elsewhere, including a Korean
    target, whose spacing a tagger would lose."""
    return "kiwi" if side == "source" and lang == "ko" else "spm"


def default_patience(lr_schedule: str) -> int | None:
    """What ``--patience`` is when not given: no early stopping under the linear schedule, 4 epochs
    otherwise. A linear decay is planned for the whole budget, and dev BLEU plateaus in its middle
    before rising again as the rate nears its floor (measured: flat for 10 of 45 minutes, then +1
    BLEU; a run with 4 epochs of patience stopped in that plateau at minute 32 with 9.79 BLEU,
    beam 5). The best epoch is kept either way."""
    return None if lr_schedule == "linear" else 4


def default_vocab_size(kind: str) -> int:
    """4000 sentencepiece pieces (the issue's tuned reference); for words, morphemes and characters
    a cap of 20000, so that ``--min-count`` decides."""
    return 4000 if kind == "spm" else 20000


def _read_all(paths: list[str], spec: PairSpec) -> Pairs:
    parts = [read_pairs(p, spec) for p in paths]
    for part in parts:
        if part.empty:
            progress.warn(f"{part.name}: skipped {part.empty:,} pair(s) with an empty side")
    if len(parts) == 1:
        return parts[0]
    return Pairs([s for p in parts for s in p.sources], [t for p in parts for t in p.targets],
                 [n for p in parts for n in p.lines], " + ".join(p.name for p in parts),
                 sum(p.empty for p in parts))


def _split(pairs: Pairs, fraction: float, seed: int) -> tuple[Pairs, Pairs]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pairs))
    n_dev = max(1, int(round(len(pairs) * fraction)))
    dev_idx, train_idx = sorted(order[:n_dev]), sorted(order[n_dev:])

    def take(idx, name):
        return Pairs([pairs.sources[i] for i in idx], [pairs.targets[i] for i in idx],
                     [pairs.lines[i] for i in idx], name)

    return take(train_idx, pairs.name), take(dev_idx, f"{pairs.name} (held-out {fraction:.0%})")


def _fingerprint(pairs: Pairs, cfg: TrainConfig, model_cfg: ModelConfig) -> dict:
    digest = hashlib.sha1()
    for s, t in zip(pairs.sources, pairs.targets):
        digest.update(f"{s}\t{t}\n".encode("utf-8"))
    keep = {k: v for k, v in cfg.to_dict().items() if k not in ("metrics_out", "dev_limit", "dev")}
    return {"data": digest.hexdigest(), "pairs": len(pairs), "train": json.dumps(keep, sort_keys=True),
            "model": json.dumps(model_cfg.to_dict(), sort_keys=True)}


def default_bleu_tokenize(target_lang: str) -> str:
    """sacrebleu's 13a (words and punctuation) for most languages; characters for Korean, whose
    words carry particles and endings (13a on eojeol would punish every particle)."""
    return "char" if target_lang == "ko" else "13a"


def corpus_scores(hypotheses: list[str], references: list[str], tokenize: str = "13a") -> dict:
    """Corpus BLEU and chrF (sacrebleu) with their signatures."""
    import sacrebleu

    bleu = sacrebleu.metrics.BLEU(tokenize=tokenize)
    chrf = sacrebleu.metrics.CHRF()
    b = bleu.corpus_score(hypotheses, [references])
    c = chrf.corpus_score(hypotheses, [references])
    return {"bleu": round(b.score, 2), "chrf": round(c.score, 2), "bleu_signature": str(bleu.get_signature()),
            "chrf_signature": str(chrf.get_signature()), "bleu_detail": str(b)}


def train(inputs: list[str], output: str, cfg: TrainConfig, model_cfg: ModelConfig, loop) -> dict:
    """Train a translator on the pairs of ``inputs`` and save it to ``output``; returns the summary."""
    import torch

    from nlpcli import training
    from nlpcli.translate.model import build
    from nlpcli.translate.translator import Translator

    device = training.resolve_device(loop.device)
    training.set_threads(loop.threads)
    pairs = _read_all(inputs, cfg.pairs)
    if cfg.dev:
        train_pairs, dev_pairs = pairs, _read_all(cfg.dev, cfg.pairs)
    else:
        if len(pairs) < 20:
            raise DataError(f"only {len(pairs)} pair(s): too few to hold out a dev set; give --dev FILE",
                            source=pairs.name)
        train_pairs, dev_pairs = _split(pairs, cfg.dev_fraction, loop.seed)
    if cfg.dev_limit and len(dev_pairs) > cfg.dev_limit:
        dev_pairs = Pairs(dev_pairs.sources[:cfg.dev_limit], dev_pairs.targets[:cfg.dev_limit],
                          dev_pairs.lines[:cfg.dev_limit], dev_pairs.name)
    fingerprint = _fingerprint(train_pairs, cfg, model_cfg)
    ckpt = None
    if loop.resume:
        ckpt = training.load_checkpoint(loop.resume)
        training.check_resume(ckpt, fingerprint, loop.resume)
        extra = ckpt["extra"]
        src_tok, tgt_tok = tok.from_dict(extra["src_tokenizer"]), tok.from_dict(extra["tgt_tokenizer"])
    else:
        started = time.perf_counter()
        src_tok = tok.create(cfg.src_tokenizer, train_pairs.sources, vocab_size=cfg.src_vocab_size,
                             coverage=cfg.spm_coverage, option="--src-vocab-size")
        tgt_tok = tok.create(cfg.tgt_tokenizer, train_pairs.targets, vocab_size=cfg.tgt_vocab_size,
                             coverage=cfg.spm_coverage, option="--tgt-vocab-size")
        if cfg.src_tokenizer == "spm" or cfg.tgt_tokenizer == "spm":
            progress.info(f"tokenizers: source {src_tok.describe()}, target {tgt_tok.describe()} "
                          f"({time.perf_counter() - started:.1f} s)")
    src_tokens = src_tok.tokenize(train_pairs.sources)
    tgt_tokens = tgt_tok.tokenize(train_pairs.targets)
    keep = [i for i in range(len(src_tokens))
            if 0 < len(src_tokens[i]) <= cfg.max_length and 0 < len(tgt_tokens[i]) <= cfg.max_length]
    if len(keep) < len(src_tokens):
        progress.info(f"skipped {len(src_tokens) - len(keep):,} training pair(s) longer than --max-length "
                      f"{cfg.max_length} tokens (or with no tokens) on a side")
    if not keep:
        raise DataError("no training pair is left after tokenization; check --max-length and the columns",
                        source=train_pairs.name)
    src_tokens = [src_tokens[i] for i in keep]
    tgt_tokens = [tgt_tokens[i] for i in keep]
    if ckpt is not None:
        src_vocab, tgt_vocab = Vocabulary(ckpt["extra"]["src_vocab"]), Vocabulary(ckpt["extra"]["tgt_vocab"])
    else:
        src_vocab = Vocabulary.build(src_tokens, 1 if cfg.src_tokenizer == "spm" else cfg.min_count,
                                     None if cfg.src_tokenizer == "spm" else cfg.src_vocab_size)
        tgt_vocab = Vocabulary.build(tgt_tokens, 1 if cfg.tgt_tokenizer == "spm" else cfg.min_count,
                                     None if cfg.tgt_tokenizer == "spm" else cfg.tgt_vocab_size)
    src_ids = [src_vocab.encode(s) for s in src_tokens]
    tgt_ids = [tgt_vocab.encode(t) for t in tgt_tokens]
    lengths = np.asarray([max(len(s), len(t) + 1) for s, t in zip(src_ids, tgt_ids)], dtype=np.int64)
    progress.info(f"translate: {len(src_ids):,} training pairs ({cfg.pairs.source_lang} -> "
                  f"{cfg.pairs.target_lang}), {len(dev_pairs):,} dev pairs; vocabularies {len(src_vocab):,} / "
                  f"{len(tgt_vocab):,}; {model_cfg.cell} {model_cfg.hidden}"
                  f"{' bi' if model_cfg.bidirectional else ''}, attention {model_cfg.attention}"
                  f"{'' if model_cfg.feeds else ' (no input feeding)'}; "
                  f"device {device}, {torch.get_num_threads()} thread(s), "
                  f"{training.resolve_precision(loop.precision, device)} training")

    training.seed_everything(loop.seed)
    model = build(model_cfg.to_dict(), len(src_vocab), len(tgt_vocab)).to(device)
    optimizer = training.adam(model.parameters(), cfg.learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=0, label_smoothing=cfg.label_smoothing)
    translator = Translator(model, src_tok, tgt_tok, src_vocab, tgt_vocab, device)

    def make(batch):
        src, src_len = pad([src_ids[i] for i in batch])
        tgt_in, _ = pad([tgt_ids[i] for i in batch], bos=True)
        tgt_out, _ = pad([tgt_ids[i] for i in batch], eos=True)
        return src.to(device), src_len, tgt_in.to(device), tgt_out.to(device)

    def batches(epoch, generator):
        return length_batches(lengths, loop.batch_size, generator)

    def drop_words(ids):
        # word dropout (Sennrich et al. 2016; Gal & Ghahramani 2016): whole tokens become <unk>, so
        # the model cannot lean on any one word; padding and <s> stay
        hit = torch.rand(ids.shape, device=ids.device) < cfg.word_dropout
        return ids.masked_fill(hit & ids.gt(BOS), UNK)

    def loss(net, batch):
        src, src_len, tgt_in, tgt_out = make(batch)
        if cfg.word_dropout and net.training:
            src, tgt_in = drop_words(src), drop_words(tgt_in)
        logits = net(src, src_len, tgt_in, cfg.teacher_forcing).float()  # the loss in fp32 under bf16
        return loss_fn(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1))

    # dev: translated greedily each epoch, plus the teacher-forced dev loss
    dev_src_ids = [src_vocab.encode(s)[:cfg.max_length] for s in src_tok.tokenize(dev_pairs.sources)]
    dev_tgt_ids = [tgt_vocab.encode(t)[:cfg.max_length] for t in tgt_tok.tokenize(dev_pairs.targets)]
    dev_ok = [i for i in range(len(dev_src_ids)) if dev_src_ids[i] and dev_tgt_ids[i]]
    schedule = {"best": (ckpt or {}).get("progress", {}).get("best_score"),
                "clock": time.perf_counter() - float((ckpt or {}).get("progress", {}).get("elapsed", 0.0))}

    def set_lr(value):
        for group in optimizer.param_groups:
            group["lr"] = value

    def evaluate(net):
        hyps = [t.text for t in translator.translate(dev_pairs.sources, beam=1, max_length=cfg.max_length,
                                                      batch_size=128)]
        scores = corpus_scores(hyps, dev_pairs.targets, default_bleu_tokenize(cfg.pairs.target_lang))
        total = count = 0.0
        for start in range(0, len(dev_ok), 128):
            batch = dev_ok[start:start + 128]
            src, src_len = pad([dev_src_ids[i] for i in batch])
            tgt_in, _ = pad([dev_tgt_ids[i] for i in batch], bos=True)
            tgt_out, _ = pad([dev_tgt_ids[i] for i in batch], eos=True)
            logits = net(src.to(device), src_len, tgt_in.to(device))
            n = int(tgt_out.ne(0).sum())
            total += float(torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.size(-1)), tgt_out.to(device).reshape(-1), ignore_index=0,
                reduction="sum"))
            count += n
        lr = optimizer.param_groups[0]["lr"]
        dev_loss = round(total / max(count, 1), 4)
        progress.info(f"  dev chrF {scores['chrf']:.2f}, dev loss {dev_loss:.4f}, learning rate {lr:.2e}, "
                      f"{(time.perf_counter() - schedule['clock']) / 60:.1f} min")
        if cfg.lr_schedule == "plateau":
            if schedule["best"] is not None and scores["bleu"] <= schedule["best"]:
                set_lr(lr / 2)
                progress.info(f"dev BLEU did not improve: learning rate {lr:g} -> {lr / 2:g}")
        if schedule["best"] is None or scores["bleu"] > schedule["best"]:
            schedule["best"] = scores["bleu"]
        return {"bleu": scores["bleu"], "chrf": scores["chrf"], "dev_loss": dev_loss,
                "lr": lr, "minutes": round((time.perf_counter() - schedule["clock"]) / 60, 2)}

    on_batch_end = None
    if cfg.lr_schedule == "linear":
        n_batches = len(length_batches(lengths, loop.batch_size, training.epoch_generator(loop.seed, 0)))

        def on_batch_end(epoch, b):
            if loop.max_time:  # the slowest rank's clock, so that every rank steps with the same rate
                done = training.agreed_max((time.perf_counter() - schedule["clock"]) / loop.max_time)
            else:
                done = (epoch * n_batches + b + 1) / (loop.epochs * n_batches)
            set_lr(cfg.learning_rate * (1.0 - (1.0 - cfg.lr_floor) * min(done, 1.0)))

    extra = {"src_tokenizer": src_tok.to_dict(), "tgt_tokenizer": tgt_tok.to_dict(),
             "src_vocab": src_vocab.tokens, "tgt_vocab": tgt_vocab.tokens, "fingerprint": fingerprint}
    task = training.LoopTask(model=model, optimizer=optimizer, batches=batches, loss=loss, evaluate=evaluate,
                             metric="bleu", extra=extra, on_batch_end=on_batch_end)
    result = training.Trainer(loop).fit(task, resume_state=ckpt)
    progress.info(f"translate: {result.epochs} epoch(s) in {result.seconds / 60:.1f} min (stopped: {result.stopped}); "
                  f"best dev BLEU {result.best_score} at epoch {result.best_epoch}")
    summary = {"best_dev_bleu": result.best_score, "best_epoch": result.best_epoch, "epochs": result.epochs,
               "stopped": result.stopped, "train_seconds": round(result.seconds, 1), "history": result.history,
               "train_pairs": len(src_ids), "dev_pairs": len(dev_pairs), "dev": dev_pairs.name,
               "src_vocab": len(src_vocab), "tgt_vocab": len(tgt_vocab)}
    state = {"state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
             "config": model_cfg.to_dict(), "src_vocab": src_vocab.tokens, "tgt_vocab": tgt_vocab.tokens,
             "src_tokenizer": src_tok.to_dict(), "tgt_tokenizer": tgt_tok.to_dict(),
             "source_lang": cfg.pairs.source_lang, "target_lang": cfg.pairs.target_lang,
             "pairs": cfg.pairs.to_dict()}
    params = {"train": cfg.to_dict(), "model": model_cfg.to_dict(), "loop": loop.to_dict()}
    if not training.is_main_process():  # under torchrun, rank 0 alone writes the model
        return summary
    artifacts.save_torch(output, KIND, state, params=params, data={"train": train_pairs.name, **summary})
    progress.info(f"{KIND} -> {output}")
    if cfg.metrics_out:
        from nlpcli.textio import open_output

        with open_output(cfg.metrics_out) as fh:
            json.dump(summary, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
    return summary
