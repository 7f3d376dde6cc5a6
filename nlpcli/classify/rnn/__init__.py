"""The RNN text classifier/regressor (PyTorch).

``config`` (the options) and ``vocab`` (the vocabulary) are torch-free; ``data`` (batches),
``model`` (the network), ``train`` (:func:`train_rnn`) and ``predict`` (:func:`load_rnn_predictor`)
import torch, and only the code paths that train or load an RNN import them. Word vectors for
``--embeddings`` come from :func:`nlpcli.embed.store.load_word_vectors`. The names below load their module on first use, so importing this
package imports no torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "config": ("CELLS", "POOLINGS", "RnnConfig", "loop_config"),
    "vocab": ("PAD", "SPECIALS", "UNK", "Vocabulary"),
    "data": ("Encoded", "make_batch"),
    "model": ("RnnTextModel", "init_embeddings"),
    "train": ("train_rnn",),
    "predict": ("load_rnn_predictor", "predict_encoded", "scores_to_prediction"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
