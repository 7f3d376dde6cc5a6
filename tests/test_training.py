"""The torch training loop and the RNN: exact resume after an interrupt, Ctrl-C, time budget,
early stopping, devices, torch artifacts (truncated, newer, wrong kind)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from nlpcli import artifacts, training
from nlpcli.classify.predict import load_model, predict_files
from nlpcli.classify.rnn import RnnConfig
from nlpcli.classify.train import TrainConfig, train
from nlpcli.embed.store import load_word_vectors
from nlpcli.errors import (
    ArtifactKindError,
    ArtifactVersionError,
    CorruptArtifactError,
    DependencyError,
    UsageError,
)
from nlpcli.text.recipe import Recipe
from nlpcli.textio import InputSpec
from nlpcli.training import loop as loop_mod
from nlpcli.training import precision as precision_mod

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
SPEC = InputSpec(label_column="label")


@pytest.fixture(scope="module")
def slice_path(tmp_path_factory):
    """A small real slice: 600 reviews (whitespace tokens, no tagger)."""
    path = tmp_path_factory.mktemp("data") / "train.tsv"
    lines = (SAMPLE / "reviews-train.tsv").read_text(encoding="utf-8").splitlines()[:601]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def configs(tmp_path, **loop):
    cfg = TrainConfig(model="rnn", recipe=Recipe("split"), dev_fraction=0.2, seed=3)
    rnn = RnnConfig(hidden=16, embedding_dim=16, max_length=30, min_count=1, dropout=0.3, pooling="max")
    options = dict(
        epochs=2,
        batch_size=32,
        patience=None,
        device="cpu",
        threads=1,
        seed=3,
        checkpoint=str(tmp_path / "ckpt.pt"),
    )
    options.update(loop)
    return cfg, rnn, training.LoopConfig(**options)


def state_of(path) -> dict:
    return artifacts.load(path).payload["state_dict"]


class Interrupt:
    """Patches LoopTask so that a KeyboardInterrupt is raised after batch ``at`` of epoch ``epoch``
    (what Ctrl-C does between two batches)."""

    def __init__(self, monkeypatch, epoch: int, at: int):
        original = loop_mod.LoopTask

        def factory(**kwargs):
            def hook(e, b):
                if (e, b) == (epoch, at):
                    raise KeyboardInterrupt

            return original(**kwargs, on_batch_end=hook)

        monkeypatch.setattr(loop_mod, "LoopTask", factory)


@pytest.mark.slow
@pytest.mark.parametrize("epoch,at", [(1, 4), (0, 14)])  # mid-epoch, and the last batch of an epoch
def test_interrupt_and_resume_end_at_the_same_model(slice_path, tmp_path, monkeypatch, epoch, at):
    cfg, rnn, loop = configs(tmp_path, checkpoint=str(tmp_path / "straight.ckpt"))
    straight = tmp_path / "straight.pt"
    m1 = train([str(slice_path)], SPEC, str(straight), cfg, rnn=rnn, loop=loop)

    cfg, rnn, loop = configs(tmp_path)
    resumed = tmp_path / "resumed.pt"
    with monkeypatch.context() as mp:
        Interrupt(mp, epoch, at)
        with pytest.raises(KeyboardInterrupt):
            train([str(slice_path)], SPEC, str(resumed), cfg, rnn=rnn, loop=loop)
    assert not resumed.exists()
    ckpt = training.load_checkpoint(str(tmp_path / "ckpt.pt"))
    assert (ckpt["progress"]["epoch"], ckpt["progress"]["batch"]) == (epoch, at + 1)
    loop.resume = str(tmp_path / "ckpt.pt")
    m2 = train([str(slice_path)], SPEC, str(resumed), cfg, rnn=rnn, loop=loop)
    a, b = state_of(straight), state_of(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert m1["accuracy"] == m2["accuracy"]


def test_resume_refuses_other_options(slice_path, tmp_path, monkeypatch):
    cfg, rnn, loop = configs(tmp_path, epochs=1)
    with monkeypatch.context() as mp:
        Interrupt(mp, 0, 2)
        with pytest.raises(KeyboardInterrupt):
            train([str(slice_path)], SPEC, str(tmp_path / "m.pt"), cfg, rnn=rnn, loop=loop)
    rnn.hidden = 32
    loop.resume = str(tmp_path / "ckpt.pt")
    with pytest.raises(UsageError, match="other options or data"):
        train([str(slice_path)], SPEC, str(tmp_path / "m.pt"), cfg, rnn=rnn, loop=loop)


def test_rnn_predicts_through_the_common_interface(slice_path, tmp_path):
    cfg, rnn, loop = configs(tmp_path, epochs=1)
    rnn.cell, rnn.layers, rnn.pooling, rnn.subwords = "lstm", 2, "last", 3
    out = tmp_path / "rnn.pt"
    metrics = train([str(slice_path)], SPEC, str(out), cfg, rnn=rnn, loop=loop)
    assert 0 <= metrics["accuracy"] <= 1
    with open(out, "rb") as fh:
        assert fh.read(4) == b"PK\x03\x04"  # a torch zip file, read back with weights_only=True
    model = load_model(str(out))
    pred = model.predict(["정말 재밌어요", "", "최악"])  # an empty text too
    assert pred.probabilities.shape == (3, 2)
    assert np.allclose(pred.probabilities.sum(axis=1), 1)
    result = predict_files(str(out), [str(SAMPLE / "reviews-test.tsv")], SPEC, output=str(tmp_path / "p.tsv"))
    assert result["n"] == 1000


def test_rnn_regression(tmp_path):
    path = tmp_path / "ratings.tsv"
    lines = (SAMPLE / "ratings-train.tsv").read_text(encoding="utf-8").splitlines()[:401]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg, rnn, loop = configs(tmp_path, epochs=1)
    cfg.task = "regression"
    m = train([str(path)], InputSpec(label_column="rating"), str(tmp_path / "r.pt"), cfg, rnn=rnn, loop=loop)
    assert m["task"] == "regression" and m["mae"] > 0
    values = load_model(str(tmp_path / "r.pt")).predict(["최고", "최악"]).values
    assert ((1 <= values) & (values <= 10)).all()


def test_time_budget_keeps_the_best_model(slice_path, tmp_path):
    cfg, rnn, loop = configs(tmp_path, epochs=50, max_time=0.5)
    start = time.perf_counter()
    m = train([str(slice_path)], SPEC, str(tmp_path / "m.pt"), cfg, rnn=rnn, loop=loop)
    assert time.perf_counter() - start < 30
    data = artifacts.load(tmp_path / "m.pt").manifest["data"]
    assert data["stopped"] == "time" and m["n"] == 120


def _toy_task(scores=None, lr=0.5):
    """A linear model on fixed data; ``scores`` (one per epoch) is what dev returns (default: 0.5
    every epoch, never an improvement after the first)."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    X, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
    seen = []

    def evaluate(m):
        seen.append(1)
        return {"accuracy": (scores or [0.5] * 100)[len(seen) - 1]}

    return training.LoopTask(
        model=model,
        optimizer=opt,
        batches=lambda epoch, gen: [torch.randperm(64, generator=gen)[i : i + 16] for i in range(0, 64, 16)],
        loss=lambda m, idx: torch.nn.functional.cross_entropy(m(X[idx]), y[idx]),
        evaluate=evaluate,
    )


