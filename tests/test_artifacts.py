"""Artifacts: manifest, atomic writes, and every way a file can be wrong, each with its own error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest

from nlpcli import __version__, artifacts
from nlpcli.errors import (
    ArtifactError,
    ArtifactKindError,
    ArtifactVersionError,
    CorruptArtifactError,
    UntrustedArtifactError,
)
from nlpcli.features.vectorizers import TextFeatures, VectorizerConfig


@pytest.fixture
def vectorizer_file(tmp_path):
    features = TextFeatures(VectorizerConfig(ngram=(1, 2)))
    features.fit_transform(["영화 가 좋다", "영화 가 별로 다", "배우 연기 가 좋다"])
    path = tmp_path / "vec.joblib"
    artifacts.save(
        path,
        "vectorizer",
        features,
        params={"ngram": [1, 2]},
        recipe={"operation": "split"},
        data={"documents": 3},
    )
    return path


def test_round_trip_with_manifest(vectorizer_file):
    art = artifacts.load(vectorizer_file, kinds=("vectorizer",))
    assert art.kind == "vectorizer"
    m = art.manifest
    assert m["nlpcli_version"] == __version__ and m["format"] == artifacts.FORMAT_VERSION
    assert m["params"] == {"ngram": [1, 2]} and m["data"] == {"documents": 3}
    X = art.payload.transform(["영화 가 좋다"])
    assert X.shape == (1, art.payload.n_features) and X.nnz > 0
    # still a plain joblib file for people who continue in Python
    assert isinstance(joblib.load(vectorizer_file)["payload"], TextFeatures)


def test_atomic_save_leaves_no_temporary_files(vectorizer_file):
    assert os.listdir(vectorizer_file.parent) == ["vec.joblib"]


def test_wrong_kind(vectorizer_file):
    with pytest.raises(
        ArtifactKindError, match="is a vectorizer artifact, but this command needs classifier"
    ):
        artifacts.load(vectorizer_file, kinds=("classifier",))


def test_missing_and_directory(tmp_path):
    with pytest.raises(ArtifactError, match="no such file"):
        artifacts.load(tmp_path / "nope.joblib")
    with pytest.raises(ArtifactError, match="is a directory"):
        artifacts.load(tmp_path)


def test_truncated_file(vectorizer_file):
    data = vectorizer_file.read_bytes()
    vectorizer_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptArtifactError, match="truncated or corrupt"):
        artifacts.load(vectorizer_file)


def test_empty_and_foreign_files(tmp_path):
    empty = tmp_path / "e.joblib"
    empty.write_bytes(b"")
    with pytest.raises(CorruptArtifactError, match="empty file"):
        artifacts.load(empty)
    text = tmp_path / "t.joblib"
    text.write_text("id\tdocument\n")
    with pytest.raises(ArtifactError, match="not an nlpcli artifact"):
        artifacts.load(text)
    plain = tmp_path / "plain.joblib"
    joblib.dump({"a": np.arange(3)}, plain)
    with pytest.raises(ArtifactError, match="no manifest"):
        artifacts.load(plain)


def test_newer_version(tmp_path):
    path = tmp_path / "new.joblib"
    manifest = artifacts.make_manifest("vectorizer")
    manifest["nlpcli_version"] = "99.0.0"
    joblib.dump({"nlpcli": manifest, "payload": {"x": 1}}, path)
    with pytest.raises(ArtifactVersionError, match="newer than this nlpcli"):
        artifacts.load(path)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_code_in_a_crafted_file_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.joblib"
    joblib.dump({"nlpcli": artifacts.make_manifest("vectorizer"), "payload": _Evil(marker)}, path)
    with pytest.raises(UntrustedArtifactError, match=r"posix.system|os.system"):
        artifacts.load(path)
    assert not marker.exists()
    # --trust-artifact is the user's explicit say-so: then it is an ordinary pickle
    artifacts.load(path, trust=True)
    assert marker.exists()


def test_builtins_eval_is_refused_too(tmp_path):
    class Eval:
        def __reduce__(self):
            return (eval, ("1+1",))

    path = tmp_path / "eval.joblib"
    joblib.dump({"nlpcli": artifacts.make_manifest("vectorizer"), "payload": Eval()}, path)
    with pytest.raises(UntrustedArtifactError, match="builtins.eval"):
        artifacts.load(path)


def test_sklearn_models_and_numpy_state_load(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    X = np.random.default_rng(0).normal(size=(20, 3))
    y = np.array([0, 1] * 10)
    payload = {
        "lr": LogisticRegression().fit(X, y),
        "mlp": MLPClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=np.random.RandomState(0)).fit(
            X, y
        ),
        "objects": np.array(["a", 1], dtype=object),
        "rng": np.random.default_rng(1),
    }
    path = tmp_path / "m.joblib"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        artifacts.save(path, "classifier", payload)
    loaded = artifacts.load(path, kinds=("classifier",)).payload
    assert (loaded["lr"].predict(X) == payload["lr"].predict(X)).all()
    assert list(loaded["objects"]) == ["a", 1]


def test_torch_artifacts(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "m.pt"
    layer = torch.nn.Linear(3, 2)
    artifacts.save_torch(path, "rnn-classifier", {"state_dict": layer.state_dict(), "config": {"hidden": 3}})
    art = artifacts.load(path, kinds=("rnn-classifier",))
    assert art.payload["config"] == {"hidden": 3}
    assert torch.equal(art.payload["state_dict"]["weight"], layer.state_dict()["weight"])
    with pytest.raises(ArtifactKindError):
        artifacts.load(path, kinds=("vectorizer",))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptArtifactError, match="truncated or corrupt torch file"):
        artifacts.load(path)


def test_torch_file_with_code_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "evil.pt"
    marker = tmp_path / "pwned"
    torch.save({"nlpcli": artifacts.make_manifest("rnn-classifier"), "x": _Evil(marker)}, path)
    with pytest.raises(UntrustedArtifactError):
        artifacts.load(path)
    assert not marker.exists()


def test_plain_pickle_artifacts_and_joblib_written_files_both_load(tmp_path, vectorizer_file):
    """artifacts.save writes a plain pickle (read by nlpcli's C unpickler, and by joblib.load and
    pickle.load alike); files joblib.dump wrote, with its array records, still load through
    joblib's unpickler, with the same allowlist."""
    import pickle

    with open(vectorizer_file, "rb") as fh:
        assert b"NumpyArrayWrapper" not in fh.read()
        fh.seek(0)
        by_pickle = pickle.load(fh)
    assert joblib.load(vectorizer_file)["nlpcli"]["kind"] == by_pickle["nlpcli"]["kind"] == "vectorizer"

    features = artifacts.load(vectorizer_file).payload
    old = tmp_path / "old.joblib"
    joblib.dump({"nlpcli": artifacts.make_manifest("vectorizer"), "payload": features}, old)
    with open(old, "rb") as fh:
        assert b"NumpyArrayWrapper" in fh.read()  # the idf_ array, in joblib's own layout
    again = artifacts.load(old, kinds=("vectorizer",)).payload
    docs = ["영화 가 좋다", "별로 다"]
    assert (again.transform(docs) != features.transform(docs)).nnz == 0

    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.joblib"
    joblib.dump(
        {"nlpcli": artifacts.make_manifest("vectorizer"), "payload": [np.arange(5), _Evil(marker)]}, evil
    )
    with pytest.raises(UntrustedArtifactError, match=r"posix.system|os.system"):
        artifacts.load(evil)
    assert not marker.exists()


def test_peek_values_reads_a_torch_files_plain_values_without_torch(tmp_path):
    """``peek_values`` gives the manifest and configs of a torch artifact without importing torch (to
    start a tagger early); it never runs anything the file names, and gives None for other files."""
    data = Path(__file__).resolve().parent / "data"
    code = (
        "import sys\nfrom nlpcli import artifacts\n"
        f"p = artifacts.peek_values({str(data / 'v0.1-rnn.pt')!r})\n"
        "print(p['nlpcli']['kind'], p['nlpcli']['recipe']['tagger'], 'torch' in sys.modules)\n"
        f"print(artifacts.peek_values({str(data / 'v0.1-logreg.joblib')!r}), artifacts.peek_values('/no/such/file'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["classifier okt False", "None None"]  # (its recipe: split)
