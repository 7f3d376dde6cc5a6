"""Streaming a recipe over records: chunked, in order, optionally on worker processes."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator

from nlpcli.parallel import ordered_map, pipelined
from nlpcli.text.recipe import Preprocessor, Recipe, init_worker, process_in_worker
from nlpcli.textio import Record, chunked

#: documents per chunk: large enough to amortise inter-process traffic, small enough that the
#: first lines reach stdout at once and memory stays flat
CHUNK_SIZE = 500
#: per chunk for taggers that run on threads in this process: Kiwi and MeCab are fast, so big
#: chunks keep their threads busy; Okt takes ~1 ms a text, so 1000 is under a second of work per chunk
THREADED_CHUNK_SIZE = {"kiwi": 4000, "mecab": 4000, "okt": 1000}
#: taggers that parallelise on threads inside this process (one JVM for Okt: its threads share
#: the dictionary, the JIT's warm-up and the heap) rather than on worker processes
THREADED_TAGGERS = tuple(THREADED_CHUNK_SIZE)


def preprocess_chunks(
    records: Iterable[Record],
    recipe: Recipe,
    jobs: int = 1,
    chunk_size: int | None = None,
    scheduler: str | None = None,
) -> Iterator[tuple[list[Record], list[str]]]:
    """Yield ``(records, outputs)`` chunk by chunk, in input order.

    Kiwi, MeCab and Okt run in this process on ``jobs`` threads (Kiwi's native ones; Okt's on one
    JVM); the other JVM taggers (Kkma, Komoran, Hannanum) in ``jobs`` worker processes, one JVM
    each; tagger-free recipes run in this process. With ``scheduler`` (a Dask
    scheduler address) every chunk is tagged on the cluster's workers instead.
    """
    if scheduler:
        yield from _on_cluster(records, recipe, chunk_size or CHUNK_SIZE, scheduler)
        return
    jobs = max(1, jobs)
    if recipe.uses_jvm:
        from nlpcli.text.taggers import check_jvm

        check_jvm()  # one clear error here rather than a broken pool later
    threaded = recipe.uses_tagger and recipe.tagger in THREADED_TAGGERS
    size = chunk_size or (THREADED_CHUNK_SIZE[recipe.tagger] if threaded and jobs > 1 else CHUNK_SIZE)
    record_chunks = chunked(records, size)
    if threaded and jobs > 1:
        # Tag chunk n on the tagger's threads while this thread writes chunk n-1 and reads
        # chunk n+1. The tagger (and the JVM) is built here first, on the main thread.
        from nlpcli.text.taggers import attach_daemon

        pre = Preprocessor(recipe, threads=jobs)
        tagger = pre.tagger
        process = lambda chunk: pre.process([r.text for r in chunk])  # noqa: E731
        try:
            yield from pipelined(process, record_chunks, initializer=attach_daemon)
        finally:  # done, or stopped early: let a chunk still in flight stop at once
            if hasattr(tagger, "cancel"):
                tagger.cancel()
        return
    if not recipe.uses_tagger or threaded or jobs == 1:
        pre = Preprocessor(recipe, threads=jobs if threaded else 1)
        for chunk in record_chunks:
            yield chunk, pre.process([r.text for r in chunk])
        return
    yield from _texts_elsewhere(
        record_chunks,
        lambda texts: ordered_map(
            process_in_worker, texts, jobs=jobs, initializer=init_worker, initargs=(recipe.to_dict(),)
        ),
    )


def _on_cluster(
    records: Iterable[Record], recipe: Recipe, size: int, scheduler: str
) -> Iterator[tuple[list[Record], list[str]]]:
    from nlpcli.dask_cluster import dask_ordered_map

    yield from _texts_elsewhere(
        chunked(records, size),
        lambda texts: dask_ordered_map(
            process_in_worker, texts, scheduler, initializer=init_worker, initargs=(recipe.to_dict(),)
        ),
    )


def _texts_elsewhere(
    record_chunks: Iterable[list[Record]], ordered: Callable[[Iterator[list[str]]], Iterator[list[str]]]
) -> Iterator[tuple[list[Record], list[str]]]:
    """Send only each chunk's texts through ``ordered`` (worker processes, a cluster), which
    returns outputs in input order; keep the records here and pair them up again."""
    held: deque[list[Record]] = deque()

    def texts() -> Iterator[list[str]]:
        for chunk in record_chunks:
            held.append(chunk)
            yield [r.text for r in chunk]

    for outputs in ordered(texts()):
        yield held.popleft(), outputs


def preprocess_files(
    inputs: list[str],
    recipe: Recipe,
    spec,
    output: str | None = None,
    output_format: str | None = None,
    jobs: int = 1,
    chunk_size: int | None = None,
    scheduler: str | None = None,
) -> int:
    """``nlpcli preprocess``: stream ``inputs`` through ``recipe`` to ``output``; returns the count."""
    import contextlib

    from nlpcli import progress
    from nlpcli.textio import RecordWriter, default_output_format, open_output, read_records

    fmt = output_format or default_output_format(inputs[0], spec)
    count = 0
    chunks = preprocess_chunks(
        read_records(inputs, spec), recipe, jobs=jobs, chunk_size=chunk_size, scheduler=scheduler
    )
    with (
        contextlib.closing(chunks),
        open_output(output) as stream,
        progress.task(
            f"{recipe.operation} ({recipe.tagger})" if recipe.uses_tagger else recipe.operation
        ) as bar,
    ):
        writer = RecordWriter(stream, fmt)
        for records, outputs in chunks:
            writer.write_many(records, [{"text": o} for o in outputs])
            count += len(records)
            bar.advance(len(records))
    if count == 0:
        progress.warn("the input holds no documents; nothing was written")
    return count
