"""``nlpcli embed import``: every format against gensim's own loaders, bad inputs, the round trip."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nlpcli.embed import store
from nlpcli.embed.importer import import_vectors
from nlpcli.embed.index import WordIndex
from nlpcli.errors import DataError, UsageError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNLABELED = os.path.join(ROOT, "sample_data", "reviews-unlabeled.txt.gz")


def nlpcli(*args, input: str | bytes | None = None):
    return subprocess.run(
        [sys.executable, "-m", "nlpcli", *args],
        capture_output=True,
        text=not isinstance(input, bytes),
        input=input,
        cwd=ROOT,
    )


def _sentences(lines: int = 4000) -> list[list[str]]:
    with gzip.open(UNLABELED, "rt", encoding="utf-8") as fh:
        return [line.split() for _, line in zip(range(lines), fh)]


@pytest.fixture(scope="module")
def sentences():
    return _sentences()


@pytest.fixture(scope="module")
def kv(sentences):
    """Small gensim word vectors trained on the sample reviews."""
    from gensim.models import Word2Vec

    return Word2Vec(sentences, vector_size=20, min_count=3, epochs=1, workers=1, seed=5).wv


@pytest.fixture(scope="module")
def files(tmp_path_factory, kv):
    """The same vectors as word2vec text, word2vec binary and GloVe (no header)."""
    d = tmp_path_factory.mktemp("vectors")
    text, binary, glove = d / "kv.vec", d / "kv.bin", d / "kv.glove.txt"
    kv.save_word2vec_format(str(text), binary=False)
    kv.save_word2vec_format(str(binary), binary=True)
    with open(text, encoding="utf-8") as src, open(glove, "w", encoding="utf-8") as dst:
        next(src)
        dst.writelines(src)
    return {"word2vec-text": str(text), "word2vec-binary": str(binary), "glove": str(glove)}


@pytest.fixture(scope="module")
def ft_bin(tmp_path_factory, sentences):
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    model = FastText(
        sentences, vector_size=12, min_count=3, epochs=1, workers=1, seed=2, min_n=1, max_n=3, bucket=3000
    )
    path = str(tmp_path_factory.mktemp("ft") / "ft.bin")
    save_facebook_model(model, path)
    return path


def _gensim_load(fmt: str, path: str, limit: int | None = None):
    from gensim.models import KeyedVectors
    from gensim.models.fasttext import load_facebook_vectors

    if fmt == "fasttext-bin":
        return load_facebook_vectors(path)
    return KeyedVectors.load_word2vec_format(
        path, binary=fmt == "word2vec-binary", no_header=fmt == "glove", limit=limit
    )


def _assert_same_answers(model: str, ref, probes: list[str]) -> None:
    index = WordIndex(model)
    assert index.words == list(ref.index_to_key)
    np.testing.assert_array_equal(np.load(os.path.join(model, store.RAW_VECTORS)), ref.vectors)
    for word in probes:
        ours = index.similar([word], topn=10)
        theirs = ref.most_similar(word, topn=10)
        assert [h.word for h in ours] == [w for w, _ in theirs]
        np.testing.assert_allclose([h.score for h in ours], [s for _, s in theirs], atol=1e-5)
        np.testing.assert_array_equal(index.raw_vector(word), ref[word])


# -- every format against gensim ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["word2vec-text", "word2vec-binary", "glove"])
def test_word2vec_and_glove_files_answer_as_gensim(tmp_path, files, kv, fmt):
    out = str(tmp_path / "m")
    manifest = import_vectors(files[fmt], out)  # --format auto
    assert manifest["kind"] == "vectors" and manifest["params"]["format"] == fmt
    assert manifest["words"] == len(kv) and manifest["dim"] == 20
    src = manifest["source"]
    assert src["path"] == os.path.abspath(files[fmt]) and src["size"] == os.path.getsize(files[fmt])
    assert src["bytes_read"] == src["size"] and len(src["sha256"]) == 64
    ref = _gensim_load(fmt, files[fmt])
    _assert_same_answers(out, ref, kv.index_to_key[:3] + kv.index_to_key[200:202])
    hits = WordIndex(out).similar([kv.index_to_key[0], kv.index_to_key[5]], [kv.index_to_key[9]])
    theirs = ref.most_similar([kv.index_to_key[0], kv.index_to_key[5]], [kv.index_to_key[9]])
    assert [h.word for h in hits] == [w for w, _ in theirs]


def test_fasttext_bin_keeps_its_ngrams_as_gensim_load_facebook_vectors(tmp_path, ft_bin):
    out = str(tmp_path / "ft")
    manifest = import_vectors(ft_bin, out)
    assert manifest["params"]["format"] == "fasttext-bin"
    assert manifest["subwords"] == {"min_n": 1, "max_n": 3, "bucket": 3000}
    ref = _gensim_load("fasttext-bin", ft_bin)
    # in-vocabulary vectors are gensim's adjusted ones (word row and n-gram rows averaged)
    _assert_same_answers(out, ref, ref.index_to_key[:3] + ref.index_to_key[100:102])
    index = WordIndex(out)
    for unseen in ("영화관람객들", "재밌었어요요", "ㅋㅋㅋ배우"):
        assert unseen not in ref.key_to_index
        np.testing.assert_allclose(index.raw_vector(unseen), ref[unseen], rtol=0, atol=1e-7)
        ours = index.similar([unseen], topn=10)
        theirs = ref.most_similar(unseen, topn=10)
        assert [h.word for h in ours] == [w for w, _ in theirs]
        np.testing.assert_allclose([h.score for h in ours], [s for _, s in theirs], atol=1e-5)
    result = nlpcli("embed", "similar", out, "영화관람객들", "-n", "3")
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 3


def test_limit_takes_the_first_words_as_gensim(tmp_path, files):
    for fmt in ("word2vec-text", "word2vec-binary", "glove"):
        out = str(tmp_path / fmt)
        manifest = import_vectors(files[fmt], out, fmt, limit=50)
        assert manifest["words"] == 50 and manifest["params"]["limit"] == 50
        ref = _gensim_load(fmt, files[fmt], limit=50)
        _assert_same_answers(out, ref, ref.index_to_key[:2])


def test_cli_import_then_every_query(tmp_path, files, kv):
    out = str(tmp_path / "m")
    result = nlpcli("embed", "import", files["word2vec-text"], "-o", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and "MB/s" in result.stderr
    word = kv.index_to_key[0]
    for args in (
        ("similar", out, word),
        ("analogy", out, *kv.index_to_key[1:4]),
        ("similarity", out, word, kv.index_to_key[1]),
        ("vector", out, word),
    ):
        result = nlpcli("embed", *args)
        assert result.returncode == 0 and result.stdout, (args, result.stderr)
    vec = [float(x) for x in nlpcli("embed", "vector", out, word).stdout.split()]
    np.testing.assert_allclose(vec, kv[word], rtol=1e-7)
    docs = nlpcli("embed", "docs", out, "좋은 영화")
    assert docs.returncode == 1 and "doc2vec" in docs.stderr and "Traceback" not in docs.stderr


def test_fasttext_bin_limit_keeps_the_first_words_and_every_ngram(tmp_path, ft_bin):
    out = str(tmp_path / "ft")
    manifest = import_vectors(ft_bin, out, limit=30)
    ref = _gensim_load("fasttext-bin", ft_bin)
    words, vectors = store.load_word_vectors(out)
    assert manifest["words"] == 30 and words == ref.index_to_key[:30]
    np.testing.assert_array_equal(vectors, ref.vectors[:30])
    beyond = ref.index_to_key[40]  # past the limit: answered from its n-grams alone, as an unseen word
    np.testing.assert_array_equal(WordIndex(out).raw_vector(beyond), WordIndex(out).oov_vector(beyond))
    np.testing.assert_allclose(WordIndex(out).raw_vector("처음보는말"), ref["처음보는말"], rtol=0, atol=1e-7)


def test_stdin(tmp_path, files, kv, ft_bin):
    with open(ft_bin, "rb") as fh:
        result = nlpcli("embed", "import", "-", "-o", str(tmp_path / "ft"), input=fh.read())
    assert result.returncode == 0, result.stderr
    assert store.read_manifest(str(tmp_path / "ft"))["subwords"]["bucket"] == 3000
    for fmt in ("word2vec-text", "word2vec-binary", "glove"):
        out = str(tmp_path / fmt)
        with open(files[fmt], "rb") as fh:
            result = nlpcli("embed", "import", "-", "-o", out, input=fh.read())
        assert result.returncode == 0, result.stderr
        manifest = store.read_manifest(out)
        assert manifest["source"]["path"] == "-" and manifest["params"]["format"] == fmt
        assert WordIndex(out).words == list(kv.index_to_key)


# -- what other code reads -------------------------------------------------------------------------


def test_load_word_vectors_reads_imported_and_trained_models(tmp_path, files, kv, ft_bin):
    out = str(tmp_path / "m")
    import_vectors(files["word2vec-binary"], out)
    words, vectors = store.load_word_vectors(out)
    assert words == list(kv.index_to_key) and vectors.dtype == np.float32
    np.testing.assert_array_equal(vectors, kv.vectors)
    ft = str(tmp_path / "ft")
    import_vectors(ft_bin, ft)
    words, vectors = store.load_word_vectors(os.path.join(ft, store.MANIFEST))
    np.testing.assert_array_equal(vectors, _gensim_load("fasttext-bin", ft_bin).vectors)


def test_trained_model_round_trip_through_export(tmp_path):
    from nlpcli.embed.train import EmbedConfig, train
    from nlpcli.text.recipe import Recipe
    from nlpcli.textio import InputSpec

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(s) for s in _sentences(3000)) + "\n", encoding="utf-8")
    model = str(tmp_path / "w2v")
    train([str(corpus)], InputSpec(), Recipe(), EmbedConfig(dim=16, min_count=3, epochs=1, workers=1), model)
    words, vectors = store.load_word_vectors(model)
    from gensim.models import Word2Vec

    np.testing.assert_array_equal(vectors, Word2Vec.load(os.path.join(model, store.GENSIM_FILE)).wv.vectors)
    for fmt in ("word2vec-text", "word2vec-bin"):
        exported = str(tmp_path / f"out.{fmt}")
        assert nlpcli("embed", "export", model, "-o", exported, "--format", fmt).returncode == 0
        back = str(tmp_path / f"back-{fmt}")
        result = nlpcli("embed", "import", exported, "-o", back)
        assert result.returncode == 0, result.stderr
        for word in words[:3] + words[150:152]:
            a = nlpcli("embed", "similar", model, word).stdout
            assert a and nlpcli("embed", "similar", back, word).stdout == a
        assert WordIndex(back).words == words
        if fmt == "word2vec-bin":
            np.testing.assert_array_equal(store.load_word_vectors(back)[1], vectors)


# -- bad inputs ---------------------------------------------------------------------------------------


def _write(path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


BAD_TEXT = {
    "short_line": (
        b"3 2\na 0.1 0.2\nb 0.3\nc 0.5 0.6\n",
        "kv.vec:3:",
        "1 numbers after the word 'b', expected 2",
    ),
    "not_a_number": (b"2 2\na 0.1 0.2\nb 0.3 x7\n", "kv.vec:3:", "not a number: 'x7'"),
    "header_too_big": (b"4 2\na 0.1 0.2\nb 0.3 0.4\n", "kv.vec:4:", "header says 4 words"),
    "header_too_small": (b"1 2\na 0.1 0.2\nb 0.3 0.4\n", "kv.vec:3:", "--limit 1"),
    "empty_line": (b"3 2\na 0.1 0.2\n\nb 0.3 0.4\n", "kv.vec:3:", "empty line"),
    "bad_utf8": (b"1 2\n\xff\xfe 0.1 0.2\n", "kv.vec:2:", "not valid UTF-8"),
    "no_header": (b"a b c\n", "kv.vec:1:", "cannot tell the format"),
}


@pytest.mark.parametrize("case", sorted(BAD_TEXT))
def test_bad_text_files_are_one_clear_error_and_leave_nothing(tmp_path, case):
    data, where, message = BAD_TEXT[case]
    path = _write(tmp_path / "kv.vec", data)
    out = tmp_path / "m"
    result = nlpcli("embed", "import", path, "-o", str(out))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nlpcli: error: ") and "Traceback" not in result.stderr
    assert where in lines[0] and message in lines[0], lines[0]
    assert not out.exists() and sorted(os.listdir(tmp_path)) == ["kv.vec"]  # no half model, no temp dir


def test_truncated_binary_and_fasttext_files(tmp_path, files, ft_bin):
    with open(files["word2vec-binary"], "rb") as fh:
        data = fh.read()
    path = _write(tmp_path / "cut.bin", data[: len(data) - 30])
    with pytest.raises(DataError, match="truncated"):
        import_vectors(path, str(tmp_path / "m"))
    with open(ft_bin, "rb") as fh:
        data = fh.read()
    path = _write(tmp_path / "cut-ft.bin", data[: len(data) // 3])
    with pytest.raises(DataError, match="truncated"):
        import_vectors(path, str(tmp_path / "m"))
    assert not (tmp_path / "m").exists()


def test_duplicate_words_keep_the_first_vector_as_gensim(tmp_path):
    path = _write(tmp_path / "dup.vec", b"4 2\na 1 0\nb 0 1\na 0.5 0.5\nc 1 1\n")
    result = nlpcli("embed", "import", path, "-o", str(tmp_path / "m"))
    assert (
        result.returncode == 0 and "1 duplicate words skipped" in result.stderr and "line 4" in result.stderr
    )
    ref = _gensim_load("word2vec-text", path)
    # gensim 4.4 leaves a None word with a zero vector at the end (its matrix is not trimmed): not copied
    assert ref.index_to_key == ["a", "b", "c", None]
    index = WordIndex(str(tmp_path / "m"))
    assert index.words == ["a", "b", "c"]
    np.testing.assert_array_equal(np.load(tmp_path / "m" / store.RAW_VECTORS), ref.vectors[:3])
    assert [(h.word, round(h.score, 5)) for h in index.similar(["a"], topn=2)] == [
        (w, round(s, 5)) for w, s in ref.most_similar("a", topn=2)
    ]
    assert store.read_manifest(str(tmp_path / "m"))["skipped"]["duplicate_words"] == 1


def test_trailing_spaces_and_blank_end_as_fasttext_vec_files(tmp_path):
    path = _write(tmp_path / "ft.vec", b"2 3\nx 0.1 0.2 0.3 \r\ny -1 2e-3 4 \n\n\n")
    import_vectors(path, str(tmp_path / "m"))
    ref = _gensim_load("word2vec-text", path)
    _assert_same_answers(str(tmp_path / "m"), ref, ["x"])


def test_bad_options(tmp_path, files):
    with pytest.raises(UsageError):
        import_vectors(files["glove"], str(tmp_path / "m"), fmt="csv")
    result = nlpcli("embed", "import", files["glove"], "-o", str(tmp_path / "m"), "--limit", "0")
    assert result.returncode == 2
    missing = nlpcli("embed", "import", str(tmp_path / "nope.vec"), "-o", str(tmp_path / "m"))
    assert missing.returncode == 1 and "nope.vec" in missing.stderr and "no such file" in missing.stderr
    wrong = nlpcli("embed", "import", files["glove"], "-o", str(tmp_path / "m"), "--format", "word2vec-text")
    assert wrong.returncode == 1 and "not a word2vec header" in wrong.stderr
    assert not (tmp_path / "m").exists()


def test_manifest_is_valid_json_with_the_file_sizes(tmp_path, files):
    out = tmp_path / "m"
    import_vectors(files["word2vec-text"], str(out))
    manifest = json.loads((out / store.MANIFEST).read_text(encoding="utf-8"))
    assert set(manifest["files"]) == {store.VOCAB, store.INDEX, store.RAW_VECTORS}
    assert manifest["arrays"] == {"vectors": store.RAW_VECTORS}
    index = np.load(out / store.INDEX)
    np.testing.assert_allclose(np.linalg.norm(index, axis=1), 1, atol=1e-6)


def test_imported_model_exports_and_imports_back_to_the_same_answers(tmp_path, files, ft_bin):
    first = str(tmp_path / "first")
    import_vectors(ft_bin, first)
    words, vectors = store.load_word_vectors(first)
    for fmt in ("word2vec-text", "word2vec-bin"):
        exported = str(tmp_path / f"out.{fmt}")
        result = nlpcli("embed", "export", first, "-o", exported, "--format", fmt)
        assert result.returncode == 0, result.stderr
        back = str(tmp_path / f"back-{fmt}")
        import_vectors(exported, back)
        assert store.load_word_vectors(back)[0] == words
        np.testing.assert_array_equal(store.load_word_vectors(back)[1], vectors)  # every float32 exact
        ref = _gensim_load("word2vec-binary" if fmt == "word2vec-bin" else "word2vec-text", exported)
        _assert_same_answers(back, ref, words[:2])
    limited = nlpcli("embed", "export", first, "-o", str(tmp_path / "top.vec"), "--limit", "7")
    assert limited.returncode == 0 and (tmp_path / "top.vec").read_text(encoding="utf-8").count("\n") == 8


def test_fasttext_words_that_are_not_utf8_are_escaped_as_gensim(tmp_path, ft_bin):
    from gensim.models.fasttext import load_facebook_vectors

    data = bytearray(open(ft_bin, "rb").read())
    ref = load_facebook_vectors(ft_bin)
    word = next(w for w in ref.index_to_key[50:] if len(w) >= 2)
    raw = word.encode("utf-8")
    at = data.index(b"\x00" + raw + b"\x00") + 1
    data[at] = 0xFF  # the word's first byte: no longer UTF-8
    path = _write(tmp_path / "bad.bin", bytes(data))
    result = nlpcli("embed", "import", path, "-o", str(tmp_path / "m"))
    assert result.returncode == 0 and "not valid UTF-8" in result.stderr, result.stderr
    ref = load_facebook_vectors(path)
    _assert_same_answers(str(tmp_path / "m"), ref, ref.index_to_key[:2])


def test_querying_a_vectors_file_directly_says_to_import_it(files):
    result = nlpcli("embed", "similar", files["word2vec-text"], "영화")
    assert (
        result.returncode == 1 and "nlpcli embed import" in result.stderr and "Traceback" not in result.stderr
    )


def test_binary_words_are_numbered_in_messages(tmp_path):
    def entry(word: bytes, *values: float) -> bytes:
        return word + b" " + np.array(values, dtype="<f4").tobytes()

    dup = _write(tmp_path / "dup.bin", b"3 2\n" + entry(b"a", 1, 0) + entry(b"b", 0, 1) + entry(b"\na", 2, 2))
    result = nlpcli("embed", "import", dup, "-o", str(tmp_path / "m"))
    assert result.returncode == 0 and "'a' (word 3, first on word 1)" in result.stderr, result.stderr
    assert WordIndex(str(tmp_path / "m")).words == ["a", "b"]
    np.testing.assert_array_equal(store.load_word_vectors(str(tmp_path / "m"))[1], [[1, 0], [0, 1]])
    bad = _write(tmp_path / "bad.bin", b"2 2\n" + entry(b"a", 1, 0) + entry(b"\xff", 0, 1))
    result = nlpcli("embed", "import", bad, "-o", str(tmp_path / "m2"))
    assert result.returncode == 1 and "bad.bin: word 2: the word b'\\xff' is not valid UTF-8" in result.stderr
    assert not (tmp_path / "m2").exists()
