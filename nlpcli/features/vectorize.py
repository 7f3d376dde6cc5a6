"""``vectorize fit`` / ``transform`` / ``inspect`` as plain functions over files and artifacts."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from nlpcli import artifacts, progress
from nlpcli.errors import DataError, UsageError
from nlpcli.features.vectorizers import TextFeatures, VectorizerConfig
from nlpcli.text.recipe import Preprocessor, Recipe
from nlpcli.text.stream import preprocess_chunks
from nlpcli.textio import InputSpec, Record, chunked, display_name, output_path, read_records

KIND = "vectorizer"


#: documents per chunk when the text is already tokenized (no tagger to keep busy)
SPLIT_CHUNK_SIZE = 20_000


@dataclass
class Chunk:
    """Documents of one chunk: tokenized text, the raw text, and labels (when asked for)."""

    texts: list[str]
    raw: list[str]
    labels: list[str] | None


def tokenized_chunks(
    inputs: list[str], spec: InputSpec, recipe: Recipe, jobs: int = 1, want_labels: bool = False
) -> Iterator[Chunk]:
    """The documents of ``inputs`` through ``recipe``, chunk by chunk, in order (a ``split``
    recipe passes them as they are)."""
    records = read_records(inputs, spec)
    if recipe.operation == "split":
        pre = Preprocessor(recipe)
        pairs = (
            (chunk, pre.same_tokens([r.text for r in chunk])) for chunk in chunked(records, SPLIT_CHUNK_SIZE)
        )
    else:
        pairs = preprocess_chunks(records, recipe, jobs=jobs)
    with contextlib.closing(pairs):
        for chunk, texts in pairs:
            yield Chunk(texts, [r.text for r in chunk], _labels(chunk) if want_labels else None)


def _labels(records: list[Record]) -> list[str]:
    for r in records:
        if r.label is None or r.label == "":
            raise DataError("empty label", source=r.source, line=r.line)
    return [r.label for r in records]


def save_matrix(X, path: str | None) -> None:
    import scipy.sparse as sp

    with output_path(path) as tmp:
        with open(tmp, "wb") as fh:
            sp.save_npz(fh, X.tocsr(), compressed=False)


def save_labels(labels: Iterable[str], path: str) -> None:
    with output_path(path, binary=False) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            for label in labels:
                fh.write(f"{label}\n")


def fit(
    inputs: list[str],
    spec: InputSpec,
    config: VectorizerConfig,
    recipe: Recipe,
    output: str,
    jobs: int = 1,
    matrix_out: str | None = None,
    labels_out: str | None = None,
    scheduler: str | None = None,
    partition_bytes: int = 32 << 20,
) -> TextFeatures:
    """Fit a vectorizer on ``inputs`` and save it (with the recipe) to ``output``.

    The documents stream past once and only their counts are kept (memory grows with the
    vocabulary, or with ``2**hashing``, never with the number of documents). ``matrix_out``
    needs them a second time: they are spooled to a temporary file beside it meanwhile. With
    ``scheduler`` the counting runs on that Dask cluster, whose workers read the inputs
    themselves, in parts of about ``partition_bytes`` (:mod:`nlpcli.features.cluster_fit`); the
    vectorizer is the same.
    """
    if scheduler:
        if matrix_out or labels_out:
            raise UsageError(
                "--matrix-out and --labels-out need the documents where nlpcli runs: with --scheduler, "
                "run 'vectorize transform --scheduler' on the fitted vectorizer instead"
            )
        from nlpcli.features.cluster_fit import count_on_cluster

        features = TextFeatures(config)
        counts = count_on_cluster(inputs, spec, config, recipe, scheduler, partition_bytes)
        documents = counts[0].n_docs
        if documents == 0:
            raise _no_documents(inputs)
        features.fit_counts(counts)
    else:
        features, documents = _fit_here(inputs, spec, config, recipe, jobs, matrix_out, labels_out)
    data = {
        "inputs": [display_name(p) for p in inputs],
        "documents": documents,
        "features": features.n_features,
    }
    artifacts.save(output, KIND, features, params=config.to_dict(), recipe=recipe.to_dict(), data=data)
    progress.info(f"vectorizer: {documents:,} documents, {features.n_features:,} features -> {output}")
    return features


def _no_documents(inputs: list[str]) -> DataError:
    return DataError("the input holds no documents to fit the vectorizer on", source=display_name(inputs[0]))


def _fit_here(
    inputs: list[str],
    spec: InputSpec,
    config: VectorizerConfig,
    recipe: Recipe,
    jobs: int,
    matrix_out: str | None,
    labels_out: str | None,
) -> tuple[TextFeatures, int]:
    """The local fit: count the chunks as they stream past, then fit on the counts."""
    features = TextFeatures(config)
    counts = features.counters()
    documents = 0
    with contextlib.ExitStack() as stack:
        spool = stack.enter_context(_Spool(matrix_out)) if matrix_out else None
        labels = None
        if labels_out:  # written as the labels stream past, renamed into place at the end
            labels = stack.enter_context(
                open(
                    stack.enter_context(output_path(labels_out, binary=False)),
                    "w",
                    encoding="utf-8",
                    newline="\n",
                )
            )
        bar = stack.enter_context(
            progress.task(f"counting ({recipe.tagger})" if recipe.uses_tagger else "counting")
        )
        for chunk in tokenized_chunks(inputs, spec, recipe, jobs, want_labels=labels is not None):
            features.count_chunk(counts, chunk.texts, chunk.raw)
            documents += len(chunk.texts)
            if spool is not None:
                spool.write(chunk.texts, chunk.raw if features.needs_raw else None)
            if labels is not None:
                labels.writelines(f"{label}\n" for label in chunk.labels)
            bar.advance(len(chunk.texts))
        if documents == 0:
            raise _no_documents(inputs)
        features.fit_counts(counts)
        if spool is not None:
            save_matrix(_stacked(features.transform(c.texts, c.raw) for c in spool.read()), matrix_out)
    return features, documents


class _Spool:
    """Chunks kept in a temporary file beside ``near`` for a second pass (JSON lines)."""

    def __init__(self, near: str):
        self.near = near

    def __enter__(self):
        directory = os.path.dirname(os.path.abspath(self.near))
        self.file = tempfile.TemporaryFile(
            "w+", encoding="utf-8", dir=directory if os.path.isdir(directory) else None
        )
        return self

    def __exit__(self, *exc) -> bool:
        self.file.close()
        return False

    def write(self, texts: list[str], raw: list[str] | None) -> None:
        self.file.write(json.dumps([texts, raw], ensure_ascii=False) + "\n")

    def read(self) -> Iterator[Chunk]:
        self.file.seek(0)
        for line in self.file:
            texts, raw = json.loads(line)
            yield Chunk(texts, raw, None)


def _stacked(blocks: Iterable):
    import scipy.sparse as sp

    return sp.vstack(list(blocks), format="csr")


def load(path: str, trust: bool = False) -> tuple[TextFeatures, Recipe, artifacts.Artifact]:
    art = artifacts.load(path, kinds=(KIND,), trust=trust)
    return art.payload, Recipe.from_dict(art.recipe or {}), art


def transform(
    artifact_path: str,
    inputs: list[str],
    spec: InputSpec,
    matrix_out: str | None,
    jobs: int = 1,
    labels_out: str | None = None,
    trust: bool = False,
    scheduler: str | None = None,
):
    """The features of ``inputs`` (raw or tokenized, per the stored recipe) as a sparse matrix."""
    import scipy.sparse as sp

    features, recipe, _ = load(artifact_path, trust)
    blocks = []
    labels: list[str] = []
    chunks = preprocess_chunks(
        read_records(inputs, spec), recipe, jobs=jobs, chunk_size=5000, scheduler=scheduler
    )
    with contextlib.closing(chunks), progress.task("vectorizing") as bar:
        for records, outputs in chunks:
            blocks.append(features.transform(outputs))
            if labels_out:
                labels.extend(r.label or "" for r in records)
            bar.advance(len(records))
    if not blocks:
        raise DataError("the input holds no documents", source=display_name(inputs[0]))
    X = sp.vstack(blocks, format="csr")
    save_matrix(X, matrix_out)
    if labels_out:
        save_labels(labels, labels_out)
    return X


def inspect(artifact_path: str, top: int = 20, trust: bool = False) -> dict:
    features, recipe, art = load(artifact_path, trust)
    info = features.summary(top)
    info["manifest"] = {k: v for k, v in art.manifest.items() if k not in ("params",)}
    info["preprocess"] = recipe.describe()
    info["file_bytes"] = os.path.getsize(artifact_path)
    return info
