"""Running chunked work on an existing Dask distributed cluster (``--scheduler ADDRESS``).

The same ordered, bounded map as :func:`nlpcli.parallel.ordered_map`, but each chunk is a Dask
task on the cluster's workers. Every worker process builds its tagger once (the first task
that needs it runs the initializer; later tasks reuse it), so a JVM starts once per worker, not
once per chunk. Tasks are pure functions of their chunk, so when a worker dies Dask reruns its
tasks elsewhere and the output is unchanged. Results stream back in input order with at most
``prefetch`` chunks in flight.

Nothing here is imported unless ``--scheduler`` is given.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from nlpcli.errors import DependencyError, NlpcliError, UsageError

_INIT_LOCK = threading.Lock()
_RUN_LOCK = threading.Lock()
_INITIALIZED: set = set()


def _run_chunk(func: Callable, initializer: Callable | None, initargs: tuple, key: str, chunk: Any) -> Any:
    """A Dask task: initialise this worker process once for ``key``, then process the chunk.

    Tasks in one worker process run one at a time: taggers (and the JVM bridge) are not
    thread-safe, so start workers with ``--nthreads 1`` and use ``--nworkers`` for parallelism.
    """
    with _RUN_LOCK:
        if initializer is not None and key not in _INITIALIZED:
            with _INIT_LOCK:
                initializer(*initargs)
                _INITIALIZED.clear()  # one configuration at a time per process
                _INITIALIZED.add(key)
        return func(chunk)


def connect(address: str):
    """A client for the scheduler at ``address`` (``tcp://host:8786``), with a clear error."""
    try:
        from distributed import Client
    except ImportError:
        raise DependencyError(
            "--scheduler needs Dask: pip install 'nlpcli[dask]' (dask[distributed])"
        ) from None
    if "://" not in address and ":" not in address:
        raise UsageError(f"--scheduler takes an address such as tcp://10.0.0.5:8786 (got {address!r})")
    _probe(address)
    try:
        return Client(address, timeout="15s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise NlpcliError(
            f"cannot reach the Dask scheduler at {address} ({exc}); "
            "start one with 'dask scheduler' and workers with 'dask worker ADDRESS'"
        ) from None


def _probe(address: str, seconds: float = 5.0) -> None:
    """A plain TCP connection to a ``tcp://`` scheduler first: a closed port or a host that does
    not answer fails here within ``seconds``, where the client would retry for its whole timeout."""
    import socket
    from urllib.parse import urlsplit

    if "://" in address and not address.startswith("tcp://"):
        return  # tls://, ucx://, inproc://: left to the client
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port or 8786
    except ValueError:
        raise UsageError(
            f"--scheduler takes an address such as tcp://10.0.0.5:8786 (got {address!r})"
        ) from None
    try:
        socket.create_connection((host, port), timeout=seconds).close()
    except OSError as exc:
        raise NlpcliError(
            f"cannot reach the Dask scheduler at {address} ({exc.strerror or exc}); "
            "start one with 'dask scheduler' and workers with 'dask worker ADDRESS'"
        ) from None


def worker_threads(client, address: str) -> dict[str, int]:
    """The cluster's workers and their threads (an error when it has none)."""
    info = client.scheduler_info(n_workers=-1) if _accepts_n_workers(client) else client.scheduler_info()
    workers = info.get("workers", {})
    if not workers:
        raise NlpcliError(
            f"the Dask scheduler at {address} has no workers; start some with "
            f"'dask worker {address} --nthreads 1'"
        )
    return {addr: int(w.get("nthreads", 1)) for addr, w in workers.items()}


def check_workers(client, address: str, module: str) -> None:
    """Every worker imports ``module`` and runs this nlpcli version, or one clear error. (A task
    whose function a worker cannot unpickle would wait for ever, so ask with builtins alone.)"""
    from nlpcli import __version__

    expr = f"__import__('importlib').import_module({module!r}) and __import__('nlpcli').__version__"
    try:
        versions = client.run(eval, expr)
    except Exception as exc:  # the worker's own error, e.g. ModuleNotFoundError
        raise NlpcliError(
            f"a worker of the Dask cluster at {address} cannot import {module} "
            f"({type(exc).__name__}: {exc}); install this nlpcli ({__version__}) on every worker"
        ) from None
    other = sorted(f"{w} has {v}" for w, v in versions.items() if v != __version__)
    if other:
        raise NlpcliError(
            f"the Dask workers need the nlpcli version that runs here ({__version__}): {', '.join(other)}"
        )


def run_in_worker(func: Callable, initializer: Callable | None, initargs: tuple, chunk: Any) -> Any:
    """Inside a task: ``func(chunk)`` in this worker process, initialised once as
    :func:`dask_ordered_map`'s tasks are (the same tagger serves both)."""
    return _run_chunk(func, initializer, initargs, _init_key(initializer, initargs), chunk)


def _init_key(initializer: Callable | None, initargs: tuple) -> str:
    import json

    return json.dumps([getattr(initializer, "__qualname__", None), initargs], sort_keys=True, default=str)


def dask_ordered_map(
    func: Callable[[Any], Any],
    chunks: Iterable[Any],
    address: str,
    initializer: Callable | None = None,
    initargs: tuple = (),
    prefetch: int | None = None,
) -> Iterator[Any]:
    """Yield ``func(chunk)`` for every chunk, in order, computed on the cluster at ``address``."""
    client = connect(address)
    try:
        prefetch = prefetch or max(4, 2 * sum(worker_threads(client, address).values()))
        key = _init_key(initializer, initargs)
        pending: deque = deque()
        try:
            for chunk in chunks:
                pending.append(client.submit(_run_chunk, func, initializer, initargs, key, chunk, pure=False))
                if len(pending) >= prefetch:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for fut in pending:
                fut.cancel()
    finally:
        client.close()


def _accepts_n_workers(client) -> bool:
    import inspect

    return "n_workers" in inspect.signature(client.scheduler_info).parameters
