"""Sentence pairs in, padded tensors out: reading PAIRS files, vocabularies, length-bucketed batches
(:func:`nlpcli.training.length_batches`, shared with the RNN classifier: shuffled pools of 50 batches sorted by length).

A PAIRS file is either

* headerless, two tab-separated columns (``ko<TAB>en``, one sentence pair a line): the
  direction comes from ``--source-lang``/``--target-lang``; which column holds which language is
  read from the text itself (the column with Hangul is ``ko``), so ``--source-lang en --target-lang
  ko`` on the same file trains the other direction; or
* a TSV/CSV with a header, or JSONL, with ``--src-column``/``--tgt-column`` naming the columns
  (fields); without them, columns named after the languages (``ko``, ``en``) are used.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nlpcli.errors import DataError, UsageError
from nlpcli.textio import InputSpec, detect_format, display_name, iter_lines, read_records

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ["<pad>", "<unk>", "<s>", "</s>"]
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")


@dataclass
class PairSpec:
    source_lang: str = "ko"
    target_lang: str = "en"
    src_column: str | None = None
    tgt_column: str | None = None
    format: str | None = None
    encoding_errors: str = "strict"

    def __post_init__(self):
        if (self.src_column is None) != (self.tgt_column is None):
            raise UsageError("give both --src-column and --tgt-column, or neither")
        if self.source_lang == self.target_lang:
            raise UsageError(f"--source-lang and --target-lang are both {self.source_lang!r}")

    def to_dict(self) -> dict:
        return {
            "source_lang": self.source_lang,
            "target_lang": self.target_lang,
            "src_column": self.src_column,
            "tgt_column": self.tgt_column,
        }


@dataclass
class Pairs:
    sources: list[str]
    targets: list[str]
    lines: list[int]  # line number of each pair in its file
    name: str
    empty: int = 0  # pairs skipped because a side was empty

    def __len__(self) -> int:
        return len(self.sources)


def _hangul_share(texts: Sequence[str]) -> float:
    chars = sum(len(t) for t in texts)
    return sum(len(_HANGUL.findall(t)) for t in texts) / max(chars, 1)


def _read_headerless(path: str, spec: PairSpec) -> tuple[list[str], list[str], list[int], str]:
    name = display_name(path)
    first, second, lines = [], [], []
    for number, line in iter_lines(path, spec.encoding_errors):
        if not line.strip():
            first.append("")
            second.append("")
            lines.append(number)
            continue
        cells = line.split("\t")
        if len(cells) != 2:
            found = "one column" if len(cells) == 1 else f"{len(cells)} columns"
            raise DataError(
                f"expected two tab-separated columns (source<TAB>target, e.g. ko<TAB>en) but found "
                f"{found}; a file with a header takes --src-column/--tgt-column",
                source=name,
                line=number,
            )
        first.append(cells[0])
        second.append(cells[1])
        lines.append(number)
    if not lines:
        raise DataError("empty file: no sentence pairs", source=name)
    # which column is Korean? (only matters when one of the languages is ko)
    swap = False
    if "ko" in (spec.source_lang, spec.target_lang):
        sample = slice(0, 2000)
        ko_first = _hangul_share(first[sample]) >= _hangul_share(second[sample])
        ko_is_source = spec.source_lang == "ko"
        swap = ko_first != ko_is_source
    return (second, first, lines, name) if swap else (first, second, lines, name)


def _read_columns(path: str, spec: PairSpec, fmt: str) -> tuple[list[str], list[str], list[int], str]:
    src_col = spec.src_column or spec.source_lang
    tgt_col = spec.tgt_column or spec.target_lang
    name = display_name(path)
    sources, targets, lines = [], [], []
    rec_spec = InputSpec(
        format=fmt, text_column=src_col, text_field=src_col, encoding_errors=spec.encoding_errors
    )
    for record in read_records([path], rec_spec):
        fields = record.fields or {}
        if tgt_col not in fields:
            if fmt == "jsonl" and not record.text and len(fields) <= 1:
                value = ""  # an empty line
            else:
                raise DataError(
                    f"no target column {tgt_col!r} (columns: {', '.join(fields)}); name it with --tgt-column",
                    source=name,
                    line=record.line,
                )
        else:
            value = fields[tgt_col]
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise DataError(
                f"field {tgt_col!r} is a {type(value).__name__}, expected a string",
                source=name,
                line=record.line,
            )
        sources.append(record.text)
        targets.append(value)
        lines.append(record.line)
    if not lines:
        raise DataError("no sentence pairs in the file", source=name)
    return sources, targets, lines, name


def read_pairs(path: str, spec: PairSpec) -> Pairs:
    """All pairs of ``path`` in the direction of ``spec``; pairs with an empty side are dropped
    (counted in ``Pairs.empty``)."""
    fmt = detect_format(path, spec.format)
    if fmt in ("jsonl", "csv") or spec.src_column is not None:
        src, tgt, lines, name = _read_columns(path, spec, fmt if fmt != "text" else "tsv")
    else:
        src, tgt, lines, name = _read_headerless(path, spec)
    keep = [i for i in range(len(src)) if src[i].strip() and tgt[i].strip()]
    return Pairs(
        [src[i] for i in keep],
        [tgt[i] for i in keep],
        [lines[i] for i in keep],
        name,
        empty=len(src) - len(keep),
    )


# --------------------------------------------------------------------------------------------
# vocabularies


class Vocabulary:
    """Token strings <-> ids; 0 padding, 1 unknown, 2 start, 3 end of sentence."""

    def __init__(self, tokens: Sequence[str]):
        self.tokens = list(tokens)
        if self.tokens[: len(SPECIALS)] != SPECIALS:
            raise ValueError("a vocabulary starts with the special tokens")
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(
        cls, sentences: Sequence[Sequence[str]], min_count: int = 1, max_size: int | None = None
    ) -> Vocabulary:
        counts = Counter(t for s in sentences for t in s)
        kept = [
            t
            for t, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            if c >= min_count and t not in SPECIALS
        ]
        if max_size is not None:
            kept = kept[: max(0, max_size - len(SPECIALS))]
        return cls(SPECIALS + kept)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        get = self.index.get
        return [get(t, UNK) for t in tokens]

    def decode(self, ids: Sequence[int]) -> list[str]:
        return [self.tokens[i] for i in ids]


# --------------------------------------------------------------------------------------------
# batches


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Deterministic batches of indices sorted by length (for evaluation and translation)."""
    from nlpcli.training import length_batches  # imports torch: not at the top of this module

    return [b.tolist() for b in length_batches(np.asarray(lengths, dtype=np.int64), batch_size)]


def pad(seqs: Sequence[Sequence[int]], bos: bool = False, eos: bool = False):
    """(ids LongTensor [batch, max_len], lengths LongTensor [batch]); padding is 0."""
    import torch

    extra = int(bos) + int(eos)
    lengths = [len(s) + extra for s in seqs]
    out = torch.zeros(len(seqs), max(lengths), dtype=torch.long)
    for row, s in enumerate(seqs):
        ids = ([BOS] if bos else []) + list(s) + ([EOS] if eos else [])
        out[row, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
    return out, torch.as_tensor(lengths, dtype=torch.long)
