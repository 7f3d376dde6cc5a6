"""The encoder-decoder: embeddings, a (bi)GRU/LSTM encoder, and a decoder with attention.

Encoder: embedding, dropout, a stacked (optionally bidirectional) GRU or LSTM over the packed
source. Its final states (top layer, both directions) pass through a ``tanh`` bridge to start
every decoder layer.

Decoder, one step at a time (the same :meth:`Seq2Seq.step` in training and in search):

* ``bahdanau`` (additive, Bahdanau et al. 2015): the previous top hidden state scores every
  source position ``v·tanh(W_q h + W_k e_i)``; the context vector enters the RNN with the embedded
  previous word, and the output layer sees ``[h; context; embedding]``.
* ``luong`` (general, Luong et al. 2015): the RNN runs first; ``h·W e_i`` scores the positions;
  ``tanh(W_c [h; context])`` is the attentional state, fed to the output layer and (input feeding)
  to the next step. ``dot`` is the same with the plain dot product ``h·e_i`` (needs the encoder
  output size to equal the decoder size: a unidirectional encoder).
* ``none``: the plain fixed-vector seq2seq (Cho et al. 2014): the encoder's final state is the
  "context" at every step (the baseline attention is measured against).

Output: a ``tanh`` layer to the embedding size, dropout, then the vocabulary projection, whose
weights are the target embedding matrix when ``tie_embeddings`` (fewer parameters, better on small
data). Padding positions are masked out of every attention softmax.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nlpcli.translate.config import ModelConfig, stored_config

ATTENTION_CHUNK = 2**23  # elements of the additive attention's hidden tensor computed at once


def build(config: dict, n_src: int, n_tgt: int) -> Seq2Seq:
    """A newly initialised model for a ``ModelConfig.to_dict`` (read as :func:`stored_config` does)."""
    return Seq2Seq(stored_config(config), n_src, n_tgt)


class Encoded:
    """What the decoder needs from the encoder, row-aligned with the batch (reorderable for beams)."""

    __slots__ = ("outputs", "mask", "keys", "summary")

    def __init__(self, outputs, mask, keys, summary):
        self.outputs, self.mask, self.keys, self.summary = outputs, mask, keys, summary

    def select(self, index):
        return Encoded(
            self.outputs.index_select(0, index),
            self.mask.index_select(0, index),
            None if self.keys is None else self.keys.index_select(0, index),
            self.summary.index_select(0, index),
        )


class Seq2Seq(nn.Module):
    def __init__(self, cfg: ModelConfig, n_src: int, n_tgt: int):
        super().__init__()
        self.cfg = cfg
        E = cfg.embedding_dim
        self.enc_size = cfg.hidden * (2 if cfg.bidirectional else 1)
        # the layers are created (and randomly initialised) in this order: a seed gives the same model
        self.src_embedding = nn.Embedding(n_src, E, padding_idx=0)
        self.tgt_embedding = nn.Embedding(n_tgt, E, padding_idx=0)
        self.dropout = nn.Dropout(cfg.dropout)
        self._add_encoder()
        self._add_decoder()
        self._add_output(n_tgt)

    def _rnn_class(self):
        return nn.GRU if self.cfg.cell == "gru" else nn.LSTM

    def _add_encoder(self):
        cfg, enc = self.cfg, self.enc_size
        H, L = cfg.hidden, cfg.layers
        self.encoder = self._rnn_class()(
            cfg.embedding_dim,
            H,
            num_layers=L,
            bidirectional=cfg.bidirectional,
            batch_first=True,
            dropout=cfg.dropout if L > 1 else 0.0,
        )
        self.bridge = nn.Linear(enc, H * L)
        if cfg.cell == "lstm":
            self.bridge_c = nn.Linear(enc, H * L)

    def _add_decoder(self):
        """The decoder RNN, then the attention's layers."""
        cfg, enc = self.cfg, self.enc_size
        E, H, L, att = cfg.embedding_dim, cfg.hidden, cfg.layers, cfg.attention
        if not self.feeds:
            dec_in = E
        elif att in ("bahdanau", "none"):
            dec_in = E + enc
        else:
            dec_in = E + H
        self.decoder = self._rnn_class()(
            dec_in, H, num_layers=L, batch_first=True, dropout=cfg.dropout if L > 1 else 0.0
        )
        if att == "bahdanau":
            self.att_query = nn.Linear(H, H, bias=False)
            self.att_key = nn.Linear(enc, H)
            self.att_v = nn.Linear(H, 1, bias=False)
        elif att == "luong":
            self.att_key = nn.Linear(enc, H, bias=False)
        if att in ("luong", "dot"):
            self.combine = nn.Linear(H + enc, H, bias=False)

    def _add_output(self, n_tgt: int):
        cfg = self.cfg
        E, H = cfg.embedding_dim, cfg.hidden
        features = H + self.enc_size + E if cfg.attention in ("bahdanau", "none") else H
        self.pre_output = nn.Linear(features, E)
        self.output = nn.Linear(E, n_tgt)
        if cfg.tie_embeddings:
            self.output.weight = self.tgt_embedding.weight
            # the shared matrix is the output layer too: N(0, 1/E) starts the logits near
            # zero, where nn.Embedding's N(0, 1) starts them with a std of about sqrt(E)/2
            # (a saturated softmax the first epochs spend undoing)
            nn.init.normal_(self.tgt_embedding.weight, 0.0, E**-0.5)
            with torch.no_grad():
                self.tgt_embedding.weight[0].zero_()

    @property
    def feeds(self):
        return self.cfg.feeds

    # -- encoder ---------------------------------------------------------------------

    def encode(self, src, src_lengths):
        """``src`` [B, S] ids, ``src_lengths`` [B] (CPU) -> (Encoded, decoder start state, start feed)."""
        cfg = self.cfg
        emb = self.dropout(self.src_embedding(src))
        packed = pack_padded_sequence(emb, src_lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, final = self.encoder(packed)
        outputs, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        h_n = final[0] if cfg.cell == "lstm" else final
        dirs = 2 if cfg.bidirectional else 1
        top = h_n.view(cfg.layers, dirs, src.size(0), cfg.hidden)[-1]  # [dirs, B, H]
        summary = torch.cat(list(top), dim=-1)  # [B, enc]
        state = self._start_state(summary)
        mask = src.ne(0)
        keys = self._keys(outputs)
        feed = None
        if cfg.attention in ("luong", "dot") and self.feeds:
            feed = outputs.new_zeros(src.size(0), cfg.hidden)
        return Encoded(outputs, mask, keys, summary), state, feed

    def _start_state(self, summary):
        """The decoder's first state, every layer: ``tanh`` of the bridge from the encoder's summary."""
        B, L, H = summary.size(0), self.cfg.layers, self.cfg.hidden
        h0 = torch.tanh(self.bridge(summary)).view(B, L, H).transpose(0, 1).contiguous()
        if self.cfg.cell != "lstm":
            return h0
        c0 = torch.tanh(self.bridge_c(summary)).view(B, L, H).transpose(0, 1).contiguous()
        return (h0, c0)

    def _keys(self, outputs):
        """What the attention scores the queries against: projected encoder outputs (``dot``: as they are)."""
        if self.cfg.attention == "bahdanau" or self.cfg.attention == "luong":
            return self.att_key(outputs)
        if self.cfg.attention == "dot":
            return outputs
        return None

    # -- decoder ---------------------------------------------------------------------

    def _top(self, state):
        return (state[0] if self.cfg.cell == "lstm" else state)[-1]

    def _attention(self, queries, enc: Encoded):
        """Queries [B, T, H] attend to the source -> (contexts [B, T, enc], weights [B, T, S])."""
        if self.cfg.attention == "bahdanau":
            # the additive scores go through a [B, T', S, H] tensor: T' positions at a time, so
            # that long batches (dev scoring uses 128 pairs) stay within ~32 MB per piece
            query, keys = self.att_query(queries), enc.keys.unsqueeze(1)
            B, T, H = query.shape
            chunk = max(1, ATTENTION_CHUNK // max(1, B * keys.size(2) * H))
            parts = [
                self.att_v(torch.tanh(query[:, i : i + chunk].unsqueeze(2) + keys)).squeeze(3)
                for i in range(0, T, chunk)
            ]
            scores = parts[0] if len(parts) == 1 else torch.cat(parts, 1)
        else:
            scores = torch.bmm(queries, enc.keys.transpose(1, 2))
        scores = scores.masked_fill(~enc.mask.unsqueeze(1), float("-inf"))
        weights = torch.softmax(scores, dim=2)
        return torch.bmm(weights, enc.outputs), weights

    def _attend(self, query, enc: Encoded):
        """One query [B, H] -> (context [B, enc], weights [B, S])."""
        context, weights = self._attention(query.unsqueeze(1), enc)
        return context[:, 0], weights[:, 0]

    def step(self, prev, state, feed, enc: Encoded):
        """One decoder step for previous tokens ``prev`` [B] -> (pre-output [B, E], state, feed,
        attention weights [B, S] or None)."""
        emb = self.dropout(self.tgt_embedding(prev))
        if not self.feeds:
            out, state = self.decoder(emb.unsqueeze(1), state)
            pre, weights = self._read(out, emb.unsqueeze(1), enc)
            return pre[:, 0], state, feed, weights[:, 0]
        if self.cfg.attention in ("bahdanau", "none"):
            features, state, weights = self._context_then_rnn(emb, state, enc)
        else:
            features, state, weights = self._rnn_then_context(emb, state, feed, enc)
            feed = features
        pre = self.dropout(torch.tanh(self.pre_output(features)))
        return pre, state, feed, weights

    def _context_then_rnn(self, emb, state, enc: Encoded):
        """``bahdanau`` (the previous top state attends) and ``none`` (the fixed summary): the context
        enters the RNN -> (features ``[h; context; embedding]``, state, weights or None)."""
        weights = None
        if self.cfg.attention == "bahdanau":
            context, weights = self._attend(self._top(state), enc)
        else:
            context = enc.summary
        out, state = self.decoder(torch.cat([emb, context], 1).unsqueeze(1), state)
        h = out[:, 0]
        return torch.cat([h, context, emb], 1), state, weights

    def _rnn_then_context(self, emb, state, feed, enc: Encoded):
        """``luong``/``dot`` with input feeding: the RNN reads the previous attentional state, its
        output attends -> (the new attentional state, state, weights)."""
        out, state = self.decoder(torch.cat([emb, feed], 1).unsqueeze(1), state)
        h = out[:, 0]
        context, weights = self._attend(h, enc)
        return torch.tanh(self.combine(torch.cat([h, context], 1))), state, weights

    def _read(self, hs, emb, enc: Encoded):
        """Without input feeding: decoder outputs ``hs`` [B, T, H] (and their input embeddings
        [B, T, E]) attend to the source all at once -> (pre-outputs [B, T, E], weights [B, T, S])."""
        context, weights = self._attention(hs, enc)
        if self.cfg.attention == "bahdanau":
            features = torch.cat([hs, context, emb], 2)
        else:
            features = torch.tanh(self.combine(torch.cat([hs, context], 2)))
        return self.dropout(torch.tanh(self.pre_output(features))), weights

    def _parallel(self, enc: Encoded, state, tgt_in):
        """Training without input feeding (gold previous tokens): the decoder RNN over the whole
        target at once, then all attention at once; the same function as :meth:`stepwise`.
        Without attention the fixed summary joins every input. -> pre-outputs [B, T, E]."""
        emb = self.dropout(self.tgt_embedding(tgt_in))  # [B, T, E]
        if self.cfg.attention == "none":
            summary = enc.summary.unsqueeze(1).expand(-1, emb.size(1), -1)
            hs, _ = self.decoder(torch.cat([emb, summary], 2), state)
            return self.dropout(torch.tanh(self.pre_output(torch.cat([hs, summary, emb], 2))))
        hs, _ = self.decoder(emb, state)
        return self._read(hs, emb, enc)[0]

    def logits(self, pre):
        return self.output(pre)

    def _cell(self, gates_in, state):
        """One step of the one-layer decoder RNN, given its input projection ``gates_in``
        (``W_ih x + b_ih``, [B, 3H] or [B, 4H]); the same arithmetic as ``nn.GRU``/``nn.LSTM``."""
        rnn = self.decoder
        if self.cfg.cell == "gru":
            h = state[0]
            gh = torch.addmm(rnn.bias_hh_l0, h, rnn.weight_hh_l0.t())
            i_r, i_z, i_n = gates_in.chunk(3, 1)
            h_r, h_z, h_n = gh.chunk(3, 1)
            r = torch.sigmoid(i_r + h_r)
            z = torch.sigmoid(i_z + h_z)
            n = torch.tanh(i_n + r * h_n)
            h = n + z * (h - n)
            return h, h.unsqueeze(0)
        h, c = state[0][0], state[1][0]
        gates = gates_in + torch.addmm(rnn.bias_hh_l0, h, rnn.weight_hh_l0.t())
        i, f, g, o = gates.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h.unsqueeze(0), c.unsqueeze(0))

    def _teacher_forced(self, enc: Encoded, state, feed, tgt_in):
        """Training fast path (one decoder layer, gold previous tokens): the same function as
        calling :meth:`step` for every position, with everything that does not depend on the
        previous step done once for the whole batch: the embeddings and their dropout, their
        share of the RNN's input projection (and, without attention, the context's), the
        output layer. Only the attention and the recurrence stay in the loop. -> pre-outputs [B, T, E]."""
        att, E = self.cfg.attention, self.cfg.embedding_dim
        rnn = self.decoder
        emb = self.dropout(self.tgt_embedding(tgt_in))  # [B, T, E]
        w_emb, w_ctx = rnn.weight_ih_l0[:, :E], rnn.weight_ih_l0[:, E:]
        gates_emb = torch.nn.functional.linear(emb, w_emb, rnn.bias_ih_l0)  # [B, T, G]
        hs, extras = [], []
        for t in range(tgt_in.size(1)):
            if att == "bahdanau":
                context, _ = self._attend(self._top(state), enc)
                h, state = self._cell(gates_emb[:, t] + torch.nn.functional.linear(context, w_ctx), state)
                hs.append(h)
                extras.append(context)
            else:
                h, state = self._cell(gates_emb[:, t] + torch.nn.functional.linear(feed, w_ctx), state)
                context, _ = self._attend(h, enc)
                feed = torch.tanh(self.combine(torch.cat([h, context], 1)))
                hs.append(feed)
        if att in ("luong", "dot"):
            features = torch.stack(hs, 1)
        else:
            features = torch.cat([torch.stack(hs, 1), torch.stack(extras, 1), emb], 2)
        return self.dropout(torch.tanh(self.pre_output(features)))

    def stepwise(self, enc: Encoded, state, feed, tgt_in):
        """Gold previous tokens fed through :meth:`step` one position at a time (what search
        does; the training path for several decoder layers) -> pre-outputs [B, T, E]."""
        pres = []
        for t in range(tgt_in.size(1)):
            pre, state, feed, _ = self.step(tgt_in[:, t], state, feed, enc)
            pres.append(pre)
        return torch.stack(pres, 1)

    def _sampled(self, enc: Encoded, state, feed, tgt_in, teacher_forcing: float):
        """Each step feeds the gold token with probability ``teacher_forcing``, else the model's own
        previous prediction (torch's RNG) -> logits [B, T, V]."""
        T = tgt_in.size(1)
        outs = []
        prev = tgt_in[:, 0]
        for t in range(T):
            pre, state, feed, _ = self.step(prev, state, feed, enc)
            logits = self.logits(pre)
            outs.append(logits)
            if t + 1 < T:
                use_gold = torch.rand(prev.size(0), device=prev.device) < teacher_forcing
                prev = torch.where(use_gold, tgt_in[:, t + 1], logits.detach().argmax(1))
        return torch.stack(outs, 1)

    def forward(self, src, src_lengths, tgt_in, teacher_forcing: float = 1.0):
        """Training: logits [B, T, V] for decoder inputs ``tgt_in`` [B, T] (starting with <s>).
        With ``teacher_forcing`` < 1, each step feeds the model's own previous prediction
        instead of the gold token with probability 1 - teacher_forcing (torch's RNG)."""
        enc, state, feed = self.encode(src, src_lengths)
        if teacher_forcing < 1.0:
            return self._sampled(enc, state, feed, tgt_in, teacher_forcing)
        if not self.feeds or self.cfg.attention == "none":
            return self.logits(self._parallel(enc, state, tgt_in))
        if self.cfg.layers == 1:
            return self.logits(self._teacher_forced(enc, state, feed, tgt_in))
        return self.logits(self.stepwise(enc, state, feed, tgt_in))

    @staticmethod
    def select_state(state, index):
        if isinstance(state, tuple):
            return tuple(s.index_select(1, index) for s in state)
        return state.index_select(1, index)
