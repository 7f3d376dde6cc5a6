"""Translating a few sentences with numpy alone: the model's arithmetic and its two searches.

``translate run`` on a handful of sentences spends most of its time importing torch (1.4-2.3 s on
two cores), not translating (about 0.02 s a sentence). :class:`PlainSeq2Seq` computes what
:class:`nlpcli.translate.model.Seq2Seq` computes in evaluation mode (no dropout), one sentence at a
time, from the arrays of the translator file read without torch
(:func:`nlpcli.artifacts.load_arrays`): the same layers, gate order and formulas as ``nn.GRU``,
``nn.LSTM`` and the attention of ``model.py``, in float32. :func:`greedy` and :func:`beam_search`
are the searches of :mod:`nlpcli.translate.search` for one sentence (no padding), sharing its
beam bookkeeping (:class:`~nlpcli.translate.search._Beams`), so the hypotheses, scores and
alignments are those of the torch searches up to float rounding (tested on every configuration).

One sentence at a time and no BLAS batching: this is for small inputs; batches of many sentences
are faster through torch once it is imported.
"""

from __future__ import annotations

import numpy as np

from nlpcli.translate.config import stored_config
from nlpcli.translate.data import BOS, EOS, PAD
from nlpcli.translate.search import Hypothesis, _Beams, _Expansion, _normalize


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def expected_shapes(config: dict, n_src: int, n_tgt: int) -> dict[str, tuple[int, ...]]:
    """Every weight of a ``Seq2Seq`` with this configuration and its shape (its state dict)."""
    cfg = stored_config(config)
    E, H, L = cfg.embedding_dim, cfg.hidden, cfg.layers
    G = (3 if cfg.cell == "gru" else 4) * H
    dirs = ("", "_reverse") if cfg.bidirectional else ("",)
    enc = H * len(dirs)
    shapes = {"src_embedding.weight": (n_src, E), "tgt_embedding.weight": (n_tgt, E)}
    for layer in range(L):
        for d in dirs:
            shapes.update(_rnn_shapes("encoder", layer, d, E if layer == 0 else enc, G, H))
    shapes.update({"bridge.weight": (H * L, enc), "bridge.bias": (H * L,)})
    if cfg.cell == "lstm":
        shapes.update({"bridge_c.weight": (H * L, enc), "bridge_c.bias": (H * L,)})
    att = cfg.attention
    dec_in = E if not cfg.feeds else E + (enc if att in ("bahdanau", "none") else H)
    for layer in range(L):
        shapes.update(_rnn_shapes("decoder", layer, "", dec_in if layer == 0 else H, G, H))
    if att == "bahdanau":
        shapes.update(
            {
                "att_query.weight": (H, H),
                "att_key.weight": (H, enc),
                "att_key.bias": (H,),
                "att_v.weight": (1, H),
            }
        )
    elif att == "luong":
        shapes["att_key.weight"] = (H, enc)
    if att in ("luong", "dot"):
        shapes["combine.weight"] = (H, H + enc)
    features = H + enc + E if att in ("bahdanau", "none") else H
    shapes.update({"pre_output.weight": (E, features), "pre_output.bias": (E,)})
    shapes.update({"output.weight": (n_tgt, E), "output.bias": (n_tgt,)})
    return shapes


def _rnn_shapes(name: str, layer: int, direction: str, inputs: int, gates: int, hidden: int) -> dict:
    s = f"l{layer}{direction}"
    return {
        f"{name}.weight_ih_{s}": (gates, inputs),
        f"{name}.weight_hh_{s}": (gates, hidden),
        f"{name}.bias_ih_{s}": (gates,),
        f"{name}.bias_hh_{s}": (gates,),
    }


class Encoded:
    """One sentence, encoded: outputs [S, enc], attention keys [S, H] (or None), summary [1, enc]."""

    __slots__ = ("outputs", "keys", "summary")

    def __init__(self, outputs, keys, summary):
        self.outputs, self.keys, self.summary = outputs, keys, summary


