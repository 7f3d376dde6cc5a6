"""A loaded translator: tokenize, encode, search, replace unknown words, detokenize.

Used by ``translate run``, ``translate evaluate`` and by training (the dev BLEU of each epoch), so
the three see exactly the same translations.

Bad input is handled per sentence, never by failing the batch: a sentence with no tokens gets an
empty translation (``empty``), a sentence longer than ``max_length`` tokens is cut to its first
``max_length`` tokens (``truncated``), and characters never seen in training become ``<unk>`` on
the source side; an ``<unk>`` the decoder writes is replaced by the source token it attends to
most (the classic unknown-word copy; dropped without attention).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nlpcli.errors import CorruptArtifactError, UsageError
from nlpcli.translate import KIND
from nlpcli.translate import tokenizers as tok
from nlpcli.translate.data import UNK, Vocabulary, pad, sorted_batches
from nlpcli.translate.plain import PlainSeq2Seq
from nlpcli.translate.search import Hypothesis, beam_search, greedy


@dataclass
class Candidate:
    text: str
    score: float
    tokens: list[str]
    attention: np.ndarray | None = None  # [len(tokens) + 1, len(source_tokens)]


@dataclass
class Translation:
    source_tokens: list[str]
    candidates: list[Candidate] = field(default_factory=list)
    empty: bool = False
    truncated: bool = False

    @property
    def text(self) -> str:
        return self.candidates[0].text if self.candidates else ""

    @property
    def score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0


def _torch_device(device: str, threads: int | None):
    from nlpcli import training

    torch_device = training.resolve_device(device)
    training.set_threads(threads)
    return torch_device


def length_limit(source_length: int, max_length: int) -> int:
    """How many tokens a translation of a source of this length may have (``</s>`` included)."""
    return min(max_length, 2 * source_length + 10)


def _torch_model(config: dict, state_dict: dict, n_src: int, n_tgt: int):
    from nlpcli.translate.model import build

    model = build(config, n_src, n_tgt)
    model.load_state_dict(state_dict)
    return model


class Translator:
    def __init__(
        self,
        model,
        src_tokenizer: tok.Tokenizer,
        tgt_tokenizer: tok.Tokenizer,
        src_vocab: Vocabulary,
        tgt_vocab: Vocabulary,
        device,
        info: dict | None = None,
    ):
        self.model = model
        self.src_tokenizer, self.tgt_tokenizer = src_tokenizer, tgt_tokenizer
        self.src_vocab, self.tgt_vocab = src_vocab, tgt_vocab
        self.device = device
        self.info = info or {}
        self.has_attention = model.cfg.attention != "none"
        self.plain = isinstance(model, PlainSeq2Seq)  # numpy, not a torch module
        subword = ("spm", "char")
        self._copy_mark = (tgt_tokenizer.kind in subword) - (
            src_tokenizer.kind in subword
        )  # +1 add ▁, -1 strip

    @classmethod
    def load(cls, path: str, device: str = "auto", threads: int | None = None) -> Translator:
        """The translator of ``path`` as a torch model on ``device``."""
        from nlpcli import artifacts

        art = artifacts.load(path, kinds=(KIND,))
        return cls._from_artifact(art, _torch_model, _torch_device(device, threads))._on_device()

    def on_torch(self, device: str = "auto", threads: int | None = None) -> Translator:
        """This numpy translator as a torch model on ``device``, from the weights it holds (the
        file is not read again) and with its tokenizers (a tagger is not loaded twice)."""
        import torch

        numpy_model = self.model
        state = {k: torch.from_numpy(np.array(v)) for k, v in numpy_model.w.items()}
        model = _torch_model(numpy_model.config, state, len(self.src_vocab), len(self.tgt_vocab))
        translator = Translator(
            model,
            self.src_tokenizer,
            self.tgt_tokenizer,
            self.src_vocab,
            self.tgt_vocab,
            _torch_device(device, threads),
            self.info,
        )
        return translator._on_device()

    def _on_device(self) -> Translator:
        self.model.to(self.device)
        self.model.eval()
        return self

    @classmethod
    def load_plain(cls, path: str) -> Translator | None:
        """The translator of ``path`` computed with numpy alone (:mod:`nlpcli.translate.plain`),
        neither torch nor its model imported; None when only torch can read the file."""
        from nlpcli import artifacts

        art = artifacts.load_arrays(path, kinds=(KIND,))
        return None if art is None else cls._from_artifact(art, PlainSeq2Seq, None)

    @classmethod
    def _from_artifact(cls, art, build_model, device) -> Translator:
        """The translator an artifact holds; ``build_model(config, state_dict, n_src, n_tgt)``."""
        p, path = art.payload, art.path
        try:
            src_vocab, tgt_vocab = Vocabulary(p["src_vocab"]), Vocabulary(p["tgt_vocab"])
            model = build_model(dict(p["config"]), p["state_dict"], len(src_vocab), len(tgt_vocab))
            src_tok, tgt_tok = (
                tok.from_dict(dict(p["src_tokenizer"])),
                tok.from_dict(dict(p["tgt_tokenizer"])),
            )
            src_tok.start()
            tgt_tok.start()
        except CorruptArtifactError as exc:
            raise CorruptArtifactError(f"{path}: {exc}") from None
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise CorruptArtifactError(
                f"{path}: the translation model in it does not load "
                f"({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); "
                "re-create it"
            ) from None
        info = {
            "source_lang": p.get("source_lang"),
            "target_lang": p.get("target_lang"),
            "pairs": dict(p.get("pairs") or {}),
            "manifest": art.manifest,
        }
        return cls(model, src_tok, tgt_tok, src_vocab, tgt_vocab, device, info)

    # ------------------------------------------------------------------------------------

    def _copy(self, source_token: str) -> str:
        if self._copy_mark > 0 and not source_token.startswith(tok.SPACE):
            return tok.SPACE + source_token
        if self._copy_mark < 0:
            return source_token.lstrip(tok.SPACE) or source_token
        return source_token

    def _candidate(self, hyp: Hypothesis, source_tokens: list[str]) -> Candidate:
        tokens = self.tgt_vocab.decode(hyp.ids)
        out = []
        for i, (token, token_id) in enumerate(zip(tokens, hyp.ids)):
            if token_id == UNK:
                if i < len(hyp.align) and hyp.align[i] < len(source_tokens):
                    out.append(self._copy(source_tokens[hyp.align[i]]))
                continue
            out.append(token)
        return Candidate(self.tgt_tokenizer.detokenize(out), float(hyp.score), out, hyp.attention)

    def translate(
        self,
        texts: Sequence[str],
        *,
        beam: int = 1,
        n_best: int = 1,
        max_length: int = 100,
        alpha: float = 1.0,
        batch_size: int = 64,
        keep_attention: bool = False,
    ) -> list[Translation]:
        """Translations of ``texts`` (in order); see the module docstring for bad input."""
        if beam < 1 or n_best < 1 or max_length < 1:
            raise UsageError("--beam, --n-best and --max-length must be positive")
        if n_best > beam:
            raise UsageError(f"--n-best {n_best} needs --beam {n_best} or more")
        results = []
        todo, ids = [], []
        for tokens in self.src_tokenizer.tokenize(list(texts)):
            tr = Translation(tokens[:max_length])
            tr.empty = not tokens
            tr.truncated = len(tokens) > max_length
            results.append(tr)
            if tokens:
                todo.append(len(results) - 1)
                ids.append(self.src_vocab.encode(tr.source_tokens))
        search = dict(
            beam=beam, n_best=n_best, max_length=max_length, alpha=alpha, keep_attention=keep_attention
        )
        decoded = (
            self._search_plain(ids, **search) if self.plain else self._search_torch(ids, batch_size, **search)
        )
        for i, sent_hyps in decoded:
            tr = results[todo[i]]
            tr.candidates = [self._candidate(h, tr.source_tokens) for h in sent_hyps]
        return results

    def _search_plain(self, ids, *, beam, n_best, max_length, alpha, keep_attention):
        """(index, hypotheses) of each source, one sentence at a time in numpy."""
        from nlpcli.translate import plain

        for i, src in enumerate(ids):
            limit = length_limit(len(src), max_length)
            if beam == 1:
                yield i, plain.greedy(self.model, src, limit, alpha=alpha, keep_attention=keep_attention)
            else:
                yield (
                    i,
                    plain.beam_search(
                        self.model,
                        src,
                        limit,
                        beam=beam,
                        n_best=n_best,
                        alpha=alpha,
                        keep_attention=keep_attention,
                    ),
                )

    def _search_torch(self, ids, batch_size, *, beam, n_best, max_length, alpha, keep_attention):
        """(index, hypotheses) of each source, in length-sorted batches through torch."""
        import torch

        model = self.model
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                for batch in sorted_batches([len(x) for x in ids], batch_size):
                    src, lengths = pad([ids[i] for i in batch])
                    limits = [length_limit(int(n), max_length) for n in lengths]
                    src = src.to(self.device)
                    if beam == 1:
                        hyps = greedy(model, src, lengths, limits, alpha=alpha, keep_attention=keep_attention)
                    else:
                        hyps = beam_search(
                            model,
                            src,
                            lengths,
                            limits,
                            beam=beam,
                            n_best=n_best,
                            alpha=alpha,
                            keep_attention=keep_attention,
                        )
                    yield from zip(batch, hyps)
        finally:
            model.train(was_training)
