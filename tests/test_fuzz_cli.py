"""Property tests of the command line: generated option values (negative, zero, huge, NaN, empty,
missing paths) for the commands, run in-process through ``nlpcli.cli.main``.

The contract: exit 0, or exit 1/2 with one ``nlpcli: error:`` line (or Click's usage message for
2); never a traceback and never the catch-all "run with --debug" message of an unexpected error.
``bench/fuzz.py`` runs the same idea as whole processes for every command.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from nlpcli.cli import main

VALUES = st.sampled_from(
    [
        "-1",
        "0",
        "1",
        "3.5",
        "1e308",
        "99999999999999999999",
        "nan",
        "inf",
        "-inf",
        "",
        " ",
        "abc",
        "영화",
        "/nonexistent/x",
        "missing.txt",
        ".",
        "-",
        "1,2",
        "0:0",
        "auto",
        "none",
        "1" * 300,
    ]
)


def run(argv: list[str], cwd) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
    old, old_stdin = os.getcwd(), sys.stdin
    os.chdir(cwd)
    sys.stdin = stdin
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(argv)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.chdir(old)
        sys.stdin = old_stdin
    return code, err.getvalue()


def assert_clean(code: int, err: str) -> None:
    assert "Traceback" not in err and "run with --debug" not in err, err
    assert code in (0, 1, 2), (code, err)
    lines = [line for line in err.splitlines() if line.startswith("nlpcli: error:")]
    if code == 1:
        assert len(lines) == 1, err
    if code == 2:
        assert lines or "Usage:" in err, err


@pytest.fixture(scope="module")
def folder(tmp_path_factory, sample):
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "in.txt").write_text("영화 정말 좋다\n배우 연기 별로\n\n", encoding="utf-8")
    lines = (sample / "reviews-train.tsv").read_text(encoding="utf-8").splitlines()[:201]
    (tmp / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, err = run(
        ["-q", "train", "train.tsv", "--tagger", "none", "--label-column", "label", "-o", "m.joblib"], tmp
    )
    assert code == 0, err
    code, err = run(["-q", "vectorize", "fit", "train.tsv", "-o", "v.joblib"], tmp)
    assert code == 0, err
    return tmp


PREPROCESS = st.sampled_from(
    [
        "--squash",
        "--min-length",
        "--format",
        "--text-column",
        "--encoding-errors",
        "--output",
        "--output-format",
        "--jobs",
        "--keep",
        "--stopwords",
    ]
)


@given(options=st.lists(st.tuples(PREPROCESS, VALUES), min_size=1, max_size=3))
@example(options=[("--stopwords", "-")])
@example(options=[("--stopwords", "1" * 300)])  # a name too long to open: once an OSError (bench/fuzz.py)
@example(
    options=[("--squash", "99999999999999999999999")]
)  # once an OverflowError from re (found by bench/fuzz.py)
@example(options=[("--output", "1" * 300)])  # a name too long for the file system: once an OSError
@example(options=[("--output", ".")])  # a directory: once an IsADirectoryError
def test_preprocess_options(folder, options):
    argv = ["-q", "preprocess", "split", "in.txt"]
    for option, value in options:
        argv += [option, value]
    assert_clean(*run(argv, folder))


PREDICT = st.sampled_from(
    [
        "--top-k",
        "--output",
        "--output-format",
        "--label-column",
        "--metrics-out",
        "--batch-size",
        "--format",
        "--text-column",
        "--jobs",
    ]
)


@given(options=st.lists(st.tuples(PREDICT, VALUES), min_size=1, max_size=3))
@example(options=[("--metrics-out", "1" * 300)])
def test_predict_options(folder, options):
    argv = ["-q", "predict", "m.joblib", "in.txt"]
    for option, value in options:
        argv += [option, value]
    assert_clean(*run(argv, folder))


VECTORIZE = st.sampled_from(
    [
        "--kind",
        "--ngram",
        "--char-ngram",
        "--min-df",
        "--max-df",
        "--max-features",
        "--weighting",
        "--analyzer",
    ]
)


@given(options=st.lists(st.tuples(VECTORIZE, VALUES), min_size=1, max_size=2))
def test_vectorize_fit_options(folder, options):
    argv = ["-q", "vectorize", "fit", "train.tsv", "-o", "out.joblib"]
    for option, value in options:
        argv += [option, value]
    assert_clean(*run(argv, folder))


@given(value=VALUES)
@example(value="1e308")  # length^1e308 overflowed (OverflowError) before it was a usage error
@example(value="nan")
def test_translate_length_penalty_is_checked(value):
    from nlpcli.errors import UsageError
    from nlpcli.translate.run import RunOptions

    try:
        alpha = float(value)
    except ValueError:
        return
    try:
        RunOptions(alpha=alpha)
    except UsageError as exc:
        assert "--length-penalty" in str(exc)
    else:
        assert 0 <= alpha <= 10


@given(threads=st.sampled_from([1, 2, 4096, 4097, 10**30]))
@example(threads=int("1" * 300))  # once an overflow inside torch (found by bench/fuzz.py)
def test_huge_thread_counts_are_usage_errors(threads):
    from nlpcli.errors import UsageError
    from nlpcli.training import set_threads

    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        set_threads(threads)
    except UsageError as exc:
        assert threads > 4096 and "--threads" in str(exc)
    else:
        assert threads <= 4096
    finally:
        torch.set_num_threads(before)


@given(seed=st.sampled_from([0, 1, 2**32 - 1, 2**32, -1]))
@example(seed=99999999999999999999999)  # once a ValueError from numpy inside gensim (found by bench/fuzz.py)
def test_embed_seed_out_of_range_is_a_usage_error(seed):
    from nlpcli.embed.train import EmbedConfig
    from nlpcli.errors import UsageError

    try:
        EmbedConfig(seed=seed)
    except UsageError as exc:
        assert "--seed" in str(exc) and not 0 <= seed < 2**32
    else:
        assert 0 <= seed < 2**32


@pytest.mark.parametrize(
    "command", [["train", "x.tsv"], ["translate", "train", "x.tsv"], ["embed", "train", "x.txt"]]
)
@pytest.mark.parametrize("seed", ["-1", str(2**32)])
def test_seed_out_of_range_is_a_usage_error_at_parse_time(cli, command, seed):
    """Once a scikit-learn InvalidParameterError after reading the data (found by bench/fuzz.py)."""
    res = cli(*command, "--seed", seed)
    assert res.code == 2 and "--seed" in res.err and "Traceback" not in res.err
