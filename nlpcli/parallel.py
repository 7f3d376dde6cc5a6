"""Ordered map over chunks: in-process, or on a pool of worker processes (``--jobs``).

Results come back in input order while at most ``prefetch`` chunks are in flight, so memory
stays bounded on inputs of any size and the first results reach stdout at once. Workers are
built by an initializer (one tagger, one JVM each) and ignore Ctrl-C: the parent handles it,
cancels what is queued and stops them.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from nlpcli.errors import NlpcliError


def _worker_init(initializer: Callable | None, initargs: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer(*initargs)


def _context():
    method = "forkserver" if sys.platform.startswith("linux") else None
    return multiprocessing.get_context(method)


def ordered_map(
    func: Callable[[Any], Any],
    chunks: Iterable[Any],
    jobs: int = 1,
    initializer: Callable | None = None,
    initargs: tuple = (),
    prefetch: int | None = None,
) -> Iterator[Any]:
    """Yield ``func(chunk)`` for every chunk, in order; ``jobs`` > 1 uses worker processes."""
    if jobs <= 1:
        if initializer is not None:
            initializer(*initargs)
        for chunk in chunks:
            yield func(chunk)
        return

    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    prefetch = prefetch or 2 * jobs
    pool = ProcessPoolExecutor(
        max_workers=jobs, mp_context=_context(), initializer=_worker_init, initargs=(initializer, initargs)
    )
    pending: deque = deque()
    try:
        for chunk in chunks:
            pending.append(pool.submit(func, chunk))
            if len(pending) >= prefetch:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    except BrokenProcessPool:
        raise NlpcliError(
            "a worker process died (out of memory, or killed); try fewer --jobs or run again with --debug"
        ) from None
    finally:
        for fut in pending:
            fut.cancel()
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=not pending, cancel_futures=True)
        if pending:
            for proc in processes:
                if proc.is_alive():
                    proc.terminate()


def pipelined(
    func: Callable[[Any], Any], items: Iterable[Any], ahead: int = 1, initializer: Callable | None = None
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(item, func(item))`` in order, computing ``func`` on one background thread up
    to ``ahead`` items ahead of the consumer.

    For work that releases the GIL (native threads, calls into the JVM): reading the next
    chunk and writing the last one here overlap with tagging the current one there, so the
    tagger's threads do not sit idle between chunks. At most ``ahead + 1`` items are in flight.
    """
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1, thread_name_prefix="nlpcli-pipeline", initializer=initializer)
    pending: deque = deque()
    try:
        for item in items:
            pending.append((item, pool.submit(func, item)))
            if len(pending) > ahead:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        for _, future in pending:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
