"""Manners on a shared machine and in a shell: the modes of what nlpcli writes follow the umask,
``-o -`` is stdout for every single-file output (binary output never to a terminal), paths are
checked before the work starts, and a full disk is one line that leaves no half-written file."""

from __future__ import annotations

import errno
import io
import json
import os
import pty
import subprocess
import sys
import tempfile

import pytest
import scipy.sparse as sp
from conftest import REPO, SAMPLE, default_signals, run_nlpcli

from nlpcli import artifacts
from nlpcli.errors import DataError, UsageError
from nlpcli.textio import check_output


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Small real inputs: 300 reviews to train on, 100 to test, 300 sentence pairs."""
    folder = tmp_path_factory.mktemp("data")
    for name, source, lines in (
        ("train.tsv", "reviews-train.tsv", 301),
        ("dev.tsv", "reviews-test.tsv", 101),
        ("pairs.tsv", "tatoeba-train.tsv", 300),
    ):
        with open(SAMPLE / source, encoding="utf-8") as src:
            (folder / name).write_text("".join(src.readlines()[:lines]), encoding="utf-8")
    return folder


def _run_script(lines: list[str], umask: int, cwd, timeout: float = 600) -> None:
    script = "set -e\n" + f"umask {umask:03o}\n" + "\n".join(lines) + "\n"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
    }
    proc = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def _modes(folder) -> dict[str, int]:
    """Every file and directory under ``folder`` (itself included): its permission bits."""
    found = {".": os.stat(folder).st_mode & 0o777}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = os.stat(path).st_mode & 0o777
    return found


#: every writing command on the small data, under umask 027
COMMANDS = [
    "$N preprocess split train.tsv -o out/pre.tsv",
    "$N vectorize fit out/pre.tsv --min-df 2 --label-column label --labels-out out/y.txt "
    "--matrix-out out/X.npz -o out/vec.joblib",
    "$N vectorize transform out/vec.joblib dev.tsv -o out/Xdev.npz",
    "$N train train.tsv --tagger none --min-df 2 --dev dev.tsv --metrics-out out/m.json -o out/logreg.joblib",
    "$N predict out/logreg.joblib dev.tsv --label-column label --metrics-out out/pm.json -o out/pred.tsv",
    "$N embed train train.tsv --dim 8 --epochs 1 --min-count 2 --workers 1 --keep hangul -o out/emb",
    "$N embed export out/emb -o out/emb.txt",
    "$N embed import out/emb.txt -o out/imp",
    "$N train train.tsv --tagger none --model rnn --epochs 1 --hidden 8 --embedding-dim 8 --dev dev.tsv "
    "-o out/rnn.pt",
    "$N translate train pairs.tsv --src-tokenizer whitespace --tgt-tokenizer whitespace --epochs 1 "
    "--hidden 8 --embedding-dim 8 --dev-fraction 0.1 --max-time 0.02 -o out/tr.pt",
]
#: under umask 022, a file, a model, several outputs of one command, a model directory
LIGHT = COMMANDS[:2] + ["$N embed import ../vectors.txt -o out/imp"]
WRITTEN = {
    "pre.tsv", "y.txt", "X.npz", "vec.joblib", "Xdev.npz", "logreg.joblib", "m.json", "pred.tsv", "pm.json",
    "emb", "emb/model.gensim", "emb/index.npy", "emb/nlpcli.json", "emb.txt", "imp", "imp/vectors.npy",
    "rnn.pt", "rnn.pt.ckpt", "tr.pt", "tr.pt.ckpt",
}  # fmt: skip


def _write_all(data, folder, umask: int, commands: list[str]):
    work = folder / "w"
    work.mkdir()
    for name in ("train.tsv", "dev.tsv", "pairs.tsv"):
        os.symlink(data / name, work / name)
    (folder / "vectors.txt").write_text("3 2\n영화 0.1 0.2\n배우 0.3 -0.1\n연기 0.5 0.5\n", encoding="utf-8")
    (work / "out").mkdir()
    os.chmod(work / "out", 0o777 & ~umask)
    _run_script(["N='python3 -m nlpcli -q'", *commands], umask, work)
    return work / "out"


@pytest.fixture(scope="module")
def written(data, tmp_path_factory):
    """The folder every writing command wrote into, under umask 027."""
    return _write_all(data, tmp_path_factory.mktemp("written"), 0o027, COMMANDS)


def _wrong_modes(out, umask: int) -> dict[str, str]:
    return {
        name: oct(mode)
        for name, mode in _modes(out).items()
        if mode != (0o777 if os.path.isdir(out / name) else 0o666) & ~umask
    }


def test_everything_written_has_the_mode_the_umask_gives(written):
    modes = _modes(written)
    assert WRITTEN <= set(modes), sorted(WRITTEN - set(modes))
    assert any(name.endswith(".json") and "tokens-" in name for name in modes)  # embed's corpus cache
    assert not _wrong_modes(written, 0o027)


def test_the_modes_under_umask_022(data, tmp_path):
    out = _write_all(data, tmp_path, 0o022, LIGHT)
    assert {"pre.tsv", "vec.joblib", "X.npz", "y.txt", "imp", "imp/vectors.npy"} <= set(_modes(out))
    assert not _wrong_modes(out, 0o022)


def test_a_rewritten_file_keeps_its_mode(data, tmp_path):
    out = tmp_path / "pre.tsv"
    out.write_text("old\n")
    os.chmod(out, 0o600)
    _run_script([f"python3 -m nlpcli -q preprocess split {data / 'dev.tsv'} -o {out}"], 0o022, tmp_path)
    assert os.stat(out).st_mode & 0o777 == 0o600 and out.read_text().startswith("id\t")


# --------------------------------------------------------------------------------------------
# -o -: stdout


def _stdout_bytes(*args: str, cwd) -> bytes:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "nlpcli", *args], capture_output=True, env=env, timeout=300, cwd=cwd
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


@pytest.mark.parametrize("dash", [["-o", "-"], []])
def test_a_matrix_goes_to_stdout_with_dash_or_without_o(data, written, tmp_path, dash):
    raw = _stdout_bytes(
        "vectorize", "transform", str(written / "vec.joblib"), str(data / "dev.tsv"), *dash, cwd=tmp_path
    )
    X = sp.load_npz(io.BytesIO(raw))
    assert (X != sp.load_npz(written / "Xdev.npz")).nnz == 0 and X.shape[0] == 100 and X.nnz > 0
    assert os.listdir(tmp_path) == []  # no file named '-', no X.npz


def test_a_model_goes_to_stdout_and_loads(data, tmp_path):
    raw = _stdout_bytes(
        "-q", "train", str(data / "train.tsv"), "--tagger", "none", "--min-df", "2", "-o", "-", cwd=tmp_path
    )
    assert os.listdir(tmp_path) == []  # no file named '-'
    (tmp_path / "m.joblib").write_bytes(raw)
    art = artifacts.load(str(tmp_path / "m.joblib"), kinds=("classifier",))
    assert art.manifest["kind"] == "classifier"
    res = run_nlpcli("predict", str(tmp_path / "m.joblib"), input="정말 재밌어요\n")
    assert res.code == 0 and res.out.split("\t")[0] in {"0", "1"}


def test_exported_vectors_go_to_stdout_without_o(data, written):
    res = run_nlpcli("embed", "export", str(written / "emb"))
    assert res.code == 0 and res.out == (written / "emb.txt").read_text(encoding="utf-8")
    head, *rows = res.out.splitlines()
    count, dim = map(int, head.split())
    assert dim == 8 and len(rows) == count > 10 and len(rows[0].split()) == 9
    res = run_nlpcli("embed", "train", str(data / "train.tsv"), "-o", "-")
    assert res.code == 2 and "a model directory cannot be written to stdout" in res.err


def _on_a_terminal(*args: str) -> tuple[int, str]:
    """Run nlpcli with stdout on a pseudo-terminal (stdin and stderr are pipes)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "nlpcli", *args],
            stdout=follower,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            timeout=120,
            preexec_fn=default_signals,
        )
    finally:
        os.close(follower)
        os.close(leader)
    return proc.returncode, proc.stderr.decode()


