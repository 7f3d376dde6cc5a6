"""``train --model rnn`` under a real 2-process ``torchrun`` job (gloo on loopback): it trains,
only rank 0 writes, the result stays close to a 1-process run with the same global batch, and
``--resume`` works the same way."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rnn_args(sample, out, metrics, batch, epochs=3, extra=()):
    return [
        "train",
        str(sample / "reviews-train.tsv"),
        "--model",
        "rnn",
        "--tagger",
        "kiwi",
        "--dev",
        str(sample / "reviews-test.tsv"),
        "-o",
        str(out),
        "--metrics-out",
        str(metrics),
        "--cell",
        "gru",
        "--hidden",
        "32",
        "--embedding-dim",
        "32",
        "--epochs",
        str(epochs),
        "--batch-size",
        str(batch),
        "--patience",
        "5",
        "--seed",
        "7",
        "--threads",
        "1",
        "--device",
        "cpu",
        *extra,
    ]


def _torchrun(args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(_free_port()),
        "-m",
        "nlpcli",
        "-q",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def _single(args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "nlpcli", "-q", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def test_two_process_run_matches_one_process_run(sample, tmp_path):
    one = _single(_rnn_args(sample, tmp_path / "one.pt", tmp_path / "one.json", batch=64), tmp_path)
    assert one.returncode == 0, one.stderr
    two = _torchrun(_rnn_args(sample, tmp_path / "two.pt", tmp_path / "two.json", batch=32), tmp_path)
    assert two.returncode == 0, two.stderr[-3000:]
    acc_one = json.loads((tmp_path / "one.json").read_text())["accuracy"]
    acc_two = json.loads((tmp_path / "two.json").read_text())["accuracy"]
    assert acc_one > 0.6 and acc_two > 0.6  # both learned something real
    assert abs(acc_one - acc_two) < 0.05, (acc_one, acc_two)
    # the model written by rank 0 predicts
    pred = subprocess.run(
        [sys.executable, "-m", "nlpcli", "predict", str(tmp_path / "two.pt")],
        input="정말 재밌어요\n최악의 영화\n",
        capture_output=True,
        text=True,
    )
    assert pred.returncode == 0 and len(pred.stdout.splitlines()) == 2, pred.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".pt") == ["one.pt", "two.pt"]


def test_resume_under_torchrun(sample, tmp_path):
    ckpt = tmp_path / "ckpt.pt"
    full = _torchrun(
        _rnn_args(sample, tmp_path / "full.pt", tmp_path / "full.json", batch=32, epochs=2), tmp_path
    )
    assert full.returncode == 0, full.stderr[-3000:]
    first = _torchrun(
        _rnn_args(
            sample,
            tmp_path / "half.pt",
            tmp_path / "half.json",
            batch=32,
            epochs=1,
            extra=("--checkpoint", str(ckpt)),
        ),
        tmp_path,
    )
    assert first.returncode == 0, first.stderr[-3000:]
    assert ckpt.exists()
    resumed = _torchrun(
        _rnn_args(
            sample,
            tmp_path / "resumed.pt",
            tmp_path / "resumed.json",
            batch=32,
            epochs=2,
            extra=("--checkpoint", str(ckpt), "--resume", str(ckpt)),
        ),
        tmp_path,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a = torch.load(tmp_path / "full.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "resumed.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_translate_train_under_torchrun(sample, tmp_path):
    lines = (sample / "tatoeba-train.tsv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "tr.tsv").write_text("\n".join(lines[:600]) + "\n", encoding="utf-8")
    dev = (sample / "tatoeba-dev.tsv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "dv.tsv").write_text("\n".join(dev[:100]) + "\n", encoding="utf-8")
    res = _torchrun(
        [
            "translate",
            "train",
            "tr.tsv",
            "--dev",
            "dv.tsv",
            "--source-lang",
            "ko",
            "--target-lang",
            "en",
            "--epochs",
            "2",
            "--hidden",
            "32",
            "--embedding-dim",
            "32",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--seed",
            "3",
            "-o",
            "t.pt",
        ],
        tmp_path,
    )
    # every rank trains its own sentencepiece models: DDP refuses to start unless the vocabularies
    # (and so every parameter shape) agree
    assert res.returncode == 0, res.stderr[-3000:]
    run = subprocess.run(
        [sys.executable, "-m", "nlpcli", "translate", "run", str(tmp_path / "t.pt")],
        input="안녕하세요\n",
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and len(run.stdout.splitlines()) == 1, run.stderr


_AGREE = r"""
import json, os, sys
import torch.distributed as dist
from nlpcli import training
dist.init_process_group("gloo")
rank = int(os.environ["RANK"])
# a clock-driven quantity that differs per rank (as two processes' clocks do)
value = training.agreed_max(0.25 + 0.5 * rank)
with open(os.path.join(sys.argv[1], f"rank{rank}.json"), "w") as fh:
    json.dump(value, fh)
dist.destroy_process_group()
"""


def test_agreed_max_gives_every_rank_the_same_value(tmp_path):
    """The time-based learning rate of ``translate train --max-time`` goes through agreed_max:
    under a real 2-process job both ranks get the slowest clock, so their optimizers step alike."""
    script = tmp_path / "agree.py"
    script.write_text(_AGREE)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            "2",
            "--master-addr",
            "127.0.0.1",
            "--master-port",
            str(_free_port()),
            str(script),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    values = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert values == [0.75, 0.75]
    from nlpcli import training

    assert training.agreed_max(0.3) == 0.3  # outside a job: the value itself
