"""``nlpcli preprocess``: operations, taggers, filters, formats, parallel order."""

from __future__ import annotations

import json

import pytest
from conftest import needs_java

from nlpcli.errors import DependencyError, UsageError
from nlpcli.text.normalize import Normalizer
from nlpcli.text.recipe import Preprocessor, Recipe
from nlpcli.textio import read_records


def reviews(sample, n=None, name="reviews-test.tsv"):
    texts = [r.text for r in read_records(str(sample / name))]
    return texts[:n] if n else texts


def test_normalizer_squash_keep_nfc():
    assert Normalizer(squash=2)("ㅋㅋㅋㅋㅋ 재밌다!!!!!") == "ㅋㅋ 재밌다!!"
    assert Normalizer(keep="hangul")("최고!!영화 10점 ^^ good") == "최고 영화 점"
    decomposed = "\u1100\u1161\u11a8"  # 각 as jamo (NFD)
    assert Normalizer()(decomposed) == "각"
    assert Normalizer(nfc=False)(decomposed) == decomposed
    with pytest.raises(UsageError):
        Normalizer(keep="klingon")


def test_split_filters_stopwords_min_length_lowercase():
    pre = Preprocessor(Recipe(operation="split", stopwords=["은", "는"], min_length=2, lowercase=True))
    assert pre.process(["영화 는 정말 GOOD 굿", ""]) == ["영화 정말 good", ""]


def test_recipe_validation():
    with pytest.raises(UsageError, match="--norm"):
        Recipe(operation="morphs", tagger="kiwi", norm=True)
    with pytest.raises(UsageError, match="phrases"):
        Recipe(operation="phrases", tagger="kiwi")
    with pytest.raises(UsageError, match="unknown operation"):
        Recipe(operation="lemmas")
    r = Recipe(operation="morphs", tagger="okt", stem=True, norm=True, keep="hangul")
    assert Recipe.from_dict(json.loads(json.dumps(r.to_dict()))) == r
    assert r.describe() == "morphs --tagger okt --stem --norm --keep 'hangul'"


def test_kiwi_morphs_nouns_and_stem(sample):
    pre = Preprocessor(Recipe(operation="morphs", tagger="kiwi"))
    out = pre.process(["영화가 정말 재미있었어요", ""])
    assert out[0].split()[:2] == ["영화", "가"] and out[1] == ""
    stemmed = Preprocessor(Recipe(operation="morphs", tagger="kiwi", stem=True)).process(["재미있었어요"])[0]
    assert "재미있다" in stemmed.split()
    nouns = Preprocessor(Recipe(operation="nouns", tagger="kiwi")).process(["배우들의 연기가 훌륭한 영화"])[0]
    assert nouns.split() == ["배우", "연기", "영화"]


def test_kiwi_threads_keep_order(sample):
    texts = reviews(sample, 400)
    one = Preprocessor(Recipe(operation="morphs", tagger="kiwi")).process(texts)
    two = Preprocessor(Recipe(operation="morphs", tagger="kiwi"), threads=2).process(texts)
    assert one == two and len(one) == 400


def test_cache_does_not_change_results():
    pre = Preprocessor(Recipe(operation="morphs", tagger="kiwi"))
    pre.CACHE_LIMIT = 3
    texts = ["좋다", "싫다", "좋다", "그냥 그래", "최고", "좋다"]
    assert pre.process(texts) == pre.process(list(reversed(texts)))[::-1]


def test_missing_jvm_gives_a_clear_error(monkeypatch):
    import jpype

    from nlpcli.text import taggers

    monkeypatch.setattr(jpype, "isJVMStarted", lambda: False)

    def no_jvm():
        raise jpype.JVMNotFoundException("No JVM shared library file (libjvm.so) found.")

    monkeypatch.setattr(jpype, "getDefaultJVMPath", no_jvm)
    with pytest.raises(DependencyError, match=r"no Java runtime.*default-jre-headless.*--tagger kiwi"):
        taggers.check_jvm()