def test_early_stopping_on_a_toy_task():
    task = _toy_task(lr=0.1)  # dev never improves after the first epoch
    result = training.Trainer(training.LoopConfig(epochs=20, patience=2, device="cpu")).fit(task)
    assert result.stopped == "early" and result.epochs == 3 and result.best_epoch == 1


def test_device_choice(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert training.resolve_device("auto").type == "cpu"
    assert capsys.readouterr().err == ""  # the CPU is a normal place to run: no warning
    with pytest.raises(DependencyError, match="--device cuda: no CUDA GPU"):
        training.resolve_device("cuda")
    with pytest.raises(UsageError):
        training.LoopConfig(device="tpu")


def test_device_cuda_without_gpu_cli(slice_path, tmp_path, cli):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    r = cli(
        "train",
        str(slice_path),
        "--tagger",
        "none",
        "--model",
        "rnn",
        "--device",
        "cuda",
        "-o",
        str(tmp_path / "m.pt"),
    )
    assert r.code == 1 and "no CUDA GPU" in r.err and "Traceback" not in r.err


def test_bad_torch_artifacts(slice_path, tmp_path, cli):
    cfg, rnn, loop = configs(tmp_path, epochs=1)
    out = tmp_path / "rnn.pt"
    train([str(slice_path)], SPEC, str(out), cfg, rnn=rnn, loop=loop)
    data = out.read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptArtifactError, match="truncated or corrupt"):
        load_model(str(cut))
    r = cli("predict", str(cut), input="좋아\n")
    assert r.code == 1 and "truncated or corrupt" in r.err
    obj = torch.load(out, weights_only=True)
    obj["nlpcli"]["nlpcli_version"] = "99.0.0"
    newer = tmp_path / "newer.pt"
    torch.save(obj, newer)
    with pytest.raises(ArtifactVersionError):
        load_model(str(newer))
    # a checkpoint is not a model, and a model is not a checkpoint
    with pytest.raises(ArtifactKindError, match="checkpoint artifact"):
        load_model(str(tmp_path / "ckpt.pt"))
    loop.resume = str(out)
    with pytest.raises(ArtifactKindError):
        train([str(slice_path)], SPEC, str(tmp_path / "m2.pt"), cfg, rnn=rnn, loop=loop)


