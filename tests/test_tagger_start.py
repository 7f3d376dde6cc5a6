"""Taggers started ahead of use (nlpcli.text.tagger_start), in a child process: the same tokens as in-process,
the same errors, a fallback when the child dies, no process left behind, and only where forking
is safe. Each case runs in a fresh Python process (pytest's own has threads, where no child is
forked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import needs_java

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"


def _texts(n: int = 60) -> list[str]:
    lines = (SAMPLE / "reviews-train.tsv").read_text(encoding="utf-8").splitlines()[1 : n + 1]
    return [line.split("\t")[1] for line in lines] + ["", "오늘 날씨가 좋네요"]


def run_python(code: str, *args: str, env: dict | None = None) -> str:
    """``code`` in a fresh process with this checkout first on the path; its stdout."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


COMPARE = r"""
import json, sys
from nlpcli.text import tagger_start
from nlpcli.text.taggers import new_tagger
name, texts, words = sys.argv[1], json.loads(sys.argv[2]), [tuple(w) for w in json.loads(sys.argv[3])]
child = tagger_start.start(name, 1, words)
assert child is not None, "no child process"
local = new_tagger(name, 1, words)
out = {"name": child.name, "stem": child.supports_stem}
for stem in (False, True) if child.supports_stem else (False,):
    out[f"same pos, stem {stem}"] = child.pos(texts, stem=stem) == [list(map(tuple, t)) for t in local.pos(texts, stem=stem)]
out["same nouns"] = child.nouns(texts) == local.nouns(texts)
out["is_noun"] = [child.is_noun(t) == local.is_noun(t) for t in ("NNG", "NNP", "VV", "Noun", "Verb")]
pid = child._pid
child.close()
import os
try:
    os.kill(pid, 0)
    out["child gone"] = False
except ProcessLookupError:
    out["child gone"] = True
print(json.dumps(out))
"""


def test_kiwi_in_a_child_gives_the_same_tokens_and_user_words_count():
    texts = _texts()
    for words in ([], [["재밌어요", "NNP", 5.0], ["구딩주니어", "NNP", None]]):
        out = json.loads(run_python(COMPARE, "kiwi", json.dumps(texts), json.dumps(words)))
        assert out["name"] == "kiwi" and out["stem"]
        assert out["same pos, stem False"] and out["same pos, stem True"] and out["same nouns"]
        assert all(out["is_noun"]) and out["child gone"]
    # and the user word does change the tokens
    code = (
        "from nlpcli.text import tagger_start as p; "
        "a = p.start('kiwi', 1, [('재밌어요', 'NNP', 5.0)]).pos(['정말 재밌어요']); "
        "b = p.start('kiwi').pos(['정말 재밌어요']) if p.can_fork() else None; print(a != b, a)"
    )
    assert run_python(code).startswith("True")


@needs_java
def test_okt_in_a_child_gives_the_same_tokens():
    out = json.loads(run_python(COMPARE, "okt", json.dumps(_texts(30)), "[]"))
    assert (
        out["same pos, stem False"] and out["same pos, stem True"] and out["same nouns"] and out["child gone"]
    )


def test_errors_come_back_from_the_child():
    code = r"""
from nlpcli.errors import UsageError
from nlpcli.text import tagger_start
from nlpcli.text.taggers import new_tagger
child = tagger_start.start("kiwi", 1, [("말", "NOT_A_TAG", None)])
try:
    child.pos(["말"])
except UsageError as exc:
    remote = str(exc)
try:
    new_tagger("kiwi", 1, [("말", "NOT_A_TAG", None)])
except UsageError as exc:
    local = str(exc)
print(remote == local, remote)
try:
    tagger_start.start("kiwi").phrases(["오늘"])
except UsageError as exc:
    print("phrases:", exc)
"""
    first, second = run_python(code).splitlines()
    assert first.startswith("True --user-dict: Kiwi did not take '말' (NOT_A_TAG)")
    assert second == "phrases: --tagger kiwi cannot extract phrases; use --tagger okt"


def test_a_dead_child_is_replaced_in_process():
    code = r"""
import os, signal
from nlpcli.text import tagger_start
child = tagger_start.start("kiwi")
first = child.pos(["오늘 날씨가 좋네요"])
os.kill(child._pid, signal.SIGKILL)
second = child.pos(["오늘 날씨가 좋네요"])
print(first == second, child._pid is None, child._local is not None)
"""
    assert run_python(code).split() == ["True", "True", "True"]


def test_no_child_where_forking_is_unsafe_or_useless():
    code = r"""
import threading, time
from nlpcli.text import tagger_start
print(tagger_start.start("mecab") is None)  # loads in 0.05 s: nothing to gain
import os
os.environ["NLPCLI_TAGGER_PROCESS"] = "0"
print(tagger_start.start("kiwi") is None)
del os.environ["NLPCLI_TAGGER_PROCESS"]
t = threading.Thread(target=time.sleep, args=(2,)); t.start()
print(tagger_start.can_fork(), tagger_start.start("kiwi") is None)
"""
    assert run_python(code).split() == ["True", "True", "False", "True"]


def _running(pid: int) -> bool:
    """The process exists and is not a zombie waiting for its (new) parent to reap it."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_child_ends_with_the_parent():
    """A parent that exits without closing the tagger (or is killed) leaves no process behind."""
    code = r"""
import os, sys
from nlpcli.text import tagger_start
child = tagger_start.start("kiwi")
print(child._pid, flush=True)
if sys.argv[1] == "kill":
    os.kill(os.getpid(), 9)
"""
    for how in ("exit", "kill"):
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.run([sys.executable, "-c", code, how], capture_output=True, text=True, env=env)
        pid = int(proc.stdout.split()[0])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _running(pid):
            time.sleep(0.1)
        if _running(pid):
            pytest.fail(f"the child {pid} outlived its parent ({how})")


def test_predict_answers_the_same_with_and_without_the_child(cli, tmp_path):
    head = "\n".join((SAMPLE / "reviews-train.tsv").read_text(encoding="utf-8").splitlines()[:300])
    (tmp_path / "r.tsv").write_text(head + "\n", encoding="utf-8")
    model = tmp_path / "kiwi.joblib"
    r = cli("train", str(tmp_path / "r.tsv"), "--tagger", "kiwi", "--min-df", "1", "-o", str(model))
    assert r.code == 0, r.err
    text = "정말 재밌어요\n시간 아까운 영화\n"
    with_child = cli("predict", str(model), input=text)
    without = cli("predict", str(model), input=text, env={**os.environ, "NLPCLI_TAGGER_PROCESS": "0"})
    assert with_child.code == without.code == 0 and with_child.out == without.out
    assert len(with_child.out.splitlines()) == 2
