"""Shared fixtures: paths to sample_data, a runner for the real ``nlpcli`` process, the signal
dispositions that tests which interrupt a child rely on, and the hypothesis profiles."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"
SHARED = REPO.parent / "shared"


def default_signals() -> None:
    """``preexec_fn`` for a child that a test interrupts: SIGINT (and SIGTERM, SIGPIPE) back to
    their defaults. A child inherits an *ignored* signal across exec, and a test launched from
    ``nohup``, a background job of a non-interactive shell or some CI runners has SIGINT ignored,
    so without this the child would never see the Ctrl-C the test sends."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)


def _restore_sigint() -> None:
    """The same for the test process itself, so that children started by any test (and Python's
    own KeyboardInterrupt) behave as under an interactive shell, however pytest was launched."""
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, None):
        signal.signal(signal.SIGINT, signal.default_int_handler)


_restore_sigint()


def _hypothesis_profiles() -> None:
    """``ci`` (the default): few examples, no deadline, derandomized, so the property tests run in
    a fixed, short time; ``fuzz``: many more, random, for a long local run
    (``HYPOTHESIS_PROFILE=fuzz``). Examples that ever failed are kept as ``@example`` cases."""
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:  # pragma: no cover - hypothesis is a test dependency
        return
    common = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
    settings.register_profile(
        "ci", max_examples=15, derandomize=True, database=None, print_blob=True, **common
    )
    settings.register_profile("fuzz", max_examples=400, **common)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


_hypothesis_profiles()


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_nlpcli(
    *args: str,
    input: str | bytes | None = None,
    cwd: str | os.PathLike | None = None,
    timeout: float = 300,
    env: dict | None = None,
) -> Result:
    """Run ``python -m nlpcli ARGS`` as a real process (stdin not a terminal), with this
    checkout's nlpcli first on the path whatever ``cwd`` is (not another installed copy)."""
    data = input.encode("utf-8") if isinstance(input, str) else input
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "-m", "nlpcli", *args],
        input=data,
        capture_output=True,
        cwd=cwd,
        timeout=timeout,
        env=env,
        preexec_fn=default_signals,
    )
    return Result(
        proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    )


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


@pytest.fixture(autouse=True)
def _default_progress_settings():
    """Each test starts with nlpcli's default stderr settings: a test that runs the CLI in this
    process with ``-q`` must not silence the messages the next test checks."""
    from nlpcli import progress

    yield
    progress.configure()


@pytest.fixture(scope="module")
def cluster():
    """A Dask cluster of 2 separate worker processes (one thread each) on 127.0.0.1, one per
    test module that asks for it."""
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=50,
    ) as c:
        yield c
