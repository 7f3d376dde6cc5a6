"""A fork server for whole-process runs of nlpcli: import the CLI and the heavy libraries once,
then run each input in a child of its own (``os.fork``) with its own stdin, stdout, stderr,
working directory and exit status.

A fresh ``python -m nlpcli`` costs 0.3 s to start, more with scikit-learn or torch; a fork costs
a few milliseconds, so a campaign can try tens of thousands of inputs. Nothing stateful (a JVM,
a thread pool) is started before forking: the parent only imports modules. ``fresh`` runs the
same command as a truly new interpreter, to check that the fork server agrees with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Outcome:
    code: int  # exit status; 128 + N for a signal; -1 for a run killed at its time limit
    out: bytes
    err: bytes
    seconds: float

    @property
    def timed_out(self) -> bool:
        return self.code == -1


LIGHT_MODULES = (
    "nlpcli.text.stream",
    "typer._adapters",
    "typer._coercion",
    "pydantic",
    "pydantic.plugin._loader",
    "typer._click.decorators",
)
HEAVY_MODULES = (
    "numpy",
    "scipy.sparse",
    "sklearn.linear_model",
    "sklearn.neural_network",
    "sklearn.feature_extraction.text",
    "joblib",
    "torch",
    "gensim.models",
    "nlpcli.classify.predict",
    "nlpcli.classify.rnn",
    "nlpcli.features.vectorize",
    "nlpcli.translate.translator",
    "nlpcli.embed.query",
    "nlpcli.embed.store",
)


def preload(heavy: bool = True) -> None:
    """Import what the commands import, so that each fork starts warm. Modules only: no thread
    pool, JVM or model is started before forking. Light: the CLI and the text path (a fork of
    it costs half as much); heavy: scikit-learn, torch and gensim too."""
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    import nlpcli.cli  # noqa: F401  (registers every command)

    for name in LIGHT_MODULES + (HEAVY_MODULES if heavy else ()):
        try:
            __import__(name)
        except ImportError:
            pass


class ForkServer:
    """``run(argv, ...)``: one child process per call, running ``nlpcli.cli.main(argv)``."""

    def __init__(self, heavy: bool = True):
        preload(heavy)
        import typer.main

        from nlpcli.cli import app, main

        # typer turns the app into a Click command on every call (75 ms); do it once, here
        command = typer.main.get_command(app)
        original = typer.main.get_command
        typer.main.get_command = lambda typer_app: command if typer_app is app else original(typer_app)
        self._main = main
        import gc

        gc.freeze()  # the imported modules stay out of the children's collections: fewer copied pages

    def start(self, argv: list[str], workdir: str, stdin: bytes = b"", env: dict | None = None) -> int:
        """Fork a child for ``argv`` in ``workdir``; its stdout/stderr go to files there. Returns the pid."""
        stdin_path = os.path.join(workdir, ".stdin")
        with open(stdin_path, "wb") as fh:
            fh.write(stdin)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid:
            return pid
        code = 1
        try:
            os.setpgid(0, 0)
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            for fd, name, flags in (
                (0, ".stdin", os.O_RDONLY),
                (1, ".stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                (2, ".stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
            ):
                new = os.open(os.path.join(workdir, name), flags, 0o644)
                os.dup2(new, fd)
                os.close(new)
            os.chdir(workdir)
            if env:
                os.environ.update(env)
            try:
                self._main(argv)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # escaped main(): a traceback the campaign will count
            import traceback

            traceback.print_exc()
            code = 70
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except BaseException:
                pass
            os._exit(code)

    @staticmethod
    def wait(pid: int, workdir: str, started: float, timeout: float) -> Outcome:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() - started > timeout:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                os.waitpid(pid, 0)
                return Outcome(-1, _read(workdir, ".stdout"), _read(workdir, ".stderr"), timeout)
            time.sleep(0.002)
        code = os.waitstatus_to_exitcode(status)
        if code < 0:
            code = 128 - code
        return Outcome(code, _read(workdir, ".stdout"), _read(workdir, ".stderr"), time.monotonic() - started)

    def poll(self, handle: tuple[int, float, float], workdir: str) -> Outcome | None:
        """The outcome of the child ``handle`` (from :meth:`begin`) once it has ended, else None."""
        pid, started, timeout = handle
        done, status = os.waitpid(pid, os.WNOHANG)
        if not done:
            if time.monotonic() - started <= timeout:
                return None
            return self.wait(pid, workdir, started, 0)
        code = os.waitstatus_to_exitcode(status)
        code = 128 - code if code < 0 else code
        return Outcome(code, _read(workdir, ".stdout"), _read(workdir, ".stderr"), time.monotonic() - started)

    def begin(self, argv: list[str], workdir: str, stdin: bytes = b"", timeout: float = 60) -> tuple:
        return self.start(argv, workdir, stdin), time.monotonic(), timeout

    def run(
        self, argv: list[str], workdir: str, stdin: bytes = b"", timeout: float = 60, env: dict | None = None
    ) -> Outcome:
        started = time.monotonic()
        pid = self.start(argv, workdir, stdin, env)
        return self.wait(pid, workdir, started, timeout)


def _read(workdir: str, name: str) -> bytes:
    path = os.path.join(workdir, name)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        os.unlink(path)
        return data
    except FileNotFoundError:
        return b""


def cleanup(workdir: str) -> None:
    for name in (".stdin", ".stdout", ".stderr"):
        try:
            os.unlink(os.path.join(workdir, name))
        except FileNotFoundError:
            pass


class RemoteServer:
    """A heavy :class:`ForkServer` in a process of its own (``python fuzz_server.py --serve``), so
    that the campaign's own process stays light; same ``start`` / ``poll`` as a local one."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.done: dict[int, tuple[int, float]] = {}
        self._next = 0
        os.set_blocking(self.proc.stdout.fileno(), False)
        self._buffer = ""
        if self._readline(block=True) != "ready":
            raise SystemExit("fuzz: the fork server did not start")

    def _readline(self, block: bool = False) -> str | None:
        while "\n" not in self._buffer:
            try:
                chunk = os.read(self.proc.stdout.fileno(), 65536).decode()
            except BlockingIOError:
                if not block:
                    return None
                time.sleep(0.01)
                continue
            if not chunk:
                raise SystemExit("fuzz: the fork server died")
            self._buffer += chunk
        line, self._buffer = self._buffer.split("\n", 1)
        return line

    def start(self, argv: list[str], workdir: str, stdin: bytes = b"", timeout: float = 60) -> int:
        self._next += 1
        with open(os.path.join(workdir, ".stdin"), "wb") as fh:
            fh.write(stdin)
        self.proc.stdin.write(
            json.dumps({"id": self._next, "argv": argv, "workdir": workdir, "timeout": timeout}) + "\n"
        )
        self.proc.stdin.flush()
        return self._next

    def poll(self, ticket: int, workdir: str) -> Outcome | None:
        """The outcome of ``ticket`` once its child has ended, else None."""
        while (line := self._readline()) is not None:
            reply = json.loads(line)
            self.done[reply["id"]] = (reply["code"], reply["seconds"])
        if ticket not in self.done:
            return None
        code, seconds = self.done.pop(ticket)
        return Outcome(code, _read(workdir, ".stdout"), _read(workdir, ".stderr"), seconds)

    def run(self, argv: list[str], workdir: str, stdin: bytes = b"", timeout: float = 60) -> Outcome:
        ticket = self.start(argv, workdir, stdin, timeout)
        while (res := self.poll(ticket, workdir)) is None:
            time.sleep(0.01)
        return res

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def serve() -> None:
    """The loop of a remote server: one JSON request a line on stdin, one reply a line on stdout
    when that child ends (its stdout and stderr are left in its folder)."""
    server = ForkServer(heavy=True)
    out = sys.stdout
    print("ready", file=out, flush=True)
    os.set_blocking(sys.stdin.fileno(), False)
    buffer, running, closed = b"", {}, False
    while not closed or running:
        try:
            chunk = os.read(sys.stdin.fileno(), 65536)
            closed = closed or not chunk
            buffer += chunk
        except BlockingIOError:
            pass
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            req = json.loads(line)
            with open(os.path.join(req["workdir"], ".stdin"), "rb") as fh:
                stdin = fh.read()
            pid = server.start(req["argv"], req["workdir"], stdin)
            running[pid] = (req, time.monotonic())
        for pid, (req, started) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if not done and time.monotonic() - started < req["timeout"]:
                continue
            if done:
                code = os.waitstatus_to_exitcode(status)
                code = 128 - code if code < 0 else code
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                code = -1
            del running[pid]
            out.write(
                json.dumps({"id": req["id"], "code": code, "seconds": time.monotonic() - started}) + "\n"
            )
            out.flush()
        time.sleep(0.002)


