"""Decoding: batched greedy search and batched beam search with length normalization.

Both return, per source sentence, a list of :class:`Hypothesis` (best first): the target ids
(without ``</s>``), the score (the sum of token log-probabilities, ``</s>`` included, divided by
``length ** alpha``; alpha 0 is the raw sum, 1 the mean per token), the index of the most attended
source position for each output token (used to replace ``<unk>`` by the source word it
translates), and the full attention matrix when asked for (for plots).

``<pad>`` and ``<s>`` are never produced. Each sentence stops at ``</s>`` or at its length limit
(``max_lengths``); a beam sentence is finished when it holds ``beam`` finished hypotheses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from nlpcli.translate.data import BOS, EOS, PAD


@dataclass
class Hypothesis:
    ids: list[int]
    score: float
    align: list[int] = field(default_factory=list)
    attention: np.ndarray | None = None  # [len(ids) + 1, source length] (the last row: </s>)


def _normalize(logp: float, length: int, alpha: float) -> float:
    return logp / (max(length, 1) ** alpha)


def greedy(model, src, src_lengths, max_lengths: Sequence[int], *, alpha: float = 1.0,
           keep_attention: bool = False) -> list[list[Hypothesis]]:
    import torch

    B = src.size(0)
    enc, state, feed = model.encode(src, src_lengths)
    prev = torch.full((B,), BOS, dtype=torch.long, device=src.device)
    limit = torch.as_tensor(list(max_lengths), device=src.device)
    done = torch.zeros(B, dtype=torch.bool, device=src.device)
    total = torch.zeros(B, device=src.device)
    tokens, aligns, atts = [], [], []
    for t in range(int(limit.max())):
        pre, state, feed, weights = model.step(prev, state, feed, enc)
        logp = torch.log_softmax(model.logits(pre).float(), dim=-1)
        logp[:, PAD] = float("-inf")
        logp[:, BOS] = float("-inf")
        force_end = (t + 1 >= limit) & ~done
        best_lp, best = logp.max(1)
        best = torch.where(force_end, torch.full_like(best, EOS), best)
        best_lp = torch.where(force_end, logp[:, EOS], best_lp)
        total += torch.where(done, torch.zeros_like(best_lp), best_lp)
        tokens.append(torch.where(done, torch.full_like(best, PAD), best))
        if weights is not None:
            aligns.append(weights.argmax(1))
            if keep_attention:
                atts.append(weights.detach().cpu().numpy())
        done = done | best.eq(EOS)
        prev = best
        if bool(done.all()):
            break
    seq = torch.stack(tokens, 1).cpu().numpy()
    align = torch.stack(aligns, 1).cpu().numpy() if aligns else None
    att = np.stack(atts, 1) if atts else None
    totals = total.cpu().numpy()
    out = []
    for b in range(B):
        row = seq[b].tolist()
        n = row.index(EOS) if EOS in row else len(row)
        hyp = Hypothesis(row[:n], _normalize(float(totals[b]), n + 1, alpha),
                         align[b, :n].tolist() if align is not None else [],
                         att[b, :n + 1, :int(src_lengths[b])] if att is not None else None)
        out.append([hyp])
    return out


def beam_search(model, src, src_lengths, max_lengths: Sequence[int], *, beam: int = 5, n_best: int = 1,
                alpha: float = 1.0, keep_attention: bool = False) -> list[list[Hypothesis]]:
    import torch

    B, K = src.size(0), beam
    device = src.device
    enc, state, feed = model.encode(src, src_lengths)
    index = torch.arange(B, device=device).repeat_interleave(K)
    enc = enc.select(index)
    state = model.select_state(state, index)
    if feed is not None:
        feed = feed.index_select(0, index)
    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0
    prev = torch.full((B * K,), BOS, dtype=torch.long, device=device)
    # per beam row: token ids, argmax alignments, attention rows (python lists, reordered each step)
    hyp_ids: list[list[int]] = [[] for _ in range(B * K)]
    hyp_align: list[list[int]] = [[] for _ in range(B * K)]
    hyp_att: list[list[np.ndarray]] = [[] for _ in range(B * K)]
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    active = [True] * B
    limits = [int(m) for m in max_lengths]
    lengths = [int(x) for x in src_lengths]
    for t in range(max(limits)):
        pre, state, feed, weights = model.step(prev, state, feed, enc)
        logp = torch.log_softmax(model.logits(pre).float(), dim=-1)
        logp[:, PAD] = float("-inf")
        logp[:, BOS] = float("-inf")
        V = logp.size(1)
        cand = (scores.view(-1, 1) + logp).view(B, K * V)
        top_scores, top_ids = cand.topk(min(2 * K, K * V), dim=1)
        top_scores, top_ids = top_scores.cpu().numpy(), top_ids.cpu().numpy()
        w_align = weights.argmax(1).cpu().numpy() if weights is not None else None
        w_full = weights.detach().cpu().numpy() if (weights is not None and keep_attention) else None
        eos_lp = logp[:, EOS].cpu().numpy()
        new_rows = np.zeros(B * K, dtype=np.int64)
        new_tokens = np.full(B * K, EOS, dtype=np.int64)
        new_scores = np.full((B, K), -np.inf, dtype=np.float32)
        for b in range(B):
            base = b * K
            if not active[b]:
                new_rows[base:base + K] = base
                continue
            if t + 1 >= limits[b]:  # out of room: every live hypothesis ends here
                for k in range(K):
                    s = float(scores[b, k])
                    if np.isfinite(s):
                        r = base + k
                        finished[b].append(_finish(hyp_ids[r], hyp_align[r], hyp_att[r], s + float(eos_lp[r]),
                                                   w_align, w_full, r, lengths[b], alpha))
                active[b] = False
                new_rows[base:base + K] = base
                continue
            slot = 0
            for rank in range(top_ids.shape[1]):
                s = float(top_scores[b, rank])
                if not np.isfinite(s):
                    break
                k, token = divmod(int(top_ids[b, rank]), V)
                r = base + k
                if token == EOS:
                    if rank < K:
                        finished[b].append(_finish(hyp_ids[r], hyp_align[r], hyp_att[r], s, w_align, w_full, r,
                                                   lengths[b], alpha))
                    continue
                new_rows[base + slot] = r
                new_tokens[base + slot] = token
                new_scores[b, slot] = s
                slot += 1
                if slot == K:
                    break
            if len(finished[b]) >= K or slot == 0:
                active[b] = False
            for k in range(slot, K):
                new_rows[base + k] = base
        if not any(active):
            break
        rows = new_rows.tolist()
        hyp_ids = [hyp_ids[r] + [int(new_tokens[i])] for i, r in enumerate(rows)]
        if w_align is not None:
            hyp_align = [hyp_align[r] + [int(w_align[r])] for r in rows]
            if w_full is not None:
                hyp_att = [hyp_att[r] + [w_full[r, :lengths[i // K]]] for i, r in enumerate(rows)]
        index = torch.as_tensor(new_rows, device=device)
        state = model.select_state(state, index)
        if feed is not None:
            feed = feed.index_select(0, index)
        scores = torch.as_tensor(new_scores, device=device)
        prev = torch.as_tensor(new_tokens, device=device)
    out = []
    for b in range(B):
        hyps = finished[b]
        if not hyps:  # cannot happen with a finite limit, but never return nothing
            hyps = [Hypothesis([], float("-inf"))]
        hyps.sort(key=lambda h: -h.score)
        out.append(hyps[:n_best])
    return out


def _finish(ids, align, att, logp, w_align, w_full, row, src_len, alpha) -> Hypothesis:
    attention = None
    if w_full is not None:
        attention = np.stack(att + [w_full[row, :src_len]])
    return Hypothesis(list(ids), _normalize(logp, len(ids) + 1, alpha), list(align), attention)
