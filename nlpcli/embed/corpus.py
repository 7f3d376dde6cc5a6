"""Getting a corpus into the one shape gensim reads fastest: a plain file, one document a line,
whitespace tokens (``corpus_file``).

A pre-tokenized, uncompressed plain-text file is used as it is. Anything else (gzip, TSV/CSV/JSONL
columns, stdin, raw text with ``--tagger``, ``--keep`` filters...) is streamed once through the
recipe into a tokenized cache file next to the model, named after a key of the inputs (path, size,
modification time), the recipe and the columns, so a retrain with other training options reuses
it instead of tokenizing again. Doc2vec also gets each document's text and id, for ``embed docs``.
Where the model's folder is not writable, the cache goes to the user's cache folder
(``$XDG_CACHE_HOME/nlpcli`` or ``~/.cache/nlpcli``), with a note. Each cache file is renamed into
place whole, its description last, so two runs at once on the same input share or rebuild the
cache but never see half of one; stdin gets a name of its own for every run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass

from nlpcli import progress
from nlpcli.errors import DataError, UsageError
from nlpcli.text.recipe import Recipe
from nlpcli.textio import STDIO, InputSpec, atomic_path, detect_format, display_name, read_records


@dataclass
class Corpus:
    path: str  # plain text, one document a line, whitespace tokens
    documents: int | None  # None: not counted (a file used as it is)
    tokens: int | None
    docs_path: str | None = None  # doc2vec: display text of each document
    ids_path: str | None = None  # doc2vec: the id of each document
    cached: bool = False  # the tokens come from (or went into) the cache
    temporary: bool = False  # delete ``path`` after training (stdin: nothing to key a cache on)


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _trivial(recipe: Recipe) -> bool:
    """The recipe leaves pre-tokenized text as it is (bar NFC, which such files already have)."""
    return (
        recipe.operation == "split"
        and not recipe.keep
        and not recipe.squash
        and not recipe.stopwords
        and recipe.min_length <= 1
        and not recipe.lowercase
    )


def usable_directly(inputs: list[str], spec: InputSpec, recipe: Recipe, id_column: str | None) -> bool:
    if len(inputs) != 1 or inputs[0] == STDIO or id_column or not _trivial(recipe):
        return False
    path = inputs[0]
    if not os.path.isfile(path):
        raise DataError("no such file; check the path", source=path)
    return detect_format(path, spec.format) == "text" and not _is_gzip(path)


def cache_key(inputs: list[str], spec: InputSpec, recipe: Recipe, id_column: str | None, docs: bool) -> str:
    stats = []
    for p in inputs:
        st = os.stat(p)
        stats.append([os.path.abspath(p), st.st_size, st.st_mtime_ns])
    blob = json.dumps(
        {
            "inputs": stats,
            "recipe": recipe.to_dict(),
            "spec": dataclasses.asdict(spec),
            "id": id_column,
            "docs": docs,
            "v": 1,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def cache_paths(model_path: str, key: str, inputs: list[str]) -> tuple[str, str, str, str]:
    """Beside the model (so models trained in one folder share it), named after the first input;
    in the user's cache folder when that folder is not writable (see :func:`cache_folder`)."""
    parent = cache_folder(os.path.dirname(os.path.abspath(model_path).rstrip(os.sep)))
    first = "stdin" if inputs[0] == STDIO else os.path.basename(inputs[0])
    base = os.path.join(parent, f"{first}.tokens-{key}")
    return base + ".txt", base + ".docs.txt", base + ".ids.txt", base + ".json"


def writable(folder: str) -> bool:
    """Whether a file can be created in ``folder`` (tried, not guessed from the mode bits, which
    say nothing for root or on some network file systems)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".nlpcli-probe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return True


def user_cache_folder() -> str:
    """``$XDG_CACHE_HOME/nlpcli``, else ``~/.cache/nlpcli``; the system's temporary folder if
    neither can be created (a read-only or missing home)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "nlpcli")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        folder = os.path.join(
            tempfile.gettempdir(), f"nlpcli-cache-{os.getuid() if hasattr(os, 'getuid') else 0}"
        )
        os.makedirs(folder, exist_ok=True)
    return folder


def cache_folder(preferred: str) -> str:
    """``preferred`` if a file can be created there, else the user's cache folder (with a note).
    The cache key holds the inputs' absolute paths, so caches of different folders never mix."""
    if not os.path.isdir(preferred) or writable(preferred):
        return preferred  # a missing folder: the model's own error says so, later
    folder = user_cache_folder()
    progress.info(f"{preferred} is not writable: the tokenized corpus is cached in {folder} instead")
    return folder


def _read_meta(path: str) -> dict | None:
    """The cache's description, or None when there is none or it cannot be used (then the cache is
    written again). Every cache file is renamed into place whole, the description last, so a run
    that finds it finds complete files, even while another run on the same input rewrites them."""
    try:
        with open(path, encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, ValueError):
        return None
    if (
        not isinstance(meta, dict)
        or not isinstance(meta.get("documents"), int)
        or not isinstance(meta.get("tokens"), int)
    ):
        return None
    return meta


