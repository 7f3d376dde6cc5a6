"""``embed import``: pretrained word vectors from other tools as an embed model of kind ``vectors``.

Formats: word2vec text (``.vec``, ``.txt``: a ``COUNT DIM`` header line, then ``word v1 .. vDIM``
lines), word2vec binary (the same header, then ``word<space>`` and DIM little-endian float32 per
word), GloVe text (word2vec text without the header) and Facebook fastText ``.bin`` models (the
word vectors and the n-gram bucket matrix, so unseen words get vectors from their n-grams).

The file is read once, as a stream, in blocks of a few MB: the vectors go to ``vectors.npy``
with plain file writes (not a memory map, whose written pages would stay in the process's
resident memory), then ``index.npy`` is normalized from it block by block. Memory does not grow
with the file; only ``vocab.txt``'s word hashes (8 bytes a word) are kept, to find duplicates.

The answers equal gensim's ``KeyedVectors.load_word2vec_format`` (text, binary; GloVe with
``no_header=True``) and ``load_facebook_vectors`` (fastText ``.bin``): the same parsing (a line is
split on single spaces after stripping trailing whitespace; numbers are read as float32 through
double), the same ``limit``, the same word order, and a duplicate word keeps its first vector
and is skipped with a warning, as gensim does. A line gensim would refuse (a wrong number of
numbers, a non-number, an empty line), a header whose count does not match the lines, or a
truncated file stops the import with ``FILE:LINE: ...`` and leaves no model behind.
"""

from __future__ import annotations

import array
import hashlib
import os
import struct
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

import numpy as np

from nlpcli import progress
from nlpcli.embed import store
from nlpcli.errors import DataError, UsageError

FORMATS = ("auto", "word2vec-text", "word2vec-binary", "fasttext-bin", "glove")
KIND = store.IMPORTED_KIND
BLOCK = 1 << 20  # bytes read at a time
ROW_BYTES = 1 << 20  # about this many bytes of rows normalized at a time
HEADER_BYTES = 128  # the fixed .npy header of vectors.npy / index.npy (patched at the end)
FT_MAGIC = 793712314
FT_VERSION = 12
MAX_WORD_BYTES = 1 << 16


# --------------------------------------------------------------------------------------------
# the input stream: counts bytes and hashes them as they are read


class Source:
    """A binary input read once, front to back, hashed (sha256) on the way."""

    def __init__(self, path: str):
        self.path = path
        self.name = "<stdin>" if path == "-" else path
        if path == "-":
            self.fh: IO[bytes] = sys.stdin.buffer
        else:
            if not os.path.exists(path):
                raise DataError("no such file", source=path)
            if os.path.isdir(path):
                raise DataError("is a directory; give a vectors file", source=path)
            self.fh = open(path, "rb")
        self.sha = hashlib.sha256()
        self.offset = 0  # bytes handed out by read()
        self._pending = b""  # read ahead by peek(), not yet handed out

    def _fetch(self, n: int) -> bytes:
        data = self.fh.read(n)
        self.sha.update(data)
        return data

    def peek(self, n: int) -> bytes:
        while len(self._pending) < n:
            more = self._fetch(n - len(self._pending))
            if not more:
                break
            self._pending += more
        return self._pending[:n]

    def read(self, n: int) -> bytes:
        if self._pending:
            data, self._pending = self._pending[:n], self._pending[n:]
            if len(data) < n:
                data += self._fetch(n - len(data))
        else:
            data = self._fetch(n)
        self.offset += len(data)
        return data

    def unread(self, data: bytes) -> None:
        """Give back bytes read ahead (they are hashed once, when first read from the file)."""
        self._pending = bytes(data) + self._pending
        self.offset -= len(data)

    def exactly(self, n: int, what: str) -> bytes:
        data = self.read(n)
        if len(data) != n:
            raise DataError(f"truncated: the file ends in {what} (byte {self.offset:,})", source=self.name)
        return data

    def finish(self) -> None:
        """Read to the end (for the hash) and close."""
        while self.read(BLOCK):
            pass
        self.close()

    def close(self) -> None:
        if self.fh is not sys.stdin.buffer:
            self.fh.close()

    def describe(self, fmt: str) -> dict:
        info = {
            "path": "-" if self.path == "-" else os.path.abspath(self.path),
            "format": fmt,
            "bytes_read": self.offset,
            "sha256": self.sha.hexdigest(),
        }
        if self.path != "-":
            st = os.stat(self.path)
            info.update(size=st.st_size, mtime=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime)))
        return info


