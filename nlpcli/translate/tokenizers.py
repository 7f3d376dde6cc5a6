"""Tokenizers for one side of a translation pair, stored inside the translator artifact.

Every tokenizer turns raw sentences into lists of token strings and a list of tokens back into a
sentence, and describes itself as plain data (``to_dict``) so that ``translate run`` tokenizes
and detokenizes exactly as training did. Kinds:

* ``spm``: a sentencepiece unigram model trained on the training side; its serialized model
  proto travels in the artifact as a base64 string (no side file). Detokenization is exact.
* ``whitespace``: tokens split at spaces; detokenized by joining with spaces.
* ``char``: characters, with ``▁`` for a space; detokenization is exact.
* ``okt``, ``kiwi``, ``kkma``, ``komoran``, ``hannanum``: Korean morphemes from a tagger (the
  ``nlpcli.text`` recipe ``morphs``); the spacing of the original is lost, so detokenization
  joins morphemes with spaces (fine for a Korean source side, poor for a Korean target side).

Text is NFC-normalized first on every side, so decomposed Hangul reads like composed Hangul.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Sequence

from nlpcli.errors import CorruptArtifactError, DependencyError, UsageError

SPACE = "\u2581"  # ▁, sentencepiece's word-boundary mark
TAGGER_KINDS = ("okt", "kiwi", "kkma", "komoran", "hannanum")
KINDS = ("spm", "whitespace", "char") + TAGGER_KINDS


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


class Tokenizer:
    kind = "base"

    def tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        raise NotImplementedError

    def detokenize(self, tokens: Sequence[str]) -> str:
        return " ".join(t for t in tokens if t).strip()

    def start(self) -> None:
        """Load what tokenizing needs (a tagger's model) now, not on the first sentence."""

    def to_dict(self) -> dict:
        return {"kind": self.kind}

    def describe(self) -> str:
        return self.kind


class WhitespaceTokenizer(Tokenizer):
    kind = "whitespace"

    def tokenize(self, texts):
        return [_nfc(t).split() for t in texts]


class CharTokenizer(Tokenizer):
    kind = "char"

    def tokenize(self, texts):
        return [[SPACE if ch.isspace() else ch for ch in " ".join(_nfc(t).split())] for t in texts]

    def detokenize(self, tokens):
        return "".join(tokens).replace(SPACE, " ").strip()


class SentencePieceTokenizer(Tokenizer):
    """Unigram sentencepiece. Unknown characters come out as their own surface string (so the
    vocabulary maps them to ``<unk>`` and the decoder can still copy them)."""

    kind = "spm"

    def __init__(self, model_proto: bytes, vocab_size: int):
        import sentencepiece as spm

        self.model_proto = model_proto
        self.vocab_size = vocab_size
        try:
            self.processor = spm.SentencePieceProcessor(model_proto=model_proto)
        except Exception as exc:  # a damaged proto
            raise CorruptArtifactError(
                f"the sentencepiece model in the artifact does not load ({exc})"
            ) from None

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        vocab_size: int = 4000,
        coverage: float = 0.9995,
        option: str = "--src-vocab-size/--tgt-vocab-size",
    ) -> SentencePieceTokenizer:
        import io

        try:
            import sentencepiece as spm
        except ImportError:
            raise DependencyError("sentencepiece is not installed: pip install sentencepiece") from None
        sentences = [" ".join(_nfc(t).split()) for t in texts]
        sentences = [s for s in sentences if s]
        if not sentences:
            raise UsageError("no text to train the sentencepiece model on")
        model = io.BytesIO()
        # hard_vocab_limit=False: a small corpus gets as many pieces as it supports, not an error;
        # one thread keeps the model the same from run to run.
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(sentences),
                model_writer=model,
                vocab_size=vocab_size,
                model_type="unigram",
                character_coverage=coverage,
                hard_vocab_limit=False,
                num_threads=1,
                minloglevel=2,
                max_sentence_length=1 << 14,
            )
        except RuntimeError as exc:
            found = re.search(r"(\d+) vs (\d+)", str(exc))
            if found and "required_chars" in str(exc):
                raise UsageError(
                    f"a sentencepiece vocabulary of {vocab_size} pieces is smaller than the "
                    f"{found.group(2)} characters and symbols this side needs; raise "
                    f"{option} or lower --spm-coverage"
                ) from None
            raise UsageError(f"sentencepiece training failed: {str(exc).splitlines()[0][:200]}") from None
        return cls(model.getvalue(), vocab_size)

    def tokenize(self, texts):
        return [self.processor.encode(" ".join(_nfc(t).split()), out_type=str) for t in texts]

    def detokenize(self, tokens):
        return "".join(tokens).replace(SPACE, " ").strip()

    def to_dict(self):
        return {
            "kind": self.kind,
            "vocab_size": self.vocab_size,
            "model": base64.b64encode(self.model_proto).decode("ascii"),
        }

    def describe(self):
        return f"spm unigram {self.processor.get_piece_size()} pieces"


