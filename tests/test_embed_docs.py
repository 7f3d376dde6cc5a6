"""``embed`` doc2vec (docs query, feature extractor for ``train``) and ``embed plot`` (Hangul labels)."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from nlpcli import artifacts
from nlpcli.embed import store
from nlpcli.embed.train import EmbedConfig, train
from nlpcli.errors import ArtifactKindError, DependencyError, UsageError
from nlpcli.text.recipe import Recipe
from nlpcli.textio import InputSpec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN_TSV = os.path.join(ROOT, "sample_data", "reviews-train.tsv")


@pytest.fixture(scope="module")
def d2v(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("d2v") / "d2v.model")
    config = EmbedConfig(
        algo="doc2vec", arch="dbow", dbow_words=True, dim=32, min_count=1, epochs=20, workers=2, seed=1
    )
    train([TRAIN_TSV], InputSpec(), Recipe(keep="hangul"), config, out, id_column="id")
    return out


def first_rows(n: int = 3) -> list[list[str]]:
    with open(TRAIN_TSV, encoding="utf-8") as fh:
        next(fh)
        return [next(fh).rstrip("\n").split("\t") for _ in range(n)]


def test_doc2vec_model_loads_in_gensim_and_keeps_ids_and_texts(d2v):
    from gensim.models import Doc2Vec

    model = Doc2Vec.load(os.path.join(d2v, "model.gensim"))
    assert len(model.dv) == 4000
    manifest = store.read_manifest(d2v)
    assert manifest["kind"] == "doc2vec" and manifest["recipe"]["keep"] == "hangul"
    from nlpcli.embed.docs import similar_documents

    doc_id, text, _ = first_rows(1)[0]
    hits = similar_documents(d2v, text, topn=5)
    assert len(hits) == 5 and all({"id", "score", "text"} <= set(h) for h in hits)
    by_id = dict(row.split("\t")[:2] for row in open(TRAIN_TSV, encoding="utf-8").read().splitlines()[1:])
    assert all(by_id[h["id"]] == h["text"] for h in hits)  # each vector's id and text belong together
    # gensim's own ranking of the stored vectors, mapped through doc_ids.txt
    model, _ = store.load_gensim(d2v, ("doc2vec",))
    tag, _ = model.dv.most_similar(0, topn=1)[0]
    with open(os.path.join(d2v, "doc_ids.txt"), encoding="utf-8") as fh:
        ids = fh.read().split("\n")
    assert ids[0] == doc_id and ids[int(tag)] in by_id


def test_docs_cli(d2v):
    result = subprocess.run(
        [sys.executable, "-m", "nlpcli", "embed", "docs", d2v, "정말 재미있는 영화", "-n", "3"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert len(rows) == 3 and all(len(r) == 3 for r in rows)


def test_word_queries_on_doc2vec_with_and_without_word_vectors(d2v, tmp_path):
    from nlpcli.embed.index import WordIndex

    assert WordIndex(d2v).similar(["영화"], topn=2)  # --dbow-words trained them
    plain = str(tmp_path / "plain.model")
    train(
        [TRAIN_TSV],
        InputSpec(),
        Recipe(),
        EmbedConfig(algo="doc2vec", dim=8, min_count=2, epochs=1, workers=1),
        plain,
    )
    with pytest.raises(ArtifactKindError, match="without word vectors"):
        WordIndex(plain)


def test_feature_extractor_for_train(d2v, tmp_path):
    from nlpcli.features.extractors import load_feature_extractor

    extractor, recipe, art = load_feature_extractor(d2v)
    assert art.kind == "doc2vec" and recipe.keep == "hangul" and extractor.n_features == 32
    texts = [r[1] for r in first_rows(3)] * 40
    X = extractor.transform(texts)
    assert X.shape == (120, 32) and X.dtype == np.float32 and np.isfinite(X).all()
    # inside a classifier artifact: loads through the allowlist, without the training documents' vectors
    path = str(tmp_path / "clf.joblib")
    artifacts.save(path, "vectorizer", extractor)
    loaded = artifacts.load(path).payload
    assert loaded.model.dv.vectors.shape[0] == 0 and extractor.model.dv.vectors.shape[0] == 4000
    assert loaded.transform(texts[:2]).shape == (2, 32)
    assert os.path.getsize(path) < sum(os.path.getsize(os.path.join(d2v, f)) for f in os.listdir(d2v))


def test_doc2vec_features_separate_sentiment(d2v):
    """Inferred vectors carry signal: logistic regression beats chance on held-out reviews (4,000 short
    reviews are little for doc2vec: ~0.60 here; the benchmark on 150k reviews reaches 0.8)."""
    from sklearn.linear_model import LogisticRegression

    from nlpcli.embed.docs import load_features

    rows = [
        line.rstrip("\n").split("\t") for line in open(TRAIN_TSV, encoding="utf-8").read().splitlines()[1:]
    ]
    feats, _ = load_features(d2v)
    pre = feats.recipe
    from nlpcli.text.recipe import Preprocessor

    texts = Preprocessor(pre).process([r[1] for r in rows])
    X = feats.transform(texts)
    y = np.array([int(r[2]) for r in rows])
    clf = LogisticRegression(max_iter=1000).fit(X[:3000], y[:3000])
    assert (clf.predict(X[3000:]) == y[3000:]).mean() > 0.56


# -- plot --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def w2v_small(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("w2v") / "small.model")
    train(
        [os.path.join(ROOT, "sample_data", "reviews-unlabeled.txt.gz")],
        InputSpec(),
        Recipe(),
        EmbedConfig(dim=16, min_count=5, epochs=1, workers=1),
        out,
    )
    return out


def test_plot_renders_hangul_without_missing_glyphs(w2v_small, tmp_path):
    pytest.importorskip("matplotlib")  # a dependency of embed plot (pyproject: matplotlib>=3.6)
    from nlpcli.embed.plot import plot_words

    for method in ("pca", "tsne"):
        out = str(tmp_path / f"words-{method}.png")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            n = plot_words(w2v_small, ["영화", "배우"], out, neighbours=5, method=method)
        glyphs = [str(w.message) for w in caught if "Glyph" in str(w.message) or "missing" in str(w.message)]
        assert glyphs == []
        assert n >= 3
        with open(out, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_font_errors(w2v_small, tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")

    from nlpcli import plotting
    from nlpcli.embed.plot import plot_words

    with pytest.raises(UsageError, match="no such file"):
        plot_words(w2v_small, ["영화"], str(tmp_path / "a.png"), font=str(tmp_path / "none.ttf"))
    dejavu = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")
    with pytest.raises(UsageError, match="no Hangul"):
        plot_words(w2v_small, ["영화"], str(tmp_path / "a.png"), font=dejavu)
    monkeypatch.setattr(plotting, "_CHOSEN", {})
    monkeypatch.setattr(plotting, "covers", lambda path, text=plotting.PROBE: False)
    with pytest.raises(DependencyError, match="fonts-nanum"):
        plotting.find_korean_font()
    assert not (tmp_path / "a.png").exists()


def test_cli_help_imports_nothing_heavy():
    code = "import sys, nlpcli.cli; bad = [m for m in ('gensim', 'sklearn', 'torch', 'matplotlib') if m in sys.modules]; print(bad)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
