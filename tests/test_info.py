"""``nlpcli info``, the library versions in manifests, the tagger-version warning, ``--version``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from importlib import metadata
from pathlib import Path

import pytest
from conftest import REPO

from nlpcli import artifacts, versions
from nlpcli.embed import store

DATA = Path(__file__).parent / "data"
OLD = ["v0.1-logreg.joblib", "v0.1-rnn.pt", "v0.1-translator.pt"]
HEAVY = ("torch", "gensim", "sklearn")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _head(src: Path, dst: Path, n: int) -> Path:
    with open(src, encoding="utf-8") as fh:
        dst.write_text("".join(fh.readline() for _ in range(n + 1)), encoding="utf-8")
    return dst


@pytest.fixture(scope="module")
def made(tmp_path_factory, sample):
    """A Kiwi vectorizer with a user dictionary, a Kiwi logistic regression with a dev set, and
    a word2vec model, each from slices of sample_data."""
    from conftest import run_nlpcli as cli

    d = tmp_path_factory.mktemp("info")
    train = _head(sample / "reviews-train.tsv", d / "train.tsv", 400)
    dev = _head(sample / "reviews-test.tsv", d / "dev.tsv", 150)
    (d / "words.tsv").write_text("재밌닼\tNNG\n꿀잼\tNNG\n", encoding="utf-8")
    runs = [
        ("vectorize", "fit", str(train), "--tagger", "kiwi", "--user-dict", str(d / "words.tsv")),
        ("-o", str(d / "vec.joblib")),
        ("train", str(train), "--tagger", "kiwi", "--dev", str(dev), "--metrics-out", str(d / "m.json")),
        ("-o", str(d / "lr.joblib")),
        ("embed", "train", str(train), "--tagger", "kiwi", "--dim", "16", "--epochs", "1"),
        ("--min-count", "2", "-o", str(d / "w2v")),
    ]
    for args, out in zip(runs[::2], runs[1::2]):
        res = cli("-q", *args, *out)
        assert res.code == 0, res.err
    return d


def _info(cli, path) -> dict:
    res = cli("info", "--json", str(path))
    assert res.code == 0, res.err
    return json.loads(res.out)


def _documented_keys() -> list[str]:
    text = (REPO / "docs" / "artifacts.md").read_text(encoding="utf-8")
    section = text.split("## `nlpcli info`", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.M)


@pytest.mark.parametrize("name", OLD)
def test_info_reads_the_0_1_artifacts(cli, name):
    path = DATA / name
    manifest = artifacts.load(path).manifest
    info = _info(cli, path)
    assert list(info) == _documented_keys()
    assert info["manifest"] == json.loads(json.dumps(manifest))
    assert info["kind"] == manifest["kind"] and info["nlpcli_version"] == "0.1.0"
    assert info["checksum"] == "none" and info["libraries"] == {} and info["storage"] in ("joblib", "torch")
    assert info["bytes"] == os.path.getsize(path)
    data = manifest["data"]
    if manifest["kind"] == "translator":
        assert info["tokenizers"] == {"source": "whitespace", "target": "whitespace"}
        assert info["training_data"]["documents"] == data["train_pairs"]
        assert info["dev_metrics"]["bleu"] == data["best_dev_bleu"]
    else:
        assert info["model"] == manifest["params"]["model"]
        assert info["training_data"]["classes"] == data["label_counts"]
        assert info["training_data"]["documents"] == data["documents"]
        assert info["dev_metrics"] == data.get("dev_metrics")
    text = cli("info", str(path))
    assert text.code == 0 and text.err == ""
    assert re.search(r"^checksum +none", text.out, re.M)
    assert "not recorded (written by nlpcli 0.1)" in text.out


@pytest.mark.parametrize("name", ["v0.1-logreg.joblib", "v0.1-rnn.pt"])
def test_info_imports_no_heavy_library(name):
    code = (
        "import sys\nfrom nlpcli.cli import main\n"
        f"try:\n    main(['info', {str(DATA / name)!r}])\nexcept SystemExit as e:\n    assert e.code == 0\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "[]"
    assert "kind" in proc.stdout


def test_info_on_a_kiwi_vectorizer(cli, made):
    path = made / "vec.joblib"
    info = _info(cli, path)
    assert info["kind"] == "vectorizer" and info["storage"] == "joblib" and info["checksum"] == "verified"
    assert info["recipe"]["tagger"] == "kiwi" and info["user_words"] == 2
    assert info["preprocess"].startswith("morphs --tagger kiwi")
    assert info["training_data"]["documents"] == 400
    train = str(made / "train.tsv")
    assert info["training_data"]["inputs"] == [train]
    assert info["training_data"]["input_bytes"] == {train: os.path.getsize(train)}
    assert info["bytes"] == os.path.getsize(path)
    libs = info["libraries"]
    assert libs["kiwipiepy"] == _version("kiwipiepy") and libs["scikit-learn"] == _version("scikit-learn")
    assert libs["numpy"] == _version("numpy")
    assert not {"torch", "gensim", "konlpy", "java"} & set(libs)
    assert info["installed"] == libs
    assert info["params"] == artifacts.load(path).manifest["params"]


def test_info_on_a_logreg_model(cli, made):
    info = _info(cli, made / "lr.joblib")
    metrics = json.loads((made / "m.json").read_text(encoding="utf-8"))
    assert info["model"] == "logreg"
    assert info["dev_metrics"]["accuracy"] == pytest.approx(metrics["accuracy"])
    with open(made / "train.tsv", encoding="utf-8") as fh:
        labels = Counter(line.rstrip("\n").split("\t")[-1] for line in list(fh)[1:])
    assert info["training_data"]["classes"] == dict(labels)
    assert (
        info["training_data"]["dev"] == str(made / "dev.tsv")
        and info["training_data"]["dev_documents"] == 150
    )
    text = cli("info", str(made / "lr.joblib")).out
    assert re.search(r"^checksum +verified", text, re.M)
    assert re.search(rf"^  kiwipiepy +{re.escape(_version('kiwipiepy'))}$", text, re.M)
    assert re.search(r"^  estimator\.C +3\.5$", text, re.M)


def test_info_on_an_embed_model_directory(cli, made):
    model = made / "w2v"
    info = _info(cli, model)
    assert info["kind"] == "word2vec" and info["storage"] == "directory"
    assert info["checksum"] == "verified-files"
    on_disk = {n: os.path.getsize(model / n) for n in os.listdir(model) if n != store.MANIFEST}
    assert info["files"] == on_disk and info["bytes"] == sum(on_disk.values())
    assert info["libraries"]["gensim"] == _version("gensim") and "kiwipiepy" in info["libraries"]
    assert _info(cli, model / store.INDEX)["path"] == str(model)  # a file inside the model


def test_info_on_imported_vectors(cli, tmp_path):
    vec = tmp_path / "small.vec"
    vec.write_text("3 2\n영화 0.1 0.2\n배우 0.3 -0.1\n연기 0.0 1.0\n", encoding="utf-8")
    res = cli("-q", "embed", "import", str(vec), "-o", str(tmp_path / "imported"))
    assert res.code == 0, res.err
    info = _info(cli, tmp_path / "imported")
    assert info["kind"] == "vectors" and info["recipe"] is None and info["preprocess"] is None
    assert info["training_data"]["inputs"] == [str(vec)]
    assert info["training_data"]["input_bytes"] == {str(vec): os.path.getsize(vec)}
    assert info["training_data"]["other"]["vocabulary"] == 3
    assert info["libraries"] == {"numpy": _version("numpy")}


def test_info_on_a_new_torch_file_reads_only_the_manifest(tmp_path, cli):
    torch = pytest.importorskip("torch")
    path = tmp_path / "m.pt"
    layer = torch.nn.Linear(3, 2)
    recipe = {"operation": "morphs", "tagger": "kiwi"}
    written = artifacts.save_torch(
        path, "classifier", {"state_dict": layer.state_dict()}, params={"model": "rnn"}, recipe=recipe
    )
    assert artifacts.peek(path) == (written, True, "torch")
    assert set(written["libraries"]) == {"torch", "numpy", "kiwipiepy", "kiwipiepy_model"}
    info = _info(cli, path)
    assert info["checksum"] == "verified" and info["model"] == "rnn"


def test_peek_gives_the_manifest_load_gives(tmp_path):
    for name in OLD:
        assert artifacts.peek(DATA / name).manifest == artifacts.load(DATA / name).manifest
    import joblib

    compressed = tmp_path / "c.joblib"  # joblib's compressed format: read by a full load
    manifest = artifacts.make_manifest("vectorizer")
    joblib.dump({"nlpcli": manifest, "payload": {"x": [1, 2]}}, compressed, compress=3)
    assert artifacts.peek(compressed) == (manifest, False, "joblib")


def test_info_errors_are_those_of_loading(cli, made, tmp_path):
    broken = tmp_path / "broken.joblib"
    data = bytearray((made / "vec.joblib").read_bytes())
    data[len(data) // 2] ^= 0xFF
    broken.write_bytes(bytes(data))
    newer = tmp_path / "newer.joblib"
    artifacts.save(newer, "vectorizer", {}, extra={"nlpcli_version": "99.0.0"})
    model = tmp_path / "w2v"
    shutil.copytree(made / "w2v", model)
    with open(model / store.INDEX, "r+b") as fh:
        fh.truncate(os.path.getsize(model / store.INDEX) - 8)
    cases = [
        (broken, "checksum mismatch"),
        (newer, "newer than this nlpcli"),
        (REPO / "README.md", "not an nlpcli artifact"),
        (tmp_path / "nope.joblib", "no such file"),
        (model, "truncated"),
    ]
    for path, message in cases:
        res = cli("info", str(path))
        assert res.code == 1 and res.out == ""
        assert len(res.err.splitlines()) == 1 and message in res.err and "Traceback" not in res.err


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_info_never_runs_code_from_the_file(tmp_path, cli):
    import pickle

    marker = tmp_path / "pwned"
    path = tmp_path / "evil.joblib"
    with open(path, "wb") as fh:
        pickle.dump({"nlpcli": artifacts.make_manifest("vectorizer"), "payload": _Evil(marker)}, fh)
    res = cli("info", str(path))
    assert res.code == 0 and "vectorizer" in res.out
    assert not marker.exists()


def test_library_versions_by_kind():
    numpy = _version("numpy")
    assert versions.for_artifact("vectors") == {"numpy": numpy}
    spm = versions.for_artifact("translator", {"train": {"src_tokenizer": "spm", "tgt_tokenizer": "kiwi"}})
    assert set(spm) == {"torch", "numpy", "sentencepiece", "kiwipiepy", "kiwipiepy_model"}
    assert spm["sentencepiece"] == _version("sentencepiece") and spm["kiwipiepy"] == _version("kiwipiepy")
    pre_tokenized = versions.for_artifact("classifier", {"model": "logreg"}, {"operation": "split"})
    assert set(pre_tokenized) == {"scikit-learn", "scipy", "numpy"}
    mecab = versions.for_artifact("vectorizer", {}, {"operation": "morphs", "tagger": "mecab"})
    assert mecab["python-mecab-ko"] == _version("python-mecab-ko")
    assert mecab["python-mecab-ko-dic"] == _version("python-mecab-ko-dic")


def test_java_version_only_for_konlpy_taggers():
    okt = versions.for_artifact("vectorizer", {}, {"operation": "morphs", "tagger": "okt"})
    assert okt["konlpy"] == _version("konlpy")
    assert okt.get(versions.JAVA) == versions.java_version()
    if versions.java_version() is not None:
        assert re.fullmatch(r"\d+[\d.+_a-z-]*", okt[versions.JAVA])
    kiwi = versions.for_artifact("vectorizer", {}, {"operation": "morphs", "tagger": "kiwi"})
    assert versions.JAVA not in kiwi and "konlpy" not in kiwi


def _copy_made_with(monkeypatch, src: Path, dst: Path, fake: dict) -> None:
    """Save a copy of a model through artifacts.save, the version lookup answering ``fake``."""
    real = versions.installed
    art = artifacts.load(src)
    m = art.manifest
    with monkeypatch.context() as patch:
        patch.setattr(versions, "installed", lambda name: fake.get(name) or real(name))
        artifacts.save(dst, m["kind"], art.payload, params=m["params"], recipe=m["recipe"], data=m["data"])


def test_a_changed_tagger_version_warns_once(cli, made, tmp_path, monkeypatch):
    old = tmp_path / "old-kiwi.joblib"
    _copy_made_with(monkeypatch, made / "lr.joblib", old, {"kiwipiepy": "0.0.1"})
    assert artifacts.read_manifest(old)["libraries"]["kiwipiepy"] == "0.0.1"
    res = cli("predict", str(old), input="정말 재밌어요, 배우들 연기 최고\n별로였다\n")
    assert res.code == 0, res.err
    assert len(res.out.splitlines()) == 2 and all("\t" in line for line in res.out.splitlines())
    warnings = [line for line in res.err.splitlines() if "warning" in line]
    assert warnings == [
        f"nlpcli: warning: {old} was made with kiwipiepy 0.0.1, this is {_version('kiwipiepy')}: "
        "tokens may differ"
    ]
    assert cli("-q", "predict", str(old), input="별로였다\n").err == ""
    same = cli("predict", str(made / "lr.joblib"), input="별로였다\n")
    assert same.code == 0 and "warning" not in same.err
    text = cli("info", str(old)).out  # info shows it, without a warning
    assert re.search(
        rf"^  kiwipiepy +0\.0\.1  \(installed: {re.escape(_version('kiwipiepy'))}\)$", text, re.M
    )


def test_a_changed_tagger_version_of_an_embed_model_warns_once(cli, made, tmp_path, monkeypatch):
    model = tmp_path / "w2v"
    shutil.copytree(made / "w2v", model)
    m = store.read_manifest(model)
    os.remove(model / store.MANIFEST)
    extra = {k: m[k] for k in ("word_vectors", "dim")}
    real = versions.installed
    monkeypatch.setattr(versions, "installed", lambda n: "0.0.2" if n == "kiwipiepy_model" else real(n))
    store.write_manifest(
        str(model), m["kind"], params=m["params"], recipe=m["recipe"], data=m["data"], extra=extra
    )
    monkeypatch.undo()
    res = cli("embed", "similar", str(model), "영화", "--topn", "3")
    assert res.code == 0, res.err
    warnings = [line for line in res.err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "kiwipiepy_model 0.0.2, this is" in warnings[0]


def test_version_lists_the_libraries(cli):
    res = cli("--version")
    assert res.code == 0
    first, *rows = res.out.splitlines()
    assert first.startswith("nlpcli ") and f"Python {sys.version.split()[0]}" in first
    listed = dict(re.split(r"\s{2,}", row.strip(), maxsplit=1) for row in rows)
    for name in versions.LIBRARIES:
        assert listed[name] == (_version(name) or "not installed")
    assert listed[versions.JAVA] == (versions.java_version() or "not found")
