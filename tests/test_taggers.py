"""Taggers: MeCab token for token, user dictionaries through recipes and artifacts, ``--tagger``
checked at parse time."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import needs_java

from nlpcli.errors import DataError, DependencyError, UsageError
from nlpcli.text.recipe import Preprocessor, Recipe, read_user_dict
from nlpcli.textio import read_records

COINED = "꿀잼"  # Kiwi splits it (꿀 + 잼) unless a user dictionary has it


def reviews(sample, n=None, name="reviews-test.tsv"):
    texts = [r.text for r in read_records(str(sample / name))]
    return texts[:n] if n else texts


@pytest.fixture
def user_dict(tmp_path):
    path = tmp_path / "words.tsv"
    path.write_text(f"# coined words\n{COINED}\tNNG\n\n믿보배\tNNG\t1.5\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# MeCab


def test_mecab_tokens_are_mecab_morphs_pos_and_nouns(sample):
    mecab = pytest.importorskip("mecab")
    m = mecab.MeCab()
    texts = reviews(sample, 300) + ["", "탭이\t들어간 글", "여러 줄\n글"]
    assert Preprocessor(Recipe("morphs", "mecab")).tokens(texts) == [m.morphs(t) for t in texts]
    pos = Preprocessor(Recipe("pos", "mecab")).tokens(texts[:50])
    assert pos == [[f"{w}/{t}" for w, t in m.pos(x)] for x in texts[:50]]
    assert Preprocessor(Recipe("nouns", "mecab")).tokens(texts[:50]) == [m.nouns(t) for t in texts[:50]]


def test_mecab_threads_keep_order(sample):
    pytest.importorskip("mecab")
    texts = reviews(sample)
    one = Preprocessor(Recipe("morphs", "mecab")).process(texts)
    assert Preprocessor(Recipe("morphs", "mecab"), threads=2).process(texts) == one


def test_mecab_has_no_stemming_or_normalizer():
    with pytest.raises(UsageError, match="--stem"):
        Recipe("morphs", "mecab", stem=True)
    with pytest.raises(UsageError, match="--norm"):
        Recipe("morphs", "mecab", norm=True)
    assert not Recipe("morphs", "mecab").uses_jvm


def test_mecab_missing_is_one_clear_error(monkeypatch):
    from nlpcli.text.taggers import MecabTagger

    monkeypatch.setitem(sys.modules, "mecab", None)
    with pytest.raises(DependencyError, match="pip install python-mecab-ko"):
        MecabTagger()


def test_cli_mecab_jobs_match_mecab(cli, sample):
    mecab = pytest.importorskip("mecab")
    texts = reviews(sample)
    r = cli(
        "preprocess", "morphs", "--tagger", "mecab", "-j", "2", str(sample / "reviews-test.tsv"), "-F", "text"
    )
    assert r.code == 0, r.err
    m = mecab.MeCab()
    assert [line.split() for line in r.out.splitlines()] == [m.morphs(t) for t in texts]


# --------------------------------------------------------------------------------------------
# --tagger choices


def test_cli_tagger_is_checked_at_parse_time(cli, sample):
    r = cli("preprocess", "morphs", "--tagger", "mecabb", input="좋은 영화\n")
    assert r.code == 2 and "'mecab'" in r.err and "'kiwi'" in r.err
    r = cli("vectorize", "fit", str(sample / "reviews-train.tsv"), "--tagger", "nope", "-o", "unused")
    assert r.code == 2 and "'okt'" in r.err


def test_cli_help_imports_no_tagger():
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nlpcli", "preprocess", "--help"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "--user-dict" in done.stdout
    loaded = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    heavy = {"kiwipiepy", "mecab", "_mecab", "konlpy", "jpype", "torch", "sklearn", "gensim"}
    assert not loaded & heavy


# --------------------------------------------------------------------------------------------
# user dictionaries


def test_read_user_dict(user_dict, tmp_path):
    assert read_user_dict(str(user_dict)) == [[COINED, "NNG", None], ["믿보배", "NNG", 1.5]]
    bad = tmp_path / "bad.tsv"
    for text, line, what in [
        ("꿀잼 NNG\n", 1, "word<TAB>tag"),
        ("좋다\tVV\n꿀잼\tnng\n", 2, "tag"),
        ("꿀잼\tNNG\tlots\n", 1, "score"),
        ("# only a comment\n", None, "no entries"),
    ]:
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(DataError, match=what) as err:
            read_user_dict(str(bad))
        assert str(err.value).startswith(f"{bad}:{line}: " if line else f"{bad}: ")


def test_recipe_stores_user_words_and_old_recipes_are_unchanged():
    plain = Recipe("morphs", "kiwi")
    assert "user_words" not in plain.to_dict()  # as recipes were before user dictionaries
    r = Recipe("morphs", "kiwi", user_words=[[COINED, "NNG", None], ["믿보배", "NNG", 1]])
    again = Recipe.from_dict(json.loads(json.dumps(r.to_dict())))
    assert again == r and again.user_words[1] == ["믿보배", "NNG", 1.0]
    assert r.describe() == "morphs --tagger kiwi (+2 user words)"
    for tagger in ("okt", "mecab", "kkma", "hannanum"):
        with pytest.raises(UsageError, match="kiwi or komoran"):
            Recipe("morphs", tagger, user_words=[[COINED, "NNG", None]])
    with pytest.raises(UsageError, match="kiwi or komoran"):
        Recipe("split", user_words=[[COINED, "NNG", None]])


def test_kiwi_user_word_is_kept_whole():
    pytest.importorskip("kiwipiepy")
    assert Preprocessor(Recipe("morphs", "kiwi")).process([f"{COINED} 영화"]) == ["꿀 잼 영화"]
    recipe = Recipe("morphs", "kiwi", user_words=[[COINED, "NNG", None]])
    assert Preprocessor(recipe).process([f"{COINED} 영화"]) == [f"{COINED} 영화"]
    assert Preprocessor(recipe, threads=2).process([f"{COINED} 영화"] * 3) == [f"{COINED} 영화"] * 3
    with pytest.raises(UsageError, match="Kiwi did not take"):
        Preprocessor(Recipe("morphs", "kiwi", user_words=[[COINED, "QQQ", None]])).tagger  # noqa: B018


@needs_java
def test_komoran_user_word_is_kept_whole(user_dict):
    recipe = Recipe("morphs", "komoran", user_words=read_user_dict(str(user_dict)))
    assert Preprocessor(Recipe("morphs", "komoran")).process([f"{COINED} 영화"]) != [f"{COINED} 영화"]
    assert Preprocessor(recipe).process([f"{COINED} 영화"]) == [f"{COINED} 영화"]


def test_cli_user_dict_errors(cli, user_dict, tmp_path):
    r = cli("preprocess", "morphs", "--tagger", "okt", "--user-dict", str(user_dict), input="x\n")
    assert r.code == 2 and "--user-dict works with --tagger kiwi or komoran" in r.err
    bad = tmp_path / "bad.tsv"
    bad.write_text(f"{COINED}\tNNG\n{COINED} NNG\n", encoding="utf-8")
    r = cli("preprocess", "morphs", "--tagger", "kiwi", "--user-dict", str(bad), input="x\n")
    assert r.code == 1 and r.err.strip().startswith(f"nlpcli: error: {bad}:2: ")
    r = cli(
        "preprocess", "morphs", "--tagger", "kiwi", "--user-dict", str(user_dict), input=f"{COINED} 영화\n"
    )
    assert r.code == 0 and r.out == f"{COINED} 영화\n", r.err


def test_user_words_travel_with_artifacts(cli, sample, user_dict, tmp_path):
    """A vectorizer fitted with a user dictionary tokenizes raw text with it later, on its own."""
    pytest.importorskip("kiwipiepy")
    import scipy.sparse as sp

    from nlpcli.features.vectorize import load

    vec = tmp_path / "v.nlpcli"
    r = cli(
        "vectorize",
        "fit",
        str(sample / "reviews-train.tsv"),
        "--tagger",
        "kiwi",
        "--user-dict",
        str(user_dict),
        "-o",
        str(vec),
    )
    assert r.code == 0, r.err
    user_dict.unlink()  # the entries are in the artifact, not the path
    features, recipe, _ = load(str(vec))
    assert recipe.user_words == [[COINED, "NNG", None], ["믿보배", "NNG", 1.5]]
    names = list(features.feature_names())
    assert COINED in names
    raw = tmp_path / "new.txt"
    raw.write_text(f"{COINED}\n", encoding="utf-8")
    r = cli("vectorize", "transform", str(vec), str(raw), "-o", str(tmp_path / "X.npz"))
    assert r.code == 0, r.err
    X = sp.load_npz(tmp_path / "X.npz")
    assert X[0, names.index(COINED)] > 0 and X[0].nnz == 1


def test_user_words_survive_into_predict(cli, sample, tmp_path):
    pytest.importorskip("kiwipiepy")
    from nlpcli.classify.predict import load_model
    from nlpcli.classify.train import TrainConfig, train
    from nlpcli.features.vectorizers import VectorizerConfig
    from nlpcli.textio import InputSpec

    recipe = Recipe("morphs", "kiwi", user_words=[[COINED, "NNG", None]])
    model = tmp_path / "m.joblib"
    train(
        [str(sample / "reviews-train.tsv")],
        InputSpec(label_column="label"),
        str(model),
        TrainConfig(model="logreg", recipe=recipe, features=VectorizerConfig(), dev_fraction=0.1),
    )
    loaded = load_model(str(model))
    assert loaded.recipe == recipe
    assert Preprocessor(loaded.recipe).process([f"{COINED} 영화"]) == [f"{COINED} 영화"]
    r = cli("predict", str(model), input=f"진짜 {COINED} 영화\n")
    assert r.code == 0 and r.out.split("\t")[0] in ("0", "1"), r.err


@pytest.mark.parametrize("name", ["mecab", "kiwi"])
def test_a_prepared_tagger_is_the_one_created_next_and_tags_the_same(name):
    from nlpcli.text import tagger_start as taggers

    texts = ["정말 재밌어요", "오늘 날씨가 좋네요", ""]
    taggers.prepare(name)
    prepared = taggers._PREPARED[(name, 1, ())][0]
    assert taggers.create_tagger(name) is prepared  # after its warm-up thread is done
    assert (name, 1, ()) not in taggers._PREPARED
    assert taggers.create_tagger(name) is not prepared  # used once: the next one is new
    assert prepared.pos(texts) == taggers.create_tagger(name).pos(texts)
    taggers.prepare(name, threads=2)
    assert taggers.create_tagger(name) is not taggers._PREPARED[(name, 2, ())][0]  # other options
    taggers._PREPARED.clear()


def test_preparing_an_unusable_tagger_leaves_the_error_to_create_tagger():
    from nlpcli.text import tagger_start as taggers

    taggers.prepare("no-such-tagger")
    assert not taggers._PREPARED
    with pytest.raises(UsageError, match="unknown tagger"):
        taggers.create_tagger("no-such-tagger")


@needs_java
def test_okt_few_texts_called_directly_tag_like_the_batched_stream(sample):
    from nlpcli.text.taggers import OktTagger

    texts = [r.text for r in read_records([str(sample / "reviews-test.tsv")])][:40] + [
        "ㅋㅋㅋ 진짜 재밌닼ㅋㅋ"
    ]
    tagger = OktTagger()
    for stem, norm in ((True, True), (False, False)):
        direct = [
            tagger.joined(texts[i : i + tagger.DIRECT], stem, norm)
            for i in range(0, len(texts), tagger.DIRECT)
        ]
        assert [line for part in direct for line in part] == tagger.joined(texts, stem, norm)
