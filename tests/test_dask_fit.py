"""``vectorize fit --scheduler``: workers read and count their parts of the input, the counts
are merged on the cluster, and the vectorizer equals the one a local fit writes; also when a
worker dies in the middle of the fit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import REPO, run_nlpcli

distributed = pytest.importorskip("distributed")

EXACT = ["-t", "kiwi", "--ngram", "1,2", "--char-ngram", "2,3", "--min-df", "2", "--max-df", "0.5"]
HASHED = ["--hashing", "12", "--ngram", "1,2", "--char-ngram", "1,3", "--min-df", "2", "--max-df", "0.4"]


def _cli(*args, **kw):
    res = run_nlpcli(*args, **kw)
    return subprocess.CompletedProcess(args, res.code, res.out, res.err)


def _fit(src, out, options, *extra):
    res = _cli("vectorize", "fit", str(src), *options, "-o", str(out), *extra)
    assert res.returncode == 0, res.stderr
    from nlpcli.features.vectorize import load

    return load(str(out))


@pytest.fixture(scope="module")
def local_exact(sample, tmp_path_factory):
    return _fit(sample / "reviews-test.tsv", tmp_path_factory.mktemp("local") / "v.joblib", EXACT)


def assert_same_vectorizer(a, b):
    (fa, ra, arta), (fb, rb, artb) = a, b
    assert ra.to_dict() == rb.to_dict() and fa.n_docs == fb.n_docs > 0
    assert arta.manifest["data"] == artb.manifest["data"]
    assert np.array_equal(fa.doc_freq, fb.doc_freq)
    if fa.config.hashing is None:
        assert fa.vectorizer.vocabulary_ == fb.vectorizer.vocabulary_
        assert fa.char_vectorizer.vocabulary_ == fb.char_vectorizer.vocabulary_
        assert np.array_equal(fa.vectorizer.idf_, fb.vectorizer.idf_)
        assert np.array_equal(fa.char_vectorizer.idf_, fb.char_vectorizer.idf_)
    else:
        assert all(np.array_equal(x, y) for x, y in zip(fa.masks, fb.masks))
        assert np.array_equal(fa.weighting.idf_, fb.weighting.idf_)


def test_exact_fit_on_cluster_equals_local(cluster, sample, tmp_path, local_exact):
    src = sample / "reviews-test.tsv"
    remote = _fit(
        src, tmp_path / "r.joblib", EXACT, "--scheduler", cluster.scheduler_address, "--partition-mb", "0.01"
    )
    assert_same_vectorizer(local_exact, remote)
    assert (
        local_exact[0].n_docs == 1000
        and len(local_exact[0].vectorizer.vocabulary_) > 1000
        and len(local_exact[0].char_vectorizer.vocabulary_)
    )
    # and they transform new text alike
    from nlpcli.text.recipe import Preprocessor
    from nlpcli.textio import read_column

    raw, _ = read_column([str(sample / "reviews-test.tsv")])
    tokens = Preprocessor(local_exact[1]).process(raw)
    X, Y = local_exact[0].transform(tokens, raw), remote[0].transform(tokens, raw)
    assert X.shape == Y.shape and X.nnz > 5_000 and (X != Y).nnz == 0


def test_hashed_fit_on_cluster_equals_local(cluster, sample, tmp_path):
    src = sample / "reviews-train.tsv"
    local = _fit(src, tmp_path / "l.joblib", HASHED)
    remote = _fit(
        src, tmp_path / "r.joblib", HASHED, "--scheduler", cluster.scheduler_address, "--partition-mb", "0.02"
    )
    assert_same_vectorizer(local, remote)
    assert local[0].masks[0] is not None  # --max-df dropped columns: the bounds were applied
    import scipy.sparse as sp

    test = str(sample / "reviews-test.tsv")
    for name in ("l", "r"):
        res = _cli(
            "vectorize",
            "transform",
            str(tmp_path / f"{name}.joblib"),
            test,
            "-o",
            str(tmp_path / f"{name}.npz"),
        )
        assert res.returncode == 0, res.stderr
    X, Y = sp.load_npz(tmp_path / "l.npz"), sp.load_npz(tmp_path / "r.npz")
    assert X.shape == (1000, 2 * 2**12) and X.nnz > 10_000 and (X != Y).nnz == 0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_and_unreadable_input_are_one_line(sample, tmp_path):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    out = str(tmp_path / "v.joblib")
    res = _cli(
        "vectorize", "fit", str(sample / "reviews-test.tsv"), "--scheduler", address, "-o", out, timeout=60
    )
    assert time.monotonic() - start < 10
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines() == [
        f"nlpcli: error: cannot reach the Dask scheduler at {address} (Connection refused); "
        "start one with 'dask scheduler' and workers with 'dask worker ADDRESS'"
    ]
    missing = tmp_path / "missing.tsv"  # found out before any connection is tried
    res = _cli("vectorize", "fit", str(missing), "--scheduler", address, "-o", out, timeout=60)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [f"nlpcli: error: {missing}: no such file; check the path"]
    res = _cli("vectorize", "fit", "-", "--scheduler", address, "-o", out, input="a\n", timeout=60)
    assert res.returncode == 2 and "cluster workers cannot read stdin" in res.stderr
    res = _cli(
        "vectorize",
        "fit",
        str(sample / "reviews-test.tsv"),
        "--scheduler",
        address,
        "--matrix-out",
        "X.npz",
        "-o",
        out,
    )
    assert res.returncode == 2 and "--matrix-out" in res.stderr


def test_input_the_workers_cannot_read_is_an_error_naming_it(cluster, tmp_path, monkeypatch):
    from nlpcli.errors import DataError
    from nlpcli.features import cluster_fit
    from nlpcli.features.vectorizers import VectorizerConfig
    from nlpcli.partitions import Partition
    from nlpcli.text.recipe import Recipe
    from nlpcli.textio import InputSpec

    src = tmp_path / "here.txt"
    src.write_text("가 나\n다\n" * 100, encoding="utf-8")
    elsewhere = f"{tmp_path}/only-on-the-driver.txt"  # as if the workers mounted another disk
    parts = [
        Partition(str(src), 0, None, 0),
        Partition(elsewhere, 0, 300, 1),
        Partition(elsewhere, 300, None, 2),
    ]
    monkeypatch.setattr(cluster_fit, "plan", lambda *a: parts)
    with pytest.raises(DataError, match=f"^{elsewhere}: no such file; check the path$"):
        cluster_fit.count_on_cluster(
            [str(src)], InputSpec(), VectorizerConfig(), Recipe(operation="split"), cluster.scheduler_address
        )


def _tasks_done(scheduler) -> int:
    return sum(
        1 for ts in scheduler.tasks.values() if ts.key.startswith("_run_chunk") and ts.state == "memory"
    )


def test_worker_killed_mid_fit_vectorizer_unchanged(cluster, sample, tmp_path, local_exact):
    pids = [w.process.process.pid for w in cluster.workers.values()]
    out = tmp_path / "killed.joblib"
    cmd = ["vectorize", "fit", str(sample / "reviews-test.tsv"), *EXACT, "-o", str(out)]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nlpcli",
            *cmd,
            "--scheduler",
            cluster.scheduler_address,
            "--partition-mb",
            "0.02",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.monotonic() + 120
    while _tasks_done(cluster.scheduler) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the fit ended before a worker could be killed"
    os.kill(pids[0], signal.SIGKILL)  # the nanny restarts it; Dask reruns the lost tasks
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    from nlpcli.features.vectorize import load

    assert_same_vectorizer(local_exact, load(str(out)))
