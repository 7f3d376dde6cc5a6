"""``nlpcli vectorize``: same vocabulary as scikit-learn, the augmented weighting, artifacts round trip."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp

from nlpcli.errors import DataError, UsageError
from nlpcli.features.vectorizers import (AugmentedTfidfTransformer, TextFeatures, VectorizerConfig,
                                         parse_df, parse_ngram)
from nlpcli.textio import read_records

DOCS = ["영화 가 정말 좋다", "영화 가 별로 다", "배우 연기 가 좋다 좋다", "OST 가 Good"]


def test_parse_ngram_and_df():
    assert parse_ngram("1,2") == (1, 2) and parse_ngram("3") == (3, 3)
    assert parse_df("3", "--min-df") == 3 and parse_df("0.9", "--max-df") == 0.9
    for bad in ("2,1", "0,1", "a,b"):
        with pytest.raises(UsageError):
            parse_ngram(bad)
    with pytest.raises(UsageError):
        parse_df("1.5", "--max-df")


def test_same_vocabulary_and_matrix_as_sklearn(sample):
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [r.text for r in read_records(str(sample / "reviews-train.tsv"))][:1500]
    ours = TextFeatures(VectorizerConfig(kind="tfidf", ngram=(1, 2), min_df=2, max_df=0.9))
    X = ours.fit_transform(texts)
    ref = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_df=0.9, lowercase=False,
                          tokenizer=str.split, token_pattern=None)
    Y = ref.fit_transform(texts)
    assert ours.vectorizer.vocabulary_ == ref.vocabulary_
    assert abs(X - Y).max() < 1e-12


def test_tokens_are_used_as_they_are():
    features = TextFeatures(VectorizerConfig(kind="count"))
    features.fit_transform(DOCS)
    vocab = features.vectorizer.vocabulary_
    assert "OST" in vocab and "Good" in vocab and "가" in vocab  # no lowercasing, no 2-char pattern
    lower = TextFeatures(VectorizerConfig(kind="count", lowercase=True))
    lower.fit_transform(DOCS)
    assert "ost" in lower.vectorizer.vocabulary_


def test_augmented_weighting_formula():
    counts = sp.csr_matrix(np.array([[2, 1, 0], [0, 1, 0], [1, 0, 3]], dtype=float))
    t = AugmentedTfidfTransformer().fit(counts)
    W = t.transform(counts).toarray()
    n = 3
    df = np.array([2, 2, 1])
    idf = np.log(n / (1 + df))
    expected = np.zeros((3, 3))
    for d in range(3):
        row = counts.toarray()[d]
        for j in range(3):
            if row[j]:
                expected[d, j] = (0.5 + 0.5 * row[j] / row.max()) * idf[j]
    assert np.allclose(W, expected)
    assert math.isclose(idf[2], math.log(1.5))


def test_char_ngram_block_and_inspect_summary():
    features = TextFeatures(VectorizerConfig(ngram=(1, 1), char_ngram=(1, 2)))
    X = features.fit_transform(DOCS)
    n_word = len(features.vectorizer.vocabulary_)
    n_char = len(features.char_vectorizer.vocabulary_)
    assert X.shape == (4, n_word + n_char) and n_char > n_word
    summary = features.summary(top=3)
    assert summary["most_frequent"][0] == ["가", 4]
    assert summary["features"] == n_word + n_char
    assert features.transform(["영화 가 좋다"]).shape == (1, n_word + n_char)


def test_empty_vocabulary_is_a_data_error():
    with pytest.raises(DataError, match="cannot build a vocabulary"):
        TextFeatures(VectorizerConfig(min_df=5)).fit_transform(DOCS)
    with pytest.raises(DataError, match="no documents"):
        TextFeatures(VectorizerConfig()).fit_transform([])


def test_cli_fit_transform_inspect(cli, sample, tmp_path):
    vec = tmp_path / "v.joblib"
    res = cli("vectorize", "fit", str(sample / "reviews-train.tsv"), "-t", "kiwi", "--ngram", "1,2",
              "--min-df", "2", "-o", str(vec), "--matrix-out", str(tmp_path / "X.npz"),
              "--label-column", "label", "--labels-out", str(tmp_path / "y.txt"))
    assert res.code == 0, res.err
    X = sp.load_npz(tmp_path / "X.npz")
    labels = (tmp_path / "y.txt").read_text().split()
    assert X.shape[0] == 4000 == len(labels) and set(labels) == {"0", "1"}
    # the recipe travels with the artifact: raw text in, the same features out
    res = cli("vectorize", "transform", str(vec), str(sample / "reviews-train.tsv"), "-o", str(tmp_path / "X2.npz"))
    assert res.code == 0, res.err
    X2 = sp.load_npz(tmp_path / "X2.npz")
    assert X2.shape == X.shape and abs(X2 - X).max() < 1e-12
    res = cli("vectorize", "inspect", str(vec), "--json", "--top", "5")
    info = json.loads(res.out)
    assert info["documents"] == 4000 and info["features"] == X.shape[1]
    assert info["preprocess"].startswith("morphs --tagger kiwi")
    assert len(info["most_frequent"]) == 5


def test_cli_errors(cli, sample, tmp_path):
    res = cli("vectorize", "transform", str(sample / "reviews-train.tsv"), "-", input="x\n")
    assert res.code == 1 and "not an nlpcli artifact" in res.err
    res = cli("vectorize", "fit", str(sample / "reviews-train.tsv"), "--ngram", "2,1", "-o", str(tmp_path / "v"))
    assert res.code == 2 and "n-gram" in res.err
    res = cli("vectorize", "fit", str(sample / "reviews-train.tsv"), "--labels-out", str(tmp_path / "y"))
    assert res.code == 2
    assert not list(tmp_path.iterdir())


def test_lecture_is_another_name_for_the_augmented_weighting():
    assert VectorizerConfig(weighting="lecture").weighting == "augmented"
    a = TextFeatures(VectorizerConfig(weighting="lecture")).fit_transform(DOCS)
    b = TextFeatures(VectorizerConfig(weighting="augmented")).fit_transform(DOCS)
    assert np.allclose(a.toarray(), b.toarray())
