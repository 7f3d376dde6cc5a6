"""``--scheduler``: the same output on a real Dask cluster (separate worker processes, TCP on
127.0.0.1) as locally, also when a worker dies in the middle of the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "nlpcli", *args], capture_output=True, text=True, **kw)


def test_preprocess_on_cluster_equals_local(cluster, sample):
    src = str(sample / "reviews-test.tsv")
    local = _cli("preprocess", "morphs", "-t", "kiwi", "--stem", src)
    remote = _cli(
        "preprocess", "morphs", "-t", "kiwi", "--stem", "--scheduler", cluster.scheduler_address, src
    )
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout and len(remote.stdout.splitlines()) == 1001


def test_no_dask_import_without_scheduler(sample):
    code = (
        "import sys\nfrom nlpcli.cli import main\n"
        f"try:\n    main(['-q', 'preprocess', 'split', {str(sample / 'reviews-test.tsv')!r}, '-o', '/dev/null'])\n"
        "except SystemExit as e:\n    assert e.code == 0\n"
        "print('distributed' in sys.modules, 'dask' in sys.modules, file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stderr.strip().splitlines()[-1] == "False False"


def test_unreachable_scheduler_is_one_clear_line():
    res = _cli("preprocess", "split", "--scheduler", "tcp://127.0.0.1:1", "-", input="a\n", timeout=120)
    assert res.returncode == 1
    assert "cannot reach the Dask scheduler" in res.stderr and "Traceback" not in res.stderr


def test_worker_killed_mid_job_output_unchanged(cluster, sample, tmp_path):
    src = tmp_path / "in.txt"
    texts = [line.split("\t")[1] for line in (sample / "reviews-train.tsv").read_text().splitlines()[1:]]
    src.write_text("\n".join(texts * 3) + "\n", encoding="utf-8")
    local = _cli("preprocess", "morphs", "-t", "kiwi", str(src))
    assert local.returncode == 0
    pids = [w.process.process.pid for w in cluster.workers.values()]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nlpcli",
            "preprocess",
            "morphs",
            "-t",
            "kiwi",
            "--scheduler",
            cluster.scheduler_address,
            str(src),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out_lines: list[str] = []

    def reader():
        for line in proc.stdout:
            out_lines.append(line)

    t = threading.Thread(target=reader)
    t.start()
    deadline = time.monotonic() + 120
    while len(out_lines) < 1000 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the job ended before a worker could be killed"
    os.kill(pids[0], signal.SIGKILL)  # the nanny restarts it; Dask reruns its tasks
    t.join(timeout=300)
    proc.wait(timeout=60)
    assert proc.returncode == 0, proc.stderr.read()
    assert "".join(out_lines) == local.stdout


def test_vectorize_transform_on_cluster_equals_local(cluster, sample, tmp_path):
    import scipy.sparse as sp

    vec = tmp_path / "v.joblib"
    src = str(sample / "reviews-test.tsv")
    assert _cli("vectorize", "fit", src, "-t", "kiwi", "-o", str(vec)).returncode == 0
    local = _cli("vectorize", "transform", str(vec), src, "-o", str(tmp_path / "a.npz"))
    remote = _cli(
        "vectorize",
        "transform",
        str(vec),
        src,
        "-o",
        str(tmp_path / "b.npz"),
        "--scheduler",
        cluster.scheduler_address,
    )
    assert local.returncode == 0 and remote.returncode == 0, remote.stderr
    a, b = sp.load_npz(tmp_path / "a.npz"), sp.load_npz(tmp_path / "b.npz")
    assert a.shape == b.shape == (1000, a.shape[1]) and (a != b).nnz == 0


def test_predict_on_cluster_equals_local(cluster, sample, tmp_path):
    model = tmp_path / "m.joblib"
    train = _cli(
        "train", str(sample / "reviews-train.tsv"), "--model", "logreg", "-t", "kiwi", "-o", str(model)
    )
    assert train.returncode == 0, train.stderr
    src = str(sample / "reviews-test.tsv")
    local = _cli("predict", str(model), src, "--label-column", "label")
    remote = _cli(
        "predict", str(model), src, "--label-column", "label", "--scheduler", cluster.scheduler_address
    )
    assert local.returncode == 0 and remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout and len(local.stdout.splitlines()) == 1001
    assert "accuracy" in remote.stderr