# --------------------------------------------------------------------------------------------
# .npy files written by appending rows, the header patched at the end


def npy_header(rows: int, dim: int) -> bytes:
    """A version 1.0 .npy header of exactly HEADER_BYTES bytes for a (rows, dim) float32 array."""
    text = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}"
    text = text.ljust(HEADER_BYTES - 11) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


class RowWriter:
    """Appends float32 rows to a .npy file with plain writes (no memory map)."""

    def __init__(self, path: str, dim: int):
        self.path, self.dim, self.rows = path, dim, 0
        self.fh = open(path, "wb")
        self.fh.write(npy_header(0, dim))

    def write(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype="<f4")
        self.fh.write(rows.data)
        self.rows += rows.shape[0]

    def close(self) -> None:
        if self.fh.closed:
            return
        self.fh.seek(0)
        self.fh.write(npy_header(self.rows, self.dim))
        self.fh.close()


def read_rows(path: str, dim: int, rows: int | None = None) -> Iterator[np.ndarray]:
    """The rows of a RowWriter file, a block at a time, with plain reads."""
    rows = rows or max(1, ROW_BYTES // (4 * dim))
    with open(path, "rb") as fh:
        fh.seek(HEADER_BYTES)
        while True:
            data = fh.read(rows * dim * 4)
            if not data:
                return
            yield np.frombuffer(data, dtype="<f4").reshape(-1, dim)


# --------------------------------------------------------------------------------------------
# the model being written


@dataclass
class Sink:
    """vocab.txt, vectors.npy and the word hashes (for duplicates) of the model being built."""

    directory: str
    source: Source
    errors: str = "strict"
    dim: int = 0
    vectors: RowWriter | None = None
    vocab: IO[str] | None = None
    hashes: array.array = field(default_factory=lambda: array.array("q"))
    first_line: int = 1  # the input line (word2vec binary: the word number) of the first word
    binary: bool = False  # words are numbered, not on lines

    def start(self, dim: int) -> None:
        if dim < 1:
            raise DataError(f"the vectors have {dim} dimensions", source=self.source.name)
        self.dim = dim
        self.vectors = RowWriter(os.path.join(self.directory, store.RAW_VECTORS), dim)
        self.vocab = open(os.path.join(self.directory, store.VOCAB), "w", encoding="utf-8", newline="\n")

    def decode(self, word: bytes, line: int) -> str:
        """A word as text; ``line`` is the input line (binary formats: the word's number)."""
        where = f"word {line:,}: " if self.binary else ""
        line = None if self.binary else line
        try:
            text = word.decode("utf-8", errors=self.errors)
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{where}the word {word[:40]!r} is not valid UTF-8 ({exc.reason}); pass "
                "--encoding-errors replace or ignore",
                source=self.source.name,
                line=line,
            ) from None
        if "\n" in text or "\r" in text:
            raise DataError(
                f"{where}the word {text[:40]!r} holds a line break", source=self.source.name, line=line
            )
        return text

    def add(self, words: list[str], vectors: np.ndarray, first_line: int) -> None:
        self.vocab.write("".join(w + "\n" for w in words))
        self.hashes.extend(hash(w) for w in words)
        self.vectors.write(vectors)

    @property
    def count(self) -> int:
        return self.vectors.rows if self.vectors else 0

    def close(self) -> None:
        if self.vocab:
            self.vocab.close()
        if self.vectors:
            self.vectors.close()


# --------------------------------------------------------------------------------------------
# text formats: word2vec text (.vec) and GloVe


