"""The README's five-minute tour runs as written on sample_data/ and leaves what it says it leaves.

The tour is the fenced ``bash`` block right after the ``<!-- tour -->`` comment in README.md. It
runs with ``bash -euo pipefail`` in a temporary directory that holds a link to sample_data/, with
``nlpcli`` on the PATH running this checkout's code.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
MARKER = "<!-- tour -->"


def tour_script(text: str | None = None) -> str:
    """The commands of the tour block, exactly as the README shows them."""
    if text is None:
        with open(README, encoding="utf-8") as fh:
            text = fh.read()
    match = re.search(re.escape(MARKER) + r"\s*\n```bash\n(.*?)\n```", text, re.DOTALL)
    if match is None:
        raise AssertionError(f"README.md has no ```bash block right after {MARKER}")
    return match.group(1) + "\n"


def test_the_tour_block_is_found_and_only_runs_nlpcli_on_sample_data():
    script = tour_script()
    commands = [line for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert any(line.startswith("nlpcli preprocess") for line in commands)
    assert "| nlpcli preprocess morphs --stem --norm" in script, "the tour shows the default tagger"
    for word in (
        "vectorize fit",
        "train ",
        "predict ",
        "embed train",
        "embed similar",
        "translate train",
        "translate run",
    ):
        assert f"nlpcli {word}" in script, word
    for path in re.findall(r"sample_data/\S+", script):
        assert os.path.isfile(os.path.join(ROOT, path)), f"the tour names {path}, which sample_data/ lacks"


def test_a_block_without_the_marker_is_an_error():
    with pytest.raises(AssertionError):
        tour_script("# README\n\n```bash\nnlpcli --help\n```\n")


def _nlpcli_shim(bin_dir) -> None:
    """``nlpcli`` on the PATH, running this checkout's code with this interpreter."""
    bin_dir.mkdir()
    shim = bin_dir / "nlpcli"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m nlpcli "$@"\n', encoding="utf-8")
    shim.chmod(0o755)


@pytest.mark.slow
def test_the_tour_runs_as_written(tmp_path):
    work = tmp_path / "tour"
    work.mkdir()
    (work / "sample_data").symlink_to(os.path.join(ROOT, "sample_data"))
    _nlpcli_shim(tmp_path / "bin")
    env = dict(
        os.environ,
        PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    script = "set -euo pipefail\n" + tour_script()
    done = subprocess.run(
        ["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"the tour failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
    out = done.stdout

    # 1. Okt on the echoed line, then the Kiwi-tokenized TSV (header and every review kept)
    assert "재밌다" in out.splitlines()[0]
    with open(work / "train.tok.tsv", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    assert lines[0].split("\t") == ["id", "document", "label"] and len(lines) == 4001
    assert "id\tdocument\tlabel" in out  # head -n 3
    # 2. the vectorizer, inspected on stdout
    assert (work / "tfidf.joblib").stat().st_size > 0
    assert "tfidf" in out and "most frequent" in out
    # 3. the classifier and its dev report
    metrics = json.loads((work / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["n"] == 1000 and metrics["accuracy"] > 0.7
    # 4. the one-off query (label<TAB>probability) and the labelled file
    assert re.search(r"^[01]\t0\.\d+$", out, re.MULTILINE)
    with open(work / "predictions.tsv", encoding="utf-8") as fh:
        rows = fh.read().splitlines()
    assert rows[0].split("\t")[-2:] == ["prediction", "probability"] and len(rows) == 1001
    assert "accuracy" in done.stderr
    # 5. the word vectors and five neighbours of 영화
    assert (work / "reviews.w2v" / "nlpcli.json").is_file()
    neighbours = re.findall(r"^(\S+)\t(-?\d\.\d+)$", out, re.MULTILINE)
    assert len(neighbours) >= 5
    # 6. the translator and one translation (the last line of stdout)
    assert (work / "ko-en.pt").stat().st_size > 0
    assert out.rstrip("\n").splitlines()[-1].strip() != ""
