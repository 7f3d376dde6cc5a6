"""nlpcli in odd environments: a C locale, an ASCII or Latin-1 ``PYTHONIOENCODING``, no terminal,
SIGINT ignored by whoever started us (``nohup``, a background job of a script), ``TMPDIR``
elsewhere and a home folder that cannot be written. Data on stdout is UTF-8 in all of them and
every run ends cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO, default_signals

KOREAN = "영화가 정말 재밌다\n배우 연기 최고\n"


def run(args, env_extra: dict, tmp_path, input: bytes | None = None, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), **env_extra}  # this checkout's nlpcli, from any folder
    return subprocess.run(
        [sys.executable, "-m", "nlpcli", *args],
        input=input,
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        preexec_fn=default_signals,
        stdin=None if input is not None else subprocess.DEVNULL,
        **kw,
    )


@pytest.fixture
def korean(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text(KOREAN, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "env",
    [
        {"PYTHONIOENCODING": "ascii"},
        {"PYTHONIOENCODING": "latin-1"},
        {"LANG": "C", "LC_ALL": "C"},
        {"LANG": "C", "LC_ALL": "C", "PYTHONIOENCODING": "ascii", "PYTHONUTF8": "0"},
    ],
)
def test_utf8_data_on_stdout_whatever_the_encoding_says(tmp_path, korean, env):
    res = run(["preprocess", "split", str(korean)], env, tmp_path)
    assert res.returncode == 0 and res.stderr == b"", res.stderr
    assert res.stdout.decode("utf-8") == KOREAN
    res = run(["preprocess", "split", "-F", "jsonl", "-"], env, tmp_path, input=KOREAN.encode())
    assert res.returncode == 0 and "영화가" in res.stdout.decode("utf-8")


def test_kiwi_morphs_under_an_ascii_stdout(tmp_path, korean):
    """Once ended with a traceback (I/O operation on closed file) and exit 1 after writing its output."""
    pytest.importorskip("kiwipiepy")
    res = run(
        ["preprocess", "morphs", "--tagger", "kiwi", str(korean)], {"PYTHONIOENCODING": "ascii"}, tmp_path
    )
    assert res.returncode == 0, res.stderr
    assert b"Traceback" not in res.stderr
    lines = res.stdout.decode("utf-8").splitlines()
    assert len(lines) == 2 and lines[0].startswith("영화")


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "ascii"}, {"LANG": "C", "LC_ALL": "C"}])
def test_errors_naming_a_korean_file_never_crash(tmp_path, env):
    res = run(["preprocess", "split", str(tmp_path / "없는파일.txt")], env, tmp_path)
    assert res.returncode == 1 and b"Traceback" not in res.stderr
    err = res.stderr.decode("utf-8", "replace")
    assert err.startswith("nlpcli: error: ") and err.count("\n") == 1 and "no such file" in err


def test_closed_pipe_under_an_ascii_stdout_is_quiet(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("영화 정말 좋다\n" * 50_000, encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        f"set -o pipefail; {sys.executable} -m nlpcli preprocess split {big} | head -n 1",
        shell=True,
        capture_output=True,
        executable="/bin/bash",
        env=env,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8") == "영화 정말 좋다\n" and proc.stderr == b""


def test_no_terminal_and_no_controlling_tty(tmp_path, korean):
    res = run(
        ["preprocess", "split", str(korean), "-o", str(tmp_path / "out.txt")],
        {},
        tmp_path,
        start_new_session=True,
    )
    assert res.returncode == 0 and res.stderr == b""  # no progress bar, no message
    assert (tmp_path / "out.txt").read_text(encoding="utf-8") == KOREAN


def test_tmpdir_elsewhere_and_home_unwritable(tmp_path, korean):
    """``HOME`` points below a regular file, so nothing can be created there (as root, a chmod
    would not stop us); ``TMPDIR`` is a folder of its own. Commands that write outputs and caches
    still work, and write nothing to either."""
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {"HOME": str(blocker / "home"), "TMPDIR": str(tmpdir), "XDG_CACHE_HOME": ""}
    res = run(["preprocess", "split", str(korean), "-o", str(tmp_path / "out.txt")], env, tmp_path)
    assert res.returncode == 0, res.stderr
    tsv = tmp_path / "in.tsv"
    tsv.write_text("text\n" + "영화 정말 좋다 배우 연기\n" * 50, encoding="utf-8")
    res = run(
        [
            "-q",
            "embed",
            "train",
            str(tsv),
            "-o",
            str(tmp_path / "m"),
            "--dim",
            "4",
            "--min-count",
            "1",
            "--epochs",
            "1",
            "--workers",
            "1",
        ],
        env,
        tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert list(tmpdir.iterdir()) == []


def test_a_child_of_a_process_that_ignores_sigint_is_interrupted_by_default_signals(tmp_path):
    """What ``nohup`` or a background job of a script does to SIGINT; the tests that send Ctrl-C
    restore it in the child with ``default_signals``."""
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nlpcli", "preprocess", "split", "-", "-o", str(tmp_path / "out.txt")],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
            preexec_fn=default_signals,
        )
    finally:
        signal.signal(signal.SIGINT, old)
    proc.stdin.write("영화 좋다\n".encode() * 100)
    proc.stdin.flush()
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and not (tmp_path / "out.txt").exists()
