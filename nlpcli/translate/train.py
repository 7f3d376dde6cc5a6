"""``translate train``: read pairs, build tokenizers and vocabularies, train with the shared loop, save.

The loop is :mod:`nlpcli.training` (batches, clipping, early stopping on dev BLEU, ``--max-time``
keeping the best model, checkpoints, ``--resume``, Ctrl-C). What is particular to translation:

* batches come in length buckets (:func:`nlpcli.training.length_batches`), padded, with the
  padding masked out of the encoder (packed sequences), of attention and of the loss;
* the loss is token-level cross-entropy with optional label smoothing; with ``teacher_forcing``
  below 1 the decoder is fed its own predictions part of the time;
* after each epoch the dev sources are translated greedily (the same :class:`Translator` as
  ``translate run``) and scored with sacrebleu; dev BLEU is the early-stopping metric;
* the learning rate follows ``--lr-schedule`` (:func:`lr_schedule`, with the schedules of
  :mod:`nlpcli.training.schedule`): ``linear`` decays it to ``--lr-floor`` (10 %)
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
from typing import Any

import numpy as np

from nlpcli import artifacts, progress, training
from nlpcli.errors import DataError, UsageError
from nlpcli.training import length_batches
from nlpcli.translate import KIND
from nlpcli.translate import tokenizers as tok
from nlpcli.translate.config import ModelConfig
from nlpcli.translate.data import BOS, UNK, Pairs, PairSpec, Vocabulary, pad, read_pairs

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
            raise UsageError(
                "--src-vocab-size/--tgt-vocab-size must be at least 8, --max-length and --min-count positive"
            )

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
    """4000 sentencepiece pieces (see bench/RESULTS.md); for words, morphemes and characters
    a cap of 20000, so that ``--min-count`` decides."""
    return 4000 if kind == "spm" else 20000


def _read_all(paths: list[str], spec: PairSpec) -> Pairs:
    parts = [read_pairs(p, spec) for p in paths]
    for part in parts:
        if part.empty:
            progress.warn(f"{part.name}: skipped {part.empty:,} pair(s) with an empty side")
    if len(parts) == 1:
        return parts[0]
    return Pairs(
        [s for p in parts for s in p.sources],
        [t for p in parts for t in p.targets],
        [n for p in parts for n in p.lines],
        " + ".join(p.name for p in parts),
        sum(p.empty for p in parts),
    )


def _split(pairs: Pairs, fraction: float, seed: int) -> tuple[Pairs, Pairs]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pairs))
    n_dev = max(1, int(round(len(pairs) * fraction)))
    dev_idx, train_idx = sorted(order[:n_dev]), sorted(order[n_dev:])

    def take(idx, name):
        return Pairs(
            [pairs.sources[i] for i in idx],
            [pairs.targets[i] for i in idx],
            [pairs.lines[i] for i in idx],
            name,
        )

    return take(train_idx, pairs.name), take(dev_idx, f"{pairs.name} (held-out {fraction:.0%})")


def _fingerprint(pairs: Pairs, cfg: TrainConfig, model_cfg: ModelConfig) -> dict:
    digest = hashlib.sha1()
    for s, t in zip(pairs.sources, pairs.targets):
        digest.update(f"{s}\t{t}\n".encode())
    keep = {k: v for k, v in cfg.to_dict().items() if k not in ("metrics_out", "dev_limit", "dev")}
    return {
        "data": digest.hexdigest(),
        "pairs": len(pairs),
        "train": json.dumps(keep, sort_keys=True),
        "model": json.dumps(model_cfg.to_dict(), sort_keys=True),
    }


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
    return {
        "bleu": round(b.score, 2),
        "chrf": round(c.score, 2),
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
        "bleu_detail": str(b),
    }


def train(inputs: list[str], output: str, cfg: TrainConfig, model_cfg: ModelConfig, loop) -> dict:
    """Train a translator on the pairs of ``inputs`` and save it to ``output``; returns the summary."""
    device = training.resolve_device(loop.device)
    training.set_threads(loop.threads)
    data = prepare_data(inputs, cfg, model_cfg, loop.seed, loop.resume)
    _log_start(data, cfg, model_cfg, loop, device)
    task = build_task(data, cfg, model_cfg, loop, device)
    result = training.Trainer(loop).fit(task, resume_state=data.checkpoint)
    return _finish(result, task.model, data, output, cfg, model_cfg, loop)


# --------------------------------------------------------------------------------------------
# the data


@dataclass
class TrainingData:
    """The pairs as the model sees them, and what a checkpoint must agree with."""

    train_pairs: Pairs
    dev_pairs: Pairs
    src_tok: Any
    tgt_tok: Any
    src_vocab: Vocabulary
    tgt_vocab: Vocabulary
    src_ids: list[list[int]]  # the training pairs kept (see --max-length), as vocabulary ids
    tgt_ids: list[list[int]]
    lengths: np.ndarray  # per training pair, the longer side (the target with its <eos>)
    fingerprint: dict
    checkpoint: dict | None  # the one to resume from

    def extra(self) -> dict:
        """What every checkpoint stores to rebuild the tokenizers and vocabularies on resume."""
        return {
            "src_tokenizer": self.src_tok.to_dict(),
            "tgt_tokenizer": self.tgt_tok.to_dict(),
            "src_vocab": self.src_vocab.tokens,
            "tgt_vocab": self.tgt_vocab.tokens,
            "fingerprint": self.fingerprint,
        }


def prepare_data(
    inputs: list[str], cfg: TrainConfig, model_cfg: ModelConfig, seed: int, resume: str | None
) -> TrainingData:
    """Read the pairs and the dev set, make the tokenizers and vocabularies (or, resuming, take the
    checkpoint's), and turn the training pairs that are not too long into ids."""
    train_pairs, dev_pairs = _train_and_dev(inputs, cfg, seed)
    fingerprint = _fingerprint(train_pairs, cfg, model_cfg)
    ckpt = None
    if resume:
        ckpt = training.load_checkpoint(resume)
        training.check_resume(ckpt, fingerprint, resume)
    src_tok, tgt_tok = _tokenizers(train_pairs, cfg, ckpt)
    src_tokens, tgt_tokens = _short_enough(
        src_tok.tokenize(train_pairs.sources), tgt_tok.tokenize(train_pairs.targets), cfg, train_pairs.name
    )
    src_vocab, tgt_vocab = _vocabularies(src_tokens, tgt_tokens, cfg, ckpt)
    src_ids = [src_vocab.encode(s) for s in src_tokens]
    tgt_ids = [tgt_vocab.encode(t) for t in tgt_tokens]
    lengths = np.asarray([max(len(s), len(t) + 1) for s, t in zip(src_ids, tgt_ids)], dtype=np.int64)
    return TrainingData(
        train_pairs,
        dev_pairs,
        src_tok,
        tgt_tok,
        src_vocab,
        tgt_vocab,
        src_ids,
        tgt_ids,
        lengths,
        fingerprint,
        ckpt,
    )


def _train_and_dev(inputs: list[str], cfg: TrainConfig, seed: int) -> tuple[Pairs, Pairs]:
    """The training pairs and the dev pairs (``--dev``, else held out), at most ``--dev-limit`` of these."""
    pairs = _read_all(inputs, cfg.pairs)
    if cfg.dev:
        train_pairs, dev_pairs = pairs, _read_all(cfg.dev, cfg.pairs)
    else:
        if len(pairs) < 20:
            raise DataError(
                f"only {len(pairs)} pair(s): too few to hold out a dev set; give --dev FILE",
                source=pairs.name,
            )
        train_pairs, dev_pairs = _split(pairs, cfg.dev_fraction, seed)
    if cfg.dev_limit and len(dev_pairs) > cfg.dev_limit:
        dev_pairs = Pairs(
            dev_pairs.sources[: cfg.dev_limit],
            dev_pairs.targets[: cfg.dev_limit],
            dev_pairs.lines[: cfg.dev_limit],
            dev_pairs.name,
        )
    return train_pairs, dev_pairs


def _tokenizers(train_pairs: Pairs, cfg: TrainConfig, ckpt: dict | None) -> tuple:
    """The source and target tokenizers: trained on the training pairs, or the checkpoint's."""
    if ckpt is not None:
        extra = ckpt["extra"]
        return tok.from_dict(extra["src_tokenizer"]), tok.from_dict(extra["tgt_tokenizer"])
    started = time.perf_counter()
    src_tok = tok.create(
        cfg.src_tokenizer,
        train_pairs.sources,
        vocab_size=cfg.src_vocab_size,
        coverage=cfg.spm_coverage,
        option="--src-vocab-size",
    )
    tgt_tok = tok.create(
        cfg.tgt_tokenizer,
        train_pairs.targets,
        vocab_size=cfg.tgt_vocab_size,
        coverage=cfg.spm_coverage,
        option="--tgt-vocab-size",
    )
    if cfg.src_tokenizer == "spm" or cfg.tgt_tokenizer == "spm":
        progress.info(
            f"tokenizers: source {src_tok.describe()}, target {tgt_tok.describe()} "
            f"({time.perf_counter() - started:.1f} s)"
        )
    return src_tok, tgt_tok


def _short_enough(src_tokens: list, tgt_tokens: list, cfg: TrainConfig, name: str) -> tuple[list, list]:
    """The pairs with 1 to ``--max-length`` tokens on each side."""
    keep = [
        i
        for i in range(len(src_tokens))
        if 0 < len(src_tokens[i]) <= cfg.max_length and 0 < len(tgt_tokens[i]) <= cfg.max_length
    ]
    if len(keep) < len(src_tokens):
        progress.info(
            f"skipped {len(src_tokens) - len(keep):,} training pair(s) longer than --max-length "
            f"{cfg.max_length} tokens (or with no tokens) on a side"
        )
    if not keep:
        raise DataError(
            "no training pair is left after tokenization; check --max-length and the columns", source=name
        )
    return [src_tokens[i] for i in keep], [tgt_tokens[i] for i in keep]


def _vocabularies(
    src_tokens: list, tgt_tokens: list, cfg: TrainConfig, ckpt: dict | None
) -> tuple[Vocabulary, Vocabulary]:
    """The source and target vocabularies: built from the training tokens, or the checkpoint's
    (sentencepiece pieces all stay; other tokens need ``--min-count`` occurrences)."""
    if ckpt is not None:
        return Vocabulary(ckpt["extra"]["src_vocab"]), Vocabulary(ckpt["extra"]["tgt_vocab"])
    src_vocab = Vocabulary.build(
        src_tokens,
        1 if cfg.src_tokenizer == "spm" else cfg.min_count,
        None if cfg.src_tokenizer == "spm" else cfg.src_vocab_size,
    )
    tgt_vocab = Vocabulary.build(
        tgt_tokens,
        1 if cfg.tgt_tokenizer == "spm" else cfg.min_count,
        None if cfg.tgt_tokenizer == "spm" else cfg.tgt_vocab_size,
    )
    return src_vocab, tgt_vocab


def _log_start(data: TrainingData, cfg: TrainConfig, model_cfg: ModelConfig, loop, device) -> None:
    import torch

    progress.info(
        f"translate: {len(data.src_ids):,} training pairs ({cfg.pairs.source_lang} -> "
        f"{cfg.pairs.target_lang}), {len(data.dev_pairs):,} dev pairs; vocabularies "
        f"{len(data.src_vocab):,} / {len(data.tgt_vocab):,}; {model_cfg.cell} {model_cfg.hidden}"
        f"{' bi' if model_cfg.bidirectional else ''}, attention {model_cfg.attention}"
        f"{'' if model_cfg.feeds else ' (no input feeding)'}; "
        f"device {device}, {torch.get_num_threads()} thread(s), "
        f"{training.resolve_precision(loop.precision, device)} training"
    )


# --------------------------------------------------------------------------------------------
# the model and what the loop calls


def build_task(
    data: TrainingData, cfg: TrainConfig, model_cfg: ModelConfig, loop, device
) -> training.LoopTask:
    """The model (seeded), its optimizer, the batches and their loss, the dev evaluation and the
    learning rate's schedule, as the loop takes them."""
    from nlpcli.translate.model import build
    from nlpcli.translate.translator import Translator

    training.seed_everything(loop.seed)
    model = build(model_cfg.to_dict(), len(data.src_vocab), len(data.tgt_vocab)).to(device)
    optimizer = training.adam(model.parameters(), cfg.learning_rate)
    batches = PairBatches(data, loop.batch_size, device)
    translator = Translator(model, data.src_tok, data.tgt_tok, data.src_vocab, data.tgt_vocab, device)
    trained = float((data.checkpoint or {}).get("progress", {}).get("elapsed", 0.0))
    evaluate = DevEvaluation(translator, data, cfg, optimizer, device, time.perf_counter() - trained)
    return training.LoopTask(
        model=model,
        optimizer=optimizer,
        batches=batches,
        loss=TranslationLoss(batches, cfg),
        evaluate=evaluate,
        metric="bleu",
        extra=data.extra(),
        schedule=lr_schedule(cfg),
    )


def lr_schedule(cfg: TrainConfig) -> training.Schedule:
    """``--lr-schedule``: ``linear`` from ``--lr`` down to ``--lr-floor`` of it over the run,
    ``plateau`` halving the rate after every epoch that does not improve dev BLEU, ``constant``."""
    if cfg.lr_schedule == "linear":
        return training.LinearDecay(cfg.learning_rate, cfg.lr_floor)
    if cfg.lr_schedule == "plateau":
        return training.ReduceOnPlateau(0.5, "dev BLEU")
    return training.Constant()


class PairBatches:
    """The training pairs in length buckets (what the loop draws an epoch's batches from), and a
    batch of them as padded tensors on the device."""

    def __init__(self, data: TrainingData, batch_size: int, device):
        self.src_ids, self.tgt_ids, self.lengths = data.src_ids, data.tgt_ids, data.lengths
        self.batch_size, self.device = batch_size, device

    def __call__(self, epoch: int, generator) -> list:
        return length_batches(self.lengths, self.batch_size, generator)

    def tensors(self, batch) -> tuple:
        """``(src, src_len, tgt_in, tgt_out)``: the sources, their lengths (on the CPU), the targets
        after ``<s>`` and the targets followed by ``</s>``."""
        src, src_len = pad([self.src_ids[i] for i in batch])
        tgt_in, _ = pad([self.tgt_ids[i] for i in batch], bos=True)
        tgt_out, _ = pad([self.tgt_ids[i] for i in batch], eos=True)
        return src.to(self.device), src_len, tgt_in.to(self.device), tgt_out.to(self.device)


class TranslationLoss:
    """A batch's token-level cross-entropy (with label smoothing, padding left out), computed in
    fp32 under bf16; in training, word dropout and teacher forcing as configured."""

    def __init__(self, batches: PairBatches, cfg: TrainConfig):
        import torch

        self.batches = batches
        self.word_dropout, self.teacher_forcing = cfg.word_dropout, cfg.teacher_forcing
        self.loss_fn = torch.nn.CrossEntropyLoss(ignore_index=0, label_smoothing=cfg.label_smoothing)

    def __call__(self, net, batch):
        src, src_len, tgt_in, tgt_out = self.batches.tensors(batch)
        if self.word_dropout and net.training:
            src, tgt_in = self._drop_words(src), self._drop_words(tgt_in)
        logits = net(src, src_len, tgt_in, self.teacher_forcing).float()
        return self.loss_fn(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1))

    def _drop_words(self, ids):
        """Word dropout (Sennrich et al. 2016; Gal & Ghahramani 2016): whole tokens become <unk>, so
        the model cannot lean on any one word; padding and <s> stay."""
        import torch

        hit = torch.rand(ids.shape, device=ids.device) < self.word_dropout
        return ids.masked_fill(hit & ids.gt(BOS), UNK)


