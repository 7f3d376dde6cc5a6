"""Process-level behaviour: start-up imports, exit codes, one-line errors, pipes, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import default_signals

HEAVY = ("torch", "gensim", "sklearn")


@pytest.mark.parametrize(
    "args", [["--help"], ["preprocess", "--help"], ["vectorize", "--help"], ["--version"]]
)
def test_help_does_not_import_heavy_libraries(args):
    code = (
        "import sys\nfrom nlpcli.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "[]"


def test_version(cli):
    res = cli("--version")
    assert res.code == 0 and res.out.startswith("nlpcli ")


def test_bad_input_one_line_each(cli, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes("좋아\n".encode() + "나빠\n".encode("euc-kr"))
    binary = tmp_path / "x.bin"
    binary.write_bytes(bytes(range(256)))
    empty_tsv = tmp_path / "e.tsv"
    empty_tsv.write_bytes(b"")
    ragged = tmp_path / "r.tsv"
    ragged.write_text("text\tlabel\n좋다\t1\n별로\n", encoding="utf-8")
    cases = [
        (["preprocess", "split", str(bad)], "bad.txt:2: invalid UTF-8"),
        (["preprocess", "split", str(binary)], "x.bin:1:"),
        (["preprocess", "split", str(empty_tsv)], "empty file"),
        (["preprocess", "split", str(ragged)], "r.tsv:3: ragged row"),
        (["preprocess", "split", str(tmp_path / "missing.txt")], "missing.txt: no such file"),
        (["preprocess", "split", "-f", "tsv", "-c", "review", str(ragged)], "no column 'review'"),
        (["vectorize", "inspect", str(tmp_path / "nope.joblib")], "no such file"),
        (["vectorize", "inspect", str(bad)], "not an nlpcli artifact"),
    ]
    for args, needle in cases:
        res = cli(*args)
        assert res.code == 1, (args, res.err)
        assert res.err.startswith("nlpcli: error: ") and needle in res.err, (args, res.err)
        assert res.err.count("\n") == 1 and "Traceback" not in res.err, res.err
    res = cli("--debug", "preprocess", "split", str(bad))
    assert res.code == 1 and "Traceback" in res.err


def test_empty_plain_input_is_fine(cli):
    res = cli("preprocess", "split", "-", input="")
    assert res.code == 0 and res.out == "" and "no documents" in res.err
    res = cli("-q", "preprocess", "split", "-", input="")
    assert res.err == ""


def test_partial_output_file_is_never_left(cli, tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(("좋은 영화\n" * 3000).encode() + b"\xff\n")
    out = tmp_path / "out.txt"
    res = cli("preprocess", "split", str(src), "-o", str(out))
    assert res.code == 1 and "in.txt:3001" in res.err
    assert list(tmp_path.iterdir()) == [src]


def test_head_closes_the_pipe_quietly(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("영화 정말 좋다\n" * 400_000, encoding="utf-8")
    started = time.monotonic()
    proc = subprocess.run(
        f"set -o pipefail; {sys.executable} -m nlpcli preprocess split {big} | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        executable="/bin/bash",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "영화 정말 좋다\n" and proc.stderr == ""
    assert time.monotonic() - started < 20


def test_ctrl_c_mid_stream_exits_130_and_leaves_no_file(tmp_path):
    out = tmp_path / "out.txt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "nlpcli", "preprocess", "split", "-", "-o", str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=default_signals,
    )
    proc.stdin.write("영화 좋다\n".encode() * 2000)
    proc.stdin.flush()
    time.sleep(1.5)  # it is now waiting for more input, mid-stream
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_with_parallel_tagging(tmp_path, sample):
    import gzip

    out = tmp_path / "out.txt"
    # 80,000 distinct reviews (repeated texts are tagged once, so plain repeats would finish too
    # soon): far more than a fast machine tags in the seconds before the interrupt
    src = tmp_path / "in.txt"
    reviews = gzip.decompress((sample / "reviews-unlabeled.txt.gz").read_bytes()).decode("utf-8").splitlines()
    src.write_text("".join(f"{r} {k}\n" for k in range(4) for r in reviews), encoding="utf-8")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nlpcli",
            "preprocess",
            "morphs",
            "-t",
            "okt",
            "-j",
            "2",
            str(src),
            "-o",
            str(out),
        ],
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=default_signals,
    )
    # interrupt once the JVM is up and the first tagged chunks reach the output's temporary file
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.stat().st_size for p in tmp_path.glob("*.part")):
            break
        time.sleep(0.2)
    assert proc.poll() is None, "finished before it could be interrupted"
    import os

    os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole process group
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    assert list(tmp_path.iterdir()) == [src]


def test_help_paragraphs_are_reflowed_not_broken_at_source_lines():
    from nlpcli.cli import reflow

    text = "First line.\n\nA paragraph written\nover two lines.\n\n- item one\n- item two\n  indented"
    assert reflow(text) == (
        "First line.\n\nA paragraph written over two lines.\n\n- item one\n- item two\n  indented"
    )
    # the real help, wide terminal: a sentence that spans two source lines comes out on one line
    proc = subprocess.run(
        [sys.executable, "-m", "nlpcli", "translate", "train", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "250"},
        timeout=60,
    )
    assert proc.returncode == 0
    assert (
        "Kiwi morphemes on a Korean source side and sentencepiece unigram 4k on any other side" in proc.stdout
    )


def test_a_run_registers_only_its_command_module_and_help_keeps_the_order():
    """``nlpcli predict`` builds only the classify module's commands; asking for ``app`` afterwards
    gives every command in the order of --help, and the map of commands to modules is right."""
    code = (
        "import sys\nimport nlpcli.cli as cli\n"
        "if sys.argv[1] == 'predict':\n"
        "    try:\n        cli.main(['predict', '--help'])\n    except SystemExit:\n        pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('nlpcli.cli.')), file=sys.stderr)\n"
        "from typer.main import get_command\n"
        "group = get_command(cli.app)\n"
        "def home(cmd):\n"
        "    cb = cmd.callback if not hasattr(cmd, 'commands') else next(iter(cmd.commands.values())).callback\n"
        "    return cb.__module__.rsplit('.', 1)[1] if cb.__module__.startswith('nlpcli') else cb.__qualname__\n"
        "homes = {name: home(cmd) for name, cmd in group.commands.items()}\n"
        "print(list(group.commands), homes == cli.COMMAND_HOMES, homes, file=sys.stderr)\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code, a], capture_output=True, text=True)
        for a in ("predict", "-")
    ]
    assert all(p.returncode == 0 for p in runs), [p.stderr for p in runs]
    modules, order = runs[0].stderr.strip().splitlines()[-2:]
    assert "embed" not in modules and "translate" not in modules and "vectorize" not in modules
    assert order == runs[1].stderr.strip().splitlines()[-1]  # the order of a plain full registration
    assert " True " in order and "'predict'" in order and "'embed'" in order


@pytest.mark.parametrize(
    "annotation,values",
    [
        (int, ["0", "7", "-3", "007", 5, "1.5", "+2", " 3", "x", "", "1_000"]),
        (float, ["0.5", "1e-3", ".5", "5.", "-2", 3, 2.5, "nan", "inf", "x", "1,5", "1e400"]),
        (str, ["a b", "", "영화"]),
        (list[str], [["a", "b"], ("x",), []]),
    ],
)
def test_quick_option_values_are_what_pydantic_gives(annotation, values):
    """Every value the quick coercion converts comes out exactly as Typer's pydantic adapter
    would give it; the rest are left to the adapter (and its error messages)."""
    from typer._adapters import try_build_adapter
    from typer.models import OptionInfo

    from nlpcli.cli.coercion import _Unsure, quick_value

    for bounds in ({}, {"min": 1}, {"max": 10}):
        info = OptionInfo(**bounds)
        adapter = try_build_adapter(annotation, info)
        for value in values:
            try:
                quick = quick_value(annotation, value, info)
            except _Unsure:
                continue
            want = adapter.validate_python(value)
            assert quick == want and type(quick) is type(want), (value, bounds)


def test_quick_enum_values_are_the_members():
    from nlpcli.cli.coercion import _Unsure, quick_value
    from nlpcli.cli.options import TaggerName

    assert quick_value(TaggerName, "kiwi", None) is TaggerName("kiwi")
    with pytest.raises(_Unsure):
        quick_value(TaggerName, "KIWI!", None)
