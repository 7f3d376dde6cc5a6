"""The RNN text classifier/regressor (PyTorch).

``config`` (the options) and ``vocab`` (the vocabulary) are torch-free; ``data`` (batches),
``model`` (the network), ``train`` (:func:`train_rnn`) and ``predict`` (:func:`load_rnn_predictor`)
import torch, and only the code paths that train or load an RNN import them. Word vectors for
``--embeddings`` come from :func:`nlpcli.embed.store.load_word_vectors`. The names below load their module on first use, so importing this
package imports no torch.
"""

from __future__ import annotations

from nlpcli import lazy

_EXPORTS = {
    "config": ("CELLS", "POOLINGS", "RnnConfig", "loop_config"),
    "vocab": ("PAD", "SPECIALS", "UNK", "Vocabulary"),
    "data": ("Encoded", "make_batch"),
    "model": ("RnnTextModel", "init_embeddings"),
    "train": ("train_rnn",),
    "predict": ("load_rnn_predictor", "predict_encoded", "scores_to_prediction"),
}
__getattr__, __dir__, __all__ = lazy.exports(__name__, _EXPORTS)