def start_fresh(argv: list[str], workdir: str, stdin: bytes = b"") -> subprocess.Popen:
    """The same command as a new ``python -m nlpcli`` process (the code of this checkout)."""
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with open(os.path.join(workdir, ".stdin"), "wb") as fh:
        fh.write(stdin)
    with (
        open(os.path.join(workdir, ".stdin"), "rb") as fin,
        open(os.path.join(workdir, ".stdout"), "wb") as fout,
        open(os.path.join(workdir, ".stderr"), "wb") as ferr,
    ):
        proc = subprocess.Popen(
            [sys.executable, "-m", "nlpcli", *argv],
            stdin=fin,
            stdout=fout,
            stderr=ferr,
            cwd=workdir,
            env=env,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    proc.workdir, proc.started = workdir, time.monotonic()  # type: ignore[attr-defined]
    return proc


def finish_fresh(proc: subprocess.Popen, timeout: float = 300) -> Outcome:
    try:
        code = proc.wait(timeout=max(1.0, timeout - (time.monotonic() - proc.started)))  # type: ignore[attr-defined]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        code = -1
    if code < -1:
        code = 128 - code
    workdir = proc.workdir  # type: ignore[attr-defined]
    return Outcome(
        code, _read(workdir, ".stdout"), _read(workdir, ".stderr"), time.monotonic() - proc.started
    )  # type: ignore[attr-defined]


if __name__ == "__main__" and sys.argv[1:] == ["--serve"]:
    serve()