def text_lines(source: Source, first_line: int) -> Iterator[tuple[int, list[bytes]]]:
    """Blocks of complete lines (without the newline) and the line number of the first one."""
    tail = b""
    number = first_line
    while True:
        block = source.read(BLOCK)
        if not block:
            if tail.strip():
                yield number, tail.split(b"\n")
            return
        lines = (tail + block).split(b"\n")
        tail = lines.pop()
        while lines and not lines[-1].strip():  # blank lines count only if a word follows them
            tail = lines.pop() + b"\n" + tail
        if lines:
            yield number, lines
            number += len(lines)


def _bad_line(line: bytes, dim: int | None, name: str, number: int) -> DataError:
    """Why gensim could not read this line (the slow path, for the message)."""
    parts = line.rstrip().split(b" ")
    if not line.strip():
        return DataError("an empty line; expected a word and its numbers", source=name, line=number)
    if dim is not None and len(parts) - 1 != dim:
        return DataError(
            f"{len(parts) - 1} numbers after the word {parts[0][:40].decode('utf-8', 'replace')!r}, "
            f"expected {dim} (is this a vectors file?)",
            source=name,
            line=number,
        )
    for part in parts[1:]:
        try:
            float(part)
        except ValueError:
            return DataError(
                f"not a number: {part[:40].decode('utf-8', 'replace')!r}", source=name, line=number
            )
    return DataError("cannot read the numbers of this line", source=name, line=number)


def parse_text_block(
    lines: list[bytes], dim: int, sink: Sink, first_line: int
) -> tuple[list[str], np.ndarray]:
    """Words and float32 vectors of complete lines, exactly as gensim parses them."""
    words, rests = [], []
    for i, line in enumerate(lines):
        word, _, rest = line.rstrip().partition(b" ")
        if rest.count(b" ") != dim - 1 or not rest:
            raise _bad_line(line, dim, sink.source.name, first_line + i)
        words.append(word)
        rests.append(rest)
    try:  # numpy's C parser: text to double, then float32, as gensim's np.float32(text)
        values = np.loadtxt(rests, dtype=np.float32, comments=None, ndmin=2, encoding="latin1")
        ok = values.shape == (len(lines), dim)
    except ValueError:
        ok = False
    if not ok:  # find the line: each on its own, through float() as gensim does
        rows = []
        for i, rest in enumerate(rests):
            try:
                rows.append([np.float32(x) for x in rest.split(b" ")])
            except ValueError:
                raise _bad_line(lines[i], dim, sink.source.name, first_line + i) from None
        values = np.array(rows, dtype=np.float32)
    texts = [sink.decode(w, first_line + i) for i, w in enumerate(words)]
    return texts, values.reshape(len(lines), dim)


def _text_header(source: Source, fmt: str) -> tuple[int | None, int | None, bytes]:
    """(count, dim) of a word2vec text header, or (None, None) for GloVe; and the bytes consumed."""
    if fmt == "glove":
        return None, None, b""
    line = b""
    while not line.endswith(b"\n"):
        more = source.read(1)
        if not more:
            break
        line += more
        if len(line) > 200:
            break
    try:
        count, dim = (int(x) for x in line.split())
    except ValueError:
        raise DataError(
            f"the first line {line[:60].decode('utf-8', 'replace').strip()!r} is not a word2vec "
            "header 'COUNT DIM' (GloVe files have none: --format glove)",
            source=source.name,
            line=1,
        ) from None
    if count < 0 or dim < 1:
        raise DataError(
            f"header {count} {dim}: expected a word count and a dimension", source=source.name, line=1
        )
    return count, dim, line


