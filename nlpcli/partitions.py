"""Inputs cut into byte ranges that cluster workers read themselves.

The driver plans (:func:`plan`): it checks that every input can be read and cuts it into
partitions of about ``target_bytes`` by size alone, without reading it. Each worker then reads
its own partition from the same path or URL (:func:`read_records`): the lines that *begin* in
``[start, end)``. A partition that starts inside a line skips to the next line; the line that
starts before ``end`` is read to its end, past ``end`` if need be. So every line belongs to
exactly one partition, and the records of the partitions, in plan order, are those of
:func:`nlpcli.textio.read_records` on the whole inputs, parsed the same way (a TSV partition
takes its header from the file's first line).

Line numbers count from the start of a file, which a worker reading from the middle of it does
not see: records of a partition that starts at byte 0 carry their line number, records of a
later one carry line 0 (unknown), and errors in them name the byte offset of the line instead.

Compressed files cannot be entered in the middle, and CSV rows may span lines inside quotes, so
each is one partition. Paths with ``://`` (``s3://``, ``gs://``, ``file://``...) are read with
fsspec (installed with Dask); other paths are local and made absolute.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from nlpcli.errors import DataError, UsageError
from nlpcli.textio import (
    STDIO,
    InputSpec,
    Record,
    decode_lines,
    detect_format,
    gunzipped,
    open_raw,
    records_of_lines,
)
from nlpcli.textio import (
    read_records as read_whole,
)

#: the default size of a partition
TARGET_BYTES = 32 << 20


@dataclass(frozen=True)
class Partition:
    """The lines of ``path`` that begin in the byte range ``[start, end)``."""

    path: str  # as the workers see it (absolute path or fsspec URL)
    start: int  # byte offset; the partition holds the lines that BEGIN in [start, end)
    end: int | None  # None = to the end of the file (compressed files are one partition each)
    index: int  # position in the plan


def is_url(path: str) -> bool:
    return "://" in path


def _fs(url: str):
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise UsageError(f"{url}: reading URLs needs fsspec: pip install 'nlpcli[dask]'") from None
    try:
        return url_to_fs(url)[0]
    except (ImportError, ValueError) as exc:  # a protocol without its package (s3fs, gcsfs...)
        raise DataError(f"cannot read this URL ({exc})", source=url) from None


def _open_raw(path: str) -> IO[bytes]:
    """The raw (still compressed) bytes of a local path or URL, with one clear error."""
    return open_raw(path, lambda p, mode: _fs(p).open(p, mode)) if is_url(path) else open_raw(path)


def _size_and_magic(path: str) -> tuple[int, bytes]:
    with _open_raw(path) as fh:
        try:
            magic = fh.read(2)
            if is_url(path):
                return int(_fs(path).size(path)), magic
            return os.fstat(fh.fileno()).st_size, magic
        except OSError as exc:
            raise DataError(f"cannot read ({exc.strerror or exc})", source=path) from None


def plan(paths: Sequence[str] | str, spec: InputSpec, target_bytes: int = TARGET_BYTES) -> list[Partition]:
    """Partitions of about ``target_bytes`` covering ``paths`` in order (driver side: opens each
    input once to check it can be read, reads no more than its first bytes)."""
    if target_bytes < 1:
        raise UsageError("the partition size must be at least 1 byte")
    parts: list[Partition] = []
    for given in [paths] if isinstance(paths, str) else list(paths):
        if given == STDIO:
            raise UsageError("cluster workers cannot read stdin ('-'): give a path every worker can read")
        path = given if is_url(given) else os.path.abspath(given)
        size, magic = _size_and_magic(path)
        whole = magic == b"\x1f\x8b" or detect_format(path, spec.format) == "csv" or size <= target_bytes
        starts = [0] if whole else range(0, size, target_bytes)
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else None
            parts.append(Partition(path, start, end, len(parts)))
    return parts


def read_records(part: Partition, spec: InputSpec) -> Iterator[Record]:
    """The records of one partition (worker side), parsed as :func:`nlpcli.textio.read_records`
    parses the whole file."""
    if part.start == 0 and part.end is None and not is_url(part.path):
        yield from read_whole([part.path], spec)
        return
    cursor = _Cursor()
    fh = _open_raw(part.path)
    try:
        if part.start == 0:
            lines = enumerate(_lines_in(gunzipped(fh), 0, part.end, cursor), 1)
        else:
            lines = _middle_lines(fh, part, spec, cursor)
        records = records_of_lines(part.path, spec, decode_lines(lines, part.path, spec.encoding_errors))
        yield from records
    except DataError as exc:
        if exc.line != 0:
            raise
        message = str(exc).removeprefix(f"{exc.source}:0: ")
        raise DataError(f"the line at byte {cursor.offset}: {message}", source=part.path) from None
    except (EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"cannot read ({exc})", source=part.path) from None
    finally:
        fh.close()


class _Cursor:
    """Where the line read last begins (for errors in a partition without line numbers)."""

    offset = 0


def _lines_in(stream: IO[bytes], start: int, end: int | None, cursor: _Cursor) -> Iterator[bytes]:
    """The raw lines that begin in ``[start, end)``: from ``start`` on, the line under way is
    skipped; the last line is read to its end, even past ``end``."""
    position = 0
    if start > 0:
        stream.seek(start - 1)
        position = start - 1 + len(stream.readline())  # the end of the line holding byte start-1
    while end is None or position < end:
        raw = stream.readline()
        if not raw:
            return
        cursor.offset = position
        position += len(raw)
        yield raw


def _middle_lines(
    fh: IO[bytes], part: Partition, spec: InputSpec, cursor: _Cursor
) -> Iterator[tuple[int, bytes]]:
    """The lines of a partition after the start of the file, numbered 0 (unknown), after the
    file's header line (numbered 1) for TSV."""
    if detect_format(part.path, spec.format) in ("tsv", "csv"):
        fh.seek(0)
        yield 1, fh.readline()
    for raw in _lines_in(fh, part.start, part.end, cursor):
        yield 0, raw
