"""``nlpcli vectorize``: same vocabulary as scikit-learn, the augmented weighting, artifacts round trip."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp

from nlpcli.errors import DataError, UsageError
from nlpcli.features.vectorizers import (
    AugmentedTfidfTransformer,
    TextFeatures,
    VectorizerConfig,
    parse_df,
    parse_ngram,
)
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
    ref = TfidfVectorizer(
        ngram_range=(1, 2), min_df=2, max_df=0.9, lowercase=False, tokenizer=str.split, token_pattern=None
    )
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
    res = cli(
        "vectorize",
        "fit",
        str(sample / "reviews-train.tsv"),
        "-t",
        "kiwi",
        "--ngram",
        "1,2",
        "--min-df",
        "2",
        "-o",
        str(vec),
        "--matrix-out",
        str(tmp_path / "X.npz"),
        "--label-column",
        "label",
        "--labels-out",
        str(tmp_path / "y.txt"),
    )
    assert res.code == 0, res.err
    X = sp.load_npz(tmp_path / "X.npz")
    labels = (tmp_path / "y.txt").read_text().split()
    assert X.shape[0] == 4000 == len(labels) and set(labels) == {"0", "1"}
    # the recipe travels with the artifact: raw text in, the same features out
    res = cli(
        "vectorize", "transform", str(vec), str(sample / "reviews-train.tsv"), "-o", str(tmp_path / "X2.npz")
    )
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
    res = cli(
        "vectorize", "fit", str(sample / "reviews-train.tsv"), "--ngram", "2,1", "-o", str(tmp_path / "v")
    )
    assert res.code == 2 and "n-gram" in res.err
    res = cli("vectorize", "fit", str(sample / "reviews-train.tsv"), "--labels-out", str(tmp_path / "y"))
    assert res.code == 2
    assert not list(tmp_path.iterdir())


def test_lecture_is_another_name_for_the_augmented_weighting():
    assert VectorizerConfig(weighting="lecture").weighting == "augmented"
    a = TextFeatures(VectorizerConfig(weighting="lecture")).fit_transform(DOCS)
    b = TextFeatures(VectorizerConfig(weighting="augmented")).fit_transform(DOCS)
    assert np.allclose(a.toarray(), b.toarray())


STREAMED_CONFIGS = [
    dict(),
    dict(ngram=(1, 2), min_df=2, max_df=0.9),
    dict(ngram=(1, 2), max_features=500),
    dict(binary=True, max_features=300, min_df=2),
    dict(kind="count", ngram=(1, 3), min_df=3),
    dict(weighting="augmented", ngram=(1, 2), min_df=2),
    dict(sublinear_tf=True, char_ngram=(1, 3), min_df=2, max_df=0.5, max_features=4000),
    dict(analyzer="char_wb", ngram=(2, 4), max_features=1000),
    dict(lowercase=True, norm=None, max_df=50),
]


@pytest.mark.parametrize(
    "options", STREAMED_CONFIGS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items())
)
def test_fit_by_chunks_equals_the_in_memory_fit(sample, options):
    texts = [r.text for r in read_records(str(sample / "reviews-train.tsv"))]
    whole = TextFeatures(VectorizerConfig(**options))
    whole.fit_transform(texts)
    streamed = TextFeatures(VectorizerConfig(**options))
    streamed.fit_chunks((texts[i : i + 333], None) for i in range(0, len(texts), 333))
    assert streamed.vectorizer.vocabulary_ == whole.vectorizer.vocabulary_
    if hasattr(whole.vectorizer, "idf_"):
        assert np.array_equal(streamed.vectorizer.idf_, whole.vectorizer.idf_)
    if whole.char_vectorizer is not None:
        assert streamed.char_vectorizer.vocabulary_ == whole.char_vectorizer.vocabulary_
        assert np.array_equal(streamed.char_vectorizer.idf_, whole.char_vectorizer.idf_)
    assert np.array_equal(streamed.doc_freq, whole.doc_freq) and streamed.n_docs == whole.n_docs
    assert (streamed.transform(texts[:500]) != whole.transform(texts[:500])).nnz == 0


def test_counts_merge_in_any_order():
    from nlpcli.features.counting import TermCounts

    features = TextFeatures(VectorizerConfig(ngram=(1, 2)))
    whole, first, second = features.counters(), features.counters(), features.counters()
    features.count_chunk(whole, DOCS)
    features.count_chunk(first, DOCS[:1])
    features.count_chunk(second, DOCS[1:])
    merged = TermCounts().merge(second[0]).merge(first[0])
    for counts in (merged, first[0].merge(second[0])):
        terms, df, tf = counts.sorted_arrays()
        assert (terms, df.tolist(), tf.tolist()) == tuple(
            x if isinstance(x, list) else x.tolist() for x in whole[0].sorted_arrays()
        )
        assert counts.n_docs == 4


def test_hashed_features_need_no_vocabulary(sample):
    texts = [r.text for r in read_records(str(sample / "reviews-train.tsv"))]
    config = dict(hashing=16, ngram=(1, 2), char_ngram=(1, 3), min_df=2)
    whole = TextFeatures(VectorizerConfig(**config))
    X = whole.fit_transform(texts)
    assert X.shape == (len(texts), 2 * 2**16)
    streamed = TextFeatures(VectorizerConfig(**config))
    streamed.fit_chunks((texts[i : i + 500], None) for i in range(0, len(texts), 500))
    assert np.array_equal(streamed.doc_freq, whole.doc_freq)
    assert (streamed.transform(texts) != X).nnz == 0
    # the df bound drops the columns seen in one document only; each block of a row is unit length
    once = np.flatnonzero(whole.doc_freq == 1)
    assert len(once) and not set(X.indices) & set(once.tolist())
    for block in (X[:50, : 2**16], X[:50, 2**16 :]):
        norms = sp.linalg.norm(block, axis=1)
        assert np.allclose(norms[block.getnnz(axis=1) > 0], 1.0)
    summary = whole.summary()
    assert summary["hashing"] == 16 and "most_frequent" not in summary
    assert sum(n for _, n in summary["df_histogram"]) == 2 * 2**16
    with pytest.raises(UsageError, match="no names"):
        whole.feature_names()
    with pytest.raises(UsageError, match="--max-features"):
        VectorizerConfig(hashing=16, max_features=10)
    with pytest.raises(UsageError, match="--hashing"):
        VectorizerConfig(hashing=40)


def test_cli_hashing_and_the_streamed_matrix(cli, sample, tmp_path):
    vec = tmp_path / "h.joblib"
    res = cli(
        "vectorize",
        "fit",
        str(sample / "reviews-train.tsv"),
        "--hashing",
        "14",
        "--ngram",
        "1,2",
        "-o",
        str(vec),
        "--matrix-out",
        str(tmp_path / "X.npz"),
        "--label-column",
        "label",
        "--labels-out",
        str(tmp_path / "y.txt"),
    )
    assert res.code == 0, res.err
    res = cli(
        "vectorize", "transform", str(vec), str(sample / "reviews-train.tsv"), "-o", str(tmp_path / "X2.npz")
    )
    assert res.code == 0, res.err
    X, X2 = sp.load_npz(tmp_path / "X.npz"), sp.load_npz(tmp_path / "X2.npz")
    assert X.shape == (4000, 2**14) and (X != X2).nnz == 0
    gold = [line.split("\t")[2] for line in (sample / "reviews-train.tsv").read_text().splitlines()[1:]]
    assert (tmp_path / "y.txt").read_text().split("\n")[:-1] == gold
    info = json.loads(cli("vectorize", "inspect", str(vec), "--json").out)
    assert info["hashing"] == 14 and info["columns_used"] == int((np.asarray(X.sum(axis=0)) > 0).sum())
    res = cli("vectorize", "inspect", str(vec))
    assert res.code == 0 and "no vocabulary is kept" in res.out
    res = cli(
        "vectorize",
        "fit",
        str(sample / "reviews-train.tsv"),
        "--hashing",
        "14",
        "--max-features",
        "5",
        "-o",
        str(tmp_path / "bad.joblib"),
    )
    assert res.code == 2 and "--max-features" in res.err and not (tmp_path / "bad.joblib").exists()
    res = cli("vectorize", "fit", "-", "-o", str(tmp_path / "empty.joblib"), input="")
    assert res.code == 1 and "no documents" in res.err and not (tmp_path / "empty.joblib").exists()
