"""``vectorize fit`` / ``transform`` / ``inspect`` as plain functions over files and artifacts."""

from __future__ import annotations

import contextlib
import os
from typing import Iterable

from nlpcli import artifacts, progress
from nlpcli.errors import DataError
from nlpcli.features.vectorizers import TextFeatures, VectorizerConfig
from nlpcli.text.recipe import Preprocessor, Recipe
from nlpcli.text.stream import preprocess_chunks
from nlpcli.textio import InputSpec, atomic_path, display_name, read_column, read_records

KIND = "vectorizer"


def tokenized_texts(inputs: list[str], spec: InputSpec, recipe: Recipe, jobs: int = 1,
                    want_labels: bool = False) -> tuple[list[str], list[str] | None]:
    """All documents of ``inputs`` through ``recipe`` (a ``split`` recipe passes them as they are)."""
    if recipe.operation == "split":  # pre-tokenized: read the columns whole, clean them in one go
        with progress.task("reading"):
            texts, labels = read_column(inputs, spec, want_labels)
            return Preprocessor(recipe).same_tokens(texts), labels
    texts = []
    labels = [] if want_labels else None
    chunks = preprocess_chunks(read_records(inputs, spec), recipe, jobs=jobs)
    with contextlib.closing(chunks), progress.task(f"tokenizing ({recipe.tagger})") as bar:
        for records, outputs in chunks:
            texts.extend(outputs)
            if labels is not None:
                for r in records:
                    if r.label is None or r.label == "":
                        raise DataError("empty label", source=r.source, line=r.line)
                    labels.append(r.label)
            bar.advance(len(records))
    return texts, labels


def save_matrix(X, path: str) -> None:
    import scipy.sparse as sp

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            sp.save_npz(fh, X.tocsr(), compressed=False)


def save_labels(labels: Iterable[str], path: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            for label in labels:
                fh.write(f"{label}\n")


def fit(inputs: list[str], spec: InputSpec, config: VectorizerConfig, recipe: Recipe, output: str,
        jobs: int = 1, matrix_out: str | None = None, labels_out: str | None = None) -> TextFeatures:
    """Fit a vectorizer on ``inputs`` and save it (with the recipe) to ``output``."""
    texts, labels = tokenized_texts(inputs, spec, recipe, jobs, want_labels=labels_out is not None)
    features = TextFeatures(config)
    X = features.fit_transform(texts)
    data = {"inputs": [display_name(p) for p in inputs], "documents": len(texts),
            "features": features.n_features}
    artifacts.save(output, KIND, features, params=config.to_dict(), recipe=recipe.to_dict(), data=data)
    if matrix_out:
        save_matrix(X, matrix_out)
    if labels_out and labels is not None:
        save_labels(labels, labels_out)
    progress.info(f"vectorizer: {len(texts):,} documents, {features.n_features:,} features -> {output}")
    return features


def load(path: str, trust: bool = False) -> tuple[TextFeatures, Recipe, artifacts.Artifact]:
    art = artifacts.load(path, kinds=(KIND,), trust=trust)
    return art.payload, Recipe.from_dict(art.recipe or {}), art


def transform(artifact_path: str, inputs: list[str], spec: InputSpec, matrix_out: str,
              jobs: int = 1, labels_out: str | None = None, trust: bool = False,
              scheduler: str | None = None):
    """The features of ``inputs`` (raw or tokenized, per the stored recipe) as a sparse matrix."""
    import scipy.sparse as sp

    features, recipe, _ = load(artifact_path, trust)
    blocks = []
    labels: list[str] = []
    chunks = preprocess_chunks(read_records(inputs, spec), recipe, jobs=jobs, chunk_size=5000,
                               scheduler=scheduler)
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