@needs_java
def test_okt_matches_konlpy_token_for_token_in_parallel(cli, sample, tmp_path):
    from konlpy.tag import Okt

    texts = reviews(sample, 300)
    src = tmp_path / "in.txt"
    src.write_text("\n".join(texts) + "\n", encoding="utf-8")
    res = cli("preprocess", "morphs", "--stem", "--norm", "-j", "2", str(src))
    assert res.code == 0, res.err
    okt = Okt()
    expected = [" ".join(okt.morphs(t, stem=True, norm=True)) for t in texts]
    assert res.out.splitlines() == expected


@needs_java
def test_okt_pos_nouns_phrases_normalize():
    from konlpy.tag import Okt

    okt = Okt()
    text = "이것도 되나욬ㅋㅋ 날카로운 분석과 신뢰감 있는 진행으로"
    pos = Preprocessor(Recipe(operation="pos", tagger="okt", norm=True)).process([text])[0]
    assert pos.split() == [f"{w}/{t}" for w, t in okt.pos(text, norm=True)]
    nouns = Preprocessor(Recipe(operation="nouns", tagger="okt")).process([text])[0]
    assert nouns.split() == okt.nouns(text)
    phrases = Preprocessor(Recipe(operation="phrases", tagger="okt")).process([text])[0]
    assert phrases.split() == [p.replace(" ", "_") for p in okt.phrases(text)]
    normalized = Preprocessor(Recipe(operation="normalize", tagger="okt", norm=True)).process(
        ["안녕하세욬ㅋㅋ"]
    )[0]
    assert normalized == okt.normalize("안녕하세욬ㅋㅋ")


def test_cli_tsv_passthrough_and_jsonl(cli, sample):
    res = cli("preprocess", "morphs", "-t", "kiwi", str(sample / "reviews-test.tsv"))
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert lines[0] == "id\tdocument\tlabel" and len(lines) == 1001
    src = [r for r in read_records(str(sample / "reviews-test.tsv"))]
    first = lines[1].split("\t")
    assert first[0] == src[0].fields["id"] and first[2] == src[0].fields["label"]
    res = cli("preprocess", "nouns", "-t", "kiwi", "-F", "jsonl", str(sample / "reviews-test.tsv"))
    rows = [json.loads(line) for line in res.out.splitlines()]
    assert len(rows) == 1000 and set(rows[0]) == {"id", "document", "label"}


def test_cli_stdin_and_output_file(cli, tmp_path):
    out = tmp_path / "o.txt"
    res = cli(
        "preprocess", "normalize", "--squash", "2", "-", "-o", str(out), input="ㅋㅋㅋㅋ 좋아요!!!!\n\n"
    )
    assert res.code == 0 and res.out == ""
    assert out.read_text(encoding="utf-8") == "ㅋㅋ 좋아요!!\n\n"


def test_cli_usage_errors_exit_2(cli):
    res = cli("preprocess", "morphs", "-t", "kiwi", "--norm", "-", input="x\n")
    assert res.code == 2 and res.err.count("\n") == 1 and "--norm" in res.err
    res = cli("preprocess", "bogus", "-", input="x\n")
    assert res.code == 2
    res = cli("preprocess", "--no-such-option")
    assert res.code == 2


@needs_java
def test_worker_processes_keep_order(cli, sample, tmp_path):
    # Komoran runs in worker processes (one JVM each) with --jobs: the same lines, in order
    src = tmp_path / "in.txt"
    src.write_text("\n".join(reviews(sample)) + "\n", encoding="utf-8")
    one = cli("preprocess", "morphs", "-t", "komoran", str(src))
    two = cli("preprocess", "morphs", "-t", "komoran", "-j", "2", str(src))
    assert one.code == 0 and two.code == 0, two.err
    assert two.out == one.out and len(two.out.splitlines()) == 1000
