"""The RNN text classifier/regressor (PyTorch): vocabulary, model, batching, training, loading.

Tokens (from the recipe) become ids of a vocabulary built on the training data (``--min-count``,
``--max-vocab``; 0 is padding, 1 unknown); documents are cut to ``--max-length`` tokens, grouped
into batches of similar length, padded and packed, and read by an RNN/LSTM/GRU (stacked,
optionally bidirectional). The document vector is the final hidden state(s) or a max/mean pool
over time; dropout, then one linear layer. The artifact is a torch file of tensors and plain
values (state dict, config, vocabulary, labels), loaded with ``weights_only=True``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from nlpcli import artifacts, progress
from nlpcli.errors import ArtifactError, CorruptArtifactError, DataError, UsageError
from nlpcli.training import length_batches

PAD, UNK = 0, 1
SPECIALS = ["<pad>", "<unk>"]
CELLS = ("rnn", "lstm", "gru")
POOLINGS = ("last", "max", "mean")


@dataclass
class RnnConfig:
    cell: str = "gru"
    layers: int = 1
    bidirectional: bool = True
    hidden: int = 128
    embedding_dim: int = 128
    dropout: float = 0.3
    pooling: str = "max"
    max_length: int = 100
    min_count: int = 2
    max_vocab: int | None = None
    embeddings: str | None = None
    freeze_embeddings: bool = False
    learning_rate: float = 2e-3
    weight_decay: float = 0.0
    lr_decay: float = 1.0  # the learning rate of epoch e is learning_rate * lr_decay**e
    subwords: int = 0  # add character n-grams up to this length to each token's embedding; 0: off

    def __post_init__(self):
        if self.cell not in CELLS:
            raise UsageError(f"--cell must be one of {', '.join(CELLS)}")
        if self.pooling not in POOLINGS:
            raise UsageError(f"--pooling must be one of {', '.join(POOLINGS)}")
        if self.layers < 1 or self.hidden < 1 or self.embedding_dim < 1 or self.max_length < 1:
            raise UsageError("--layers, --hidden, --embedding-dim and --max-length must be positive")
        if not 0 <= self.dropout < 1:
            raise UsageError("--dropout must be in [0, 1)")
        if self.freeze_embeddings and not self.embeddings:
            raise UsageError("--freeze-embeddings needs --embeddings FILE")
        if self.learning_rate <= 0:
            raise UsageError("--learning-rate must be positive")
        if not 0 < self.lr_decay <= 1:
            raise UsageError("--lr-decay must be in (0, 1]")
        if not 0 <= self.subwords <= 6:
            raise UsageError("--subwords must be between 0 (off) and 6")

    def model_dict(self) -> dict:
        """The options that shape the network (stored in the artifact)."""
        return {k: v for k, v in asdict(self).items()
                if k in ("cell", "layers", "bidirectional", "hidden", "embedding_dim", "dropout", "pooling",
                         "max_length", "subwords")}


# --------------------------------------------------------------------------------------------
# vocabulary


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

    def with_subwords(self, texts: Sequence[str], n: int, min_count: int = 2) -> "Vocabulary":
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
            ids = [i for i in (get(g) for g in _char_ngrams(token, self.subword_n)) if i][:self.SUBWORDS_PER_TOKEN]
            if len(self._subword_cache) < 500_000:
                self._subword_cache[token] = ids
        return ids

    def encode_subwords(self, text: str, max_length: int) -> list[list[int]]:
        return [self.token_subwords(t) for t in text.split()[:max_length]] or [[]]

    @classmethod
    def build(cls, texts: Sequence[str], min_count: int = 1, max_size: int | None = None) -> "Vocabulary":
        counts = Counter(tok for text in texts for tok in text.split())
        kept = [t for t, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count]
        if max_size is not None:
            kept = kept[:max(0, max_size - len(SPECIALS))]
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
        out.extend(marked[i:i + size] for i in range(len(marked) - size + 1) if marked[i:i + size] not in "<>")
    return list(dict.fromkeys(out))


# --------------------------------------------------------------------------------------------
# the network


def build_model(config: dict, vocab_size: int, n_out: int):
    """The network; with ``config["subwords"]`` a token's vector is its embedding plus the mean of
    the embeddings of its character n-grams (``config["n_subwords"]`` of them, 0 is padding)."""
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    class RnnTextModel(nn.Module):
        def __init__(self):
            super().__init__()
            c = config
            self.pooling = c["pooling"]
            self.bidirectional = c["bidirectional"]
            self.cell = c["cell"]
            self.embedding = nn.Embedding(vocab_size, c["embedding_dim"], padding_idx=PAD)
            self.subwords = bool(c.get("subwords"))
            if self.subwords:
                self.subword_embedding = nn.Embedding(c["n_subwords"], c["embedding_dim"], padding_idx=0)
            rnn_cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[c["cell"]]
            self.rnn = rnn_cls(c["embedding_dim"], c["hidden"], num_layers=c["layers"], batch_first=True,
                               bidirectional=c["bidirectional"], dropout=c["dropout"] if c["layers"] > 1 else 0.0)
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
                h = state[0] if self.cell == "lstm" else state
                if self.bidirectional:
                    doc = torch.cat([h[-2], h[-1]], dim=1)
                else:
                    doc = h[-1]
            else:
                seq, _ = pad_packed_sequence(output, batch_first=True, total_length=ids.shape[1])
                mask = (ids != PAD).unsqueeze(-1)
                mask[:, 0] = True  # (documents are at least one token long)
                if self.pooling == "max":
                    doc = seq.masked_fill(~mask, float("-inf")).max(dim=1).values
                else:
                    doc = (seq * mask).sum(dim=1) / lengths.to(seq.device).clamp(min=1).unsqueeze(-1)
            return self.out(self.dropout(doc))

    return RnnTextModel()


def make_batch(encoded: Sequence[list[int]], index: Sequence[int], subwords: Sequence[list[list[int]]] | None = None):
    """Padded ids (B × T), lengths and, with ``subwords``, padded n-gram ids (B × T × K) for ``index``."""
    import torch

    lengths = [len(encoded[i]) for i in index]
    ids = torch.zeros(len(index), max(lengths), dtype=torch.long)
    for row, i in enumerate(index):
        ids[row, :lengths[row]] = torch.as_tensor(encoded[i], dtype=torch.long)
    sub = None
    if subwords is not None:
        width = max(1, max(len(g) for i in index for g in subwords[i]))
        flat = np.zeros((len(index), ids.shape[1], width), dtype=np.int64)
        for row, i in enumerate(index):
            for t, grams in enumerate(subwords[i]):
                flat[row, t, :len(grams)] = grams
        sub = torch.from_numpy(flat)
    return ids, torch.as_tensor(lengths, dtype=torch.long), sub


class Encoded:
    """Documents as token ids (and n-gram ids when the vocabulary has subwords)."""

    def __init__(self, vocab: "Vocabulary", texts: Sequence[str], max_length: int):
        self.ids = [vocab.encode(t, max_length) for t in texts]
        self.subwords = [vocab.encode_subwords(t, max_length) for t in texts] if vocab.subword_n else None
        self.lengths = np.fromiter((len(e) for e in self.ids), dtype=np.int64, count=len(self.ids))

    def __len__(self) -> int:
        return len(self.ids)

    def batch(self, index, device):
        ids, lengths, sub = make_batch(self.ids, index, self.subwords)
        return ids.to(device), lengths, None if sub is None else sub.to(device)


def predict_encoded(model, encoded: Encoded, device, batch_size: int = 256) -> np.ndarray:
    """Raw network outputs (n × n_out) in input order."""
    import torch

    out = None
    model.eval()
    with torch.no_grad():
        for batch in length_batches(encoded.lengths, batch_size):
            scores = model(*encoded.batch(batch, device)).float().cpu().numpy()
            if out is None:
                out = np.zeros((len(encoded), scores.shape[1]), dtype=np.float32)
            out[batch] = scores
    return out if out is not None else np.zeros((0, 1), dtype=np.float32)


def scores_to_prediction(task: str, scores: np.ndarray, target: dict):
    from nlpcli.classify.models import Prediction, softmax

    if task == "regression":
        values = scores[:, 0].astype(float) * target["std"] + target["mean"]
        if target.get("clip", True):
            values = np.clip(values, target["min"], target["max"])
        return Prediction(values=values)
    return Prediction(probabilities=softmax(scores.astype(np.float64)))


# --------------------------------------------------------------------------------------------
# word vectors


def load_word_vectors(path: str, trust: bool = False) -> tuple[list[str], np.ndarray]:
    """Words and vectors of a word2vec/fastText model of ``nlpcli embed`` (a model directory), or
    of any artifact holding gensim KeyedVectors / Word2Vec or a mapping ``words``/``vectors``."""
    import os

    if os.path.isdir(path) or os.path.basename(path) == "model.gensim":
        from nlpcli.embed import store

        obj, manifest = store.load_gensim(path, kinds=("word2vec", "fasttext", "doc2vec"), trust=trust)
        kind = manifest["kind"]
    else:
        art = artifacts.load(path, trust=trust)
        obj, kind = art.payload, art.kind
    for attr in ("wv", "keyed_vectors"):
        if hasattr(obj, attr):
            obj = getattr(obj, attr)
    if isinstance(obj, dict):
        words = obj.get("words") or obj.get("vocab") or obj.get("index_to_key")
        vectors = obj.get("vectors")
    else:
        words = getattr(obj, "index_to_key", None) or getattr(obj, "words", None)
        vectors = getattr(obj, "vectors", None)
    if words is None or vectors is None:
        raise ArtifactError(f"{path}: a {kind} artifact without word vectors; --embeddings needs a "
                            "word2vec model from 'nlpcli embed'")
    vectors = np.array(vectors.numpy() if hasattr(vectors, "numpy") else vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise ArtifactError(f"{path}: word vectors of an unexpected shape {vectors.shape}")
    return list(words), vectors


def init_embeddings(model, vocab: Vocabulary, path: str, freeze: bool) -> None:
    import torch

    words, vectors = load_word_vectors(path)
    weight = model.embedding.weight
    if vectors.shape[1] != weight.shape[1]:
        raise UsageError(f"--embeddings {path} has {vectors.shape[1]}-dimensional vectors: "
                         f"pass --embedding-dim {vectors.shape[1]}")
    index = {w: i for i, w in enumerate(words)}
    hits = [(i, index[t]) for i, t in enumerate(vocab.tokens) if t in index]
    with torch.no_grad():
        if hits:
            rows, src = zip(*hits)
            weight[list(rows)] = torch.as_tensor(vectors[list(src)])
        weight[PAD].zero_()
    model.embedding.weight.requires_grad_(not freeze)
    progress.info(f"embeddings: {len(hits):,} of {len(vocab):,} vocabulary tokens initialized from {path}"
                  + (" (frozen)" if freeze else ""))
    if not hits:
        progress.warn(f"{path}: no vocabulary token has a vector: was it trained on the same tokenization?")


# --------------------------------------------------------------------------------------------
# training


def _fingerprint(train_ds, cfg: RnnConfig, task: str, labels) -> dict:
    import hashlib

    digest = hashlib.sha1()
    for text, label in zip(train_ds.texts, train_ds.labels):
        digest.update(text.encode("utf-8"))
        digest.update(b"\t")
        digest.update(label.encode("utf-8"))
        digest.update(b"\n")
    return {"data": digest.hexdigest(), "documents": len(train_ds), "task": task, "labels": labels,
            "model": cfg.model_dict(), "min_count": cfg.min_count, "max_vocab": cfg.max_vocab}


def train_rnn(train_ds, dev_ds, labels, output: str, cfg, recipe, data: dict, rcfg: RnnConfig, loop) -> dict | None:
    """Train the RNN with :mod:`nlpcli.training`, evaluate on ``dev_ds``, save to ``output``."""
    import torch

    from nlpcli import training
    from nlpcli.classify.models import kind_for
    from nlpcli.classify.dataset import evaluate

    loop = loop or training.LoopConfig(seed=cfg.seed)
    device = training.resolve_device(loop.device)
    training.set_threads(loop.threads)
    task = cfg.task
    ckpt = None
    fingerprint = _fingerprint(train_ds, rcfg, task, labels)
    if loop.resume:
        ckpt = training.load_checkpoint(loop.resume)
        training.check_resume(ckpt, fingerprint, loop.resume)
        vocab = Vocabulary(ckpt["extra"]["vocab"], ckpt["extra"].get("subwords", []), rcfg.subwords)
    else:
        vocab = Vocabulary.build(train_ds.texts, rcfg.min_count, rcfg.max_vocab)
        if rcfg.subwords:
            vocab = vocab.with_subwords(train_ds.texts, rcfg.subwords)
    if len(vocab) <= len(SPECIALS):
        raise DataError(f"no token occurs {rcfg.min_count} times or more: lower --min-count", source=train_ds.name)
    encoded = Encoded(vocab, train_ds.texts, rcfg.max_length)
    lengths = encoded.lengths
    unk_rate = sum(e.count(UNK) for e in encoded.ids) / max(1, int(lengths.sum()))
    progress.info(f"rnn: {len(vocab):,} tokens in the vocabulary ({unk_rate:.1%} of training tokens unknown), "
                  f"{len(train_ds):,} training documents, device {device}")
    if task == "classification":
        index = {label: i for i, label in enumerate(labels)}
        y = torch.as_tensor([index[v] for v in train_ds.labels], dtype=torch.long)
        n_out = len(labels)
        target = {}
    else:
        values = np.asarray(train_ds.values, dtype=np.float64)
        target = {"mean": float(values.mean()), "std": float(values.std() or 1.0),
                  "min": float(values.min()), "max": float(values.max()), "clip": bool(cfg.estimator.clip)}
        y = torch.as_tensor((values - target["mean"]) / target["std"], dtype=torch.float32)
        n_out = 1
    training.seed_everything(loop.seed)
    model_cfg = rcfg.model_dict()
    if rcfg.subwords:
        model_cfg["n_subwords"] = len(vocab.subwords) + 1
        progress.info(f"rnn: {len(vocab.subwords):,} character n-grams (1-{rcfg.subwords}) in the subword table")
    model = build_model(model_cfg, len(vocab), n_out)
    if rcfg.embeddings and ckpt is None:
        init_embeddings(model, vocab, rcfg.embeddings, rcfg.freeze_embeddings)
    elif rcfg.freeze_embeddings:
        model.embedding.weight.requires_grad_(False)
    model.to(device)
    optimizer = training.adam([p for p in model.parameters() if p.requires_grad], rcfg.learning_rate,
                              rcfg.weight_decay)
    loss_fn = torch.nn.CrossEntropyLoss() if task == "classification" else torch.nn.MSELoss()

    def batches(epoch, generator):
        # called at the start of each epoch: the epoch's learning rate is a function of the epoch
        # alone, so a resumed run follows the same schedule
        for group in optimizer.param_groups:
            group["lr"] = rcfg.learning_rate * rcfg.lr_decay ** epoch
        return length_batches(lengths, loop.batch_size, generator)

    def loss(net, batch):
        out = net(*encoded.batch(batch, device))
        gold = y[batch].to(device)
        return loss_fn(out if task == "classification" else out[:, 0], gold)

    evaluate_fn = None
    if dev_ds is not None:
        dev_encoded = Encoded(vocab, dev_ds.texts, rcfg.max_length)

        def evaluate_fn(net):
            pred = scores_to_prediction(task, predict_encoded(net, dev_encoded, device), target)
            m = evaluate(task, dev_ds, labels, pred)
            return {k: m[k] for k in (("accuracy", "macro_f1") if task == "classification" else ("mae", "rmse"))}

    loop_task = training.LoopTask(
        model=model, optimizer=optimizer, batches=batches, loss=loss, evaluate=evaluate_fn,
        metric="accuracy" if task == "classification" else "mae", lower_is_better=task == "regression",
        extra={"vocab": vocab.tokens, "subwords": vocab.subwords, "fingerprint": fingerprint})
    result = training.Trainer(loop).fit(loop_task, resume_state=ckpt)
    progress.info(f"rnn: {result.epochs} epoch(s) in {result.seconds / 60:.1f} min "
                  f"(stopped: {result.stopped}); best epoch {result.best_epoch}")
    data.update({"train_seconds": round(result.seconds, 1), "history": result.history,
                 "best_epoch": result.best_epoch, "stopped": result.stopped})
    dev_metrics = None
    if dev_ds is not None:
        pred = scores_to_prediction(task, predict_encoded(model, dev_encoded, device), target)
        dev_metrics = evaluate(task, dev_ds, labels, pred)
        data["dev_metrics"] = {k: v for k, v in dev_metrics.items() if k in ("accuracy", "macro_f1", "mae", "rmse", "n")}
    state = {"state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
             "config": model_cfg, "vocab": vocab.tokens, "subwords": vocab.subwords,
             "labels": labels or [], "task": task,
             "n_out": n_out, "target": target}
    params = {"model": "rnn", "task": task, "labels": labels, "seed": loop.seed, "rnn": asdict(rcfg),
              "loop": loop.to_dict()}
    if training.is_main_process():  # under torchrun, rank 0 alone writes the model
        artifacts.save_torch(output, kind_for(task), state, params=params, recipe=recipe.to_dict(), data=data)
        progress.info(f"{kind_for(task)} (rnn) -> {output}")
    return dev_metrics


# --------------------------------------------------------------------------------------------
# loading for predict


def load_rnn_predictor(art, device: str = "auto", threads: int | None = None):
    """(predict(texts) -> Prediction, task, labels) from a loaded torch artifact."""
    from nlpcli import training

    p = art.payload
    try:
        config, tokens, task = dict(p["config"]), list(p["vocab"]), p["task"]
        labels = list(p["labels"]) or None
        n_out, target = int(p["n_out"]), dict(p.get("target") or {})
        torch_device = training.resolve_device(device, warn=False)
        training.set_threads(threads)
        model = build_model(config, len(tokens), n_out)
        model.load_state_dict(p["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CorruptArtifactError(f"{art.path}: the RNN model in it does not load "
                                   f"({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); re-create it") from None
    model.to(torch_device)
    model.eval()
    vocab = Vocabulary(tokens, list(p.get("subwords") or []), int(config.get("subwords") or 0))
    max_length = int(config["max_length"])

    def predict(texts: Sequence[str]):
        encoded = Encoded(vocab, texts, max_length)
        if not len(encoded):
            from nlpcli.classify.models import Prediction

            return Prediction(probabilities=np.zeros((0, n_out))) if task == "classification" \
                else Prediction(values=np.zeros(0))
        return scores_to_prediction(task, predict_encoded(model, encoded, torch_device), target)

    return predict, task, labels
