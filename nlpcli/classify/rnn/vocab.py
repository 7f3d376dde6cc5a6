"""The RNN's vocabulary (torch-free): token ids (0 padding, 1 unknown) built on the training data,
and optionally the character n-grams of each token."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

PAD, UNK = 0, 1
SPECIALS = ["<pad>", "<unk>"]


class Vocabulary:
    """Token ids (0 padding, 1 unknown) and, optionally, character n-gram ids (0 none): the
    n-grams of every token, known or not, so rare and misspelt tokens still carry evidence."""

    SUBWORDS_PER_TOKEN = 24

    def __init__(self, tokens: Sequence[str], subwords: Sequence[str] = (), subword_n: int = 0):
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.subwords = list(subwords)
        self.subword_n = subword_n
        self.subword_index = {g: i + 1 for i, g in enumerate(self.subwords)}
        self._subword_cache: dict[str, list[int]] = {}

    def with_subwords(self, texts: Sequence[str], n: int, min_count: int = 2) -> Vocabulary:
        """Add the character 1..n-grams shared by at least ``min_count`` distinct tokens of ``texts``."""
        counts: Counter = Counter()
        for token in {tok for text in texts for tok in text.split()}:
            counts.update(_char_ngrams(token, n))
        kept = sorted(g for g, c in counts.items() if c >= min_count)
        return Vocabulary(self.tokens, kept, n)

    def token_subwords(self, token: str) -> list[int]:
        ids = self._subword_cache.get(token)
        if ids is None:
            get = self.subword_index.get
            ids = [i for i in (get(g) for g in _char_ngrams(token, self.subword_n)) if i][
                : self.SUBWORDS_PER_TOKEN
            ]
            if len(self._subword_cache) < 500_000:
                self._subword_cache[token] = ids
        return ids

    def encode_subwords(self, text: str, max_length: int) -> list[list[int]]:
        return [self.token_subwords(t) for t in text.split()[:max_length]] or [[]]

    @classmethod
    def build(cls, texts: Sequence[str], min_count: int = 1, max_size: int | None = None) -> Vocabulary:
        counts = Counter(tok for text in texts for tok in text.split())
        kept = [t for t, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count]
        if max_size is not None:
            kept = kept[: max(0, max_size - len(SPECIALS))]
        return cls(SPECIALS + kept)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str, max_length: int) -> list[int]:
        get = self.index.get
        ids = [get(t, UNK) for t in text.split()[:max_length]]
        return ids or [UNK]  # an empty document: one unknown token (packing needs length >= 1)


def _char_ngrams(token: str, n: int) -> list[str]:
    marked = f"<{token}>"
    out = []
    for size in range(1, n + 1):
        out.extend(
            marked[i : i + size] for i in range(len(marked) - size + 1) if marked[i : i + size] not in "<>"
        )
    return list(dict.fromkeys(out))
