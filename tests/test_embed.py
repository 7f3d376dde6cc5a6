"""``nlpcli embed``: training, the numpy query index against gensim, evaluation, errors."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nlpcli.embed import store
from nlpcli.embed.index import WordIndex, ft_hash, ngram_bytes
from nlpcli.embed.train import EmbedConfig, train
from nlpcli.errors import ArtifactKindError, ArtifactVersionError, CorruptArtifactError, DataError, UsageError
from nlpcli.text.recipe import Recipe
from nlpcli.textio import InputSpec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "sample_data")
UNLABELED = os.path.join(SAMPLE, "reviews-unlabeled.txt.gz")


def _corpus(tmp_path_factory, lines: int = 8000) -> str:
    """The first ``lines`` sample reviews as a pre-tokenized plain file (whitespace tokens)."""
    path = tmp_path_factory.mktemp("corpus") / "reviews.txt"
    with gzip.open(UNLABELED, "rt", encoding="utf-8") as src, open(path, "w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i >= lines:
                break
            dst.write(" ".join(line.split()) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return _corpus(tmp_path_factory)


@pytest.fixture(scope="module")
def w2v(tmp_path_factory, corpus):
    out = str(tmp_path_factory.mktemp("models") / "w2v.model")
    config = EmbedConfig(algo="word2vec", dim=24, min_count=3, epochs=2, workers=1, seed=3)
    train([corpus], InputSpec(), Recipe(), config, out)
    return out


@pytest.fixture(scope="module")
def fasttext(tmp_path_factory, corpus):
    out = str(tmp_path_factory.mktemp("models") / "ft.model")
    config = EmbedConfig(
        algo="fasttext",
        arch="skipgram",
        dim=16,
        min_count=3,
        epochs=1,
        workers=1,
        min_n=1,
        max_n=3,
        bucket=5000,
    )
    train([corpus], InputSpec(), Recipe(), config, out)
    return out


def nlpcli(*args, input: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "nlpcli", *args], capture_output=True, text=True, input=input, cwd=ROOT
    )


# -- training ---------------------------------------------------------------------------------


def test_model_loads_in_gensim_with_gensims_vocabulary(w2v, corpus):
    from gensim.models import Word2Vec

    ours = Word2Vec.load(os.path.join(w2v, "model.gensim"))
    manifest = store.read_manifest(w2v)
    assert manifest["kind"] == "word2vec" and manifest["params"]["dim"] == 24
    assert manifest["data"]["vocabulary"] == len(ours.wv) > 1000
    direct = Word2Vec(
        corpus_file=corpus,
        **EmbedConfig(algo="word2vec", dim=24, min_count=3, epochs=2, workers=1, seed=3).gensim_params(),
    )
    assert ours.wv.index_to_key == direct.wv.index_to_key
    # one worker and the same seed: the very same vectors
    np.testing.assert_allclose(ours.wv.vectors, direct.wv.vectors, atol=1e-6)


def test_gzip_and_raw_text_go_through_the_tokenized_cache(tmp_path):
    out = tmp_path / "m"
    config = EmbedConfig(dim=8, min_count=5, epochs=1, workers=1)
    first = train([UNLABELED], InputSpec(), Recipe(keep="hangul"), config, str(out))
    cache = first["data"]["tokenized_corpus"]
    assert cache and os.path.dirname(cache) == str(tmp_path) and os.path.exists(cache)
    with open(cache, encoding="utf-8") as fh:
        assert not any(ch in fh.read(20000) for ch in ".!?0123456789")  # --keep hangul applied
    mtime = os.path.getmtime(cache)
    again = train(
        [UNLABELED],
        InputSpec(),
        Recipe(keep="hangul"),
        EmbedConfig(dim=8, min_count=5, epochs=1, workers=1),
        str(tmp_path / "m2"),
    )
    assert again["data"]["tokenized_corpus"] == cache and os.path.getmtime(cache) == mtime
    assert again["data"]["vocabulary"] == first["data"]["vocabulary"]


def test_empty_corpus_and_nothing_reaching_min_count(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    blank = tmp_path / "blank.txt.gz"
    with gzip.open(blank, "wt") as fh:
        fh.write("\n \n\n")
    for corpus in (empty, blank):
        with pytest.raises(DataError, match="no words"):
            train([str(corpus)], InputSpec(), Recipe(), EmbedConfig(workers=1), str(tmp_path / "m"))
    rare = tmp_path / "rare.txt"
    rare.write_text("하나 둘 셋\n넷 다섯\n")
    with pytest.raises(DataError, match="min-count"):
        train([str(rare)], InputSpec(), Recipe(), EmbedConfig(min_count=2, workers=1), str(tmp_path / "m"))
    assert not (tmp_path / "m").exists()  # nothing half-written
    result = nlpcli("embed", "train", str(empty), "-o", str(tmp_path / "m"))
    assert result.returncode == 1 and "no words" in result.stderr and "Traceback" not in result.stderr


def test_bad_options_are_usage_errors():
    with pytest.raises(UsageError):
        EmbedConfig(algo="word2vec", arch="dbow")
    with pytest.raises(UsageError):
        EmbedConfig(algo="glove")
    with pytest.raises(UsageError):
        EmbedConfig(dbow_words=True)


def test_output_over_a_foreign_directory_is_refused(tmp_path, corpus):
    other = tmp_path / "photos"
    other.mkdir()
    (other / "a.jpg").write_text("x")
    with pytest.raises(DataError, match="not an nlpcli embed model"):
        train([corpus], InputSpec(), Recipe(), EmbedConfig(min_count=50, epochs=1, workers=1), str(other))
    assert (other / "a.jpg").exists()


# -- queries against gensim ---------------------------------------------------------------------


def test_similar_analogy_similarity_vector_match_gensim(w2v):
    from gensim.models import Word2Vec

    wv = Word2Vec.load(os.path.join(w2v, "model.gensim")).wv
    index = WordIndex(w2v)
    for pos, neg in (
        (["영화"], []),
        (["영화", "배우"], []),
        (["영화"], ["최악"]),
        (["정말", "재미"], ["영화"]),
    ):
        ours = index.similar(pos, neg, topn=10)
        theirs = wv.most_similar(positive=pos, negative=neg, topn=10)
        assert [h.word for h in ours] == [w for w, _ in theirs]
        np.testing.assert_allclose([h.score for h in ours], [s for _, s in theirs], atol=1e-5)
    a = index.analogy("영화", "배우", "드라마", topn=3)
    assert [h.word for h in a] == [
        w for w, _ in wv.most_similar(positive=["배우", "드라마"], negative=["영화"], topn=3)
    ]
    assert index.similarity("영화", "드라마") == pytest.approx(
        float(wv.similarity("영화", "드라마")), abs=1e-5
    )
    np.testing.assert_array_equal(index.raw_vector("영화"), wv["영화"])


def test_query_path_never_imports_gensim(w2v):
    code = (
        "import sys, io; from nlpcli.embed.query import run; out = io.StringIO(); "
        f"run('similar', {w2v!r}, ['영화'], out, topn=3); "
        "assert 'gensim' not in sys.modules and 'sklearn' not in sys.modules, 'imported'; print(out.getvalue())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip().splitlines()) == 3


def test_cli_queries_single_batch_and_json(w2v):
    one = nlpcli("embed", "similar", w2v, "영화", "--topn", "4")
    assert one.returncode == 0, one.stderr
    rows = [line.split("\t") for line in one.stdout.splitlines()]
    assert len(rows) == 4 and all(len(r) == 2 and -1 <= float(r[1]) <= 1 for r in rows)
    batch = nlpcli("embed", "similar", w2v, "-n", "2", input="영화\n배우 드라마\n")
    assert batch.returncode == 0
    lines = batch.stdout.splitlines()
    assert len(lines) == 4 and lines[0].startswith("영화\t") and lines[2].startswith("배우 드라마\t")
    js = nlpcli("embed", "analogy", w2v, "영화", "배우", "드라마", "--json")
    obj = json.loads(js.stdout)
    assert obj["query"] == ["영화", "배우", "드라마"] and len(obj["results"]) == 1
    sim = nlpcli("embed", "similarity", w2v, "영화", "드라마")
    assert -1 <= float(sim.stdout) <= 1
    vec = nlpcli("embed", "vector", w2v, "영화")
    assert len(vec.stdout.split()) == 24
    assert "A is to B as C is to ?" in nlpcli("embed", "analogy", "--help").stdout


def test_unknown_word_is_a_clear_error(w2v):
    index = WordIndex(w2v)
    with pytest.raises(Exception, match="not in the model's vocabulary") as info:
        index.similar(["영화를를"])
    assert "영화를" in str(info.value) or "영화" in str(info.value)  # nearest known spellings
    result = nlpcli("embed", "similar", w2v, "없는낱말xyz")
    assert result.returncode == 1 and "not in the model's vocabulary" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    batch = nlpcli("embed", "similar", w2v, "-n", "1", input="없는낱말xyz\n영화\n")
    assert batch.returncode == 1 and batch.stdout.startswith("영화\t")  # the batch goes on


def test_fasttext_answers_unseen_words_like_gensim(fasttext):
    from gensim.models import FastText
    from gensim.models.fasttext_inner import compute_ngrams_bytes, ft_hash_bytes

    for word in ("영화", "재밌었어요ㅋㅋ", "a", "Zoë", "王추천", "👍좋아"):
        assert ngram_bytes(word, 1, 4) == compute_ngrams_bytes(word, 1, 4)
        for gram in ngram_bytes(word, 1, 4):
            assert ft_hash(gram) == ft_hash_bytes(gram)
    wv = FastText.load(os.path.join(fasttext, "model.gensim")).wv
    index = WordIndex(fasttext)
    unseen = "영화였다니요오"
    assert unseen not in wv.key_to_index
    np.testing.assert_allclose(index.raw_vector(unseen), wv[unseen], atol=1e-6)
    ours = index.similar([unseen], topn=5)
    theirs = wv.most_similar(unseen, topn=5)
    assert [h.word for h in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([h.score for h in ours], [s for _, s in theirs], atol=1e-5)


# -- artifacts ---------------------------------------------------------------------------------


def _copy(model: str, tmp_path) -> str:
    import shutil

    dst = str(tmp_path / "copy.model")
    shutil.copytree(model, dst)
    return dst


def test_truncated_files_are_caught(w2v, tmp_path):
    for name in ("index.npy", "model.gensim"):
        copy = _copy(w2v, tmp_path / name)
        path = os.path.join(copy, name)
        with open(path, "r+b") as fh:
            fh.truncate(os.path.getsize(path) // 2)
        with pytest.raises(CorruptArtifactError, match="truncated"):
            WordIndex(copy)
        result = nlpcli("embed", "similar", copy, "영화")
        assert result.returncode == 1 and "truncated" in result.stderr


def test_newer_version_wrong_kind_and_not_a_model(w2v, tmp_path):
    copy = _copy(w2v, tmp_path)
    mpath = os.path.join(copy, "nlpcli.json")
    manifest = json.load(open(mpath))
    manifest["nlpcli_version"] = "99.0"
    json.dump(manifest, open(mpath, "w"))
    with pytest.raises(ArtifactVersionError, match="newer"):
        WordIndex(copy)
    with pytest.raises(ArtifactKindError, match="doc2vec"):
        store.read_manifest(w2v, ("doc2vec",))
    result = nlpcli("embed", "docs", w2v, "좋은 영화")
    assert result.returncode == 1 and "word2vec" in result.stderr and "doc2vec" in result.stderr
    result = nlpcli("embed", "similar", str(tmp_path), "영화")
    assert result.returncode == 1 and "not an nlpcli embed model" in result.stderr


def test_gensim_pickle_is_loaded_through_the_allowlist(w2v, tmp_path):
    import pickle

    from nlpcli.errors import UntrustedArtifactError

    model, _ = store.load_gensim(w2v)
    assert model.wv.most_similar("영화", topn=1)
    copy = _copy(w2v, tmp_path)
    evil = os.path.join(copy, "model.gensim")

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with open(evil, "wb") as fh:
        pickle.dump({"x": Evil()}, fh)
    # a forged model: its manifest lists the evil file with a matching size and checksums, so
    # only the allowlist stands between the file and the code it names
    manifest = json.load(open(os.path.join(copy, "nlpcli.json")))
    manifest["files"]["model.gensim"] = os.path.getsize(evil)
    manifest["crc32"]["model.gensim"] = store._crc32(evil)
    del manifest["checksum"]
    manifest["checksum"] = store._manifest_crc(manifest)
    json.dump(manifest, open(os.path.join(copy, "nlpcli.json"), "w"))
    with pytest.raises(UntrustedArtifactError, match="system"):
        store.load_gensim(copy)


def test_export_formats_load_in_gensim(w2v, tmp_path):
    from gensim.models import KeyedVectors

    from nlpcli.embed.export import export

    ref = WordIndex(w2v)
    for fmt, binary in (("word2vec-text", False), ("word2vec-bin", True)):
        out = str(tmp_path / f"v.{fmt}")
        assert export(w2v, out, fmt, limit=100) == 100
        kv = KeyedVectors.load_word2vec_format(out, binary=binary)
        assert kv.index_to_key == ref.words[:100]
        np.testing.assert_allclose(kv["영화"], ref.raw_vector("영화"), atol=1e-5)


# -- evaluation --------------------------------------------------------------------------------


def _eval_files(index: WordIndex, tmp_path) -> tuple[str, str]:
    words = index.words[20:200]
    rng = np.random.default_rng(0)
    lines = []
    for section in ("sem", "syn"):
        lines.append(f": {section}")
        for _ in range(40):
            lines.append(" ".join(rng.choice(words, 4, replace=False)))
        lines.append("없는말 영화 배우 드라마")
    analogies = tmp_path / "analogies.txt"
    analogies.write_text("\n".join(lines) + "\n", encoding="utf-8")
    pairs = tmp_path / "pairs.tsv"
    rows = ["# comment"] + [f"{a}\t{b}\t{rng.uniform(0, 10):.2f}" for a, b in zip(words[:60], words[60:120])]
    pairs.write_text("\n".join(rows + ["없는말\t영화\t5.0"]) + "\n", encoding="utf-8")
    return str(analogies), str(pairs)


def test_evaluate_matches_gensim(w2v, tmp_path):
    from gensim.models import Word2Vec

    from nlpcli.embed.evaluate import evaluate

    analogies, pairs = _eval_files(WordIndex(w2v), tmp_path)
    report = evaluate(w2v, analogies, pairs)
    wv = Word2Vec.load(os.path.join(w2v, "model.gensim")).wv
    score, sections = wv.evaluate_word_analogies(analogies)
    assert report["analogies"]["accuracy"] == pytest.approx(score)
    for ours, theirs in zip(report["analogies"]["sections"], sections):
        assert ours["correct"] == len(theirs["correct"])
    assert report["analogies"]["oov_rate"] == pytest.approx(2 / 82)
    pearson, spearman, oov = wv.evaluate_word_pairs(pairs)
    assert report["pairs"]["spearman"] == pytest.approx(spearman.statistic, abs=1e-6)
    assert report["pairs"]["pearson"] == pytest.approx(pearson.statistic, abs=1e-6)
    assert 100 * report["pairs"]["oov_rate"] == pytest.approx(oov)
    cli = nlpcli("embed", "evaluate", w2v, "--analogies", analogies, "--pairs", pairs)
    assert cli.returncode == 0 and "spearman" in cli.stdout and "analogies" in cli.stdout


def test_fasttext_evaluation_answers_every_pair(fasttext, tmp_path):
    from nlpcli.embed.evaluate import evaluate

    _, pairs = _eval_files(WordIndex(fasttext), tmp_path)
    report = evaluate(fasttext, None, pairs)
    assert report["pairs"]["oov_rate"] == 0 and report["pairs_vocab_only"]["oov_rate"] > 0


KOREAN_SECTIONS = (
    "sem1_capital-conturies",
    "sem2_male-female",
    "sem3_name-nationality",
    "sem4_country-language",
    "sem5_misc",
    "syn1_case",
    "syn2_tense",
    "syn3_voice",
    "syn4_form",
    "syn5_honorific",
)


def _korean_style_eval_files(index: WordIndex, tmp_path) -> tuple[str, str]:
    """Files shaped like the Korean word-evaluation sets (Korean analogy test set, Korean WS-353):
    ten named sections, a few questions out of vocabulary, comment lines and a repeated pair."""
    words = index.words[10:300]
    rng = np.random.default_rng(1)
    lines = []
    for section in KOREAN_SECTIONS:
        lines.append(f": {section}")
        lines += [" ".join(rng.choice(words, 4, replace=False)) for _ in range(12)]
        lines.append(f"{words[0]} 없는말 {words[1]} {words[2]}")
    analogies = tmp_path / "analogy.txt"
    analogies.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = ["# Korean WS-353 shape: word1<TAB>word2<TAB>score", "# scores on a 0-10 scale"]
    rows += [f"{a}\t{b}\t{rng.uniform(0, 10):.2f}" for a, b in zip(words[:50], words[50:100])]
    rows += [rows[-1], "없는말\t영화\t5.0"]
    pairs = tmp_path / "similarity.tsv"
    pairs.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(analogies), str(pairs)


def test_korean_style_eval_sets_match_gensim(w2v, tmp_path):
    from gensim.models import Word2Vec

    from nlpcli.embed.evaluate import evaluate

    analogies, pairs = _korean_style_eval_files(WordIndex(w2v), tmp_path)
    report = evaluate(w2v, analogies, pairs)
    wv = Word2Vec.load(os.path.join(w2v, "model.gensim")).wv
    score, sections = wv.evaluate_word_analogies(analogies)
    assert [s["section"] for s in report["analogies"]["sections"]] == list(KOREAN_SECTIONS)
    assert report["analogies"]["correct"] == len(sections[-1]["correct"])
    assert report["analogies"]["accuracy"] == pytest.approx(score)
    _, spearman, oov = wv.evaluate_word_pairs(pairs)
    assert 100 * report["pairs"]["oov_rate"] == pytest.approx(oov)
    assert report["pairs"]["spearman"] == pytest.approx(spearman.statistic, abs=1e-6)


# --------------------------------------------------------------------------------------------
# the tokenized corpus cache: a folder that cannot be written, two runs at once


def test_cache_goes_to_the_user_cache_folder_when_the_folder_is_not_writable(tmp_path, monkeypatch, capsys):
    """As root no chmod makes a folder unwritable, so the writability check is made to fail for
    the model's folder (``corpus.writable`` patched): the cache must land in $XDG_CACHE_HOME/nlpcli
    with one note on stderr, and the model still be written."""
    from nlpcli.embed import corpus as corpus_mod

    models = tmp_path / "models"
    models.mkdir()
    real = corpus_mod.writable
    monkeypatch.setattr(corpus_mod, "writable", lambda folder: folder != str(models) and real(folder))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    config = EmbedConfig(dim=8, min_count=5, epochs=1, workers=1)
    manifest = train([UNLABELED], InputSpec(), Recipe(keep="hangul"), config, str(models / "m"))
    cache = manifest["data"]["tokenized_corpus"]
    assert os.path.dirname(cache) == str(tmp_path / "xdg" / "nlpcli") and os.path.getsize(cache) > 0
    assert sorted(os.listdir(models)) == ["m"]
    err = capsys.readouterr().err
    assert err.count("is not writable") == 1 and str(tmp_path / "xdg" / "nlpcli") in err
    # the next run finds it there
    again = train([UNLABELED], InputSpec(), Recipe(keep="hangul"), config, str(models / "m2"))
    assert again["data"]["tokenized_corpus"] == cache


def test_writable_probe_fails_where_a_file_cannot_be_created(tmp_path):
    from nlpcli.embed.corpus import writable

    assert writable(str(tmp_path))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert not writable(str(blocker / "sub"))  # below a regular file: nothing can be created


def test_two_runs_at_once_share_or_rebuild_the_cache_without_corrupting_it(tmp_path):
    """Two processes started together on the same input (a TSV column, so the cache is needed):
    both succeed, the cache holds exactly the tokens of one complete pass, no partial file is left."""
    src = tmp_path / "in.tsv"
    with gzip.open(UNLABELED, "rt", encoding="utf-8") as fh:
        lines = [fh.readline().strip().replace("\t", " ") for _ in range(3000)]
    src.write_text("text\n" + "\n".join(lines) + "\n", encoding="utf-8")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nlpcli",
                "-q",
                "embed",
                "train",
                str(src),
                "-o",
                str(tmp_path / f"m{i}"),
                "--dim",
                "8",
                "--min-count",
                "2",
                "--epochs",
                "1",
                "--workers",
                "1",
            ],
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        for i in range(2)
    ]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    caches = sorted(n for n in os.listdir(tmp_path) if ".tokens-" in n)
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".part")]
    tokens = [n for n in caches if n.endswith(".txt")]
    assert len(tokens) == 1, caches
    with open(tmp_path / tokens[0], encoding="utf-8") as fh:
        cached = fh.read().split("\n")
    assert cached[:-1] == [" ".join(line.split()) for line in lines]
    meta = json.loads((tmp_path / tokens[0].replace(".txt", ".json")).read_text(encoding="utf-8"))
    assert meta["documents"] == len(lines)


def test_queries_checksum_the_files_they_read_and_the_rest_when_read(w2v, tmp_path):
    """A query reads vocab.txt and index.npy: a flipped byte there is refused; one in a file the
    query never opens (gensim's arrays) is refused by the command that does open it."""
    from nlpcli.errors import CorruptArtifactError

    def flipped(name: str) -> str:
        copy = _copy(w2v, tmp_path / name)
        path = os.path.join(copy, name)
        data = bytearray(open(path, "rb").read())
        data[len(data) // 2] ^= 0x01
        open(path, "wb").write(bytes(data))
        return copy

    for name in (store.VOCAB, store.INDEX):
        with pytest.raises(CorruptArtifactError, match=f"{name}: checksum mismatch"):
            WordIndex(flipped(name))
    gensim_arrays = flipped("model.gensim.wv.vectors.npy")
    index = WordIndex(gensim_arrays)
    assert [h.word for h in index.similar(["영화"], topn=3)] == [
        h.word for h in WordIndex(w2v).similar(["영화"], topn=3)
    ]
    with pytest.raises(CorruptArtifactError, match="vectors.npy: checksum mismatch"):
        index.raw_vector("영화")  # the raw vectors live in that file
    with pytest.raises(CorruptArtifactError, match="checksum mismatch"):
        store.read_manifest(gensim_arrays)  # every file, as loading the gensim model does