def _clean(text: str) -> str:
    return text.replace("\n", " ").replace("\r", " ").replace("\t", " ")


def prepare(
    inputs: list[str],
    spec: InputSpec,
    recipe: Recipe,
    model_path: str,
    *,
    docs: bool = False,
    id_column: str | None = None,
    jobs: int = 1,
) -> Corpus:
    """A :class:`Corpus` for ``inputs``: the file itself, a cache hit, or a freshly written cache."""
    inputs = inputs or [STDIO]
    if usable_directly(inputs, spec, recipe, id_column) and not docs:
        return Corpus(inputs[0], None, None)
    for p in inputs:
        if p != STDIO and not os.path.isfile(p):
            raise DataError("no such file; check the path", source=p)
    stdin = STDIO in inputs
    # stdin has nothing to key a cache on: a name of its own, so two runs at once never share it
    key = (
        f"stdin-{os.getpid()}-{os.urandom(3).hex()}"
        if stdin
        else cache_key(inputs, spec, recipe, id_column, docs)
    )
    paths = cache_paths(model_path, key, inputs)
    tokens_path, docs_path, ids_path, meta_path = paths
    hit = None if stdin else _cache_hit(paths, docs)
    if hit is not None:
        return hit
    if id_column and spec.format is None and all(detect_format(p, None) == "text" for p in inputs):
        raise UsageError(f"--id-column {id_column!r}: plain text has no columns; give a TSV/CSV/JSONL file")
    documents, tokens = _write_corpus(inputs, spec, recipe, paths, docs, id_column, jobs)
    if not stdin:
        meta = {
            "inputs": [display_name(p) for p in inputs],
            "documents": documents,
            "tokens": tokens,
            "recipe": recipe.to_dict(),
        }
        with atomic_path(meta_path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            json.dump(meta, fh, ensure_ascii=False)
        progress.info(
            f"tokenized corpus cached in {tokens_path} (reused by the next train on the same input)"
        )
    return Corpus(
        tokens_path,
        documents,
        tokens,
        docs_path if docs else None,
        ids_path if docs else None,
        cached=True,
        temporary=stdin,
    )


def _cache_hit(paths: tuple[str, str, str, str], docs: bool) -> Corpus | None:
    """The cached corpus at ``paths`` when its description and files are all there."""
    tokens_path, docs_path, ids_path, meta_path = paths
    meta = _read_meta(meta_path)
    if meta is None or not all(
        os.path.exists(p) for p in (tokens_path,) + ((docs_path, ids_path) if docs else ())
    ):
        return None
    progress.info(
        f"reusing the tokenized corpus {tokens_path} ({meta['documents']:,} documents, {meta['tokens']:,} tokens)"
    )
    return Corpus(
        tokens_path,
        meta["documents"],
        meta["tokens"],
        docs_path if docs else None,
        ids_path if docs else None,
        cached=True,
    )


def _write_corpus(
    inputs: list[str],
    spec: InputSpec,
    recipe: Recipe,
    paths: tuple[str, str, str, str],
    docs: bool,
    id_column: str | None,
    jobs: int,
) -> tuple[int, int]:
    """Tokenize ``inputs`` into the cache files (each renamed into place whole); (documents, tokens)."""
    from nlpcli.text.stream import preprocess_chunks

    tokens_path, docs_path, ids_path, _ = paths
    documents = tokens = 0
    many = len(inputs) > 1
    label = f"tokenizing ({recipe.tagger})" if recipe.uses_tagger else "reading"
    with contextlib.ExitStack() as stack:

        def writer(path: str):
            return stack.enter_context(
                open(stack.enter_context(atomic_path(path)), "w", encoding="utf-8", newline="\n")
            )

        tok_fh = writer(tokens_path)
        doc_fh, id_fh = (writer(docs_path), writer(ids_path)) if docs else (None, None)
        chunks = stack.enter_context(
            contextlib.closing(preprocess_chunks(read_records(inputs, spec), recipe, jobs=jobs))
        )
        bar = stack.enter_context(progress.task(label))
        for records, outputs in chunks:
            tok_fh.write("\n".join(outputs) + "\n")
            documents += len(outputs)
            tokens += sum(o.count(" ") + 1 for o in outputs if o)
            if docs:
                doc_fh.write("\n".join(_clean(r.text) for r in records) + "\n")
                id_fh.write("\n".join(_doc_ids(records, id_column, many)) + "\n")
            bar.advance(len(records))
    return documents, tokens


def _doc_ids(records: list, id_column: str | None, many: bool) -> list[str]:
    """Each record's id: its ``id_column`` value, else ``FILE:LINE`` (several inputs) or ``LINE``."""
    if not id_column:
        return [f"{r.source}:{r.line}" if many else str(r.line) for r in records]
    ids = []
    for r in records:
        value = (r.fields or {}).get(id_column)
        if value is None:
            raise DataError(f"no id column {id_column!r}", source=r.source, line=r.line)
        ids.append(_clean(str(value)))
    return ids
