"""Linear models scored with numpy from the plain tables saved at train time: the same numbers as
scikit-learn's predict / predict_proba / decision_function, for every feature and model option,
and no scikit-learn or scipy import when predicting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nlpcli import artifacts
from nlpcli.classify.models import EstimatorConfig
from nlpcli.classify.train import TrainConfig, train
from nlpcli.features.plain import PlainFeatures, murmurhash3_32
from nlpcli.features.vectorizers import VectorizerConfig
from nlpcli.text.recipe import Recipe
from nlpcli.textio import InputSpec

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
SPLIT = Recipe("split")


def _column(path: Path, name: str, limit: int) -> list[str]:
    lines = path.read_text(encoding="utf-8").split("\n")
    index = lines[0].split("\t").index(name)
    return [line.split("\t")[index] for line in lines[1 : limit + 1] if line]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("linear")
    lines = (SAMPLE / "reviews-train.tsv").read_text(encoding="utf-8").split("\n")
    (d / "train.tsv").write_text("\n".join(lines[:1201]) + "\n", encoding="utf-8")
    ratings = (SAMPLE / "ratings-train.tsv").read_text(encoding="utf-8").split("\n")
    (d / "ratings.tsv").write_text("\n".join(ratings[:1201]) + "\n", encoding="utf-8")
    # documents the models never saw: the test split, plus an empty one and unknown words only
    texts = _column(SAMPLE / "reviews-test.tsv", "document", 300) + ["", "ㅁㄴㅇㄹ qwerty"]
    return d, texts


def _train(d: Path, name: str, model: str = "logreg", task: str = "classification", data="train.tsv", **opts):
    features = opts.pop("features", VectorizerConfig(ngram=(1, 2), min_df=2))
    sgd = opts.pop("sgd", None)
    cfg = TrainConfig(
        model=model,
        task=task,
        recipe=SPLIT,
        features=features,
        estimator=EstimatorConfig(**opts.pop("estimator", {})),
        **opts,
    )
    out = d / f"{name}.joblib"
    label = "rating" if data == "ratings.tsv" else "label"
    train([str(d / data)], InputSpec(label_column=label), str(out), cfg, sgd=sgd)
    return artifacts.load(out).payload


def _assert_same_as_sklearn(model, texts: list[str]) -> None:
    assert model.scoring is not None, "the plain tables were not kept"
    raw = texts if model.needs_raw else None
    few = model.predict(texts[:5], raw=raw[:5] if raw else None)  # terms found in the joined string
    # numpy from the tables (a dict of the terms); hashed features: scikit-learn past 64 documents
    plain = model.predict(texts, raw=raw)
    for a, b in ((few.probabilities, plain.probabilities), (few.values, plain.values)):
        if a is not None:
            np.testing.assert_allclose(a, b[:5], rtol=0, atol=1e-12)
    X = model.extractor.transform(texts, raw=raw) if model.needs_raw else model.extractor.transform(texts)
    mine = PlainFeatures(model.scoring["features"]).transform(texts, raw)
    assert mine.n_columns == X.shape[1]
    X = X.tocsr()
    X.sort_indices()
    np.testing.assert_array_equal(mine.indptr, X.indptr)
    np.testing.assert_array_equal(mine.indices, X.indices)
    np.testing.assert_allclose(mine.data, X.data, rtol=0, atol=1e-12)
    est = model.estimator
    if model.task == "regression":
        want = np.asarray(est.predict(X), dtype=float).ravel()
        if model.value_range is not None:
            want = np.clip(want, *model.value_range)
        np.testing.assert_allclose(plain.values, want, rtol=0, atol=1e-9)
        return
    if hasattr(est, "predict_proba"):
        want = est.predict_proba(X)
    else:  # the scores rank the labels; nlpcli shows their softmax
        from nlpcli.classify.models import softmax

        want = softmax(est.decision_function(X))
    np.testing.assert_allclose(plain.probabilities[:, est.classes_], want, rtol=0, atol=1e-9)
    assert (np.argmax(plain.probabilities, axis=1) == est.predict(X)).all()
    from nlpcli.classify.linear import decision

    np.testing.assert_allclose(
        decision(model.scoring, mine).squeeze(), est.decision_function(X), rtol=0, atol=1e-9
    )


@pytest.mark.parametrize(
    "features",
    [
        VectorizerConfig(ngram=(1, 2), min_df=2),
        VectorizerConfig(kind="count", ngram=(1, 3), binary=True),
        VectorizerConfig(ngram=(2, 2), sublinear_tf=True, norm="l1", lowercase=True),
        VectorizerConfig(ngram=(1, 2), weighting="augmented", min_df=2),
        VectorizerConfig(ngram=(1, 1), char_ngram=(1, 3)),
        VectorizerConfig(ngram=(1, 1), char_ngram=(2, 4), char_source="text"),
        VectorizerConfig(analyzer="char", ngram=(1, 3), min_df=2, max_df=0.5),
        VectorizerConfig(analyzer="char_wb", ngram=(2, 3), norm=None),
        VectorizerConfig(ngram=(1, 2), hashing=12, min_df=2),
        VectorizerConfig(ngram=(1, 2), hashing=10, char_ngram=(1, 2), weighting="augmented"),
        VectorizerConfig(kind="count", ngram=(1, 1), hashing=8, binary=True),
    ],
    ids=lambda f: f"{f.kind}-{f.analyzer}-{f.ngram}-{f.char_ngram}-{f.weighting}-{f.hashing}",
)
def test_logreg_features_score_like_sklearn(data, features):
    d, texts = data
    _assert_same_as_sklearn(_train(d, "f", features=features), texts)


@pytest.mark.parametrize(
    "model,task,opts",
    [
        ("logreg", "classification", {"estimator": {"solver": "lbfgs", "class_weight": "balanced"}}),
        ("linreg", "regression", {}),
        ("linreg", "regression", {"estimator": {"loss": "absolute", "clip": False}}),
    ],
)
def test_other_linear_models_score_like_sklearn(data, model, task, opts):
    d, texts = data
    source = "ratings.tsv" if task == "regression" else "train.tsv"
    _assert_same_as_sklearn(_train(d, "m", model=model, task=task, data=source, **opts), texts)


def test_multiclass_logreg_scores_like_sklearn(data):
    d, texts = data
    _assert_same_as_sklearn(_train(d, "multi", data="ratings.tsv"), texts)


@pytest.mark.parametrize(
    "loss,task",
    [
        ("log_loss", "classification"),
        ("hinge", "classification"),
        ("modified_huber", "classification"),
        (None, "regression"),
    ],
)
def test_sgd_scores_like_sklearn(data, loss, task):
    from nlpcli.classify.sgd import SgdConfig

    d, texts = data
    source = "ratings.tsv" if task == "regression" else "train.tsv"
    model = _train(
        d,
        f"sgd-{loss}",
        model="sgd",
        task=task,
        data=source,
        features=VectorizerConfig(ngram=(1, 2), hashing=14),
        dev=[str(d / source)],
        sgd=SgdConfig(task=task, loss=loss, epochs=2),
    )
    _assert_same_as_sklearn(model, texts)


def test_joined_terms_find_every_column(data):
    from nlpcli.features.plain import JoinedTerms

    d, _ = data
    block = _train(d, "terms").scoring["features"]["blocks"][0]
    terms = block["terms"].split("\n")
    joined = JoinedTerms(block["terms"])
    assert [joined.get(t) for t in terms] == list(range(len(terms)))
    assert [joined.get(t) for t in ("", "없는말", "없는말 없는말", "a\nb")] == [None] * 4


def test_murmurhash_matches_sklearn():
    from sklearn.utils import murmurhash3_32 as theirs

    for term in ["", "a", "ab", "abc", "abcd", "영화", "정말 재밌어요", " 재밌 ", "x" * 37]:
        assert murmurhash3_32(term.encode("utf-8")) == theirs(term, positive=False)


def test_the_tables_survive_a_save_and_the_old_objects_unpack(data, tmp_path):
    d, texts = data
    model = _train(d, "saved")
    assert model._packed is not None and model._extractor is None  # nothing of sklearn unpickled yet
    first = model.predict(texts[:5]).probabilities
    assert model.extractor.vectorizer.vocabulary_  # unpacked on demand, through the allowlist
    np.testing.assert_array_equal(model.predict(texts[:5]).probabilities, first)
    artifacts.save(tmp_path / "again.joblib", "classifier", model)
    again = artifacts.load(tmp_path / "again.joblib").payload
    np.testing.assert_array_equal(again.predict(texts[:5]).probabilities, first)


def test_a_refused_global_in_the_packed_part_is_refused(data, tmp_path):
    import pickle

    from nlpcli.errors import UntrustedArtifactError

    d, _ = data
    model = _train(d, "evil")
    model._packed = pickle.dumps((print, None))  # a global outside the allowlist
    model._extractor = model._estimator = None
    with pytest.raises(UntrustedArtifactError, match="refused"):
        _ = model.estimator


def test_predict_imports_neither_sklearn_nor_scipy(data, cli):
    d, _ = data
    _train(d, "light")
    code = (
        "import sys\n"
        "from nlpcli.classify.predict import load_model\n"
        f"m = load_model({str(d / 'light.joblib')!r})\n"
        "p = m.predict(['정말 재밌어요', ''])\n"
        "assert p.probabilities.shape == (2, 2)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('sklearn', 'scipy')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
