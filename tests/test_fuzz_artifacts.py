"""Property tests of artifact loading: byte flips, truncations and appended garbage in joblib and
torch artifacts and in each file of an embed model, and pickles that ask to run code.

The contract: a damaged file either loads and answers exactly as the original, or raises one
:class:`ArtifactError` (the CLI prints it as one line); never another exception, never code run.
Since every artifact ends with a SHA-256 footer (and an embed model's manifest lists a CRC-32
of each file), a changed byte is an error, not different answers.
"""

from __future__ import annotations

import os
import pickle
import shutil

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from nlpcli import artifacts
from nlpcli.errors import ArtifactError, CorruptArtifactError, UntrustedArtifactError
from nlpcli.features.vectorizers import TextFeatures, VectorizerConfig

DOCS = ["영화 가 좋다", "영화 가 별로 다", "배우 연기 가 좋다"]

#: (how, position as a share of the file, value): a flip, a cut, or bytes appended
DAMAGE = st.tuples(
    st.sampled_from(["flip", "truncate", "append"]),
    st.floats(0, 1, exclude_max=True),
    st.binary(min_size=1, max_size=40),
)


def damage(data: bytes, how: str, where: float, extra: bytes) -> bytes:
    pos = int(where * len(data))
    if how == "flip":
        return data[:pos] + bytes([data[pos] ^ (extra[0] or 1)]) + data[pos + 1 :]
    if how == "truncate":
        return data[:pos]
    return data + extra


@pytest.fixture(scope="module")
def vectorizer(tmp_path_factory):
    features = TextFeatures(VectorizerConfig(ngram=(1, 2)))
    features.fit_transform(DOCS)
    path = tmp_path_factory.mktemp("vec") / "vec.joblib"
    artifacts.save(path, "vectorizer", features, recipe={"operation": "split"})
    return path.read_bytes(), features.transform(DOCS).toarray()


@given(d=DAMAGE)
@example(
    d=("append", 0.0, b"garbage\n")
)  # once loaded cleanly and answered as the original (found by bench/fuzz.py)
@example(d=("flip", 0.5, b"\x01"))
@example(d=("truncate", 0.99, b"x"))
def test_damaged_joblib_artifact(tmp_path_factory, vectorizer, d):
    data, expected = vectorizer
    path = tmp_path_factory.mktemp("d") / "vec.joblib"
    path.write_bytes(damage(data, *d))
    try:
        art = artifacts.load(path, kinds=("vectorizer",))
    except ArtifactError as exc:
        assert "vec.joblib" in str(exc)
        return
    assert np.array_equal(art.payload.transform(DOCS).toarray(), expected)


@pytest.fixture(scope="module")
def torch_artifact(tmp_path_factory):
    torch = pytest.importorskip("torch")
    layer = torch.nn.Linear(3, 2)
    path = tmp_path_factory.mktemp("pt") / "m.pt"
    artifacts.save_torch(path, "rnn-classifier", {"state_dict": layer.state_dict(), "config": {"hidden": 3}})
    return path.read_bytes(), layer.state_dict()


@given(d=DAMAGE)
@example(d=("flip", 0.9, b"\x80"))
@example(d=("append", 0.0, b"PK\x05\x06"))
def test_damaged_torch_artifact(tmp_path_factory, torch_artifact, d):
    import torch

    data, state = torch_artifact
    path = tmp_path_factory.mktemp("d") / "m.pt"
    path.write_bytes(damage(data, *d))
    try:
        art = artifacts.load(path, kinds=("rnn-classifier",))
    except ArtifactError as exc:
        assert "m.pt" in str(exc)
        return
    assert all(torch.equal(art.payload["state_dict"][k], v) for k, v in state.items())


def test_a_flipped_weight_is_caught_by_the_checksum(tmp_path, vectorizer):
    data, _ = vectorizer
    path = tmp_path / "vec.joblib"
    middle = len(data) // 2
    path.write_bytes(data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :])
    with pytest.raises(CorruptArtifactError, match="checksum mismatch"):
        artifacts.load(path)
    path.write_bytes(data + b"appended")
    with pytest.raises(CorruptArtifactError, match="after its checksum line"):
        artifacts.load(path)