@pytest.mark.slow
def test_sigint_saves_a_checkpoint_and_exits_130(tmp_path):
    data = tmp_path / "train.tsv"
    lines = (SAMPLE / "reviews-train.tsv").read_text(encoding="utf-8").splitlines()
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ckpt = tmp_path / "m.pt.ckpt"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nlpcli",
            "train",
            str(data),
            "--tagger",
            "none",
            "--model",
            "rnn",
            "--epochs",
            "30",
            "--hidden",
            "32",
            "--embedding-dim",
            "32",
            "--threads",
            "1",
            "--device",
            "cpu",
            "-o",
            str(tmp_path / "m.pt"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert ckpt.exists(), proc.stderr.read().decode() if proc.poll() is not None else "no checkpoint in time"
    time.sleep(1.0)  # inside epoch 2
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "checkpoint saved" in err.decode() and out == b""
    state = training.load_checkpoint(str(ckpt))
    assert state["progress"]["epoch"] >= 1
    assert not (tmp_path / "m.pt").exists()


def test_embeddings_from_an_embed_model(slice_path, tmp_path, cli):
    w2v = tmp_path / "w2v"
    r = cli(
        "embed",
        "train",
        str(slice_path),
        "-c",
        "document",
        "-o",
        str(w2v),
        "--dim",
        "16",
        "--min-count",
        "1",
        "--epochs",
        "1",
        "--workers",
        "1",
    )
    if r.code != 0:
        pytest.skip(f"embed train unavailable here: {r.err.strip()[-200:]}")
    cfg, rnn, loop = configs(tmp_path, epochs=1)
    rnn.embeddings, rnn.freeze_embeddings = str(w2v), True
    out = tmp_path / "m.pt"
    train([str(slice_path)], SPEC, str(out), cfg, rnn=rnn, loop=loop)
    words, vectors = load_word_vectors(str(w2v))
    state = artifacts.load(out).payload
    index = {t: i for i, t in enumerate(state["vocab"].split("\n"))}  # one string, a token a line
    shared = [w for w in words if w in index][:20]
    assert shared
    for w in shared:  # frozen: the trained model still holds the word2vec vectors
        assert torch.allclose(
            state["state_dict"]["embedding.weight"][index[w]], torch.as_tensor(vectors[words.index(w)])
        )
    rnn.embedding_dim = 32
    rnn.freeze_embeddings = False
    with pytest.raises(UsageError, match="--embedding-dim 16"):
        train([str(slice_path)], SPEC, str(tmp_path / "m2.pt"), cfg, rnn=rnn, loop=loop)


def test_weight_average_is_evaluated_and_kept_and_training_continues_from_the_raw_weights():
    task = _toy_task(scores=[0.1, 0.2, 0.3])  # every epoch improves: the last average is kept
    raw = []
    task.on_batch_end = lambda e, b: raw.append([p.detach().clone() for p in task.model.parameters()])
    seen_by_dev = []
    evaluate = task.evaluate
    task.evaluate = lambda m: (seen_by_dev.append([p.detach().clone() for p in m.parameters()]), evaluate(m))[
        1
    ]
    start = [p.detach().clone() for p in task.model.parameters()]
    training.Trainer(training.LoopConfig(epochs=3, patience=None, device="cpu", ema=0.9)).fit(task)
    # the average by hand: avg_n = avg_{n-1} + (1 - d_n) (w_n - avg_{n-1}), d_n = min(0.9, (1+n)/(10+n))
    avg = [s.clone() for s in start]
    expected_at_epoch_end = []
    for n, weights in enumerate(raw, start=1):
        d = min(0.9, (1 + n) / (10 + n))
        avg = [a + (1 - d) * (w - a) for a, w in zip(avg, weights)]
        if n % 4 == 0:  # 4 batches an epoch
            expected_at_epoch_end.append([a.clone() for a in avg])
    assert len(raw) == 12
    for got, want in zip(seen_by_dev, expected_at_epoch_end):  # dev saw the average...
        for g, w in zip(got, want):
            torch.testing.assert_close(g, w)
    for g, w in zip(task.model.parameters(), expected_at_epoch_end[-1]):  # ...and the model keeps it
        torch.testing.assert_close(g.detach(), w)
    assert not torch.allclose(expected_at_epoch_end[-1][0], raw[-1][0])  # it is not the raw weights
    # training went on from the raw weights: raw step 5 follows raw step 4, not the average
    assert not torch.allclose(raw[4][0], seen_by_dev[0][0])


def test_weight_average_survives_an_interrupt_and_resume(tmp_path):
    def run(interrupt_at=None, resume=None):
        task = _toy_task()
        if interrupt_at is not None:

            def hook(e, b):
                if (e, b) == interrupt_at:
                    raise KeyboardInterrupt

            task.on_batch_end = hook
        cfg = training.LoopConfig(
            epochs=3, patience=None, device="cpu", ema=0.8, checkpoint=str(tmp_path / "ckpt.pt")
        )
        state = training.load_checkpoint(resume) if resume else None
        training.Trainer(cfg).fit(task, resume_state=state)
        return [p.detach().clone() for p in task.model.parameters()]

    whole = run()
    with pytest.raises(KeyboardInterrupt):
        run(interrupt_at=(1, 1))
    ckpt = training.load_checkpoint(tmp_path / "ckpt.pt")
    assert ckpt["average"]["steps"] == 6  # 4 batches of epoch 1 and 2 of epoch 2
    resumed = run(resume=tmp_path / "ckpt.pt")
    for a, b in zip(whole, resumed):
        torch.testing.assert_close(a, b)


def test_ema_must_be_a_decay():
    with pytest.raises(UsageError, match="--ema"):
        training.LoopConfig(ema=1.0)


def test_rnn_classifier_cli_takes_ema(slice_path, tmp_path, cli):
    common = [
        "--quiet",
        "train",
        str(slice_path),
        "--tagger",
        "none",
        "--model",
        "rnn",
        "--hidden",
        "16",
        "--embedding-dim",
        "16",
        "--epochs",
        "2",
        "--threads",
        "1",
        "--seed",
        "3",
    ]
    assert cli(*common, "-o", str(tmp_path / "raw.pt")).code == 0
    r = cli(*common, "--ema", "0.9", "-o", str(tmp_path / "avg.pt"))
    assert r.code == 0, r.err
    avg = artifacts.load(str(tmp_path / "avg.pt"))
    assert avg.manifest["params"]["loop"]["ema"] == 0.9
    raw, averaged = state_of(str(tmp_path / "raw.pt")), avg.payload["state_dict"]
    assert any(not torch.equal(raw[k], averaged[k]) for k in raw)  # the saved weights are the average


def test_adam_helper_makes_the_plain_adam_update():
    """``training.adam`` (fused where torch has it) steps exactly like ``torch.optim.Adam``."""
    torch.manual_seed(0)
    a, b = torch.nn.Linear(6, 3), torch.nn.Linear(6, 3)
    b.load_state_dict(a.state_dict())
    opt_a, opt_b = (
        training.adam(a.parameters(), 1e-2, 0.01),
        torch.optim.Adam(b.parameters(), lr=1e-2, weight_decay=0.01),
    )
    x = torch.randn(8, 6)
    for _ in range(3):
        for net, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            net(x).pow(2).sum().backward()
            opt.step()
    assert not torch.equal(a.weight, torch.nn.Linear(6, 3).weight)
    assert all(torch.allclose(p, q, atol=1e-6) for p, q in zip(a.parameters(), b.parameters()))


def test_precision_auto_follows_the_hardware(monkeypatch):
    cpu = torch.device("cpu")
    assert training.resolve_precision("fp32", cpu) == "fp32"
    assert training.resolve_precision("bf16", cpu) == "bf16"
    for native, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(precision_mod, "_native_bf16", lambda device, native=native: native)
        assert training.resolve_precision("auto", cpu) == expected
    with pytest.raises(UsageError, match="--precision"):
        training.LoopConfig(precision="fp16")


def test_autocast_runs_products_in_bf16_only_when_asked():
    cpu = torch.device("cpu")
    layer = torch.nn.Linear(4, 3)
    with training.autocast("bf16", cpu):
        assert layer(torch.ones(2, 4)).dtype == torch.bfloat16
    with training.autocast("fp32", cpu):
        assert layer(torch.ones(2, 4)).dtype == torch.float32
    assert layer.weight.dtype == torch.float32


def _stepped_rates(task) -> list[float]:
    """The learning rate of every optimizer step the loop takes on ``task`` (recorded as its loss runs)."""
    rates, loss = [], task.loss
    task.loss = lambda m, idx: (rates.append(task.optimizer.param_groups[0]["lr"]), loss(m, idx))[1]
    return rates


def test_exponential_decay_sets_each_epochs_rate():
    task = _toy_task(lr=0.5)
    task.schedule = training.ExponentialDecay(0.5, 0.5)
    rates = _stepped_rates(task)
    training.Trainer(training.LoopConfig(epochs=3, patience=None, device="cpu")).fit(task)
    assert rates == [0.5] * 4 + [0.25] * 4 + [0.125] * 4


def test_linear_decay_reaches_its_floor_at_the_last_batch():
    task = _toy_task(lr=0.4)
    task.schedule = training.LinearDecay(0.4, 0.25)
    rates = _stepped_rates(task)
    training.Trainer(training.LoopConfig(epochs=3, patience=None, device="cpu")).fit(task)
    assert rates == pytest.approx([0.4 * (1 - 0.75 * k / 12) for k in range(12)])
    assert task.optimizer.param_groups[0]["lr"] == pytest.approx(0.4 * 0.25)


def test_reduce_on_plateau_halves_after_an_evaluation_without_improvement(capsys):
    task = _toy_task(scores=[0.1, 0.3, 0.2, 0.3], lr=0.5)
    task.schedule = training.ReduceOnPlateau(0.5, "dev accuracy")
    rates = _stepped_rates(task)
    training.Trainer(training.LoopConfig(epochs=4, patience=None, device="cpu")).fit(task)
    assert rates == [0.5] * 12 + [0.25] * 4  # 0.3 after 0.3 is no improvement either
    assert task.optimizer.param_groups[0]["lr"] == 0.125
    assert "dev accuracy did not improve: learning rate 0.5 -> 0.25" in capsys.readouterr().err


@pytest.mark.parametrize(
    "schedule",
    [training.LinearDecay(0.5, 0.1), training.ReduceOnPlateau(), training.ExponentialDecay(0.5, 0.7)],
    ids=lambda s: type(s).__name__,
)
def test_every_schedule_survives_an_interrupt_and_resume(tmp_path, schedule):
    """The rate of every step after a resume is the one of the uninterrupted run; under
    ReduceOnPlateau the best score restored from the checkpoint is what dev must beat."""

    def run(interrupt_at=None, resume=None):
        task = _toy_task(lr=0.5)  # dev: 0.5 every epoch, an improvement only the first time
        task.schedule = schedule
        if interrupt_at is not None:

            def hook(e, b):
                if (e, b) == interrupt_at:
                    raise KeyboardInterrupt

            task.on_batch_end = hook
        rates = _stepped_rates(task)
        cfg = training.LoopConfig(epochs=3, patience=None, device="cpu", checkpoint=str(tmp_path / "ckpt.pt"))
        state = training.load_checkpoint(resume) if resume else None
        training.Trainer(cfg).fit(task, resume_state=state)
        return [p.detach().clone() for p in task.model.parameters()], rates

    whole, whole_rates = run()
    with pytest.raises(KeyboardInterrupt):
        run(interrupt_at=(1, 1))
    resumed, resumed_rates = run(resume=tmp_path / "ckpt.pt")
    assert resumed_rates == whole_rates[-len(resumed_rates) :] and len(resumed_rates) == 6
    for a, b in zip(whole, resumed):
        assert torch.equal(a, b)
    if isinstance(schedule, training.ReduceOnPlateau):
        assert whole_rates == [0.5] * 8 + [0.25] * 4


def test_the_package_and_its_configuration_import_without_torch():
    code = (
        "import sys; from nlpcli.training import LoopConfig, LinearDecay, check_resume; "
        "from nlpcli import training; training.ReduceOnPlateau; assert 'torch' not in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with pytest.raises(AttributeError):
        training.no_such_name  # noqa: B018


@pytest.mark.slow
def test_translator_interrupted_and_resumed_ends_at_the_same_model(tmp_path, monkeypatch):
    """Exact resume holds for ``translate train`` too, under its default linear learning-rate decay."""
    from nlpcli.translate.config import ModelConfig
    from nlpcli.translate.train import TrainConfig as TranslateConfig
    from nlpcli.translate.train import train as train_translator

    cfg = TranslateConfig(
        src_tokenizer="spm",
        src_vocab_size=1000,
        tgt_vocab_size=1000,
        dev=[str(SAMPLE / "tatoeba-dev.tsv")],
        dev_limit=20,
        word_dropout=0.1,
    )
    model = ModelConfig(hidden=16, embedding_dim=16)

    def run(name, **options):
        loop = training.LoopConfig(
            epochs=2,
            batch_size=64,
            patience=None,
            device="cpu",
            threads=1,
            seed=5,
            checkpoint=str(tmp_path / "ckpt.pt"),
            **options,
        )
        train_translator([str(SAMPLE / "tatoeba-train.tsv")], str(tmp_path / name), cfg, model, loop)
        return state_of(tmp_path / name)

    whole = run("whole.pt")
    with monkeypatch.context() as mp:
        Interrupt(mp, 0, 5)
        with pytest.raises(KeyboardInterrupt):
            run("cut.pt")
    resumed = run("resumed.pt", resume=str(tmp_path / "ckpt.pt"))
    assert whole.keys() == resumed.keys()
    for key in whole:
        assert torch.equal(whole[key], resumed[key]), key