class DevEvaluation:
    """After each epoch: the dev sources translated greedily (the same :class:`Translator` as
    ``translate run``) and scored with sacrebleu, and the teacher-forced dev loss. ``started`` is
    the clock's reading when training began (earlier by the time trained before a resume)."""

    def __init__(self, translator, data: TrainingData, cfg: TrainConfig, optimizer, device, started: float):
        self.translator, self.optimizer, self.device, self.started = translator, optimizer, device, started
        self.pairs, self.max_length = data.dev_pairs, cfg.max_length
        self.bleu_tokenize = default_bleu_tokenize(cfg.pairs.target_lang)
        self.src_ids = [
            data.src_vocab.encode(s)[: cfg.max_length] for s in data.src_tok.tokenize(self.pairs.sources)
        ]
        self.tgt_ids = [
            data.tgt_vocab.encode(t)[: cfg.max_length] for t in data.tgt_tok.tokenize(self.pairs.targets)
        ]
        self.usable = [i for i in range(len(self.src_ids)) if self.src_ids[i] and self.tgt_ids[i]]

    def __call__(self, net) -> dict:
        found = self.translator.translate(
            self.pairs.sources, beam=1, max_length=self.max_length, batch_size=128
        )
        hyps = [t.text for t in found]
        scores = corpus_scores(hyps, self.pairs.targets, self.bleu_tokenize)
        dev_loss = round(self.loss(net), 4)
        lr = self.optimizer.param_groups[0]["lr"]
        minutes = (time.perf_counter() - self.started) / 60
        progress.info(
            f"  dev chrF {scores['chrf']:.2f}, dev loss {dev_loss:.4f}, learning rate {lr:.2e}, "
            f"{minutes:.1f} min"
        )
        return {
            "bleu": scores["bleu"],
            "chrf": scores["chrf"],
            "dev_loss": dev_loss,
            "lr": lr,
            "minutes": round(minutes, 2),
        }

    def loss(self, net) -> float:
        """The mean token cross-entropy of the dev targets, teacher-forced (no label smoothing)."""
        import torch

        total = count = 0.0
        for start in range(0, len(self.usable), 128):
            batch = self.usable[start : start + 128]
            src, src_len = pad([self.src_ids[i] for i in batch])
            tgt_in, _ = pad([self.tgt_ids[i] for i in batch], bos=True)
            tgt_out, _ = pad([self.tgt_ids[i] for i in batch], eos=True)
            logits = net(src.to(self.device), src_len, tgt_in.to(self.device))
            total += float(
                torch.nn.functional.cross_entropy(
                    logits.reshape(-1, logits.size(-1)),
                    tgt_out.to(self.device).reshape(-1),
                    ignore_index=0,
                    reduction="sum",
                )
            )
            count += int(tgt_out.ne(0).sum())
        return total / max(count, 1)


