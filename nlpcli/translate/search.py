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

from collections.abc import Sequence
from dataclasses import dataclass, field

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


def _log_probs(model, pre):
    """Log-probabilities of the next token [rows, V], with ``<pad>`` and ``<s>`` ruled out."""
    import torch

    logp = torch.log_softmax(model.logits(pre).float(), dim=-1)
    logp[:, PAD] = float("-inf")
    logp[:, BOS] = float("-inf")
    return logp


def greedy(
    model, src, src_lengths, max_lengths: Sequence[int], *, alpha: float = 1.0, keep_attention: bool = False
) -> list[list[Hypothesis]]:
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
        logp = _log_probs(model, pre)
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
    return _greedy_hypotheses(tokens, aligns, atts, total, src_lengths, alpha)


def _greedy_hypotheses(tokens, aligns, atts, total, src_lengths, alpha: float) -> list[list[Hypothesis]]:
    """Per sentence, its one hypothesis: the tokens up to ``</s>`` and their alignments and attention."""
    import torch

    seq = torch.stack(tokens, 1).cpu().numpy()
    align = torch.stack(aligns, 1).cpu().numpy() if aligns else None
    att = np.stack(atts, 1) if atts else None
    totals = total.cpu().numpy()
    out = []
    for b in range(seq.shape[0]):
        row = seq[b].tolist()
        n = row.index(EOS) if EOS in row else len(row)
        hyp = Hypothesis(
            row[:n],
            _normalize(float(totals[b]), n + 1, alpha),
            align[b, :n].tolist() if align is not None else [],
            att[b, : n + 1, : int(src_lengths[b])] if att is not None else None,
        )
        out.append([hyp])
    return out


def beam_search(
    model,
    src,
    src_lengths,
    max_lengths: Sequence[int],
    *,
    beam: int = 5,
    n_best: int = 1,
    alpha: float = 1.0,
    keep_attention: bool = False,
) -> list[list[Hypothesis]]:
    """Each step expands every live hypothesis by every token, keeps the ``beam`` best
    continuations of each sentence (:meth:`_Beams.prune`; a continuation by ``</s>`` is a finished
    hypothesis) and reorders the decoder's rows to follow them (:meth:`_Beams.advance`)."""
    import torch

    B, K = src.size(0), beam
    device = src.device
    enc, state, feed = model.encode(src, src_lengths)
    index = torch.arange(B, device=device).repeat_interleave(K)
    enc = enc.select(index)
    state, feed = _reorder(model, state, feed, index)
    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0  # one live hypothesis per sentence to start with
    prev = torch.full((B * K,), BOS, dtype=torch.long, device=device)
    beams = _Beams(B, K, max_lengths, src_lengths, alpha)
    for t in range(max(beams.limits)):
        pre, state, feed, weights = model.step(prev, state, feed, enc)
        step = _expand(scores, _log_probs(model, pre), weights, keep_attention)
        rows, tokens, new_scores = beams.prune(t, step, scores)
        if not any(beams.active):
            break
        beams.advance(rows, tokens, step)
        index = torch.as_tensor(rows, device=device)
        state, feed = _reorder(model, state, feed, index)
        scores = torch.as_tensor(new_scores, device=device)
        prev = torch.as_tensor(tokens, device=device)
    return beams.results(n_best)


def _reorder(model, state, feed, index):
    """The decoder state (and feed) of the beam rows ``index``."""
    state = model.select_state(state, index)
    if feed is not None:
        feed = feed.index_select(0, index)
    return state, feed


@dataclass
class _Expansion:
    """One beam step's candidates, on the CPU: per sentence the ``2 * beam`` best (score, row-in-
    sentence * V + token), the log-probability of ``</s>`` for each row, and the attention (the most
    attended source position, and the whole row when kept)."""

    top_scores: np.ndarray  # [B, 2K]
    top_ids: np.ndarray  # [B, 2K]
    vocab: int
    eos_lp: np.ndarray  # [B * K]
    w_align: np.ndarray | None  # [B * K]
    w_full: np.ndarray | None  # [B * K, S]


def _expand(scores, logp, weights, keep_attention: bool) -> _Expansion:
    """Every live hypothesis (``scores`` [B, K]) continued by every token (``logp`` [B * K, V])."""
    B, K = scores.shape
    V = logp.size(1)
    cand = (scores.view(-1, 1) + logp).view(B, K * V)
    top_scores, top_ids = cand.topk(min(2 * K, K * V), dim=1)
    w_align = weights.argmax(1).cpu().numpy() if weights is not None else None
    w_full = weights.detach().cpu().numpy() if (weights is not None and keep_attention) else None
    return _Expansion(
        top_scores.cpu().numpy(), top_ids.cpu().numpy(), V, logp[:, EOS].cpu().numpy(), w_align, w_full
    )


