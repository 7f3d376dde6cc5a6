"""Documents as the RNN reads them: token ids (and n-gram ids) of the vocabulary, cut to
``max_length`` tokens, and padded batches of them as tensors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from nlpcli.classify.rnn.vocab import Vocabulary


def make_batch(
    encoded: Sequence[list[int]], index: Sequence[int], subwords: Sequence[list[list[int]]] | None = None
):
    """Padded ids (B × T), lengths and, with ``subwords``, padded n-gram ids (B × T × K) for ``index``."""
    lengths = [len(encoded[i]) for i in index]
    ids = torch.zeros(len(index), max(lengths), dtype=torch.long)
    for row, i in enumerate(index):
        ids[row, : lengths[row]] = torch.as_tensor(encoded[i], dtype=torch.long)
    sub = None
    if subwords is not None:
        width = max(1, max(len(g) for i in index for g in subwords[i]))
        flat = np.zeros((len(index), ids.shape[1], width), dtype=np.int64)
        for row, i in enumerate(index):
            for t, grams in enumerate(subwords[i]):
                flat[row, t, : len(grams)] = grams
        sub = torch.from_numpy(flat)
    return ids, torch.as_tensor(lengths, dtype=torch.long), sub


class Encoded:
    """Documents as token ids (and n-gram ids when the vocabulary has subwords)."""

    def __init__(self, vocab: Vocabulary, texts: Sequence[str], max_length: int):
        self.ids = [vocab.encode(t, max_length) for t in texts]
        self.subwords = [vocab.encode_subwords(t, max_length) for t in texts] if vocab.subword_n else None
        self.lengths = np.fromiter((len(e) for e in self.ids), dtype=np.int64, count=len(self.ids))

    def __len__(self) -> int:
        return len(self.ids)

    def batch(self, index, device):
        ids, lengths, sub = make_batch(self.ids, index, self.subwords)
        return ids.to(device), lengths, None if sub is None else sub.to(device)