# --------------------------------------------------------------------------------------------
# the end of the run


def _finish(
    result, model, data: TrainingData, output: str, cfg: TrainConfig, model_cfg: ModelConfig, loop
) -> dict:
    """Report the run, and (on rank 0) save the translator and the metrics file; returns the summary."""
    progress.info(
        f"translate: {result.epochs} epoch(s) in {result.seconds / 60:.1f} min "
        f"(stopped: {result.stopped}); best dev BLEU {result.best_score} at epoch "
        f"{result.best_epoch}"
    )
    summary = {
        "best_dev_bleu": result.best_score,
        "best_epoch": result.best_epoch,
        "epochs": result.epochs,
        "stopped": result.stopped,
        "train_seconds": round(result.seconds, 1),
        "history": result.history,
        "train_pairs": len(data.src_ids),
        "dev_pairs": len(data.dev_pairs),
        "dev": data.dev_pairs.name,
        "src_vocab": len(data.src_vocab),
        "tgt_vocab": len(data.tgt_vocab),
    }
    if not training.is_main_process():  # under torchrun, rank 0 alone writes the model
        return summary
    state = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": model_cfg.to_dict(),
        "src_vocab": data.src_vocab.tokens,
        "tgt_vocab": data.tgt_vocab.tokens,
        "src_tokenizer": data.src_tok.to_dict(),
        "tgt_tokenizer": data.tgt_tok.to_dict(),
        "source_lang": cfg.pairs.source_lang,
        "target_lang": cfg.pairs.target_lang,
        "pairs": cfg.pairs.to_dict(),
    }
    params = {"train": cfg.to_dict(), "model": model_cfg.to_dict(), "loop": loop.to_dict()}
    artifacts.save_torch(output, KIND, state, params=params, data={"train": data.train_pairs.name, **summary})
    progress.info(f"{KIND} -> {output}")
    if cfg.metrics_out:
        from nlpcli.textio import open_output

        with open_output(cfg.metrics_out) as fh:
            json.dump(summary, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
    return summary