class _Beams:
    """The hypotheses of a beam search over B sentences with K rows each. Per row: the token ids,
    argmax alignments and attention rows of its live hypothesis (python lists, reordered each
    step); per sentence: its finished hypotheses, whether it is still searched, its length limit."""

    def __init__(self, B: int, K: int, max_lengths: Sequence[int], src_lengths, alpha: float):
        self.B, self.K, self.alpha = B, K, alpha
        self.ids: list[list[int]] = [[] for _ in range(B * K)]
        self.align: list[list[int]] = [[] for _ in range(B * K)]
        self.att: list[list[np.ndarray]] = [[] for _ in range(B * K)]
        self.finished: list[list[Hypothesis]] = [[] for _ in range(B)]
        self.active = [True] * B
        self.limits = [int(m) for m in max_lengths]
        self.lengths = [int(x) for x in src_lengths]

    def prune(self, t: int, step: _Expansion, scores):
        """After step ``t``: each active sentence keeps its K best continuations (fewer, filled with
        dead rows, when ``</s>`` took some). -> (the row each new row continues [B * K], its token
        [B * K], its score [B, K]; -inf for a dead row)."""
        B, K = self.B, self.K
        new_rows = np.zeros(B * K, dtype=np.int64)
        new_tokens = np.full(B * K, EOS, dtype=np.int64)
        new_scores = np.full((B, K), -np.inf, dtype=np.float32)
        for b in range(B):
            base = b * K
            if not self.active[b]:
                new_rows[base : base + K] = base
                continue
            if t + 1 >= self.limits[b]:  # out of room: every live hypothesis ends here
                self._end_all(b, step, scores)
                new_rows[base : base + K] = base
                continue
            slot = self._keep_best(b, step, new_rows, new_tokens, new_scores)
            if len(self.finished[b]) >= K or slot == 0:
                self.active[b] = False
            for k in range(slot, K):
                new_rows[base + k] = base
        return new_rows, new_tokens, new_scores

    def _end_all(self, b: int, step: _Expansion, scores):
        """Sentence ``b`` is at its length limit: each live hypothesis finishes with ``</s>``."""
        base = b * self.K
        for k in range(self.K):
            s = float(scores[b, k])
            if np.isfinite(s):
                r = base + k
                self._finish(b, r, s + float(step.eos_lp[r]), step)
        self.active[b] = False

    def _keep_best(self, b: int, step: _Expansion, new_rows, new_tokens, new_scores) -> int:
        """Sentence ``b``'s best continuations, best first: one by ``</s>`` within the K best is a
        finished hypothesis, the others fill the K slots. -> the number of slots filled."""
        base, K = b * self.K, self.K
        slot = 0
        for rank in range(step.top_ids.shape[1]):
            s = float(step.top_scores[b, rank])
            if not np.isfinite(s):
                break
            k, token = divmod(int(step.top_ids[b, rank]), step.vocab)
            r = base + k
            if token == EOS:
                if rank < K:
                    self._finish(b, r, s, step)
                continue
            new_rows[base + slot] = r
            new_tokens[base + slot] = token
            new_scores[b, slot] = s
            slot += 1
            if slot == K:
                break
        return slot

    def _finish(self, b: int, row: int, logp: float, step: _Expansion):
        """The hypothesis of ``row``, ended by ``</s>`` with total log-probability ``logp``."""
        attention = None
        if step.w_full is not None:
            attention = np.stack(self.att[row] + [step.w_full[row, : self.lengths[b]]])
        ids = self.ids[row]
        self.finished[b].append(
            Hypothesis(
                list(ids), _normalize(logp, len(ids) + 1, self.alpha), list(self.align[row]), attention
            )
        )

    def advance(self, rows, tokens, step: _Expansion):
        """Row i now continues row ``rows[i]`` with ``tokens[i]``."""
        rows = rows.tolist()
        self.ids = [self.ids[r] + [int(tokens[i])] for i, r in enumerate(rows)]
        if step.w_align is not None:
            self.align = [self.align[r] + [int(step.w_align[r])] for r in rows]
            if step.w_full is not None:
                self.att = [
                    self.att[r] + [step.w_full[r, : self.lengths[i // self.K]]] for i, r in enumerate(rows)
                ]

    def results(self, n_best: int) -> list[list[Hypothesis]]:
        out = []
        for hyps in self.finished:
            if not hyps:  # cannot happen with a finite limit, but never return nothing
                hyps = [Hypothesis([], float("-inf"))]
            hyps.sort(key=lambda h: -h.score)
            out.append(hyps[:n_best])
        return out
