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
    probe(address)
    try:
        return Client(address, timeout="15s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise _unreachable(address, exc) from None
    except (MemoryError, ValueError, TypeError) as exc:  # something else answered on that port
        raise NlpcliError(
            f"what answers at {address} is not a Dask scheduler ({type(exc).__name__}); check the address"
        ) from None


#: seconds to wait for the scheduler's port to accept a connection
PROBE_TIMEOUT = 5.0


def _unreachable(address: str, exc: BaseException) -> NlpcliError:
    return NlpcliError(
        f"cannot reach the Dask scheduler at {address} ({exc}); "
        "start one with 'dask scheduler' and workers with 'dask worker ADDRESS'"
    )


def probe(address: str, timeout: float = PROBE_TIMEOUT) -> None:
    """Fail fast, with one clear error, when nothing listens at a tcp/tls ``address`` (a closed
    port fails at once, a host that does not answer after ``timeout`` s), instead of the
    client's retrying until its own timeout."""
    import socket

    from distributed.comm import parse_address, parse_host_port

    try:
        protocol, location = parse_address(address)
        if protocol not in ("tcp", "tls"):
            return
        host, port = parse_host_port(location)
    except (ValueError, TypeError):
        raise UsageError(
            f"--scheduler takes an address such as tcp://10.0.0.5:8786 (got {address!r})"
        ) from None
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:  # refused, timed out, unknown host
        raise _unreachable(address, exc.strerror or exc) from None


def require_workers(client, address: str) -> dict:
    """The cluster's workers (address -> info); one clear error when it has none."""
    workers = (
        client.scheduler_info(n_workers=-1).get("workers", {})
        if _accepts_n_workers(client)
        else client.scheduler_info().get("workers", {})
    )
    if not workers:
        raise NlpcliError(
            f"the Dask scheduler at {address} has no workers; start some with "
            f"'dask worker {address} --nthreads 1'"
        )
    return workers


def check_workers(client, address: str, module: str) -> None:
    """Every worker imports ``module`` and runs this nlpcli version, or one clear error. (A task
    whose function a worker cannot unpickle can wait for ever, so ask with builtins alone.)"""
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


def tree_reduce(client, futures: list, combine: Callable[[Any, Any], Any], split_every: int = 2):
    """One future: ``combine`` applied on the cluster to pairs (then pairs of pairs...) of
    ``futures``, in order, so no single worker or the client ever holds all the partial results.
    ``combine`` must not modify its arguments (a task may be rerun on the same inputs)."""
    if not futures:
        raise ValueError("nothing to reduce")
    level = list(futures)
    while len(level) > 1:
        groups = [level[i : i + split_every] for i in range(0, len(level), split_every)]
        level = [
            g[0] if len(g) == 1 else client.submit(_combine_all, combine, *g, pure=False) for g in groups
        ]
    return level[0]


def _combine_all(combine: Callable[[Any, Any], Any], first: Any, *rest: Any) -> Any:
    result = first
    for item in rest:
        result = combine(result, item)
    return result


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
        workers = require_workers(client, address)
        prefetch = prefetch or max(4, 2 * sum(w.get("nthreads", 1) for w in workers.values()))
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