def read_text(source: Source, sink: Sink, fmt: str, limit: int | None) -> dict:
    """word2vec text or GloVe, streamed; returns what the manifest records about the read."""
    count, dim, _ = _text_header(source, fmt)
    want = count if limit is None else min(count, limit) if count is not None else limit
    first = 2 if count is not None else 1
    sink.first_line = first
    number = first
    done = False
    with progress.task(f"importing {os.path.basename(source.name)}", want, unit="words") as bar:
        for number, lines in text_lines(source, first):
            if done:
                _check_after(lines, number, count, limit, source)
                continue
            if want is not None and sink.count + len(lines) >= want:
                keep = want - sink.count
                lines, extra = lines[:keep], lines[keep:]
                done = True
                _check_after(extra, number + keep, count, limit, source)
            if dim is None:  # GloVe: the first line gives the dimension
                dim = len(lines[0].rstrip().split(b" ")) - 1
                if dim < 1:
                    raise _bad_line(lines[0], None, source.name, number)
            if sink.vectors is None:
                sink.start(dim)
            if lines:
                words, vectors = parse_text_block(lines, dim, sink, number)
                sink.add(words, vectors, number)
                bar.advance(len(lines))
            if done and limit is not None:
                break
    if count is not None and sink.count < want:
        raise DataError(
            f"the header says {count:,} words but the file ends after {sink.count:,}",
            source=source.name,
            line=sink.count + 2,
        )
    if not sink.count:
        raise DataError("no vectors in the file", source=source.name)
    return {"header_count": count}


def _check_after(
    lines: list[bytes], number: int, count: int | None, limit: int | None, source: Source
) -> None:
    """After the header's count of words, only blank lines (unless --limit stopped the read)."""
    if limit is not None:
        return
    for i, line in enumerate(lines):
        if line.strip():
            raise DataError(
                f"more lines than the header's count of {count:,} words; pass --limit {count} to "
                "read only the first ones (as gensim does)",
                source=source.name,
                line=number + i,
            )


# --------------------------------------------------------------------------------------------
# word2vec binary


def read_word2vec_binary(source: Source, sink: Sink, limit: int | None) -> dict:
    """word2vec binary: ``word `` then DIM float32, per word (an optional newline between)."""
    count, dim, _ = _text_header(source, "word2vec-binary")
    want = count if limit is None else min(count, limit)
    sink.binary = True
    sink.start(dim)
    size = dim * 4
    buf, pos, n = b"", 0, 0
    with progress.task(f"importing {os.path.basename(source.name)}", want, unit="words") as bar:
        while n < want:
            more = source.read(BLOCK)
            buf = buf[pos:] + more
            pos = 0
            words, chunks = [], []
            while n + len(words) < want:
                space = buf.find(b" ", pos, pos + MAX_WORD_BYTES)
                if space < 0 or len(buf) - space - 1 < size:
                    if space < 0 and len(buf) - pos > MAX_WORD_BYTES:
                        raise DataError(
                            f"word {n + len(words) + 1:,}: no space after {MAX_WORD_BYTES:,} bytes "
                            "(is this the binary format?)",
                            source=source.name,
                        )
                    break
                words.append(sink.decode(buf[pos:space].lstrip(b"\n"), n + len(words) + 1).lstrip("\n"))
                chunks.append(buf[space + 1 : space + 1 + size])
                pos = space + 1 + size
            if words:
                sink.add(words, np.frombuffer(b"".join(chunks), dtype="<f4").reshape(-1, dim), n + 1)
                n += len(words)
                bar.advance(len(words))
            if not more and n < want:
                raise DataError(
                    f"truncated: the header says {count:,} words, the file ends in word {n + 1:,} "
                    f"(byte {source.offset:,})",
                    source=source.name,
                )
    rest = buf[pos:] + (source.peek(64) if limit is None else b"")
    if limit is None and rest.strip():
        raise DataError(
            f"more data after the header's count of {count:,} words; pass --limit {count} to read "
            "only the first ones (as gensim does)",
            source=source.name,
        )
    return {"header_count": count}


# --------------------------------------------------------------------------------------------
# Facebook fastText .bin


def _unpack(source: Source, fmt: str, what: str) -> tuple:
    return struct.unpack(fmt, source.exactly(struct.calcsize(fmt), what))