def test_files_without_the_footer_still_load(tmp_path, vectorizer):
    """Artifacts of nlpcli 0.1 have no footer (tests/data holds some; test_compat loads them)."""
    data, expected = vectorizer
    path = tmp_path / "old.joblib"
    path.write_bytes(data[: -artifacts._FOOTER_LENGTH])
    assert np.array_equal(artifacts.load(path).payload.transform(DOCS).toarray(), expected)


@pytest.fixture(scope="module")
def embed_model(tmp_path_factory):
    from nlpcli.embed.train import EmbedConfig, train
    from nlpcli.text.recipe import Recipe
    from nlpcli.textio import InputSpec

    tmp = tmp_path_factory.mktemp("embed")
    corpus = tmp / "c.txt"
    corpus.write_text("\n".join(DOCS * 20) + "\n", encoding="utf-8")
    out = str(tmp / "w2v")
    train(
        [str(corpus)],
        InputSpec(),
        Recipe(),
        EmbedConfig(algo="word2vec", dim=4, min_count=1, epochs=1, workers=1, seed=1),
        out,
    )
    return out


@given(name_index=st.integers(0, 20), d=DAMAGE)
@example(name_index=0, d=("flip", 0.5, b"\x01"))
def test_damaged_embed_model_file(tmp_path_factory, embed_model, name_index, d):
    from nlpcli.embed import store

    names = sorted(os.listdir(embed_model))
    name = names[name_index % len(names)]
    copy = str(tmp_path_factory.mktemp("m") / "model")
    shutil.copytree(embed_model, copy)
    with open(os.path.join(copy, name), "rb") as fh:
        data = fh.read()
    changed = damage(data, *d)
    with open(os.path.join(copy, name), "wb") as fh:
        fh.write(changed)
    try:
        manifest = store.read_manifest(copy)
    except ArtifactError as exc:
        assert "model" in str(exc)
        return
    # loaded cleanly: only possible if the bytes that matter did not change
    assert name == store.MANIFEST and manifest["kind"] == "word2vec"


class _Call:
    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@given(
    which=st.sampled_from(
        [
            "os.system",
            "builtins.eval",
            "builtins.exec",
            "subprocess.call",
            "builtins.__import__",
            "shutil.rmtree",
            "numpy.load",
            "builtins.open",
        ]
    ),
    shape=st.sampled_from(["payload", "manifest", "bare"]),
    protocol=st.sampled_from([2, 4, 5]),
)
def test_crafted_pickles_never_run_code(tmp_path_factory, which, shape, protocol):
    import builtins
    import subprocess

    tmp = tmp_path_factory.mktemp("evil")
    marker = tmp / "pwned"
    funcs = {
        "os.system": (os.system, (f"touch {marker}",)),
        "builtins.eval": (builtins.eval, (f"open({str(marker)!r}, 'w').close()",)),
        "builtins.exec": (builtins.exec, (f"open({str(marker)!r}, 'w').close()",)),
        "subprocess.call": (subprocess.call, (["touch", str(marker)],)),
        "builtins.__import__": (builtins.__import__, ("antigravity",)),
        "shutil.rmtree": (shutil.rmtree, (str(tmp / "nothing"),)),
        "numpy.load": (np.load, (str(marker),)),
        "builtins.open": (builtins.open, (str(marker), "w")),
    }
    call = _Call(*funcs[which])
    manifest = artifacts.make_manifest("vectorizer")
    obj = {
        "payload": {"nlpcli": manifest, "payload": call},
        "manifest": {"nlpcli": call, "payload": 1},
        "bare": call,
    }[shape]
    path = tmp / "evil.joblib"
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    with pytest.raises(ArtifactError) as info:
        artifacts.load(path)
    assert not marker.exists()
    if shape != "bare" or which != "numpy.load":
        assert isinstance(info.value, (UntrustedArtifactError, CorruptArtifactError, ArtifactError))