class PlainSeq2Seq:
    """A translator's encoder-decoder in evaluation mode, in numpy (see the module docstring)."""

    def __init__(self, config: dict, weights: dict, n_src: int, n_tgt: int):
        self.config, self.cfg = dict(config), stored_config(config)
        shapes = expected_shapes(config, n_src, n_tgt)
        for name, shape in shapes.items():
            if name not in weights:
                raise KeyError(f"missing weight {name}")
            if tuple(weights[name].shape) != shape:
                raise ValueError(f"{name} has shape {tuple(weights[name].shape)}, expected {shape}")
        extra = set(weights) - set(shapes)
        if extra:
            raise KeyError(f"unexpected weight {sorted(extra)[0]}")
        self.w = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}

    # -- layers ------------------------------------------------------------------------

    def _linear(self, x, name: str):
        y = x @ self.w[name + ".weight"].T
        bias = self.w.get(name + ".bias")
        return y if bias is None else y + bias

    def _cell(self, gates_x, h, c, suffix: str, rnn: str):
        """One step of one RNN layer (``nn.GRU``/``nn.LSTM`` arithmetic) -> (h, c)."""
        gates_h = h @ self.w[f"{rnn}.weight_hh_{suffix}"].T + self.w[f"{rnn}.bias_hh_{suffix}"]
        if self.cfg.cell == "gru":
            i_r, i_z, i_n = np.split(gates_x, 3, axis=-1)
            h_r, h_z, h_n = np.split(gates_h, 3, axis=-1)
            r, z = _sigmoid(i_r + h_r), _sigmoid(i_z + h_z)
            n = np.tanh(i_n + r * h_n)
            return n + z * (h - n), None
        i, f, g, o = np.split(gates_x + gates_h, 4, axis=-1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        return _sigmoid(o) * np.tanh(c), c

    def _input_gates(self, x, suffix: str, rnn: str):
        return x @ self.w[f"{rnn}.weight_ih_{suffix}"].T + self.w[f"{rnn}.bias_ih_{suffix}"]

    # -- encoder -------------------------------------------------------------------------

    def encode(self, ids):
        """Token ids of one sentence -> (Encoded, decoder start state (h, c) each [L, 1, H], feed)."""
        cfg = self.cfg
        H = cfg.hidden
        x = self.w["src_embedding.weight"][np.asarray(ids, dtype=np.int64)]  # [S, E]
        S = x.shape[0]
        finals = []
        for layer in range(cfg.layers):
            outs, finals = [], []
            for d in ("", "_reverse") if cfg.bidirectional else ("",):
                suffix = f"l{layer}{d}"
                gx = self._input_gates(x, suffix, "encoder")
                h = np.zeros((1, H), np.float32)
                c = np.zeros((1, H), np.float32) if cfg.cell == "lstm" else None
                out = np.empty((S, H), np.float32)
                for t in range(S - 1, -1, -1) if d else range(S):
                    h, c = self._cell(gx[t : t + 1], h, c, suffix, "encoder")
                    out[t] = h[0]
                outs.append(out)
                finals.append(h)
            x = np.concatenate(outs, axis=1)
        summary = np.concatenate(finals, axis=1)  # [1, enc]: the top layer's final states
        keys = None
        if cfg.attention in ("bahdanau", "luong"):
            keys = self._linear(x, "att_key")
        elif cfg.attention == "dot":
            keys = x
        feed = None
        if cfg.attention in ("luong", "dot") and cfg.feeds:
            feed = np.zeros((1, H), np.float32)
        return Encoded(x, keys, summary), self._start_state(summary), feed

    def _start_state(self, summary):
        L, H = self.cfg.layers, self.cfg.hidden
        h0 = np.tanh(self._linear(summary, "bridge")).reshape(L, 1, H)
        c0 = np.tanh(self._linear(summary, "bridge_c")).reshape(L, 1, H) if self.cfg.cell == "lstm" else None
        return h0, c0

    # -- decoder -------------------------------------------------------------------------

    def _decoder(self, x, state):
        """The stacked decoder RNN, one step for rows ``x`` [R, in] -> (top output [R, H], state)."""
        h, c = state
        hs, cs = [], []
        for layer in range(self.cfg.layers):
            suffix = f"l{layer}"
            x, cl = self._cell(
                self._input_gates(x, suffix, "decoder"),
                h[layer],
                None if c is None else c[layer],
                suffix,
                "decoder",
            )
            hs.append(x)
            cs.append(cl)
        return x, (np.stack(hs), None if c is None else np.stack(cs))

    def _attend(self, query, enc: Encoded):
        """Queries [R, H] -> (contexts [R, enc], weights [R, S])."""
        if self.cfg.attention == "bahdanau":
            q = query @ self.w["att_query.weight"].T
            scores = np.tanh(q[:, None, :] + enc.keys[None]) @ self.w["att_v.weight"][0]
        else:
            scores = query @ enc.keys.T
        weights = _softmax(scores)
        return weights @ enc.outputs, weights

    def step(self, prev, state, feed, enc: Encoded):
        """One decoder step for the previous tokens ``prev`` [R] -> (pre-output [R, E], state,
        feed, attention weights [R, S] or None): :meth:`Seq2Seq.step` in evaluation mode."""
        cfg = self.cfg
        emb = self.w["tgt_embedding.weight"][prev]
        weights = None
        if not cfg.feeds:
            h, state = self._decoder(emb, state)
            context, weights = self._attend(h, enc)
            if cfg.attention == "bahdanau":
                features = np.concatenate([h, context, emb], 1)
            else:
                features = np.tanh(np.concatenate([h, context], 1) @ self.w["combine.weight"].T)
        elif cfg.attention in ("bahdanau", "none"):
            if cfg.attention == "bahdanau":
                context, weights = self._attend(state[0][-1], enc)
            else:
                context = np.repeat(enc.summary, len(prev), axis=0)
            h, state = self._decoder(np.concatenate([emb, context], 1), state)
            features = np.concatenate([h, context, emb], 1)
        else:
            h, state = self._decoder(np.concatenate([emb, feed], 1), state)
            context, weights = self._attend(h, enc)
            features = feed = np.tanh(np.concatenate([h, context], 1) @ self.w["combine.weight"].T)
        return np.tanh(self._linear(features, "pre_output")), state, feed, weights

    def log_probs(self, pre):
        """Log-probabilities of the next token [R, V], ``<pad>`` and ``<s>`` ruled out."""
        logits = self._linear(pre, "output")
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        logp[:, PAD] = -np.inf
        logp[:, BOS] = -np.inf
        return logp

    @staticmethod
    def reorder(state, feed, rows):
        h, c = state
        return (h[:, rows], None if c is None else c[:, rows]), None if feed is None else feed[rows]


# -- searches ------------------------------------------------------------------------------


def greedy(
    model: PlainSeq2Seq, ids, limit: int, *, alpha: float = 1.0, keep_attention: bool = False
) -> list[Hypothesis]:
    """:func:`nlpcli.translate.search.greedy` for one sentence -> its one hypothesis."""
    enc, state, feed = model.encode(ids)
    prev = np.array([BOS])
    total = np.float32(0.0)
    tokens, aligns, atts = [], [], []
    for t in range(limit):
        pre, state, feed, weights = model.step(prev, state, feed, enc)
        logp = model.log_probs(pre)[0]
        best = EOS if t + 1 >= limit else int(logp.argmax())
        total += logp[best]
        tokens.append(best)
        if weights is not None:
            aligns.append(int(weights[0].argmax()))
            if keep_attention:
                atts.append(weights[0])
        if best == EOS:
            break
        prev = np.array([best])
    n = len(tokens) - (tokens[-1] == EOS)
    attention = np.stack(atts)[: n + 1] if atts else None
    return [Hypothesis(tokens[:n], _normalize(float(total), n + 1, alpha), aligns[:n], attention)]


def beam_search(
    model: PlainSeq2Seq,
    ids,
    limit: int,
    *,
    beam: int = 5,
    n_best: int = 1,
    alpha: float = 1.0,
    keep_attention: bool = False,
) -> list[Hypothesis]:
    """:func:`nlpcli.translate.search.beam_search` for one sentence -> its ``n_best`` hypotheses."""
    K = beam
    enc, state, feed = model.encode(ids)
    state, feed = model.reorder(state, feed, np.zeros(K, dtype=np.int64))
    scores = np.full((1, K), -np.inf, dtype=np.float32)
    scores[0, 0] = 0.0
    prev = np.full(K, BOS, dtype=np.int64)
    beams = _Beams(1, K, [limit], [len(ids)], alpha)
    for t in range(limit):
        pre, state, feed, weights = model.step(prev, state, feed, enc)
        step = _expand(scores, model.log_probs(pre), weights, keep_attention)
        rows, tokens, new_scores = beams.prune(t, step, scores)
        if not any(beams.active):
            break
        beams.advance(rows, tokens, step)
        state, feed = model.reorder(state, feed, rows)
        scores, prev = new_scores, tokens
    return beams.results(n_best)[0]


def _expand(scores, logp, weights, keep_attention: bool) -> _Expansion:
    """Every live hypothesis continued by every token; the ``2 * beam`` best, best first (ties:
    the lower index first)."""
    K, V = logp.shape
    cand = (scores.reshape(-1, 1) + logp).reshape(-1)
    k = min(2 * K, K * V)
    top = np.argpartition(-cand, k - 1)[:k]
    top = top[np.lexsort((top, -cand[top]))]
    return _Expansion(
        cand[top][None],
        top[None],
        V,
        logp[:, EOS],
        weights.argmax(1) if weights is not None else None,
        weights if (weights is not None and keep_attention) else None,
    )
