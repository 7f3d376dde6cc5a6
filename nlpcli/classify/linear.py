"""Linear models (logreg, linreg, sgd) scored with numpy from plain tables stored at train time:
the feature tables of :mod:`nlpcli.features.plain`, the weights, intercepts and classes, and how
scores become probabilities. ``predict`` then needs neither scikit-learn nor scipy, which take
about a second to import; the numbers are scikit-learn's.

:func:`export_scorer` builds the tables when a model is saved and keeps them only if they give
scikit-learn's own predictions (to :data:`TOLERANCE`) on sample documents; a model without them
(an older artifact, an mlp, doc2vec features) is scored by scikit-learn as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nlpcli.features.plain import PlainFeatures, Rows

#: the largest difference from scikit-learn's numbers that the train-time check accepts
TOLERANCE = 1e-9
#: documents the train-time check compares on (at most)
CHECK_DOCUMENTS = 300


def _link(estimator, task: str) -> str | None:
    """How the estimator's decision values become its output; None: not a linear model we cover."""
    name = type(estimator).__name__
    if task == "regression":
        return "identity" if name in ("Ridge", "LinearSVR", "CenteredRegressor", "SGDRegressor") else None
    binary = len(estimator.classes_) == 2
    if name == "LogisticRegression":
        return "expit" if binary else "softmax"
    if name == "SGDClassifier":
        if estimator.loss == "log_loss":
            return "expit" if binary else "ovr"
        if estimator.loss == "modified_huber":
            return "huber"
        return "decision"  # no probabilities: the scores only rank the labels
    return None


def export_scorer(model, texts: Sequence[str], raw: Sequence[str] | None = None) -> dict | None:
    """The plain tables of a fitted :class:`~nlpcli.classify.models.TextModel`, or None when they
    cannot reproduce its predictions on ``texts`` (plus documents made of its own terms)."""
    from nlpcli.features.plain import export_tables

    link = _link(model.estimator, model.task)
    features = export_tables(model.extractor) if link is not None else None
    if features is None:
        return None
    est = model.estimator
    coef = np.atleast_2d(np.asarray(est.coef_, dtype=np.float64))
    tables = {
        "features": features,
        "coef": np.ascontiguousarray(coef),
        "intercept": np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64)).copy(),
        "link": link,
        "classes": None if model.task == "regression" else np.asarray(est.classes_, dtype=np.int64),
    }
    if coef.shape[1] != PlainFeatures(features).n_features:
        return None
    docs = list(texts[:CHECK_DOCUMENTS]) + _probe_documents(features)
    raws = None
    if features["needs_raw"]:
        raws = (list(raw[:CHECK_DOCUMENTS]) if raw is not None else list(texts[:CHECK_DOCUMENTS])) + docs[
            min(len(texts), CHECK_DOCUMENTS) :
        ]
    return tables if _agrees(model, tables, docs, raws) else None


def _probe_documents(features: dict) -> list[str]:
    """A few documents made of the model's own terms (every n-gram length gets hits) and one
    empty document."""
    docs = [""]
    for block in features["blocks"]:
        terms = block["terms"]
        if terms is None:
            continue
        words = list(terms) if isinstance(terms, dict) else terms.split("\n", 200)[:200]
        docs += [" ".join(words[i : i + 7]) for i in range(0, len(words), 7)]
    return docs


def _agrees(model, tables: dict, docs: list[str], raws: list[str] | None) -> bool:
    X = PlainFeatures(tables["features"]).transform(docs, raws)
    mine_p, mine_v = score(tables, X, model.labels, model.value_range)
    theirs = model.predict_features(model.features(docs, raws))
    for a, b in ((mine_p, theirs.probabilities), (mine_v, theirs.values)):
        if (a is None) != (b is None):
            return False
        if a is not None and (a.shape != b.shape or not np.allclose(a, b, rtol=0.0, atol=TOLERANCE)):
            return False
    return True


def decision(tables: dict, X: Rows) -> np.ndarray:
    """``X @ coef.T + intercept`` (one column per row of ``coef``)."""
    n = len(X.indptr) - 1
    ids = X.row_ids
    coef = tables["coef"]
    out = np.empty((n, coef.shape[0]))
    for k in range(coef.shape[0]):
        out[:, k] = np.bincount(ids, weights=X.data * coef[k, X.indices], minlength=n)
    return out + tables["intercept"]


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _normalized(prob: np.ndarray) -> np.ndarray:
    """One-vs-rest probabilities normalized to sum to one (all zero: uniform), as scikit-learn does."""
    total = prob.sum(axis=1)
    zero = total == 0
    if zero.any():
        prob[zero, :] = 1
        total[zero] = prob.shape[1]
    return prob / total[:, None]


def softmax(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores)
    scores = scores[:, None] if scores.ndim == 1 else np.atleast_2d(scores)  # binary: one score a row
    if scores.shape[1] == 1:  # binary decision function
        scores = np.hstack([-scores, scores])
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


def probabilities(link: str, scores: np.ndarray) -> np.ndarray:
    """Class probabilities (or, for ``decision``, a softmax of the scores) from decision values."""
    if link == "expit":
        p = _expit(scores[:, 0])
        return np.stack([1 - p, p], axis=1)
    if link == "softmax":
        return softmax(scores)
    if link == "ovr":
        return _normalized(_expit(scores))
    if link == "huber":
        p = (np.clip(scores, -1, 1) + 1.0) / 2.0
        if scores.shape[1] == 1:
            return np.stack([1 - p[:, 0], p[:, 0]], axis=1)
        return _normalized(p)
    return softmax(scores[:, 0] if scores.shape[1] == 1 else scores)


def score(tables: dict, X: Rows, labels: list[str] | None, value_range=None):
    """``(probabilities, None)`` of a classifier or ``(None, values)`` of a regressor for the
    feature rows ``X`` (the fields of :class:`~nlpcli.classify.models.Prediction`)."""
    scores = decision(tables, X)
    if tables["classes"] is None:
        values = scores[:, 0]
        if value_range is not None:
            values = np.clip(values, *value_range)
        return None, values
    proba = probabilities(tables["link"], scores)
    classes = tables["classes"]
    if len(classes) != len(labels) or (classes != np.arange(len(classes))).any():
        full = np.zeros((proba.shape[0], len(labels)))
        full[:, classes] = proba
        proba = full
    return proba, None