def _ft_header(source: Source) -> dict:
    """The model's arguments (both the current and the pre-2017 header layout, as gensim reads)."""
    magic, version = _unpack(source, "<2i", "the header")
    new = magic == FT_MAGIC
    names = ["dim", "ws"] if new else []
    names += [
        "epoch",
        "min_count",
        "neg",
        "word_ngrams",
        "loss",
        "model",
        "bucket",
        "minn",
        "maxn",
        "lr_update_rate",
    ]
    args = dict(zip(names, _unpack(source, f"<{len(names)}i", "the header")))
    args["t"] = _unpack(source, "<d", "the header")[0]
    if not new:
        args.update(dim=magic, ws=version)
    elif version > FT_VERSION:
        raise DataError(
            f"fastText file format version {version}, newer than {FT_VERSION}", source=source.name
        )
    args["new_format"] = new
    return args


class Cursor:
    """Reads small fields from a Source through a block buffer (the fastText dictionary)."""

    def __init__(self, source: Source):
        self.source, self.buf, self.pos = source, b"", 0

    def _more(self, what: str) -> None:
        more = self.source.read(1 << 16)
        if not more:
            raise DataError(
                f"truncated: the file ends in {what} (byte {self.source.offset:,})", source=self.source.name
            )
        self.buf, self.pos = self.buf[self.pos :] + more, 0

    def until_nul(self) -> bytes:
        while True:
            end = self.buf.find(b"\x00", self.pos)
            if end >= 0:
                word, self.pos = self.buf[self.pos : end], end + 1
                return word
            if len(self.buf) - self.pos > MAX_WORD_BYTES:
                raise DataError(
                    f"not a fastText model: a dictionary word longer than {MAX_WORD_BYTES:,} bytes",
                    source=self.source.name,
                )
            self._more("the dictionary")

    def skip(self, n: int) -> None:
        while len(self.buf) - self.pos < n:
            self._more("the dictionary")
        self.pos += n

    def give_back(self) -> None:
        self.source.unread(self.buf[self.pos :])
        self.buf, self.pos = b"", 0


def _ft_vocab(source: Source, args: dict) -> tuple[list[bytes], int]:
    """The dictionary: the words (bytes, in file order) and ntokens."""
    size, nwords, nlabels = _unpack(source, "<3i", "the dictionary")
    ntokens = _unpack(source, "<q", "the dictionary")[0]
    prune = _unpack(source, "<q", "the dictionary")[0] if args["new_format"] else 0
    if nlabels > 0:
        raise DataError(
            f"a supervised fastText model ({nlabels} labels): only word vector models "
            "(fasttext skipgram / cbow) can be imported",
            source=source.name,
        )
    if nwords != size:
        raise DataError(f"the dictionary has {size:,} entries but {nwords:,} words", source=source.name)
    cursor = Cursor(source)
    words = []
    for _ in range(size):
        words.append(cursor.until_nul())
        cursor.skip(9)  # int64 count, int8 entry type
    cursor.skip(8 * max(prune, 0))  # pruned-index pairs (int32, int32)
    cursor.give_back()
    return words, ntokens


def _ft_words(raw_words: list[bytes], sink: Sink) -> list[str]:
    """The dictionary's words as text. fastText stores bytes, and Common Crawl models hold some that
    are not UTF-8: with --encoding-errors strict they are written with backslash escapes (a warning),
    as gensim's ``load_facebook_vectors`` does, since the n-gram vectors are hashed from that text."""
    words, bad = [], []
    for i, raw in enumerate(raw_words):
        try:
            words.append(sink.decode(raw, i + 1))
        except DataError:
            if sink.errors != "strict":
                raise
            words.append(raw.decode("utf-8", errors="backslashreplace"))
            bad.append(words[-1])
    if bad:
        progress.warn(
            f"{sink.source.name}: {len(bad):,} words are not valid UTF-8, kept with backslash "
            f"escapes as gensim does: {', '.join(map(repr, bad[:3]))}"
        )
    return words