def test_a_damaged_checksum_line_is_caught_too(tmp_path, vectorizer):
    """A flip in the footer's own marker plus one in the body once loaded as a footer-less file
    and answered differently (found by bench/fuzz.py)."""
    data, _ = vectorizer
    body = len(data) // 2
    marker = len(data) - artifacts._FOOTER_LENGTH + 3  # inside "#nlpcli-sha256:"
    damaged = bytearray(data)
    damaged[body] ^= 1
    damaged[marker] ^= 2
    path = tmp_path / "vec.joblib"
    path.write_bytes(bytes(damaged))
    with pytest.raises(CorruptArtifactError, match="checksum line"):
        artifacts.load(path)


def test_unusable_artifact_without_checksum_is_one_clear_error(tmp_path):
    """A file without the checksum footer (as nlpcli 0.1 wrote them) whose contents are damaged
    in a way only using it reveals: one line naming the file as possibly damaged, not the
    catch-all message of a bug (found by bench/fuzz.py: a flipped byte in an attribute name)."""
    import subprocess
    import sys

    from conftest import REPO

    features = TextFeatures(VectorizerConfig())
    features.fit_transform(DOCS)
    del features.vectorizer.vocabulary_  # as a flipped byte in the attribute's name would
    path = tmp_path / "old.joblib"
    artifacts.save(path, "vectorizer", features, recipe={"operation": "split"})
    path.write_bytes(path.read_bytes()[: -artifacts._FOOTER_LENGTH])
    (tmp_path / "in.txt").write_text("영화 좋다\n", encoding="utf-8")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "nlpcli",
            "vectorize",
            "transform",
            str(path),
            str(tmp_path / "in.txt"),
            "-o",
            str(tmp_path / "x.npz"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert res.returncode == 1 and res.stderr.count("\n") == 1, res.stderr
    assert "old.joblib" in res.stderr and "may be damaged" in res.stderr and "Traceback" not in res.stderr


def test_a_changed_manifest_of_an_embed_model_is_caught(tmp_path, embed_model):
    """A flipped byte in a file name inside nlpcli.json once ended in FileNotFoundError (found by
    bench/fuzz.py); the manifest now carries a checksum of its own."""
    from nlpcli.embed import store

    copy = tmp_path / "model"
    shutil.copytree(embed_model, copy)
    manifest = copy / store.MANIFEST
    text = manifest.read_text(encoding="utf-8")
    assert '"index.npy"' in text
    manifest.write_text(text.replace('"index.npy"', '"indmx.npy"'), encoding="utf-8")
    with pytest.raises(CorruptArtifactError, match="nlpcli.json: checksum mismatch"):
        store.read_manifest(str(copy))
    # a manifest of nlpcli 0.1 (no checksum fields) with the same damage: still one clear error
    import json

    data = json.loads(text)
    for key in ("checksum", "crc32"):
        data.pop(key)
    data["files"]["indmx.npy"] = data["files"].pop("index.npy")
    manifest.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CorruptArtifactError, match="indmx.npy: missing"):
        store.read_manifest(str(copy))


def test_a_damaged_recipe_names_the_artifact(tmp_path, vectorizer):
    """A footer-less artifact whose recipe had a byte flipped ('spli\\x11') once gave a usage error
    that did not name the file (found by bench/fuzz.py)."""
    data, _ = vectorizer
    body = data[: -artifacts._FOOTER_LENGTH]
    assert body.count(b"split") == 1
    path = tmp_path / "vec.joblib"
    path.write_bytes(body.replace(b"split", b"spli\x11"))
    with pytest.raises(CorruptArtifactError, match=r"vec.joblib: its preprocessing recipe cannot be used"):
        artifacts.load(path)


@pytest.mark.parametrize("cut", [1, 20, 60, 78, 79, 80])
def test_an_artifact_cut_inside_its_checksum_line_is_refused(tmp_path, vectorizer, cut):
    """Cut a few bytes into the footer (``...\\n#nl``), the pickle before it still loaded as a
    footer-less file (found by bench/fuzz.py)."""
    data, _ = vectorizer
    path = tmp_path / "vec.joblib"
    path.write_bytes(data[: len(data) - artifacts._FOOTER_LENGTH + cut])
    with pytest.raises(CorruptArtifactError, match="checksum line"):
        artifacts.load(path)
