"""Word vectors to initialize the RNN's embeddings (``--embeddings``), read without torch."""

from __future__ import annotations

import os

import numpy as np

from nlpcli import artifacts
from nlpcli.errors import ArtifactError


def load_word_vectors(path: str, trust: bool = False) -> tuple[list[str], np.ndarray]:
    """Words and vectors of a word2vec/fastText model of ``nlpcli embed`` (a model directory), or
    of any artifact holding gensim KeyedVectors / Word2Vec or a mapping ``words``/``vectors``."""
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
