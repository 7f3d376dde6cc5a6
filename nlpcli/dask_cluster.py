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
    try:
        return Client(address, timeout="15s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise NlpcliError(
            f"cannot reach the Dask scheduler at {address} ({exc}); "
            "start one with 'dask scheduler' and workers with 'dask worker ADDRESS'"
        ) from None


def dask_ordered_map(
    func: Callable[[Any], Any],
    chunks: Iterable[Any],
    address: str,
    initializer: Callable | None = None,
    initargs: tuple = (),
    prefetch: int | None = None,
) -> Iterator[Any]:
    """Yield ``func(chunk)`` for every chunk, in order, computed on the cluster at ``address``."""
    import json

    client = connect(address)
    try:
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
        prefetch = prefetch or max(4, 2 * sum(w.get("nthreads", 1) for w in workers.values()))
        key = json.dumps([getattr(initializer, "__qualname__", None), initargs], sort_keys=True, default=str)
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