class TaggerTokenizer(Tokenizer):
    """Morphemes from a Korean tagger (KoNLPy or Kiwi) through an ``nlpcli.text`` recipe."""

    def __init__(self, tagger: str, threads: int = 1):
        from nlpcli.text.recipe import Preprocessor, Recipe

        self.kind = tagger
        self.preprocessor = Preprocessor(Recipe(operation="morphs", tagger=tagger, nfc=True), threads=threads)

    def tokenize(self, texts):
        return self.preprocessor.tokens([_nfc(t) for t in texts])

    def start(self):
        _ = self.preprocessor.tagger  # Kiwi's model or the JVM: seconds, paid at load time


def create(
    kind: str,
    texts: Sequence[str] | None = None,
    *,
    vocab_size: int = 4000,
    coverage: float = 0.9995,
    option: str = "--src-vocab-size/--tgt-vocab-size",
) -> Tokenizer:
    """A new tokenizer of ``kind``; ``spm`` is trained on ``texts``."""
    if kind not in KINDS:
        raise UsageError(f"unknown tokenizer {kind!r}; choose one of {', '.join(KINDS)}")
    if kind == "spm":
        return SentencePieceTokenizer.train(texts or [], vocab_size, coverage, option)
    return from_dict({"kind": kind})


def prepare_taggers(path: str) -> None:
    """Start the tagger of each side of the translator file ``path`` whose tokenizer is one,
    before numpy, torch and the model load (:func:`nlpcli.text.tagger_start.prepare`: in a child
    process where it can). The file's values are read without torch
    (:func:`nlpcli.artifacts.peek_values`); nothing happens on any doubt."""
    from nlpcli import artifacts
    from nlpcli.text.tagger_start import prepare

    plain = artifacts.peek_values(path) or {}
    for side in ("src_tokenizer", "tgt_tokenizer"):
        data = plain.get(side)
        if isinstance(data, dict) and data.get("kind") in TAGGER_KINDS:
            prepare(data["kind"])


def from_dict(data: dict) -> Tokenizer:
    """The tokenizer a ``to_dict`` describes (as stored in an artifact or checkpoint)."""
    kind = data.get("kind")
    if kind == "spm":
        try:
            proto = base64.b64decode(data["model"])
        except (KeyError, ValueError, TypeError):
            raise CorruptArtifactError("the sentencepiece model in the artifact is damaged") from None
        return SentencePieceTokenizer(proto, int(data.get("vocab_size", 0)))
    if kind == "whitespace":
        return WhitespaceTokenizer()
    if kind == "char":
        return CharTokenizer()
    if kind in TAGGER_KINDS:
        return TaggerTokenizer(kind)
    raise CorruptArtifactError(
        f"unknown tokenizer kind {kind!r} in the artifact (written by a newer nlpcli?)"
    )
