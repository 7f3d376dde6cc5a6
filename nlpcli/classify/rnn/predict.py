"""The RNN's predictions: raw network outputs in input order, as class probabilities or numbers,
and the predictor of a saved RNN artifact for ``nlpcli predict``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from nlpcli import training
from nlpcli.classify.models import Prediction, softmax
from nlpcli.classify.rnn.data import Encoded
from nlpcli.classify.rnn.model import RnnTextModel
from nlpcli.classify.rnn.vocab import Vocabulary
from nlpcli.errors import CorruptArtifactError
from nlpcli.training import length_batches


def predict_encoded(model, encoded: Encoded, device, batch_size: int = 256) -> np.ndarray:
    """Raw network outputs (n × n_out) in input order."""
    out = None
    model.eval()
    with torch.no_grad():
        for batch in length_batches(encoded.lengths, batch_size):
            scores = model(*encoded.batch(batch, device)).float().cpu().numpy()
            if out is None:
                out = np.zeros((len(encoded), scores.shape[1]), dtype=np.float32)
            out[batch] = scores
    return out if out is not None else np.zeros((0, 1), dtype=np.float32)


def scores_to_prediction(task: str, scores: np.ndarray, target: dict) -> Prediction:
    """Class probabilities, or numbers back on the scale of the training targets (``target``)."""
    if task == "regression":
        values = scores[:, 0].astype(float) * target["std"] + target["mean"]
        if target.get("clip", True):
            values = np.clip(values, target["min"], target["max"])
        return Prediction(values=values)
    return Prediction(probabilities=softmax(scores.astype(np.float64)))


def _strings(value) -> list[str]:
    """A stored list of strings: one newline-joined string (this version), or a list (0.1)."""
    if isinstance(value, str):
        return value.split("\n") if value else []
    return list(value)


def load_rnn_predictor(art, device: str = "auto", threads: int | None = None):
    """(predict(texts) -> Prediction, task, labels) from a loaded torch artifact."""
    p = art.payload
    try:
        config, tokens, task = dict(p["config"]), _strings(p["vocab"]), p["task"]
        labels = list(p["labels"]) or None
        n_out, target = int(p["n_out"]), dict(p.get("target") or {})
        torch_device = training.resolve_device(device)
        training.set_threads(threads)
        model = RnnTextModel(config, len(tokens), n_out)
        model.load_state_dict(p["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CorruptArtifactError(
            f"{art.path}: the RNN model in it does not load "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); re-create it"
        ) from None
    model.to(torch_device)
    model.eval()
    vocab = Vocabulary(tokens, _strings(p.get("subwords") or []), int(config.get("subwords") or 0))
    max_length = int(config["max_length"])

    def predict(texts: Sequence[str]) -> Prediction:
        encoded = Encoded(vocab, texts, max_length)
        if not len(encoded):
            return (
                Prediction(probabilities=np.zeros((0, n_out)))
                if task == "classification"
                else Prediction(values=np.zeros(0))
            )
        return scores_to_prediction(task, predict_encoded(model, encoded, torch_device), target)

    return predict, task, labels
