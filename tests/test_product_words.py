"""The product speaks only of itself: no talk of how it was made in the README, docs, code or tests.

A user has no tracker, no record of earlier rounds of work and no access to the development
machine, so words such as those below mean nothing to them. Each pattern is built from pieces, so
this file does not match itself; the self-tests plant a phrase and check that it is reported.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SESSION = "sess" + "ion"
ISSUE = "iss" + "ue"
THIS_VM = "this " + "VM"
SHARED = r"\.\./" + "shared"

#: (pattern, why), matched case-insensitively against every line
PATTERNS: list[tuple[str, str]] = [
    (rf"\b{SESSION}s?[ -]?\d", "names a round of work"),
    (rf"\b{SESSION}'s\b|\b{SESSION}s'", "names a round of work"),
    (rf"\b(this|that|earlier|previous|last|first|next) {SESSION}s?\b", "names a round of work"),
    (r"\b(earlier|previous|last|first) rounds?\b|\bround \d", "names a round of work"),
    (r"\bissues? ?#?\d", "a tracker number"),
    (r"(?:^|[\s(\[])#\d{1,5}\b(?![0-9a-f])", "a tracker number"),
    (r"\bthe issue\b|\bthe issue's\b|\bthe foundation issue\b", "a tracker item"),
    (r"\b(this|the|our|project's) VM\b", "the development machine"),
    (SHARED, "a data path outside the repository"),
    (r"/tmp/nlpcli-" + "heavy|heavy-job lock|flock /tmp", "a lock file of the development machine"),
    (r"\bthe default then\b|\bthe previous code\b|\bbefore this change\b", "history of a default"),
]

#: what is scanned: (path prefix, patterns that do not apply there)
SCOPES: list[tuple[str, set[str]]] = [
    ("README.md", set()),
    ("CHANGELOG.md", set()),
    ("docs/", set()),
    ("nlpcli/", set()),
    ("tests/", set()),
    ("scripts/", set()),
    ("bench/README.md", {SHARED}),
    ("bench/RESULTS.md", {SHARED}),
]

THIS_FILE = "tests/test_product_words.py"


def tracked_files(root: str = ROOT) -> list[str]:
    """Files git knows of (tracked, and new ones not ignored), relative to ``root``."""
    done = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted({line for line in done.stdout.splitlines() if os.path.isfile(os.path.join(root, line))})


def _read_text(path: str) -> str | None:
    with open(path, "rb") as fh:
        data = fh.read()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _scope(name: str) -> set[str] | None:
    for prefix, exempt in SCOPES:
        if name == prefix or (prefix.endswith("/") and name.startswith(prefix)):
            return exempt
    return None


def scan(names: list[str], root: str = ROOT) -> list[str]:
    """``file:line: why: the line`` for every line in scope that talks of the product's making."""
    compiled = [(pattern, re.compile(pattern, re.IGNORECASE), why) for pattern, why in PATTERNS]
    hits = []
    for name in names:
        exempt = _scope(name)
        if exempt is None or name == THIS_FILE:
            continue
        text = _read_text(os.path.join(root, name))
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for pattern, regex, why in compiled:
                if pattern not in exempt and regex.search(line):
                    hits.append(f"{name}:{number}: {why}: {line.strip()[:120]}")
                    break
    return hits


def test_no_history_talk_in_the_product():
    hits = scan(tracked_files())
    assert not hits, "history talk found (say what the product does, not how it came to be):\n" + "\n".join(
        hits
    )


@pytest.mark.parametrize(
    "phrase",
    [
        "the default since " + SESSION + " 6",
        "as in " + SESSION + "'s run",
        "fixed for " + ISSUE + " 12",
        "see #7 for details",
        "measured on " + THIS_VM + "",
        "flock /tmp/nlpcli-" + "heavy.lock python3 bench/x.py",
        "data in ../" + "shared/data/reviews",
        "4 epochs of patience, the default then",
        "an earlier round of work",
    ],
)
def test_a_planted_history_phrase_is_reported(tmp_path, phrase):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text(f"# Page\n\nFine text.\n{phrase}\n", encoding="utf-8")
    hits = scan(["docs/page.md"], root=str(tmp_path))
    assert len(hits) == 1 and hits[0].startswith("docs/page.md:4: ")


def test_product_text_that_is_not_history_passes(tmp_path):
    text = "\n".join(
        [
            "# 1. tokenize, then count",
            "color: #1f77b4; a link to https://github.com/RaRe-Technologies/gensim/issues/2757",
            "the JVM starts once; a session of the shell; issues are reported on stderr",
            "version 0.1.0, row #a of the table, JSON field 'session_id'",
        ]
    )
    (tmp_path / "nlpcli").mkdir()
    (tmp_path / "nlpcli" / "mod.py").write_text(text + "\n", encoding="utf-8")
    assert scan(["nlpcli/mod.py"], root=str(tmp_path)) == []


def test_bench_may_name_its_data_directory_but_not_history(tmp_path):
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "RESULTS.md").write_text(
        "data: ../" + "shared/data/reviews\n" + THIS_VM + "\n", encoding="utf-8"
    )
    assert scan(["bench/RESULTS.md"], root=str(tmp_path)) == [
        "bench/RESULTS.md:2: the development machine: " + THIS_VM
    ]


def test_binary_files_and_files_out_of_scope_are_skipped(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "model.pt").write_bytes(b"\0\1" + (ISSUE + " 12 " + SESSION + " 5").encode())
    (tmp_path / "other.txt").write_text(SESSION + " 5\n", encoding="utf-8")
    assert scan(["tests/model.pt", "other.txt"], root=str(tmp_path)) == []