@pytest.mark.parametrize(
    "args",
    [
        ["vectorize", "transform", "{vec}", "{dev}"],
        ["vectorize", "transform", "{vec}", "{dev}", "-o", "-"],
        ["train", "{train}", "--tagger", "none", "-o", "-"],
        ["embed", "export", "{emb}", "--format", "word2vec-bin"],
    ],
)
def test_binary_output_is_refused_on_a_terminal_before_any_work(data, written, args):
    names = {"vec": written / "vec.joblib", "emb": written / "emb", "dev": data / "dev.tsv"}
    args = [a.format(train=data / "train.tsv", **names) for a in args]
    code, err = _on_a_terminal(*args)
    assert code == 2
    assert "refusing to write binary output to a terminal; redirect it or give -o FILE" in err
    assert "Traceback" not in err and "counting" not in err


def test_text_output_to_a_terminal_is_fine(data):
    code, err = _on_a_terminal("preprocess", "split", str(data / "dev.tsv"), "-o", "-")
    assert code == 0, err


# --------------------------------------------------------------------------------------------
# checked before the work


@pytest.fixture
def late_error(tmp_path):
    """Training data whose last line is broken: an error about it means the data was read."""
    path = tmp_path / "late.tsv"
    with open(SAMPLE / "reviews-train.tsv", encoding="utf-8") as fh:
        text = "".join(fh.readlines()[:400])
    path.write_bytes(text.encode() + b"9\t\xff\xfe broken\t1\n")
    return path


