"""Readers and writers shared by every command.

Input: plain text (one document a line), TSV/CSV with a header, JSONL; from files or ``-``
(stdin); gzip is recognised by its magic bytes. Everything is streamed line by line, decoded
as strict UTF-8 one line at a time, so an error names the file and the line. Empty lines are
kept as empty documents so line numbers stay aligned.

Output: text / TSV / JSONL to stdout or to a file that is written atomically (temporary file,
then rename) so an interrupted run never leaves half a file behind.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import gzip
import io
import json
import os
import stat
import sys
import tempfile
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import IO

from nlpcli.errors import DataError, OutputClosed, UsageError

INPUT_FORMATS = ("text", "tsv", "csv", "jsonl")
OUTPUT_FORMATS = ("text", "tsv", "jsonl")
ENCODING_ERRORS = ("strict", "replace", "ignore")
DEFAULT_TEXT_COLUMNS = ("text", "document", "sentence", "review")
STDIO = "-"

_EXTENSIONS = {
    ".tsv": "tsv",
    ".tab": "tsv",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".txt": "text",
}


def display_name(path: str) -> str:
    return "<stdin>" if path == STDIO else str(path)


def detect_format(path: str, override: str | None = None) -> str:
    """The input format: ``override`` if given, else from the extension (``.gz`` looked through)."""
    if override:
        if override not in INPUT_FORMATS:
            raise UsageError(f"unknown format {override!r}; choose one of {', '.join(INPUT_FORMATS)}")
        return override
    if path == STDIO:
        return "text"
    name = str(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return _EXTENSIONS.get(os.path.splitext(name)[1], "text")


@dataclass(slots=True)
class InputSpec:
    """How to read documents out of an input: which format, which column or field holds the text."""

    format: str | None = None  # None: detect per path
    text_column: str | None = None  # TSV/CSV; None: text/document/sentence/review or the only column
    label_column: str | None = None  # TSV/CSV/JSONL: required when set
    text_field: str | None = None  # JSONL; None: text_column, else "text"
    encoding_errors: str = "strict"

    def __post_init__(self):
        if self.encoding_errors not in ENCODING_ERRORS:
            raise UsageError(f"--encoding-errors must be one of {', '.join(ENCODING_ERRORS)}")


@dataclass(slots=True)
class Record:
    """One document: its text, the whole row it came from (None for plain text), and where."""

    text: str
    fields: dict | None
    source: str
    line: int
    label: str | None = None
    text_key: str | None = field(default=None)


# --------------------------------------------------------------------------------------------
# reading


def _open_error(exc: OSError, path: str) -> DataError:
    if isinstance(exc, FileNotFoundError):
        return DataError("no such file; check the path", source=path)
    if isinstance(exc, IsADirectoryError):
        return DataError("is a directory, expected a file", source=path)
    if isinstance(exc, PermissionError):
        return DataError("permission denied", source=path)
    # a name too long, a loop of links, a network error...
    return DataError(f"cannot read ({exc.strerror or exc})", source=path)


def check_input(path: str) -> None:
    """Check an input before the work starts: it exists, is not a directory, and a regular file
    opens for reading. Nothing is read (a pipe such as ``<(zcat x.gz)`` keeps all its data); an
    fsspec URL (``s3://...``, for the workers of a Dask cluster) is left to the code that opens it."""
    if path == STDIO or "://" in path:
        return
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if stat.S_ISREG(st.st_mode):
            os.close(os.open(path, os.O_RDONLY))
    except OSError as exc:
        raise _open_error(exc, path) from None


def _open_binary(path: str) -> IO[bytes]:
    return gunzipped(sys.stdin.buffer if path == STDIO else open_raw(path))


def open_raw(path: str, opener=open) -> IO[bytes]:
    """``opener(path, "rb")`` (the bytes as stored, still compressed), with one clear error."""
    try:
        return opener(path, "rb")
    except OSError as exc:
        raise _open_error(exc, path) from None


def gunzipped(raw: IO[bytes]) -> IO[bytes]:
    """``raw`` itself, or a gzip reader over it when it starts with gzip's magic bytes."""
    peek = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if peek == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def iter_lines(path: str, encoding_errors: str = "strict") -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` with the line ending removed, decoding each line as UTF-8.

    An invalid byte raises :class:`DataError` naming the file, the line and the byte offset in
    it (unless ``encoding_errors`` is ``replace`` or ``ignore``); a NUL byte is taken as a sign
    of a binary file.
    """
    name = display_name(path)
    fh = _open_binary(path)
    try:
        yield from decode_lines(enumerate(fh, 1), name, encoding_errors)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(f"corrupt or truncated gzip data ({exc})", source=name) from None
    finally:
        if path != STDIO:
            fh.close()


def decode_lines(
    numbered: Iterable[tuple[int, bytes]], name: str, encoding_errors: str = "strict"
) -> Iterator[tuple[int, str]]:
    """:func:`iter_lines` over ``(line_number, raw_line)`` pairs from any binary source: each
    line checked for NUL bytes, decoded, its ending removed (and the BOM of line 1)."""
    for number, raw in numbered:
        if b"\x00" in raw:
            raise DataError(
                "contains a NUL byte: this looks like a binary file, not text", source=name, line=number
            )
        try:
            line = raw.decode("utf-8", encoding_errors)
        except UnicodeDecodeError as exc:
            raise _invalid_utf8(raw[exc.start], exc.start + 1, name, number) from None
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if line.endswith("\n"):
            line = line[:-2] if line.endswith("\r\n") else line[:-1]
        yield number, line


def _invalid_utf8(byte: int, column: int, name: str, line: int) -> DataError:
    return DataError(
        f"invalid UTF-8 (byte 0x{byte:02x} at column {column}); convert the file to UTF-8 "
        "(e.g. iconv -f cp949 -t utf-8) or pass --encoding-errors replace",
        source=name,
        line=line,
    )


def _whole_lines(path: str, encoding_errors: str = "strict") -> list[str]:
    """Every line of ``path`` at once, with :func:`iter_lines`' checks and errors: one decode of
    the whole file instead of one a line (the reader for steps that hold all documents anyway)."""
    name = display_name(path)
    fh = _open_binary(path)
    try:
        data = fh.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(f"corrupt or truncated gzip data ({exc})", source=name) from None
    finally:
        if path != STDIO:
            fh.close()
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DataError(
            "contains a NUL byte: this looks like a binary file, not text",
            source=name,
            line=data.count(b"\n", 0, nul) + 1,
        )
    try:
        text = data.decode("utf-8", encoding_errors)
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        raise _invalid_utf8(
            data[exc.start], exc.start - start + 1, name, data.count(b"\n", 0, exc.start) + 1
        ) from None
    del data
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the file's final newline
    if "\r" in text:
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    return lines


def _input_paths(paths: Sequence[str] | str) -> list[str]:
    paths = [paths] if isinstance(paths, str) else list(paths)
    if paths.count(STDIO) > 1:
        raise UsageError("'-' (stdin) can be given only once")
    return paths


def read_column(
    paths: Sequence[str] | str, spec: InputSpec | None = None, want_labels: bool = False
) -> tuple[list[str], list[str] | None]:
    """The text (and label) of every document of ``paths``, as two lists.

    Same documents, order and errors as :func:`read_records`, without a :class:`Record` per
    line: plain text and TSV are decoded a file at a time. For steps that need every document in
    memory anyway (fitting a vectorizer or a classifier), where the per-line objects cost more
    than the fitting of a simple model.
    """
    spec = spec or InputSpec()
    paths = _input_paths(paths)
    texts: list[str] = []
    labels: list[str] | None = [] if want_labels else None
    for path in paths:
        fmt = detect_format(path, spec.format)
        if fmt == "text" and not want_labels and spec.label_column is None:
            texts.extend(_whole_lines(path, spec.encoding_errors))
        elif fmt == "tsv":
            _tsv_columns(path, spec, texts, labels)
        else:
            for r in read_records([path], spec):
                texts.append(r.text)
                if labels is not None:
                    if not r.label:
                        raise _no_label(spec, r.source, r.line)
                    labels.append(r.label)
    return texts, labels


def _no_label(spec: InputSpec, name: str, line: int) -> DataError:
    if spec.label_column is None:
        return DataError("no label column: name the one holding the labels with --label-column", source=name)
    return DataError(f"empty label in column {spec.label_column!r}", source=name, line=line)


def _tsv_columns(path: str, spec: InputSpec, texts: list[str], labels: list[str] | None) -> None:
    name = display_name(path)
    lines = _whole_lines(path, spec.encoding_errors)
    if not lines:
        raise DataError("empty file: expected a header line naming the columns", source=name)
    header = [h.strip() for h in lines[0].split("\t")]
    text_index = header.index(_pick_text_column(header, spec.text_column, name))
    _check_label_column(header, spec.label_column, name)
    if labels is not None and spec.label_column is None:
        raise _no_label(spec, name, 1)
    label_index = header.index(spec.label_column) if spec.label_column else None
    width = len(header)
    # one pass, keeping only the cells wanted (no list per row outlives its line)
    column: list[str] = []
    for number, line in enumerate(islice(lines, 1, None), 2):
        row = line.split("\t")
        if len(row) != width:
            if line:
                raise DataError(
                    f"ragged row: {len(row)} fields where the header has {width}", source=name, line=number
                )
            row = [""] * width  # an empty line: an empty document, kept for alignment
        texts.append(row[text_index])
        if label_index is not None:
            column.append(row[label_index])
    if labels is not None:
        if "" in column:
            raise _no_label(spec, name, column.index("") + 2)
        labels.extend(column)


def _pick_text_column(columns: Sequence[str], wanted: str | None, name: str) -> str:
    if wanted is not None:
        if wanted not in columns:
            raise DataError(
                f"no column {wanted!r} in the header (columns: {', '.join(columns)}); "
                "choose one with --text-column",
                source=name,
                line=1,
            )
        return wanted
    for candidate in DEFAULT_TEXT_COLUMNS:
        if candidate in columns:
            return candidate
    if len(columns) == 1:
        return columns[0]
    raise DataError(
        f"cannot tell which column holds the text (columns: {', '.join(columns)}); "
        "name it with --text-column",
        source=name,
        line=1,
    )


def _check_label_column(columns: Sequence[str], wanted: str | None, name: str) -> None:
    if wanted is not None and wanted not in columns:
        raise DataError(
            f"no label column {wanted!r} in the header (columns: {', '.join(columns)}); "
            "name it with --label-column",
            source=name,
            line=1,
        )


def _read_delimited(
    path: str, spec: InputSpec, delimiter: str, lines: Iterator[tuple[int, str]]
) -> Iterator[Record]:
    name = display_name(path)
    if delimiter == "\t":
        # TSV as the unix tools write it: no quoting, one row per line.
        rows: Iterator[tuple[int, list[str]]] = ((n, line.split("\t")) for n, line in lines)
    else:
        rows = _csv_rows(lines, name)
    try:
        _, header = next(rows)
    except StopIteration:
        raise DataError("empty file: expected a header line naming the columns", source=name) from None
    header = [h.strip() for h in header]
    text_col = _pick_text_column(header, spec.text_column, name)
    _check_label_column(header, spec.label_column, name)
    text_index = header.index(text_col)
    label_col = spec.label_column
    width = len(header)
    for number, row in rows:
        if len(row) != width:
            if not row or (len(row) == 1 and row[0] == ""):
                row = [""] * width  # an empty line: an empty document, kept for alignment
            else:
                raise DataError(
                    f"ragged row: {len(row)} fields where the header has {width}", source=name, line=number
                )
        fields = dict(zip(header, row))
        yield Record(
            row[text_index], fields, name, number, fields[label_col] if label_col else None, text_col
        )


def _csv_rows(lines: Iterator[tuple[int, str]], name: str) -> Iterator[tuple[int, list[str]]]:
    state = {"line": 0}

    def feed():
        for number, line in lines:
            state["line"] = number
            yield line

    reader = csv.reader(feed())
    try:
        for row in reader:
            yield state["line"], row
    except csv.Error as exc:
        raise DataError(f"malformed CSV ({exc})", source=name, line=state["line"]) from None


def _read_jsonl(path: str, spec: InputSpec, lines: Iterator[tuple[int, str]]) -> Iterator[Record]:
    name = display_name(path)
    key = spec.text_field or spec.text_column or "text"
    label_key = spec.label_column
    for number, line in lines:
        if not line.strip():
            yield Record("", {key: ""}, name, number, None, key)
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"invalid JSON ({exc.msg} at column {exc.colno})", source=name, line=number
            ) from None
        if not isinstance(obj, dict):
            raise DataError("each JSONL line must be an object", source=name, line=number)
        if "\\u" in line and _has_lone_surrogate(obj):
            if spec.encoding_errors == "strict":
                raise DataError(
                    "a \\u escape of half a surrogate pair, which is not a character; fix the "
                    "file or pass --encoding-errors replace",
                    source=name,
                    line=number,
                )
            obj = _mend_surrogates(obj, spec.encoding_errors)
        if key not in obj:
            raise DataError(
                f"no field {key!r} (fields: {', '.join(obj)}); choose one with --text-field",
                source=name,
                line=number,
            )
        text = obj[key]
        if text is None:
            text = ""
        elif not isinstance(text, str):
            raise DataError(
                f"field {key!r} is a {type(text).__name__}, expected a string", source=name, line=number
            )
        label = None
        if label_key is not None:
            if label_key not in obj:
                raise DataError(
                    f"no label field {label_key!r}; name it with --label-column", source=name, line=number
                )
            label = None if obj[label_key] is None else str(obj[label_key])
        yield Record(text, obj, name, number, label, key)


def _has_lone_surrogate(value) -> bool:
    """Whether a parsed JSON value holds a string with half a surrogate pair (``"\\ud800"``),
    which json accepts but no UTF-8 output can hold."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _mend_surrogates(value, errors: str):
    """``value`` with each lone surrogate replaced by U+FFFD (``replace``) or dropped (``ignore``)."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", errors)
    if isinstance(value, dict):
        return {_mend_surrogates(k, errors): _mend_surrogates(v, errors) for k, v in value.items()}
    if isinstance(value, list):
        return [_mend_surrogates(v, errors) for v in value]
    return value


def _read_plain(path: str, spec: InputSpec, lines: Iterator[tuple[int, str]]) -> Iterator[Record]:
    if spec.label_column is not None:
        raise UsageError(
            f"{display_name(path)}: plain text has no columns, so --label-column "
            f"{spec.label_column!r} cannot be used; give a TSV/CSV/JSONL file or --format"
        )
    name = display_name(path)
    for number, line in lines:
        yield Record(line, None, name, number)


def read_records(paths: Sequence[str] | str, spec: InputSpec | None = None) -> Iterator[Record]:
    """Stream the documents of one or more inputs, in order."""
    spec = spec or InputSpec()
    for path in _input_paths(paths):
        yield from records_of_lines(path, spec, iter_lines(path, spec.encoding_errors))


def records_of_lines(path: str, spec: InputSpec, lines: Iterator[tuple[int, str]]) -> Iterator[Record]:
    """The records of ``path`` parsed out of ``lines`` (``(line_number, line)`` pairs, the header
    first for TSV/CSV), as :func:`read_records` parses the whole file."""
    fmt = detect_format(path, spec.format)
    if fmt == "text":
        return _read_plain(path, spec, lines)
    if fmt == "tsv":
        return _read_delimited(path, spec, "\t", lines)
    if fmt == "csv":
        return _read_delimited(path, spec, ",", lines)
    return _read_jsonl(path, spec, lines)


def chunked(items: Iterable, size: int) -> Iterator[list]:
    """Lists of at most ``size`` items, in order (the unit of streaming and of parallel work)."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


# --------------------------------------------------------------------------------------------
# writing


def default_output_format(input_path: str, spec: InputSpec) -> str:
    """Keep the shape of the input: TSV/CSV in gives TSV out, JSONL gives JSONL, text gives text."""
    fmt = detect_format(input_path, spec.format)
    return {"tsv": "tsv", "csv": "tsv", "jsonl": "jsonl"}.get(fmt, "text")


def _clean_cell(value) -> str:
    text = "" if value is None else str(value)
    if "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return text


class RecordWriter:
    """Writes one output row per input record.

    ``write(record, values)``: ``values`` is an ordered mapping of output columns. For TSV and
    JSONL the record's own fields pass through first (a key in ``values`` replaces the field of
    the same name, so the processed text keeps the column name of the raw text); for plain text
    output only ``values[primary]`` is written.
    """

    def __init__(self, stream: IO[str], fmt: str, primary: str = "text"):
        if fmt not in OUTPUT_FORMATS:
            raise UsageError(f"unknown output format {fmt!r}; choose one of {', '.join(OUTPUT_FORMATS)}")
        self.stream = stream
        self.format = fmt
        self.primary = primary
        self._columns: list[str] | None = None
        self._width = 0

    def _row(self, record: Record, values: dict) -> dict:
        if record.fields is None:
            return dict(values)
        row = dict(record.fields)
        if record.text_key is not None and self.primary in values and record.text_key != self.primary:
            row[record.text_key] = values[self.primary]
            values = {k: v for k, v in values.items() if k != self.primary}
        row.update(values)
        return row

    def _tsv_line(self, row: dict) -> str:
        columns = self._columns
        if len(row) == self._width:
            # the usual row: string cells, in the header's order, free of tabs and line breaks
            # (a cell holding a tab would show up as one tab too many)
            try:
                line = "\t".join(row.values())
            except TypeError:
                line = None
            if (
                line is not None
                and line.count("\t") == self._width - 1
                and "\n" not in line
                and "\r" not in line
                and list(row) == columns
            ):
                return line
        return "\t".join(_clean_cell(row.get(c)) for c in columns)  # type: ignore[union-attr]

    def write_many(self, records: Sequence[Record], values: Sequence[dict]) -> None:
        out = []
        if self.format == "text":
            for value in values:
                out.append(_clean_cell(value[self.primary]))
        elif self.format == "jsonl":
            for record, value in zip(records, values):
                out.append(json.dumps(self._row(record, value), ensure_ascii=False))
        else:
            for record, value in zip(records, values):
                row = self._row(record, value)
                if self._columns is None:
                    self._columns = list(row)
                    self._width = len(row)
                    out.append("\t".join(self._columns))
                out.append(self._tsv_line(row))
        if out:
            self.stream.write("\n".join(out))
            self.stream.write("\n")
        self.stream.flush()


@contextlib.contextmanager
def open_output(path: str | None, mode: str = "w") -> Iterator[IO]:
    """stdout for ``None`` or ``-``; else a temporary file beside ``path`` renamed over it on success.

    If the block raises (an error, Ctrl-C), the temporary file is removed and ``path`` is left as
    it was: never half a file.
    """
    binary = "b" in mode
    if path is None or path == STDIO:
        try:
            yield sys.stdout.buffer if binary else _stdout_text()
        except BrokenPipeError:
            # Not an OSError any more, so Click does not turn it into exit 1.
            raise OutputClosed("stdout was closed by the reader") from None
        return
    with atomic_path(path) as tmp:
        if binary:
            with open(tmp, "wb") as fh:
                yield fh
        else:
            with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
                yield fh


def _is_utf8(stream) -> bool:
    return (getattr(stream, "encoding", None) or "utf-8").lower().replace("-", "").replace("_", "") == "utf8"


def utf8_stdio() -> None:
    """Data on stdout is UTF-8 whatever the locale or ``PYTHONIOENCODING`` say; messages on stderr
    keep its encoding but can never fail on a character it lacks (``\\uXXXX`` instead)."""
    with contextlib.suppress(AttributeError, ValueError, OSError):
        if not _is_utf8(sys.stdout):
            sys.stdout.reconfigure(encoding="utf-8", errors="strict")  # type: ignore[union-attr]
    with contextlib.suppress(AttributeError, ValueError, OSError):
        if not _is_utf8(sys.stderr):
            sys.stderr.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]


#: a UTF-8 wrapper of stdout's buffer, made once and kept (dropping it would close stdout)
_STDOUT_WRAPPER: IO[str] | None = None


def _stdout_text() -> IO[str]:
    global _STDOUT_WRAPPER
    stream = sys.stdout
    if _is_utf8(stream):
        return stream
    utf8_stdio()
    if _is_utf8(sys.stdout) or not hasattr(stream, "buffer"):
        return sys.stdout
    if _STDOUT_WRAPPER is None or _STDOUT_WRAPPER.buffer is not stream.buffer:  # type: ignore[attr-defined]
        _STDOUT_WRAPPER = io.TextIOWrapper(stream.buffer, encoding="utf-8", newline="\n", write_through=True)
    return _STDOUT_WRAPPER


# --------------------------------------------------------------------------------------------
# output paths: file modes, early checks, full disks

_UMASK: int | None = None
_UMASK_LOCK = threading.Lock()

#: errors of the file being written (not of the input being read): reported as "cannot write FILE"
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


def process_umask() -> int:
    """The process's umask, read once and kept: from ``/proc/self/status`` where there is one
    (reading it changes nothing), else set and restored at once under a lock."""
    global _UMASK
    if _UMASK is None:
        with _UMASK_LOCK:
            if _UMASK is None:
                _UMASK = _read_umask()
    return _UMASK


def _read_umask() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def usual_mode(directory: bool = False) -> int:
    """The mode a plain ``open()`` (``mkdir()`` for a directory) gives under the umask: 0644/0755
    under umask 022. Temporary files and directories are created 0600/0700, so everything nlpcli
    renames into place is given this mode first."""
    return (0o777 if directory else 0o666) & ~process_umask()


def write_error(exc: OSError, target: str) -> DataError:
    """One line for a write that failed half-way (a full disk, a quota, a read-only file system)."""
    hint = "; free some space or write elsewhere" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
    return DataError(f"cannot write {target}: {exc.strerror or exc}{hint}")


@contextlib.contextmanager
def naming_write_errors(target: str) -> Iterator[None]:
    """Turn a full disk (a quota, a read-only file system) inside the block into :func:`write_error`."""
    try:
        yield
    except OSError as exc:
        if exc.errno in WRITE_ERRNOS:
            raise write_error(exc, target) from None
        raise


def check_output(path: str | None, *, binary: bool = False, directory: bool = False) -> None:
    """Check an output before the work starts: ``None`` or ``-`` is stdout (a binary output is
    refused on a terminal; a directory cannot go there); a file must not be an existing
    directory (a model directory must not be a file), and its folder must exist and be writable."""
    if path is None or path == STDIO:
        if directory:
            raise UsageError("a model directory cannot be written to stdout; give -o DIRECTORY")
        if binary and _stdout_is_terminal():
            raise UsageError("refusing to write binary output to a terminal; redirect it or give -o FILE")
        return
    target = os.fspath(path)
    if not directory and os.path.isdir(target):
        raise DataError("is a directory; give a file name, e.g. -o DIRECTORY/NAME", source=target)
    if not directory and _is_device(target):
        return
    parent = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(parent):
        raise DataError("the output directory does not exist; create it first", source=target)
    try:
        fd, probe = tempfile.mkstemp(prefix=".nlpcli-probe-", dir=parent)
    except OSError as exc:  # a read-only folder, a name too long for the file system...
        raise DataError(f"cannot write here ({exc.strerror or exc})", source=target) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def default_checkpoint(output: str | None) -> str | None:
    """``OUTPUT.ckpt``, or none when the output goes to stdout (then only --checkpoint gives one)."""
    return None if output is None or output == STDIO else f"{output}.ckpt"


@contextlib.contextmanager
def output_path(path: str | os.PathLike | None, *, binary: bool = True) -> Iterator[str]:
    """A path to write a whole file to: :func:`atomic_path` for a file name; for ``None`` or ``-``
    a private temporary file whose bytes go to stdout when the block succeeds (a binary output is
    refused on a terminal)."""
    if path is not None and os.fspath(path) != STDIO:
        with atomic_path(path) as tmp:
            yield tmp
        return
    check_output(None, binary=binary)
    fd, tmp = tempfile.mkstemp(prefix="nlpcli-stdout-", suffix=".part")
    os.close(fd)
    try:
        yield tmp
        sys.stdout.flush()
        with open(tmp, "rb") as src:
            try:
                while block := src.read(1 << 20):
                    sys.stdout.buffer.write(block)
                sys.stdout.buffer.flush()
            except BrokenPipeError:
                raise OutputClosed("stdout was closed by the reader") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """A temporary path in the target's directory; renamed to ``path`` when the block succeeds.

    The file gets the mode a plain ``open()`` gives (an existing target's mode is kept); a full
    disk while writing is one line naming ``path``, and the temporary file is removed."""
    target = os.fspath(path)
    if _is_device(target):  # /dev/null, /dev/stdout, a named pipe: written in place, as by a shell's >
        with naming_write_errors(target):
            yield target
        return
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise DataError("the output directory does not exist; create it first", source=target)
    if os.path.isdir(target):
        raise DataError("is a directory; give a file name, e.g. -o DIRECTORY/NAME", source=target)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{os.path.basename(target)[:200]}.", suffix=".part", dir=directory
        )
    except OSError as exc:  # a read-only folder, a name too long for the file system...
        raise DataError(f"cannot write here ({exc.strerror or exc})", source=target) from None
    try:
        os.fchmod(fd, _kept_mode(target))
    finally:
        os.close(fd)
    try:
        with naming_write_errors(target):
            yield tmp
        try:
            os.replace(tmp, target)
        except OSError as exc:  # the target is a directory, the name is too long...
            raise DataError(f"cannot write here ({exc.strerror or exc})", source=target) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _is_device(target: str) -> bool:
    """Whether ``target`` exists and is neither a regular file nor a directory (a device, a pipe)."""
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _kept_mode(target: str) -> int:
    """An existing regular file's permission bits (a plain ``open()`` keeps them), else the usual mode."""
    try:
        st = os.stat(target)
    except OSError:
        return usual_mode()
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else usual_mode()
