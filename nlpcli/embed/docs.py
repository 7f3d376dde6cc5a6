"""Doc2vec on new text: inferred document vectors (features for ``train``) and ``embed docs``.

Raw text goes through the recipe stored in the model (the tagger it was trained with), then
gensim's ``infer_vector``. Gensim seeds each inference from Python's string hash, which is
randomized per process: inferred vectors differ slightly from run to run unless
``PYTHONHASHSEED`` is set (e.g. ``PYTHONHASHSEED=0``).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence

import numpy as np

from nlpcli.embed import store
from nlpcli.text.recipe import Preprocessor, Recipe


class Doc2VecFeatures:
    """A feature extractor over a doc2vec model: ``transform(tokenized_texts) -> dense matrix``.

    ``texts`` are whitespace-joined tokens already passed through :attr:`recipe` (as every
    extractor of :mod:`nlpcli.features.extractors`). Inference runs on ``threads`` threads (gensim
    releases the GIL while it trains a document). Pickled (inside a classifier artifact) it keeps
    what inference needs only, not the training documents' vectors.
    """

    def __init__(self, model, manifest: dict, epochs: int | None = None, threads: int | None = None):
        self.model = model
        self.manifest = manifest
        self.recipe = Recipe.from_dict(manifest.get("recipe") or {})
        self.epochs = epochs
        self.threads = threads or min(4, os.cpu_count() or 1)

    @property
    def n_features(self) -> int:
        return int(self.model.vector_size)

    def infer(self, tokens: list[str]) -> np.ndarray:
        return self.model.infer_vector(tokens, epochs=self.epochs)

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        token_lists = [t.split() for t in texts]
        out = np.zeros((len(token_lists), self.n_features), dtype=np.float32)
        if self.threads > 1 and len(token_lists) > 64:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(self.threads) as pool:
                for i, vec in enumerate(pool.map(self.infer, token_lists, chunksize=256)):
                    out[i] = vec
        else:
            for i, tokens in enumerate(token_lists):
                out[i] = self.infer(tokens)
        return out

    def get_feature_names_out(self):
        return np.array([f"d2v_{i}" for i in range(self.n_features)], dtype=object)

    def __getstate__(self):
        state = dict(self.__dict__)
        model = copy.copy(self.model)
        dv = copy.copy(model.dv)  # the training documents' vectors: not needed to infer new ones
        dv.vectors = np.zeros((0, model.vector_size), dtype=np.float32)
        dv.index_to_key, dv.key_to_index = [], {}
        if hasattr(dv, "norms"):
            dv.norms = None
        model.dv = dv
        # the two functions a gensim model holds (``hashfxn=hash``, ``load=call_on_class_only``) are
        # not for the allowlist of other artifacts: drop them, put ``hash`` back on load
        model.__dict__.pop("load", None)
        model.__dict__.pop("hashfxn", None)
        state["model"] = model
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.model.hashfxn = hash


def load_features(path: str, trust: bool = False) -> tuple[Doc2VecFeatures, dict]:
    model, manifest = store.load_gensim(path, ("doc2vec",), trust=trust, mmap=None)
    return Doc2VecFeatures(model, manifest), manifest


def _line_at(path: str, offsets: np.ndarray, i: int) -> str:
    with open(path, "rb") as fh:
        fh.seek(int(offsets[i]))
        return fh.readline().decode("utf-8").rstrip("\n")


def similar_documents(
    path: str,
    text: str,
    topn: int = 10,
    tokenized: bool = False,
    epochs: int | None = None,
    trust: bool = False,
) -> list[dict]:
    """The training documents nearest to ``text`` (raw, through the model's recipe; or tokenized)."""
    model, manifest = store.load_gensim(path, ("doc2vec",), trust=trust)
    recipe = Recipe.from_dict(manifest.get("recipe") or {})
    tokens = (text if tokenized else Preprocessor(recipe).process([text])[0]).split()
    vector = model.infer_vector(tokens, epochs=epochs)
    hits = model.dv.most_similar([vector], topn=topn)
    model_dir = store.resolve(path)
    offsets = {
        name: np.load(os.path.join(model_dir, name + ".offsets.npy"), mmap_mode="r")
        for name in (store.DOCS, store.DOC_IDS)
    }
    out = []
    for tag, score in hits:
        i = int(tag)
        out.append(
            {
                "id": _line_at(os.path.join(model_dir, store.DOC_IDS), offsets[store.DOC_IDS], i),
                "score": float(score),
                "text": _line_at(os.path.join(model_dir, store.DOCS), offsets[store.DOCS], i),
            }
        )
    return out


def line_offsets(path: str) -> np.ndarray:
    """Byte offset of every line of ``path`` (saved beside docs.txt so a document is one seek away)."""
    offsets = [0]
    with open(path, "rb") as fh:
        for line in fh:
            offsets.append(offsets[-1] + len(line))
    return np.array(offsets[:-1], dtype=np.int64)