def _sys_unwritable() -> bool:
    try:
        fd, probe = tempfile.mkstemp(dir="/sys")
    except OSError:
        return True
    os.close(fd)
    os.unlink(probe)
    return False


@pytest.mark.parametrize(
    "output, message",
    [
        ("{dir}", "{dir}: is a directory; give a file name"),
        ("{dir}/missing/m.joblib", "{dir}/missing/m.joblib: the output directory does not exist"),
        pytest.param(
            "/sys/m.joblib",
            "/sys/m.joblib: cannot write here (",
            marks=pytest.mark.skipif(not _sys_unwritable(), reason="/sys is writable here"),
        ),
    ],
)
def test_a_bad_output_stops_before_the_data_is_read(late_error, tmp_path, output, message):
    output, message = (s.format(dir=tmp_path) for s in (output, message))
    res = run_nlpcli("train", str(late_error), "--tagger", "none", "-o", output)
    assert res.code == 1 and message in res.err and "late.tsv" not in res.err, res.err
    assert res.err.count("\n") == 1 and "Traceback" not in res.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late.tsv"]


@pytest.mark.parametrize(
    "args",
    [
        ["train", "{data}", "--tagger", "none", "--metrics-out", "{dir}", "-o", "{dir}/m"],
        ["vectorize", "fit", "{data}", "--matrix-out", "{dir}", "-o", "{dir}/v"],
        ["predict", "{dir}/m", "{data}", "-o", "{dir}"],
    ],
)
def test_other_outputs_are_checked_too(late_error, tmp_path, args):
    res = run_nlpcli(*(a.format(data=late_error, dir=tmp_path) for a in args))
    assert res.code == 1 and f"{tmp_path}: is a directory" in res.err, res.err


