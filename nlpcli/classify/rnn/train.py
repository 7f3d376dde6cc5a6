"""Training the RNN text classifier/regressor with :mod:`nlpcli.training`.

The vocabulary is built on the training data (``--min-count``, ``--max-vocab``; or taken from
the checkpoint of ``--resume``), documents are cut to ``--max-length`` tokens and read in
batches of similar length; the loop trains :class:`~nlpcli.classify.rnn.model.RnnTextModel`
with Adam and selects the best epoch on the dev data. The artifact is a torch file of tensors and
plain values (state dict, config, vocabulary, labels), loaded with ``weights_only=True``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict

import numpy as np
import torch

from nlpcli import artifacts, progress, training
from nlpcli.classify.dataset import Dataset, evaluate
from nlpcli.classify.models import kind_for
from nlpcli.classify.rnn.config import RnnConfig
from nlpcli.classify.rnn.data import Encoded
from nlpcli.classify.rnn.model import RnnTextModel, init_embeddings
from nlpcli.classify.rnn.predict import predict_encoded, scores_to_prediction
from nlpcli.classify.rnn.vocab import SPECIALS, UNK, Vocabulary
from nlpcli.errors import DataError
from nlpcli.training import length_batches

#: the dev metrics that the training loop logs each epoch, and those kept in the artifact
EPOCH_METRICS = {"classification": ("accuracy", "macro_f1"), "regression": ("mae", "rmse")}
SAVED_METRICS = ("accuracy", "macro_f1", "mae", "rmse", "n")


def train_rnn(
    train_ds: Dataset,
    dev_ds: Dataset | None,
    labels,
    output: str,
    cfg,
    recipe,
    data: dict,
    rcfg: RnnConfig,
    loop,
) -> dict | None:
    """Train the RNN with :mod:`nlpcli.training`, evaluate on ``dev_ds``, save to ``output``.

    ``cfg`` is the :class:`~nlpcli.classify.train.TrainConfig` (its task and regression
    clipping), ``loop`` the :class:`~nlpcli.training.LoopConfig` (None: the defaults);
    ``data`` collects what the artifact's manifest says about the data and the run.
    """
    loop = loop or training.LoopConfig(seed=cfg.seed)
    device = training.resolve_device(loop.device)
    training.set_threads(loop.threads)
    task = cfg.task
    fingerprint = _fingerprint(train_ds, rcfg, task, labels)
    ckpt = _resume_checkpoint(loop, fingerprint)
    vocab = _vocabulary(train_ds, rcfg, ckpt)
    encoded = Encoded(vocab, train_ds.texts, rcfg.max_length)
    unk_rate = sum(e.count(UNK) for e in encoded.ids) / max(1, int(encoded.lengths.sum()))
    progress.info(
        f"rnn: {len(vocab):,} tokens in the vocabulary ({unk_rate:.1%} of training tokens unknown), "
        f"{len(train_ds):,} training documents, device {device}"
    )
    y, n_out, target = _targets(task, train_ds, labels, clip=cfg.estimator.clip)
    training.seed_everything(loop.seed)
    model_cfg, model = _model(rcfg, vocab, n_out, resumed=ckpt is not None)
    model.to(device)
    dev = (
        None
        if dev_ds is None
        else _DevData(dev_ds, Encoded(vocab, dev_ds.texts, rcfg.max_length), task, labels, target, device)
    )
    loop_task = _loop_task(
        model,
        encoded,
        y,
        rcfg,
        loop,
        task,
        device,
        dev,
        extra={"vocab": vocab.tokens, "subwords": vocab.subwords, "fingerprint": fingerprint},
    )
    result = training.Trainer(loop).fit(loop_task, resume_state=ckpt)
    progress.info(
        f"rnn: {result.epochs} epoch(s) in {result.seconds / 60:.1f} min "
        f"(stopped: {result.stopped}); best epoch {result.best_epoch}"
    )
    data.update(
        {
            "train_seconds": round(result.seconds, 1),
            "history": result.history,
            "best_epoch": result.best_epoch,
            "stopped": result.stopped,
        }
    )
    dev_metrics = None
    if dev is not None:
        dev_metrics = dev.metrics(model)
        data["dev_metrics"] = {k: v for k, v in dev_metrics.items() if k in SAVED_METRICS}
    state = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": model_cfg,
        # one string each (tokens never hold a newline): torch's weights-only unpickler, plain
        # Python, reads a list of 100k strings in about 0.2 s and a string in no time
        "vocab": "\n".join(vocab.tokens),
        "subwords": "\n".join(vocab.subwords),
        "labels": labels or [],
        "task": task,
        "n_out": n_out,
        "target": target,
    }
    params = {
        "model": "rnn",
        "task": task,
        "labels": labels,
        "seed": loop.seed,
        "rnn": asdict(rcfg),
        "loop": loop.to_dict(),
    }
    if training.is_main_process():  # under torchrun, rank 0 alone writes the model
        artifacts.save_torch(output, kind_for(task), state, params=params, recipe=recipe.to_dict(), data=data)
        progress.info(f"{kind_for(task)} (rnn) -> {output}")
    return dev_metrics


def _fingerprint(train_ds: Dataset, cfg: RnnConfig, task: str, labels) -> dict:
    """What a checkpoint must have been trained on to be resumed: the data and the options."""
    digest = hashlib.sha1()
    for text, label in zip(train_ds.texts, train_ds.labels):
        digest.update(text.encode("utf-8"))
        digest.update(b"\t")
        digest.update(label.encode("utf-8"))
        digest.update(b"\n")
    return {
        "data": digest.hexdigest(),
        "documents": len(train_ds),
        "task": task,
        "labels": labels,
        "model": cfg.model_dict(),
        "min_count": cfg.min_count,
        "max_vocab": cfg.max_vocab,
    }


def _resume_checkpoint(loop, fingerprint: dict) -> dict | None:
    """The checkpoint of ``--resume`` (checked against ``fingerprint``), or None."""
    if not loop.resume:
        return None
    ckpt = training.load_checkpoint(loop.resume)
    training.check_resume(ckpt, fingerprint, loop.resume)
    return ckpt


def _vocabulary(train_ds: Dataset, rcfg: RnnConfig, ckpt: dict | None) -> Vocabulary:
    """The vocabulary of the checkpoint, or one built on the training texts."""
    if ckpt is not None:
        vocab = Vocabulary(ckpt["extra"]["vocab"], ckpt["extra"].get("subwords", []), rcfg.subwords)
    else:
        vocab = Vocabulary.build(train_ds.texts, rcfg.min_count, rcfg.max_vocab)
        if rcfg.subwords:
            vocab = vocab.with_subwords(train_ds.texts, rcfg.subwords)
    if len(vocab) <= len(SPECIALS):
        raise DataError(
            f"no token occurs {rcfg.min_count} times or more: lower --min-count", source=train_ds.name
        )
    return vocab


def _targets(task: str, train_ds: Dataset, labels, clip: bool) -> tuple[torch.Tensor, int, dict]:
    """The training targets, the number of outputs, and (regression) the scale of the numbers:
    the network learns standardized values, ``target`` turns its outputs back."""
    if task == "classification":
        index = {label: i for i, label in enumerate(labels)}
        return torch.as_tensor([index[v] for v in train_ds.labels], dtype=torch.long), len(labels), {}
    values = np.asarray(train_ds.values, dtype=np.float64)
    target = {
        "mean": float(values.mean()),
        "std": float(values.std() or 1.0),
        "min": float(values.min()),
        "max": float(values.max()),
        "clip": bool(clip),
    }
    return torch.as_tensor((values - target["mean"]) / target["std"], dtype=torch.float32), 1, target


def _model(rcfg: RnnConfig, vocab: Vocabulary, n_out: int, resumed: bool) -> tuple[dict, RnnTextModel]:
    """The network's config (stored in the artifact) and the network, with its embeddings
    initialized from ``--embeddings`` (not when resuming: the checkpoint has them)."""
    model_cfg = rcfg.model_dict()
    if rcfg.subwords:
        model_cfg["n_subwords"] = len(vocab.subwords) + 1
        progress.info(
            f"rnn: {len(vocab.subwords):,} character n-grams (1-{rcfg.subwords}) in the subword table"
        )
    model = RnnTextModel(model_cfg, len(vocab), n_out)
    if rcfg.embeddings and not resumed:
        init_embeddings(model, vocab, rcfg.embeddings, rcfg.freeze_embeddings)
    elif rcfg.freeze_embeddings:
        model.embedding.weight.requires_grad_(False)
    return model_cfg, model


class _DevData:
    """The dev documents, encoded once, and the metrics of a network on them."""

    def __init__(self, dataset: Dataset, encoded: Encoded, task: str, labels, target: dict, device):
        self.dataset, self.encoded, self.task, self.labels = dataset, encoded, task, labels
        self.target, self.device = target, device

    def metrics(self, net) -> dict:
        pred = scores_to_prediction(self.task, predict_encoded(net, self.encoded, self.device), self.target)
        return evaluate(self.task, self.dataset, self.labels, pred)

    def epoch_metrics(self, net) -> dict:
        """The metrics the training loop logs and selects the best epoch by."""
        m = self.metrics(net)
        return {k: m[k] for k in EPOCH_METRICS[self.task]}


def _loop_task(
    model: RnnTextModel,
    encoded: Encoded,
    y: torch.Tensor,
    rcfg: RnnConfig,
    loop,
    task: str,
    device,
    dev: _DevData | None,
    extra: dict,
):
    """The :class:`~nlpcli.training.LoopTask` of the RNN: Adam, batches of documents of similar
    length, cross-entropy (classification) or squared error (regression), the dev metrics."""
    optimizer = training.adam(
        [p for p in model.parameters() if p.requires_grad], rcfg.learning_rate, rcfg.weight_decay
    )
    loss_fn = torch.nn.CrossEntropyLoss() if task == "classification" else torch.nn.MSELoss()

    def batches(epoch, generator):
        return length_batches(encoded.lengths, loop.batch_size, generator)

    def loss(net, batch):
        out = net(*encoded.batch(batch, device))
        gold = y[batch].to(device)
        return loss_fn(out if task == "classification" else out[:, 0], gold)

    return training.LoopTask(
        model=model,
        optimizer=optimizer,
        batches=batches,
        loss=loss,
        evaluate=None if dev is None else dev.epoch_metrics,
        metric="accuracy" if task == "classification" else "mae",
        lower_is_better=task == "regression",
        schedule=training.ExponentialDecay(rcfg.learning_rate, rcfg.lr_decay),
        extra=extra,
    )
