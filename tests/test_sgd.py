"""``train --model sgd``: minibatches streamed through partial_fit, served by ``predict``."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from conftest import run_nlpcli

from nlpcli import artifacts
from nlpcli.classify import sgd as S
from nlpcli.classify.predict import load_model, predict_files
from nlpcli.classify.train import TrainConfig, train
from nlpcli.errors import DataError, UsageError
from nlpcli.features.vectorizers import VectorizerConfig
from nlpcli.text.recipe import Recipe
from nlpcli.textio import InputSpec

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"
SPLIT = Recipe("split")
LABEL = InputSpec(label_column="label")
RATING = InputSpec(label_column="rating")


def head(src: Path, dst: Path, n: int) -> Path:
    with open(src, encoding="utf-8") as fin, open(dst, "w", encoding="utf-8") as fout:
        for i, line in enumerate(fin):
            if i > n:
                break
            fout.write(line)
    return dst


def cli(*args, **kw):
    return run_nlpcli(*args, cwd=REPO, **kw)


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    d = tmp_path_factory.mktemp("reviews")
    return head(SAMPLE / "reviews-train.tsv", d / "train.tsv", 1500), head(
        SAMPLE / "reviews-test.tsv", d / "dev.tsv", 300
    )


def config(**kw) -> TrainConfig:
    kw.setdefault("recipe", SPLIT)
    kw.setdefault("features", VectorizerConfig(ngram=(1, 2), hashing=16))
    return TrainConfig(model="sgd", **kw)


def small(**kw) -> S.SgdConfig:
    kw.setdefault("chunk_size", 200)
    kw.setdefault("shuffle_buffer", 300)
    kw.setdefault("batch_size", 50)
    kw.setdefault("epochs", 3)
    return S.SgdConfig(**kw)


def weights(path) -> np.ndarray:
    model = artifacts.load(path).payload
    return np.concatenate([model.estimator.coef_.ravel(), np.ravel(model.estimator.intercept_)])


def test_sgd_learns_and_predict_serves_it(reviews, tmp_path):
    train_path, dev_path = reviews
    out = tmp_path / "m.joblib"
    metrics = train([str(train_path)], LABEL, str(out), config(dev=[str(dev_path)]), sgd=small())
    assert metrics["accuracy"] > 0.55
    manifest = artifacts.read_manifest(out)
    assert manifest["kind"] == "classifier" and manifest["params"]["model"] == "sgd"
    assert len(manifest["data"]["epochs"]) >= 1 and manifest["data"]["epochs"][0]["docs_per_second"] > 0
    assert load_model(str(out)).has_probability
    result = predict_files(str(out), [str(dev_path)], LABEL, output=str(tmp_path / "p.tsv"))
    assert abs(result["accuracy"] - metrics["accuracy"]) < 1e-9
    rows = (tmp_path / "p.tsv").read_text(encoding="utf-8").splitlines()
    header = rows[0].split("\t")
    assert 0.5 <= float(rows[1].split("\t")[header.index("probability")]) <= 1


def test_hinge_leaves_the_probability_empty(reviews, tmp_path):
    train_path, dev_path = reviews
    out = tmp_path / "m.joblib"
    train([str(train_path)], LABEL, str(out), config(), sgd=small(loss="hinge"))
    assert not load_model(str(out)).has_probability
    predict_files(str(out), [str(dev_path)], LABEL, output=str(tmp_path / "p.tsv"))
    rows = [r.split("\t") for r in (tmp_path / "p.tsv").read_text(encoding="utf-8").splitlines()]
    col = rows[0].index("probability")
    assert all(r[col] == "" for r in rows[1:]) and {r[rows[0].index("prediction")] for r in rows[1:]} <= {
        "0",
        "1",
    }
    r = cli("predict", str(out), input="정말 재밌어요\n")
    assert r.code == 0, r.err
    label, prob = r.out.rstrip("\n").split("\t")
    assert label in ("0", "1") and prob == ""


def test_the_same_seed_gives_the_same_weights(reviews, tmp_path):
    train_path, _ = reviews
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        train(
            [str(train_path)],
            LABEL,
            str(tmp_path / f"{name}.joblib"),
            config(seed=seed),
            sgd=small(average=True),
        )
    a, b, c = (weights(tmp_path / f"{n}.joblib") for n in "abc")
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_a_label_first_seen_after_the_first_chunk(tmp_path):
    lines = ["id\tdocument\tlabel"] + [
        f"{i}\t좋은 영화 {i % 7}\t{'pos' if i % 2 else 'neg'}" for i in range(400)
    ]
    lines += [f"{i}\t그저 그런 영화\tmeh" for i in range(400, 460)]
    path = tmp_path / "late.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "m.joblib"
    train([str(path)], LABEL, str(out), config(), sgd=small(chunk_size=100))
    model = artifacts.load(out).payload
    assert model.labels == ["meh", "neg", "pos"]
    assert model.predict(["그저 그런 영화"]).probabilities.shape == (1, 3)


def test_stdin_needs_classes(reviews, tmp_path):
    train_path, _ = reviews
    text = train_path.read_text(encoding="utf-8")
    r = cli(
        "train",
        "--model",
        "sgd",
        "--tagger",
        "none",
        "-f",
        "tsv",
        "-o",
        str(tmp_path / "m.joblib"),
        input=text,
    )
    assert r.code == 2 and "stdin cannot be re-read" in r.err and "--classes" in r.err
    r = cli(
        "train",
        "--model",
        "sgd",
        "--tagger",
        "none",
        "-f",
        "tsv",
        "--classes",
        "0,1",
        "--hashing",
        "16",
        "--epochs",
        "2",
        "-o",
        str(tmp_path / "m.joblib"),
        input=text,
    )
    assert r.code == 0, r.err
    assert (tmp_path / "m.joblib").exists()
    assert sorted(os.listdir(tmp_path)) == ["m.joblib"]  # the temporary token cache is gone


def test_a_label_outside_classes(reviews, tmp_path):
    train_path, _ = reviews
    with pytest.raises(DataError, match=r"train.tsv:\d+: label '1' is not one of --classes"):
        train([str(train_path)], LABEL, str(tmp_path / "m.joblib"), config(), sgd=small(classes="0,2"))


def test_regression_needs_numbers(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text("id\tdocument\trating\n1\t좋아요\t10\n2\t별로\tbad\n", encoding="utf-8")
    r = cli(
        "train",
        str(path),
        "--model",
        "sgd",
        "--task",
        "regression",
        "--tagger",
        "none",
        "--label-column",
        "rating",
        "-o",
        str(tmp_path / "m.joblib"),
    )
    assert r.code == 1 and "r.tsv:3" in r.err and "not a number" in r.err


def test_an_empty_input(tmp_path):
    path = tmp_path / "empty.tsv"
    path.write_text("id\tdocument\tlabel\n", encoding="utf-8")
    r = cli("train", str(path), "--model", "sgd", "--tagger", "none", "-o", str(tmp_path / "m.joblib"))
    assert r.code == 1 and "no documents" in r.err and "empty.tsv" in r.err
    assert not (tmp_path / "m.joblib").exists()


def test_regression_on_ratings(tmp_path):
    out = tmp_path / "r.joblib"
    metrics = train(
        [str(SAMPLE / "ratings-train.tsv")],
        RATING,
        str(out),
        config(task="regression", dev=[str(SAMPLE / "ratings-test.tsv")]),
        sgd=small(task="regression"),
    )
    assert metrics["mae"] < 3.0
    model = artifacts.load(out).payload
    values = model.predict(["최고 명작", "최악 쓰레기"]).values
    assert values.min() >= 1 and values.max() <= 10


def _interrupt_at(monkeypatch, epoch: int, batch: int, how: str = "raise") -> None:
    def after(state):
        if (state.epoch, state.batch) == (epoch, batch):
            if how == "signal":  # a real Ctrl-C: the handler sets a flag, checked after the batch
                os.kill(os.getpid(), signal.SIGINT)
            else:
                raise KeyboardInterrupt

    monkeypatch.setattr(S, "_after_batch", after)


@pytest.mark.parametrize("tagger", ["none", "kiwi"])
def test_ctrl_c_mid_epoch_then_resume_gives_the_same_weights(reviews, tmp_path, monkeypatch, tagger):
    train_path, dev_path = reviews
    recipe = SPLIT if tagger == "none" else Recipe("morphs", "kiwi", stem=True)
    features = VectorizerConfig(ngram=(1, 2), hashing=16, char_ngram=(1, 3), char_source="text")
    cfg = config(
        recipe=recipe, dev=[str(dev_path)], features=features if tagger == "kiwi" else config().features
    )
    sgd = dict(average=True, patience=None)
    full = tmp_path / "full.joblib"
    train([str(train_path)], LABEL, str(full), cfg, sgd=small(**sgd))
    out = tmp_path / "resumed.joblib"
    ckpt = tmp_path / "resumed.ckpt"
    _interrupt_at(monkeypatch, 1, 7, "signal" if tagger == "kiwi" else "raise")
    with pytest.raises(KeyboardInterrupt):
        train([str(train_path)], LABEL, str(out), cfg, sgd=small(checkpoint=str(ckpt), **sgd))
    assert ckpt.exists() and not out.exists()
    assert artifacts.read_manifest(ckpt)["data"] == {"epoch": 1, "batch": 7}
    monkeypatch.setattr(S, "_after_batch", lambda state: None)
    train([str(train_path)], LABEL, str(out), cfg, sgd=small(resume=str(ckpt), **sgd))
    assert np.array_equal(weights(full), weights(out))
    assert not ckpt.exists()


def test_the_cache_is_reused(reviews, tmp_path):
    train_path, _ = reviews
    cfg = config(recipe=Recipe("morphs", "kiwi", stem=True))
    train([str(train_path)], LABEL, str(tmp_path / "a.joblib"), cfg, sgd=small(epochs=1))
    caches = sorted(p for p in os.listdir(tmp_path) if ".sgd-tokens-" in p)
    assert len(caches) == 2 and caches[0].endswith(".json")
    meta = json.loads((tmp_path / caches[0]).read_text())
    assert meta["documents"] == 1500 and meta["labels"] == ["0", "1"]
    train([str(train_path)], LABEL, str(tmp_path / "b.joblib"), cfg, sgd=small(epochs=1))
    assert np.array_equal(weights(tmp_path / "a.joblib"), weights(tmp_path / "b.joblib"))


def test_the_sgd_config_checks_its_options():
    assert S.SgdConfig().loss == "log_loss" and S.SgdConfig(task="regression").loss == "epsilon_insensitive"
    assert S.SgdConfig(task="regression").average and not S.SgdConfig().average
    assert S.SgdConfig(task="regression").schedule == "invscaling" and S.SgdConfig().schedule == "optimal"
    assert S.SgdConfig(classes="0, 1").classes == ["0", "1"]
    assert S.SgdConfig(patience=0).patience is None and S.SgdConfig().epochs == 3
    for bad in (
        dict(loss="hinge", task="regression"),
        dict(loss="epsilon_insensitive"),
        dict(penalty="l3"),
        dict(schedule="fast"),
        dict(classes="1"),
        dict(task="regression", classes="0,1"),
        dict(batch_size=0),
    ):
        with pytest.raises(UsageError):
            S.SgdConfig(**bad)
    with pytest.raises(UsageError, match="--dev-fraction"):
        train(["x.tsv"], LABEL, "m.joblib", config(dev_fraction=0.1), sgd=small())


def test_shuffled_batches_keep_every_document_once():
    rng = np.random.default_rng(0)
    chunks = [list(range(i, i + 70)) for i in range(0, 700, 70)]
    batches = list(S.shuffled_batches(iter(chunks), rng, 100, 32))
    docs = [d for b in batches for d in b]
    assert sorted(docs) == list(range(700)) and docs != list(range(700))
    assert all(len(b) == 32 for b in batches[:-1])


def test_a_vectorizer_artifact(reviews, tmp_path):
    train_path, dev_path = reviews
    vec = tmp_path / "v.joblib"
    r = cli("vectorize", "fit", str(train_path), "--hashing", "16", "-o", str(vec))
    assert r.code == 0, r.err
    out = tmp_path / "m.joblib"
    r = cli(
        "train",
        str(train_path),
        "--model",
        "sgd",
        "--vectorizer",
        str(vec),
        "--dev",
        str(dev_path),
        "--epochs",
        "2",
        "--loss",
        "modified_huber",
        "-o",
        str(out),
    )
    assert r.code == 0, r.err
    assert "accuracy" in r.err and artifacts.read_manifest(out)["params"]["features"] == {
        "vectorizer": str(vec)
    }


def test_ctrl_c_on_the_command_line_exits_130_and_resumes(reviews, tmp_path):
    import subprocess
    import sys

    train_path, _ = reviews
    args = [
        "train",
        str(train_path),
        "--model",
        "sgd",
        "--tagger",
        "none",
        "--hashing",
        "16",
        "--batch-size",
        "100",
        "--epochs",
        "12",
        "--no-early-stopping",
        "--seed",
        "5",
    ]
    r = cli(*args, "-o", str(tmp_path / "full.joblib"))
    assert r.code == 0, r.err
    proc = subprocess.Popen(
        [sys.executable, "-m", "nlpcli", *args, "-o", str(tmp_path / "cut.joblib")],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    for line in proc.stderr:
        if line.startswith("sgd epoch 2:"):
            proc.send_signal(signal.SIGINT)
            break
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 130, err
    ckpt = tmp_path / "cut.joblib.ckpt"
    assert ckpt.exists() and "--resume" in err
    r = cli(*args, "-o", str(tmp_path / "cut.joblib"), "--resume", str(ckpt))
    assert r.code == 0, r.err
    assert np.array_equal(weights(tmp_path / "full.joblib"), weights(tmp_path / "cut.joblib"))
    assert not ckpt.exists()