def test_a_folder_in_the_way_of_a_model_directory_is_found_before_training(late_error, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("not a model\n")
    res = run_nlpcli("embed", "train", str(late_error), "--keep", "hangul", "-o", str(tmp_path / "notes"))
    assert res.code == 1 and "late.tsv" not in res.err, res.err
    assert f"{tmp_path / 'notes'}: exists and is not an nlpcli embed model" in res.err
    assert os.listdir(tmp_path / "notes") == ["mine.txt"]


def test_inputs_that_are_directories_or_missing_are_named_before_the_model_loads(tmp_path):
    res = run_nlpcli("predict", str(tmp_path / "no-model.joblib"), str(tmp_path))
    assert res.code == 1 and f"{tmp_path}: is a directory, expected a file" in res.err
    res = run_nlpcli("train", str(tmp_path / "absent.tsv"), "-o", str(tmp_path / "m"))
    assert res.code == 1 and "absent.tsv: no such file; check the path" in res.err


def test_a_usage_error_comes_before_a_path_error(tmp_path):
    res = run_nlpcli("train", str(tmp_path / "absent.tsv"), "--model", "nope", "-o", str(tmp_path))
    assert res.code == 2 and "--model" in res.err and "absent" not in res.err


def test_check_output_in_core():
    with pytest.raises(UsageError, match="model directory cannot be written to stdout"):
        check_output("-", directory=True)
    check_output("/dev/null", binary=True)  # a device is written in place, never replaced


# --------------------------------------------------------------------------------------------
# a full disk


class _FullDisk:
    """A file object that takes ``room`` bytes (characters), then fails as a full disk does."""

    def __init__(self, fh, room: int):
        self.fh, self.room = fh, room

    def write(self, data):
        if len(data) > self.room:
            self.fh.write(data[: self.room])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.fh.write(data)

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


def _full_disk_open(room: int):
    def fake_open(path, mode="r", *args, **kwargs):
        fh = open(path, mode, *args, **kwargs)
        return _FullDisk(fh, room) if "w" in mode else fh

    return fake_open


def test_a_full_disk_while_saving_a_model_names_it_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts, "open", _full_disk_open(1000), raising=False)
    target = tmp_path / "model.joblib"
    with pytest.raises(DataError) as info:
        artifacts.save(str(target), "classifier", {"weights": list(range(10_000))})
    assert (
        str(info.value)
        == f"cannot write {target}: No space left on device; free some space or write elsewhere"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_while_writing_text_leaves_the_old_file(tmp_path, monkeypatch):
    import nlpcli.textio as textio
    from nlpcli.text.recipe import Recipe
    from nlpcli.text.stream import preprocess_files
    from nlpcli.textio import InputSpec

    target = tmp_path / "out.tsv"
    target.write_text("the old output\n")
    monkeypatch.setattr(textio, "open", _full_disk_open(5000), raising=False)
    with pytest.raises(DataError, match=f"cannot write {target}: No space left on device"):
        preprocess_files(
            [str(SAMPLE / "reviews-test.tsv")], Recipe(operation="split"), InputSpec(), str(target)
        )
    assert target.read_text() == "the old output\n" and os.listdir(tmp_path) == ["out.tsv"]


def test_a_full_disk_on_stdout_is_an_error_not_a_silent_success(data):
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "nlpcli", "preprocess", "split", str(data / "dev.tsv")],
            stdout=full,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=120,
        )
    err = proc.stderr.decode()
    assert proc.returncode == 1 and err == (
        "nlpcli: error: cannot write <stdout>: No space left on device; free some space or write elsewhere\n"
    )


def test_metrics_can_go_to_stdout(data, tmp_path):
    res = run_nlpcli(
        "-q", "train", str(data / "train.tsv"), "--tagger", "none", "--min-df", "2", "--dev", str(data / "dev.tsv"),
        "--metrics-out", "-", "-o", str(tmp_path / "m.joblib"),
    )  # fmt: skip
    assert res.code == 0, res.err
    assert 0.4 < json.loads(res.out)["accuracy"] <= 1
