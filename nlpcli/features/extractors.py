"""One way for models to get features out of any feature artifact.

``train --vectorizer FILE`` (and the models that embed it) accept every kind listed in
``EXTRACTOR_KINDS``; each loader returns an object with ``transform(texts) -> matrix`` over
texts already passed through the returned recipe, and ``n_features``.
"""

from __future__ import annotations

from typing import Any, Callable

from nlpcli import artifacts
from nlpcli.text.recipe import Recipe


def _vectorizer(art: artifacts.Artifact) -> Any:
    return art.payload


#: artifact kind -> function(Artifact) -> extractor; other modules add their kinds here.
EXTRACTOR_KINDS: dict[str, Callable[[artifacts.Artifact], Any]] = {"vectorizer": _vectorizer}


def load_feature_extractor(path: str, trust: bool = False) -> tuple[Any, Recipe, artifacts.Artifact]:
    art = artifacts.load(path, kinds=tuple(EXTRACTOR_KINDS), trust=trust)
    extractor = EXTRACTOR_KINDS[art.kind](art)
    return extractor, Recipe.from_dict(art.recipe or {}), art
