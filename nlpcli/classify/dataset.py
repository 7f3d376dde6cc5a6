"""Labelled text for training and evaluation: reading it, its classes, a held-out dev split, and
the metrics of a model's predictions on it."""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from dataclasses import dataclass

from nlpcli import progress
from nlpcli.classify import metrics as M
from nlpcli.errors import DataError, UsageError
from nlpcli.text.recipe import Recipe
from nlpcli.text.stream import preprocess_chunks
from nlpcli.textio import InputSpec, display_name, read_records


@dataclass
class Dataset:
    """Tokenized texts and their labels (strings; numbers as text for regression)."""

    texts: list[str]
    labels: list[str]
    name: str
    values: list[float] | None = None  # regression targets
    raw: list[str] | None = None  # the documents before tokenization (features that read them)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index, name: str) -> Dataset:
        return Dataset(
            [self.texts[i] for i in index],
            [self.labels[i] for i in index],
            name,
            None if self.values is None else [self.values[i] for i in index],
            None if self.raw is None else [self.raw[i] for i in index],
        )


def numeric_label(label: str, source: str, line: int) -> float:
    """A regression target: a finite number, else a data error naming the file and line."""
    try:
        number = float(label)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise DataError(
            f"label {label!r} is not a number; --task regression needs numeric labels "
            "(or use --task classification)",
            source=source,
            line=line,
        )
    return number


def read_labelled(
    inputs: list[str],
    spec: InputSpec,
    recipe: Recipe,
    *,
    task: str = "classification",
    jobs: int = 1,
    tokenized: bool = False,
    drop_empty: bool = True,
    keep_raw: bool = False,
) -> Dataset:
    """Documents and labels of ``inputs``, tokenized by ``recipe`` (as they are with ``tokenized``).

    Documents whose text is empty after preprocessing are left out with a warning (they carry no
    evidence); an empty label, or a non-number for regression, stops with file:line.
    """
    if not spec.label_column:
        raise UsageError("training needs labels: name the column with --label-column")
    reader = Recipe(operation="split", nfc=recipe.nfc) if tokenized else recipe
    texts: list[str] = []
    labels: list[str] = []
    values: list[float] | None = [] if task == "regression" else None
    raw: list[str] | None = [] if keep_raw else None
    empty: list[str] = []
    chunks = preprocess_chunks(read_records(inputs, spec), reader, jobs=jobs)
    name = ", ".join(display_name(p) for p in inputs)
    what = "reading" if reader.operation == "split" else f"tokenizing ({reader.tagger})"
    with contextlib.closing(chunks), progress.task(f"{what} {name}") as bar:
        for records, outputs in chunks:
            for r, text in zip(records, outputs):
                label = (r.label or "").strip()
                if not label:
                    raise DataError(
                        f"empty label in column {spec.label_column!r}", source=r.source, line=r.line
                    )
                if values is not None:
                    number = numeric_label(label, r.source, r.line)
                if drop_empty and not text.strip():
                    empty.append(f"{r.source}:{r.line}")
                    continue
                texts.append(text)
                labels.append(label)
                if raw is not None:
                    raw.append(r.text)
                if values is not None:
                    values.append(number)
            bar.advance(len(records))
    if empty:
        progress.warn(
            f"{name}: {len(empty):,} documents are empty after preprocessing and were left "
            f"out (first at {empty[0]})"
        )
    if not texts:
        raise DataError(
            "no documents with text to train on" + (" (all were empty)" if empty else ""), source=name
        )
    return Dataset(texts, labels, name, values, raw)


def label_order(labels) -> list[str]:
    """Distinct labels, numerically sorted when they all are numbers, else alphabetically."""
    distinct = set(labels)
    try:
        return sorted(distinct, key=lambda s: (float(s), s))
    except ValueError:
        return sorted(distinct)


def check_classes(train: Dataset) -> list[str]:
    counts = Counter(train.labels)
    if len(counts) < 2:
        only = next(iter(counts))
        raise DataError(
            f"the labels hold a single class ({only!r}); a classifier needs at least two "
            "(wrong --label-column? for numbers use --task regression)",
            source=train.name,
        )
    if len(counts) > 0.5 * len(train) and len(train) > 100:
        progress.warn(
            f"{len(counts):,} distinct labels in {len(train):,} documents: is "
            f"{train.name} really labelled by class? (numbers: --task regression)"
        )
    return label_order(counts)


def split_dev(data: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    import numpy as np

    if not 0 < fraction < 1:
        raise UsageError("--dev-fraction must be between 0 and 1")
    n_dev = int(round(len(data) * fraction))
    if n_dev < 1 or n_dev >= len(data):
        raise DataError(
            f"too few documents ({len(data)}) to hold out {fraction:.0%} as dev data", source=data.name
        )
    order = np.random.default_rng(seed).permutation(len(data))
    return (
        data.subset(sorted(order[n_dev:]), data.name),
        data.subset(sorted(order[:n_dev]), f"{data.name} (held-out {fraction:.0%})"),
    )


def evaluate(task: str, gold: Dataset, labels: list[str] | None, pred) -> dict:
    """Metrics of a :class:`~nlpcli.classify.models.Prediction` against ``gold``."""
    if task == "regression":
        return M.regression_metrics(gold.values, pred.values)
    import numpy as np

    predicted = [labels[i] for i in np.argmax(pred.probabilities, axis=1)]
    return M.classification_metrics(gold.labels, predicted, labels)
