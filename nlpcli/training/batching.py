"""Batches of similar length, drawn in a seeded order that a resumed run draws again."""

from __future__ import annotations

import numpy as np
import torch


def epoch_generator(seed: int, epoch: int):
    """The generator an epoch's batch order is drawn from: the same on resume."""
    return torch.Generator().manual_seed(seed * 100_003 + epoch)


def length_batches(lengths, batch_size: int, generator=None, pool: int = 50) -> list:
    """Batches of document indices of similar length: shuffle, sort within pools of ``pool``
    batches, cut, shuffle the batches (no generator: in order, sorted, for inference)."""
    n = len(lengths)
    if generator is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    perm = torch.randperm(n, generator=generator).numpy()
    batches = []
    span = batch_size * pool
    for start in range(0, n, span):
        chunk = perm[start : start + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    shuffle = torch.randperm(len(batches), generator=generator).numpy()
    return [batches[i] for i in shuffle]