def _ft_matrix_shape(source: Source, args: dict, nwords: int) -> None:
    if args["new_format"] and _unpack(source, "<?", "the input matrix")[0]:
        raise DataError(
            "a quantized fastText model (.ftz): not supported (gensim cannot load it either); use the .bin",
            source=source.name,
        )
    rows, dim = _unpack(source, "<2q", "the input matrix")
    if dim != args["dim"] or rows != nwords + args["bucket"]:
        raise DataError(
            f"the input matrix is {rows:,} x {dim}, expected {nwords + args['bucket']:,} x "
            f"{args['dim']} (words + buckets); is the file damaged?",
            source=source.name,
        )


def _copy_rows(source: Source, writer: RowWriter, rows: int, what: str, bar=None) -> None:
    dim = writer.dim
    step = max(1, BLOCK // (4 * dim))
    done = 0
    while done < rows:
        n = min(step, rows - done)
        data = source.exactly(n * dim * 4, what)
        writer.write(np.frombuffer(data, dtype="<f4").reshape(n, dim))
        done += n
        if bar is not None:
            bar.advance(n)


def read_fasttext_bin(source: Source, sink: Sink, limit: int | None) -> dict:
    """Facebook fastText .bin: word rows to vectors.npy, bucket rows to ngrams.npy, then the word
    vectors adjusted by their n-grams as gensim's ``load_facebook_vectors`` does."""
    args = _ft_header(source)
    sink.binary = True
    raw_words, ntokens = _ft_vocab(source, args)
    _ft_matrix_shape(source, args, len(raw_words))
    words = _ft_words(raw_words, sink)
    sink.start(args["dim"])
    ngrams = RowWriter(os.path.join(sink.directory, store.NGRAMS), args["dim"])
    with progress.task(
        f"importing {os.path.basename(source.name)}", len(words) + args["bucket"], unit="rows"
    ) as bar:
        _copy_rows(source, sink.vectors, len(words), "the word vectors", bar)
        sink.vocab.write("".join(w + "\n" for w in words))
        _copy_rows(source, ngrams, args["bucket"], "the n-gram vectors", bar)
    ngrams.close()
    sink.close()
    keep = len(words) if limit is None else min(limit, len(words))
    adjust_by_ngrams(sink.directory, words, args, keep)
    fields = ("dim", "ws", "epoch", "min_count", "neg", "loss", "model", "bucket", "minn", "maxn", "t")
    return {
        "fasttext": {**{k: args[k] for k in fields}, "ntokens": ntokens, "words": len(words)},
        "subwords": {"min_n": args["minn"], "max_n": args["maxn"], "bucket": args["bucket"]}
        if args["bucket"]
        else None,
        "rows": keep,
    }


def adjust_by_ngrams(directory: str, words: list[str], args: dict, keep: int) -> None:
    """vectors.npy rows become (word row + its n-gram rows) / (n + 1), summed in float32 in order
    (gensim's ``FastTextKeyedVectors.adjust_vectors``); only the first ``keep`` words stay."""
    from nlpcli.embed.index import ngram_hashes

    path = os.path.join(directory, store.RAW_VECTORS)
    dim, bucket = args["dim"], args["bucket"]
    tmp = path + ".adjusted"
    out = RowWriter(tmp, dim)
    table = np.load(os.path.join(directory, store.NGRAMS), mmap_mode="r") if bucket else None
    start = 0
    for block in read_rows(path, dim):
        block = block[: max(0, keep - start)]
        if not len(block):
            break
        acc = np.array(block, dtype=np.float32)
        if bucket:
            hashes = [
                ngram_hashes(w, args["minn"], args["maxn"], bucket) for w in words[start : start + len(block)]
            ]
            _add_ngram_rows(acc, hashes, table)
        out.write(acc)
        start += len(block)
    out.close()
    os.replace(tmp, path)
    if keep < len(words):
        _rewrite_vocab(directory, words[:keep])


def _add_ngram_rows(acc: np.ndarray, hashes: list[list[int]], table: np.ndarray) -> None:
    """acc[i] = (acc[i] + table[h1] + table[h2] + ...) / (n + 1) for each row's hashes, added one
    n-gram position at a time: each row's float32 sums in the order gensim adds them."""
    counts = np.array([len(h) for h in hashes], dtype=np.int64)
    width = int(counts.max()) if len(counts) else 0
    index = np.zeros((len(hashes), width), dtype=np.int64)
    for i, h in enumerate(hashes):
        index[i, : len(h)] = h
    for k in range(width):
        rows = np.nonzero(counts > k)[0]
        acc[rows] += table[index[rows, k]]
    acc /= (counts + 1).astype(np.float32)[:, np.newaxis]


def _rewrite_vocab(directory: str, words: list[str]) -> None:
    with open(os.path.join(directory, store.VOCAB), "w", encoding="utf-8", newline="\n") as fh:
        fh.write("".join(w + "\n" for w in words))


# --------------------------------------------------------------------------------------------
# duplicates, the query index


def find_duplicates(sink: Sink) -> tuple[list[int], list[str]]:
    """Rows whose word already came earlier (gensim keeps the first vector), and messages for a few."""
    hashes = np.frombuffer(sink.hashes, dtype=np.int64) if len(sink.hashes) else np.zeros(0, np.int64)
    if len(hashes) < 2:
        return [], []
    ordered = np.sort(hashes)
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return [], []
    rows = set(np.nonzero(np.isin(hashes, ordered[1:][same]))[0].tolist())
    first: dict[str, int] = {}
    drop, notes = [], []
    with open(os.path.join(sink.directory, store.VOCAB), encoding="utf-8", newline="\n") as fh:
        for row, line in enumerate(fh):
            if row in rows:
                word = line[:-1]
                if word in first:
                    drop.append(row)
                    if len(notes) < 3:
                        unit = "word" if sink.binary else "line"
                        notes.append(
                            f"{word!r} ({unit} {row + sink.first_line}, first on {unit} "
                            f"{first[word] + sink.first_line})"
                        )
                else:
                    first[word] = row
    return drop, notes


def remove_rows(sink: Sink, drop: list[int]) -> None:
    """vocab.txt and vectors.npy without the rows ``drop`` (sorted), block by block."""
    vocab = os.path.join(sink.directory, store.VOCAB)
    raw = os.path.join(sink.directory, store.RAW_VECTORS)
    dropped = set(drop)
    with (
        open(vocab, encoding="utf-8", newline="\n") as src,
        open(vocab + ".part", "w", encoding="utf-8", newline="\n") as dst,
    ):
        for row, line in enumerate(src):
            if row not in dropped:
                dst.write(line)
    out = RowWriter(raw + ".part", sink.dim)
    drops = np.asarray(drop, dtype=np.int64)
    start = 0
    for block in read_rows(raw, sink.dim):
        inside = drops[(drops >= start) & (drops < start + len(block))] - start
        out.write(np.delete(block, inside, axis=0))
        start += len(block)
    out.close()
    os.replace(vocab + ".part", vocab)
    os.replace(raw + ".part", raw)


def write_index(directory: str, dim: int) -> None:
    """index.npy: vectors.npy's rows at unit length (float32, as gensim's get_normed_vectors; zero rows stay
    zero), block by block."""
    out = RowWriter(os.path.join(directory, store.INDEX), dim)
    for block in read_rows(os.path.join(directory, store.RAW_VECTORS), dim):
        norms = np.linalg.norm(block, axis=1)
        norms[norms == 0] = 1
        out.write(np.divide(block, norms[:, np.newaxis], dtype=np.float32))
    out.close()


# --------------------------------------------------------------------------------------------
# the format, and the whole import


def _looks_numeric(parts: list[bytes]) -> bool:
    try:
        [float(p) for p in parts]
    except ValueError:
        return False
    return bool(parts)


def sniff(source: Source) -> str:
    """The format from the first bytes: fastText's magic number, a word2vec header followed by text
    or by binary floats, or (no header) GloVe."""
    head = source.peek(1 << 16)
    if len(head) >= 4 and struct.unpack("<i", head[:4])[0] == FT_MAGIC:
        return "fasttext-bin"
    first, _, rest = head.partition(b"\n")
    parts = first.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        dim = int(parts[1])
        ext = os.path.splitext(source.path)[1].lower()
        if ext in (".vec", ".txt"):
            return "word2vec-text"
        line = rest.split(b"\n", 1)[0]
        fields = line.rstrip().split(b" ")
        if b"\n" in rest and len(fields) == dim + 1 and _looks_numeric(fields[1:]):
            return "word2vec-text"
        return "word2vec-binary"
    fields = first.rstrip().split(b" ")
    if len(fields) >= 2 and _looks_numeric(fields[1:]):
        return "glove"
    raise DataError(
        "cannot tell the format (no word2vec header 'COUNT DIM', no fastText magic number, "
        "not 'word number...' lines); pass --format",
        source=source.name,
        line=1,
    )


def _reader(fmt: str):
    if fmt in ("word2vec-text", "glove"):
        return lambda source, sink, limit: read_text(source, sink, fmt, limit)
    return {"word2vec-binary": read_word2vec_binary, "fasttext-bin": read_fasttext_bin}[fmt]


def import_vectors(
    path: str, output: str, fmt: str = "auto", limit: int | None = None, encoding_errors: str = "strict"
) -> dict:
    """Read a vectors file (``-``: stdin) into the model directory ``output``; returns its manifest."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if limit is not None and limit < 1:
        raise UsageError("--limit must be 1 or more")
    if encoding_errors not in ("strict", "replace", "ignore", "backslashreplace"):
        raise UsageError("--encoding-errors must be strict, replace or ignore")
    started = time.perf_counter()
    source = Source(path)
    try:
        if fmt == "auto":
            fmt = sniff(source)
        with store.building(output) as tmp:
            manifest = _build(source, tmp, fmt, limit, encoding_errors, started)
    finally:
        source.close()
    return manifest


def _build(source: Source, tmp: str, fmt: str, limit: int | None, errors: str, started: float) -> dict:
    sink = Sink(tmp, source, errors)
    try:
        info = _reader(fmt)(source, sink, limit)
    finally:
        sink.close()
    rows = info.pop("rows", sink.count)
    drop, notes = find_duplicates(sink)
    if drop:
        remove_rows(sink, drop)
        rows -= len(drop)
        progress.warn(
            f"{source.name}: {len(drop):,} duplicate words skipped, the first vector of each kept "
            f"(as gensim does): {', '.join(notes)}{', ...' if len(drop) > len(notes) else ''}"
        )
    write_index(tmp, sink.dim)
    if limit is None and fmt != "fasttext-bin":
        source.finish()  # the rest is blank lines at most: hash them too
    seconds = time.perf_counter() - started
    described = source.describe(fmt)
    rate = described["bytes_read"] / 1e6 / max(seconds, 1e-9)
    arrays = {"vectors": store.RAW_VECTORS}
    if info.get("subwords"):
        arrays["ngrams"] = store.NGRAMS
    elif os.path.exists(os.path.join(tmp, store.NGRAMS)):
        os.remove(os.path.join(tmp, store.NGRAMS))
    extra = {
        "word_vectors": True,
        "dim": sink.dim,
        "words": rows,
        "arrays": arrays,
        "source": described,
        "skipped": {"duplicate_words": len(drop), "examples": notes},
    }
    extra.update({k: v for k, v in info.items() if v is not None})
    data = {
        "inputs": [source.name],
        "vocabulary": rows,
        "seconds": round(seconds, 2),
        "mb_per_second": round(rate, 1),
    }
    store.write_manifest(
        tmp,
        KIND,
        params={"format": fmt, "limit": limit, "encoding_errors": errors},
        recipe=None,
        data=data,
        extra=extra,
    )
    progress.info(
        f"{rows:,} word vectors ({sink.dim} dims, {fmt}) from {source.name}: "
        f"{described['bytes_read'] / 1e6:,.1f} MB in {seconds:.1f} s ({rate:,.1f} MB/s)"
    )
    return store.read_manifest(tmp)
