"""One way for models to get features out of any feature artifact.

``train --vectorizer FILE`` (and the models that embed it) accept every kind listed in
``EXTRACTOR_KINDS`` (joblib artifacts) and ``DIRECTORY_KINDS`` (model directories: a doc2vec
model from ``embed train``, whose features are inferred document vectors, a dense matrix); each
loader returns an object with ``transform(texts) -> matrix`` over texts already passed through
the returned recipe, and ``n_features``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from nlpcli import artifacts
from nlpcli.text.recipe import Recipe


def _vectorizer(art: artifacts.Artifact) -> Any:
    return art.payload


#: artifact kind -> function(Artifact) -> extractor; other modules add their kinds here.
EXTRACTOR_KINDS: dict[str, Callable[[artifacts.Artifact], Any]] = {"vectorizer": _vectorizer}


def _doc2vec(path: str, trust: bool) -> tuple[Any, Recipe, artifacts.Artifact]:
    """An ``embed train --algo doc2vec`` model: inferred document vectors (dense) as features."""
    from nlpcli.embed.docs import load_features

    features, manifest = load_features(path, trust=trust)
    return features, features.recipe, artifacts.Artifact(manifest, features, path)


#: models stored as a directory with an ``nlpcli.json`` manifest (``embed train``): kind -> loader
DIRECTORY_KINDS: dict[str, Callable[[str, bool], tuple[Any, Recipe, artifacts.Artifact]]] = {
    "doc2vec": _doc2vec
}


def load_feature_extractor(path: str, trust: bool = False) -> tuple[Any, Recipe, artifacts.Artifact]:
    if os.path.isdir(path) or os.path.basename(path) == "model.gensim":
        from nlpcli.embed import store

        manifest = store.read_manifest(path, kinds=tuple(DIRECTORY_KINDS))
        return DIRECTORY_KINDS[manifest["kind"]](store.resolve(path), trust)
    art = artifacts.load(path, kinds=tuple(EXTRACTOR_KINDS), trust=trust)
    extractor = EXTRACTOR_KINDS[art.kind](art)
    return extractor, Recipe.from_dict(art.recipe or {}), art
