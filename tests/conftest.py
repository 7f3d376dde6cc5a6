"""Shared fixtures: paths to sample_data and a runner for the real ``nlpcli`` process."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"
SHARED = REPO.parent / "shared"


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_nlpcli(*args: str, input: str | bytes | None = None, cwd: str | os.PathLike | None = None,
               timeout: float = 300) -> Result:
    """Run ``python -m nlpcli ARGS`` as a real process (stdin not a terminal)."""
    data = input.encode("utf-8") if isinstance(input, str) else input
    proc = subprocess.run([sys.executable, "-m", "nlpcli", *args], input=data, capture_output=True,
                          cwd=cwd, timeout=timeout)
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                  proc.stderr.decode("utf-8", "replace"))


@pytest.fixture
def cli():
    return run_nlpcli


@pytest.fixture(scope="session")
def sample() -> Path:
    return SAMPLE


def java_available() -> bool:
    try:
        import jpype

        return bool(jpype.getDefaultJVMPath())
    except Exception:
        return False


needs_java = pytest.mark.skipif(not java_available(), reason="no JVM (KoNLPy taggers)")
