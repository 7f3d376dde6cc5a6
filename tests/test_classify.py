"""train / predict: scikit-learn models end to end on sample_data slices, metrics, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pytest

from nlpcli.classify import metrics as M
from nlpcli.classify.models import EstimatorConfig
from nlpcli.classify.predict import load_model, predict_files
from nlpcli.classify.train import TrainConfig, train
from nlpcli.errors import ArtifactKindError, ArtifactVersionError, CorruptArtifactError, DataError, UsageError
from nlpcli.features.vectorizers import VectorizerConfig
from nlpcli.text.recipe import Recipe
from nlpcli.textio import InputSpec

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
SPLIT = Recipe("split")  # whitespace tokens of the raw text: fast, no tagger


def head(src: Path, dst: Path, n: int) -> Path:
    with open(src, encoding="utf-8") as fin, open(dst, "w", encoding="utf-8") as fout:
        for i, line in enumerate(fin):
            if i > n:
                break
            fout.write(line)
    return dst


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    d = tmp_path_factory.mktemp("reviews")
    return head(SAMPLE / "reviews-train.tsv", d / "train.tsv", 1500), head(
        SAMPLE / "reviews-test.tsv", d / "dev.tsv", 400
    )


@pytest.fixture(scope="module")
def logreg_model(reviews, tmp_path_factory):
    train_path, dev_path = reviews
    out = tmp_path_factory.mktemp("m") / "model.joblib"
    cfg = TrainConfig(
        model="logreg",
        recipe=SPLIT,
        features=VectorizerConfig(ngram=(1, 2), char_ngram=(1, 3)),
        dev=[str(dev_path)],
    )
    metrics = train([str(train_path)], InputSpec(label_column="label"), str(out), cfg)
    return out, metrics


# --- metrics -----------------------------------------------------------------------------------


def test_classification_metrics_match_sklearn():
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    rng = np.random.default_rng(1)
    gold = [str(x) for x in rng.integers(0, 3, 300)]
    pred = [g if rng.random() < 0.6 else str(rng.integers(0, 3)) for g in gold]
    m = M.classification_metrics(gold, pred, ["0", "1", "2"])
    assert m["accuracy"] == pytest.approx(accuracy_score(gold, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"))
    p, r, _, s = precision_recall_fscore_support(gold, pred, labels=["0", "1", "2"])
    assert [m["per_class"][k]["precision"] for k in "012"] == pytest.approx(list(p))
    assert [m["per_class"][k]["recall"] for k in "012"] == pytest.approx(list(r))
    assert m["confusion"] == confusion_matrix(gold, pred, labels=["0", "1", "2"]).tolist()


@pytest.mark.parametrize(
    "gold, pred, labels",
    [
        ("aabb", "acbb", None),  # a label only predicted: it counts, with F1 0
        ("aabc", "aabb", None),  # a gold label never predicted
        ("aabb", "abbb", ["a", "b", "z"]),  # a model label in neither: left out
        ("abcd", "dcba", ["d", "c", "b", "a"]),
    ],
)
def test_macro_f1_matches_sklearn_when_labels_are_missing_on_one_side(gold, pred, labels):
    import warnings

    from sklearn.metrics import f1_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's notice about labels with no predictions
        expected = f1_score(list(gold), list(pred), average="macro")
    assert M.classification_metrics(list(gold), list(pred), labels)["macro_f1"] == pytest.approx(expected)


def test_regression_metrics():
    m = M.regression_metrics([1, 2, 3, 10], [1, 3, 3, 6])
    assert m["mae"] == pytest.approx(5 / 4)
    assert m["rmse"] == pytest.approx(np.sqrt(17 / 4))


# --- train / predict ---------------------------------------------------------------------------


def test_logreg_learns_and_predicts_raw_text(logreg_model, tmp_path):
    model_path, metrics = logreg_model
    assert metrics["accuracy"] > 0.68  # whitespace tokens, 1.5k documents; chance is 0.5
    model = load_model(str(model_path))
    assert model.labels == ["0", "1"] and model.task == "classification"
    pred = model.predict(["최고의 영화 정말 재밌어요 강추", "최악 지루하고 돈 아까운 쓰레기"])
    assert pred.probabilities.shape == (2, 2)
    assert np.allclose(pred.probabilities.sum(axis=1), 1)
    assert np.argmax(pred.probabilities, axis=1).tolist() == [1, 0]


def test_predict_tsv_passthrough_topk_and_metrics(logreg_model, reviews, tmp_path):
    model_path, train_metrics = logreg_model
    _, dev = reviews
    out, mjson = tmp_path / "pred.tsv", tmp_path / "m.json"
    result = predict_files(
        str(model_path),
        [str(dev)],
        InputSpec(label_column="label"),
        output=str(out),
        top_k=2,
        metrics_out=str(mjson),
    )
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["id", "document", "label", "prediction", "probability", "top_k"]
    src = dev.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(src)
    first = lines[1].split("\t")
    assert first[:3] == src[1].split("\t")  # gold label passes through untouched
    assert first[3] in ("0", "1") and 0.5 <= float(first[4]) <= 1
    assert first[5].split(" ")[0] == f"{first[3]}:{first[4]}"
    saved = json.loads(mjson.read_text())
    assert saved["accuracy"] == pytest.approx(result["accuracy"]) == pytest.approx(train_metrics["accuracy"])
    assert saved["confusion"] and saved["per_class"]["1"]["support"] > 0


def test_predict_stdin_one_off(logreg_model, cli):
    model_path, _ = logreg_model
    r = cli("predict", str(model_path), input="정말 재밌어요 최고\n")
    assert r.code == 0, r.err
    label, prob = r.out.strip().split("\t")
    assert label in ("0", "1") and 0.5 <= float(prob) <= 1
    r = cli("predict", str(model_path), "-F", "jsonl", "--top-k", "2", input="최악\n\n")
    rows = [json.loads(x) for x in r.out.splitlines()]
    assert len(rows) == 2 and rows[0]["text"] == "최악" and len(rows[0]["top_k"]) == 2
    assert "empty" in r.err  # the empty line still gets a prediction, with a note


def test_train_cli_reports_and_writes_metrics(reviews, tmp_path, cli):
    train_path, dev_path = reviews
    r = cli(
        "train",
        str(train_path),
        "--tagger",
        "none",
        "--dev",
        str(dev_path),
        "-o",
        str(tmp_path / "m.joblib"),
        "--metrics-out",
        str(tmp_path / "m.json"),
        "--C",
        "2",
    )
    assert r.code == 0, r.err
    assert r.out == ""  # stdout is for data only
    assert "accuracy" in r.err and "confusion matrix" in r.err
    assert json.loads((tmp_path / "m.json").read_text())["n"] == 400


def test_mlp_and_multiclass_labels(tmp_path):
    rows = ["id\tdocument\tlabel"]
    words = {"pos": "좋아 최고 재밌", "neg": "별로 최악 지루", "mid": "그냥 보통 무난"}
    rng = np.random.default_rng(0)
    for i in range(300):
        label = ["pos", "neg", "mid"][i % 3]
        toks = words[label].split() + list(rng.choice(["영화", "배우", "스토리", "연출"], 3))
        rows.append(f"{i}\t{' '.join(rng.permutation(toks))}\t{label}")
    data = tmp_path / "three.tsv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    cfg = TrainConfig(
        model="mlp",
        recipe=SPLIT,
        features=VectorizerConfig(),
        dev_fraction=0.2,
        estimator=EstimatorConfig(
            hidden=(16,), max_iter=30, early_stopping=False, batch_size=32, learning_rate=0.01
        ),
    )
    m = train([str(data)], InputSpec(label_column="label"), str(tmp_path / "mlp.joblib"), cfg)
    assert m["labels"] == ["mid", "neg", "pos"] and m["accuracy"] > 0.9
    pred = load_model(str(tmp_path / "mlp.joblib")).predict(["최고 좋아 영화"])
    assert pred.probabilities.shape == (1, 3)


def test_linreg_regression_beats_the_mean(tmp_path):
    train_path = head(SAMPLE / "ratings-train.tsv", tmp_path / "r.tsv", 2000)
    spec = InputSpec(label_column="rating")
    results = {}
    for loss in ("squared", "absolute"):
        cfg = TrainConfig(
            model="linreg",
            task="regression",
            recipe=SPLIT,
            dev=[str(SAMPLE / "ratings-test.tsv")],
            features=VectorizerConfig(ngram=(1, 1), char_ngram=(1, 3), min_df=2),
            estimator=EstimatorConfig(loss=loss, alpha=1.0, C=1.0),
        )
        results[loss] = train([str(train_path)], spec, str(tmp_path / f"{loss}.joblib"), cfg)
    gold = [float(line.split("\t")[2]) for line in (SAMPLE / "ratings-test.tsv").read_text().splitlines()[1:]]
    mean_mae = float(np.mean(np.abs(np.asarray(gold) - np.mean(gold))))
    for loss, m in results.items():
        assert m["task"] == "regression" and m["mae"] < mean_mae - 0.2, (loss, m["mae"], mean_mae)
    model = load_model(str(tmp_path / "squared.joblib"))
    values = model.predict(["최고 명작", "최악 쓰레기", ""]).values
    assert values[0] > values[1] and ((1 <= values) & (values <= 10)).all()  # clipped to the range


# --- bad input ---------------------------------------------------------------------------------


def test_missing_label_column(reviews, tmp_path):
    train_path, _ = reviews
    with pytest.raises(DataError, match="no label column 'stars'"):
        train(
            [str(train_path)],
            InputSpec(label_column="stars"),
            str(tmp_path / "m.joblib"),
            TrainConfig(recipe=SPLIT),
        )


def test_single_class(tmp_path):
    data = tmp_path / "one.tsv"
    data.write_text("document\tlabel\n좋아요\t1\n최고\t1\n재밌다\t1\n", encoding="utf-8")
    with pytest.raises(DataError, match="single class"):
        train(
            [str(data)],
            InputSpec(label_column="label"),
            str(tmp_path / "m.joblib"),
            TrainConfig(recipe=SPLIT),
        )


def test_empty_texts_and_labels(tmp_path, reviews):
    train_path, _ = reviews
    data = tmp_path / "holes.tsv"
    lines = train_path.read_text(encoding="utf-8").splitlines()[:200]
    lines[5] = "1\t\t0"  # an empty document
    lines[9] = "2\t   \t1"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = TrainConfig(recipe=SPLIT, features=VectorizerConfig(), dev_fraction=0.2)
    m = train([str(data)], InputSpec(label_column="label"), str(tmp_path / "m.joblib"), cfg)
    assert m["n"] == round(197 * 0.2)  # two empty documents left out of 199
    empty = tmp_path / "empty.tsv"
    empty.write_text("document\tlabel\n\t1\n \t0\n", encoding="utf-8")
    with pytest.raises(DataError, match="no documents with text"):
        train(
            [str(empty)],
            InputSpec(label_column="label"),
            str(tmp_path / "m.joblib"),
            TrainConfig(recipe=SPLIT),
        )
    bad = tmp_path / "nolabel.tsv"
    bad.write_text("document\tlabel\n좋아\t1\n싫어\t\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"nolabel.tsv:3: empty label"):
        train(
            [str(bad)], InputSpec(label_column="label"), str(tmp_path / "m.joblib"), TrainConfig(recipe=SPLIT)
        )
    with pytest.raises(DataError, match=r"nolabel.tsv:2: label '1x' is not a number"):
        bad.write_text("document\tlabel\n좋아\t1x\n", encoding="utf-8")
        train(
            [str(bad)],
            InputSpec(label_column="label"),
            str(tmp_path / "m.joblib"),
            TrainConfig(model="linreg", task="regression", recipe=SPLIT),
        )


def test_wrong_model_combinations():
    with pytest.raises(UsageError, match="linreg"):
        TrainConfig(model="logreg", task="regression")
    with pytest.raises(UsageError, match="--task regression"):
        TrainConfig(model="linreg")
    with pytest.raises(UsageError):
        TrainConfig(model="svm")


def test_model_of_another_kind(reviews, tmp_path, cli):
    train_path, _ = reviews
    vec = tmp_path / "vec.joblib"
    r = cli("vectorize", "fit", str(train_path), "-o", str(vec))
    assert r.code == 0, r.err
    with pytest.raises(ArtifactKindError, match="is a vectorizer artifact"):
        load_model(str(vec))
    r = cli("predict", str(vec), input="좋아\n")
    assert r.code == 1 and "is a vectorizer artifact" in r.err and "Traceback" not in r.err
    # ... but a vectorizer is what --vectorizer takes: its recipe and features are used as they are
    m = train(
        [str(train_path)],
        InputSpec(label_column="label"),
        str(tmp_path / "m.joblib"),
        TrainConfig(vectorizer=str(vec), dev_fraction=0.2),
    )
    assert m["accuracy"] > 0.6


def test_model_from_a_newer_nlpcli(logreg_model, tmp_path, cli):
    model_path, _ = logreg_model
    obj = joblib.load(model_path)
    obj["nlpcli"]["nlpcli_version"] = "99.0.0"
    newer = tmp_path / "newer.joblib"
    joblib.dump(obj, newer)
    with pytest.raises(ArtifactVersionError, match="newer than this nlpcli"):
        load_model(str(newer))
    r = cli("predict", str(newer), input="좋아\n")
    assert r.code == 1 and "upgrade" in r.err


def test_truncated_model(logreg_model, tmp_path):
    model_path, _ = logreg_model
    data = model_path.read_bytes()
    cut = tmp_path / "cut.joblib"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptArtifactError):
        load_model(str(cut))


def test_predict_usage_errors(logreg_model, tmp_path):
    model_path, _ = logreg_model
    with pytest.raises(UsageError, match="--label-column"):
        predict_files(str(model_path), ["-"], InputSpec(), metrics_out=str(tmp_path / "x.json"))


def test_char_ngrams_of_the_raw_text(reviews, tmp_path):
    """--char-source text: the character block reads the documents before tokenization, in
    training and in predict; pre-tokenized input is refused with a clear message."""
    train_path, dev_path = reviews
    cfg = TrainConfig(
        recipe=SPLIT,
        dev=[str(dev_path)],
        features=VectorizerConfig(ngram=(1, 1), char_ngram=(2, 3), char_source="text"),
    )
    model_path = tmp_path / "raw.joblib"
    m = train([str(train_path)], InputSpec(label_column="label"), str(model_path), cfg)
    model = load_model(str(model_path))
    assert model.needs_raw
    out = tmp_path / "p.tsv"
    again = predict_files(str(model_path), [str(dev_path)], InputSpec(label_column="label"), output=str(out))
    assert again["accuracy"] == pytest.approx(m["accuracy"])
    with pytest.raises(UsageError, match="without --tokenized"):
        predict_files(str(model_path), [str(dev_path)], InputSpec(), tokenized=True)
    cfg.tokenized = True
    with pytest.raises(UsageError, match="without --tokenized"):
        train([str(train_path)], InputSpec(label_column="label"), str(tmp_path / "x.joblib"), cfg)
    with pytest.raises(UsageError, match="--char-source"):
        VectorizerConfig(char_ngram=(1, 3), char_source="bytes")


def test_the_configs_own_the_train_defaults():
    mlp = EstimatorConfig.for_model("mlp", epochs=7, max_iter=1000, class_weight="none")
    assert (mlp.max_iter, mlp.alpha, mlp.learning_rate, mlp.class_weight) == (7, 1e-4, 1e-3, None)
    linreg = EstimatorConfig.for_model("linreg", epochs=7, max_iter=50, alpha=None, learning_rate=None)
    assert (linreg.max_iter, linreg.alpha) == (50, 1.0)
    assert EstimatorConfig.for_model("mlp", alpha=0.5, learning_rate=0.01).alpha == 0.5
    with pytest.raises(UsageError):
        EstimatorConfig.for_model("mlp", learning_rate=0.0)
    assert TrainConfig(model="rnn").held_out_fraction == 0.1
    assert TrainConfig(model="logreg").held_out_fraction == 0.0
    assert TrainConfig(model="rnn", dev_fraction=0.3).held_out_fraction == 0.3
    assert TrainConfig.recipe_options("none", "nouns", True, True) == {
        "operation": "split",
        "tagger": "okt",
        "stem": False,
        "norm": False,
    }
    assert TrainConfig.recipe_options("kiwi", "nouns", True, True) == {
        "operation": "nouns",
        "tagger": "kiwi",
        "stem": True,
        "norm": False,
    }


def test_rnn_options_without_torch():
    """The RNN's options and the train command's loop options; neither imports torch."""
    code = """
import sys
from nlpcli.classify import rnn
from nlpcli.classify.rnn.config import RnnConfig, loop_config
import nlpcli.classify.train
assert RnnConfig(learning_rate=None).learning_rate == 2e-3
loop = loop_config("m.pt", epochs=3, early_stopping=False, patience=2, clip_norm=0.0, ema=0.0, max_time=1.5)
assert (loop.epochs, loop.patience, loop.clip_norm, loop.ema) == (3, None, None, None)
assert (loop.checkpoint, loop.max_time) == ("m.pt.ckpt", 90.0)
loop = loop_config("m.pt", patience=4, clip_norm=1.0, ema=0.99, checkpoint="c.pt")
assert (loop.patience, loop.clip_norm, loop.ema, loop.checkpoint, loop.max_time) == (4, 1.0, 0.99, "c.pt", None)
assert rnn.RnnConfig is RnnConfig and callable(rnn.Vocabulary)
assert not any(m == "torch" or m.startswith("torch.") for m in sys.modules), "torch was imported"
assert not any(m.startswith("sklearn") for m in sys.modules), "scikit-learn was imported"
"""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
