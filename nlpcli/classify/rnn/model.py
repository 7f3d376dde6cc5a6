"""The RNN network (PyTorch): token embeddings (plus, optionally, the mean embedding of each token's
character n-grams), a stacked RNN/LSTM/GRU over the packed sequence, a document vector (the final
hidden states, or a max or mean pool over time), dropout and one linear layer."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nlpcli import progress
from nlpcli.classify.rnn.vocab import PAD, Vocabulary
from nlpcli.embed.store import load_word_vectors
from nlpcli.errors import UsageError

RNN_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RnnTextModel(nn.Module):
    """The network of ``config`` (:meth:`RnnConfig.model_dict <nlpcli.classify.rnn.config.RnnConfig.model_dict>`
    plus ``n_subwords``, the size of the n-gram table, when ``config["subwords"]``)."""

    def __init__(self, config: dict, vocab_size: int, n_out: int):
        super().__init__()
        c = config
        self.pooling = c["pooling"]
        self.bidirectional = c["bidirectional"]
        self.cell = c["cell"]
        self.embedding = nn.Embedding(vocab_size, c["embedding_dim"], padding_idx=PAD)
        self.subwords = bool(c.get("subwords"))
        if self.subwords:
            self.subword_embedding = nn.Embedding(c["n_subwords"], c["embedding_dim"], padding_idx=0)
        self.rnn = RNN_CELLS[c["cell"]](
            c["embedding_dim"],
            c["hidden"],
            num_layers=c["layers"],
            batch_first=True,
            bidirectional=c["bidirectional"],
            dropout=c["dropout"] if c["layers"] > 1 else 0.0,
        )
        self.dropout = nn.Dropout(c["dropout"])
        width = c["hidden"] * (2 if c["bidirectional"] else 1)
        self.out = nn.Linear(width, n_out)

    def forward(self, ids, lengths, sub=None):
        x = self.embedding(ids)
        if self.subwords:  # sub: B × T × K n-gram ids
            count = (sub != 0).sum(-1, keepdim=True).clamp(min=1)
            x = x + self.subword_embedding(sub).sum(2) / count
        x = self.dropout(x)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        output, state = self.rnn(packed)
        if self.pooling == "last":
            doc = self._last_state(state)
        else:
            seq, _ = pad_packed_sequence(output, batch_first=True, total_length=ids.shape[1])
            doc = self._pool(seq, ids, lengths)
        return self.out(self.dropout(doc))

    def _last_state(self, state):
        """The final hidden state of the last layer (both directions side by side)."""
        h = state[0] if self.cell == "lstm" else state
        return torch.cat([h[-2], h[-1]], dim=1) if self.bidirectional else h[-1]

    def _pool(self, seq, ids, lengths):
        """The max or mean of the outputs over the document's tokens."""
        mask = (ids != PAD).unsqueeze(-1)
        mask[:, 0] = True  # (documents are at least one token long)
        if self.pooling == "max":
            return seq.masked_fill(~mask, float("-inf")).max(dim=1).values
        return (seq * mask).sum(dim=1) / lengths.to(seq.device).clamp(min=1).unsqueeze(-1)


def init_embeddings(model: RnnTextModel, vocab: Vocabulary, path: str, freeze: bool) -> None:
    """Set the embeddings of the vocabulary tokens that the word vectors of ``path`` know."""
    words, vectors = load_word_vectors(path)
    weight = model.embedding.weight
    if vectors.shape[1] != weight.shape[1]:
        raise UsageError(
            f"--embeddings {path} has {vectors.shape[1]}-dimensional vectors: "
            f"pass --embedding-dim {vectors.shape[1]}"
        )
    index = {w: i for i, w in enumerate(words)}
    hits = [(i, index[t]) for i, t in enumerate(vocab.tokens) if t in index]
    with torch.no_grad():
        if hits:
            rows, src = zip(*hits)
            weight[list(rows)] = torch.as_tensor(vectors[list(src)])
        weight[PAD].zero_()
    model.embedding.weight.requires_grad_(not freeze)
    progress.info(
        f"embeddings: {len(hits):,} of {len(vocab):,} vocabulary tokens initialized from {path}"
        + (" (frozen)" if freeze else "")
    )
    if not hits:
        progress.warn(f"{path}: no vocabulary token has a vector: was it trained on the same tokenization?")
