"""``nlpcli predict``: one interface over every trained model kind, streamed and batched.

Raw text goes through the recipe stored in the model, in chunks (JVM taggers on ``jobs`` worker
processes), then through the model once per chunk; the model is loaded once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nlpcli import artifacts, progress
from nlpcli.errors import ArtifactError, DataError, UsageError
from nlpcli.text.recipe import Recipe
from nlpcli.text.stream import preprocess_chunks
from nlpcli.textio import (
    InputSpec,
    RecordWriter,
    default_output_format,
    display_name,
    open_output,
    read_records,
)

if TYPE_CHECKING:
    from nlpcli.classify.models import Prediction

#: (numpy, scikit-learn and the metrics are imported where they are used: the model's tagger
#: starts first and warms up meanwhile)
MODEL_KINDS = ("classifier", "regressor")


@dataclass
class LoadedModel:
    """What ``predict`` needs from any model: its recipe, task, labels and a batch function."""

    predict: Callable[..., Prediction]  # (tokenized texts, raw=documents) -> Prediction
    recipe: Recipe
    task: str
    labels: list[str] | None
    manifest: dict
    batch_size: int = 4000
    needs_raw: bool = False  # the features read the raw documents too
    has_probability: bool = True  # False: the probability column stays empty (e.g. sgd --loss hinge)


def load_model(
    path: str, trust: bool = False, device: str = "auto", threads: int | None = None
) -> LoadedModel:
    """Load a ``classifier``/``regressor`` artifact (scikit-learn joblib or torch RNN)."""
    art = artifacts.load(path, kinds=MODEL_KINDS, trust=trust)
    recipe = Recipe.from_dict(art.recipe or {})
    if isinstance(art.payload, dict) and "state_dict" in art.payload:
        from nlpcli.classify.rnn.predict import load_rnn_predictor

        predict, task, labels = load_rnn_predictor(art, device=device, threads=threads)
        return LoadedModel(
            lambda texts, raw=None: predict(texts), recipe, task, labels, art.manifest, batch_size=2000
        )
    model = art.payload
    if not hasattr(model, "predict") or not hasattr(model, "task"):
        raise ArtifactError(f"{path}: the {art.kind} artifact holds no usable model; re-create it")
    return LoadedModel(
        model.predict,
        recipe,
        model.task,
        model.labels,
        art.manifest,
        needs_raw=bool(getattr(model, "needs_raw", False)),
        has_probability=bool(getattr(model, "has_probability", True)),
    )


def _peeked_recipe(path: str) -> Recipe | None:
    """The recipe of a model file read before loading it (:func:`artifacts.early_manifest`);
    None on any doubt (the real load then reports what is wrong)."""
    manifest = artifacts.early_manifest(path)
    try:
        return Recipe.from_dict(manifest["recipe"])  # type: ignore[index]
    except Exception:
        return None


def _start_tagger(recipe: Recipe | None, jobs: int) -> None:
    """Start building the recipe's tagger now (in a child process, or on a warm-up thread) while
    the model loads and the input is read (:func:`nlpcli.text.tagger_start.prepare`), for the runs
    that tag in this process."""
    from nlpcli.text.stream import THREADED_TAGGERS
    from nlpcli.text.tagger_start import prepare

    if recipe is None or not recipe.uses_tagger:
        return
    threaded = recipe.tagger in THREADED_TAGGERS
    if threaded or jobs <= 1:
        prepare(recipe.tagger, max(1, jobs) if threaded else 1, [tuple(w) for w in recipe.user_words])


def format_number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:.6g}"


def _rows(model: LoadedModel, pred: Prediction, top_k: int, structured: bool) -> list[dict]:
    """One dict of output columns per document."""
    import numpy as np

    if model.task == "regression":
        return [{"prediction": round(float(v), 4) if structured else format_number(v)} for v in pred.values]
    proba = pred.probabilities
    labels = model.labels
    best = np.argmax(proba, axis=1)
    # plain Python floats and ints from here on: a numpy scalar per cell costs more than the model
    best_p = proba[np.arange(len(best)), best].tolist()
    names = [labels[j] for j in best.tolist()]
    if not model.has_probability:  # scores that rank the labels but are no probabilities
        rows: list[dict[str, Any]] = [
            {"prediction": a, "probability": None if structured else ""} for a in names
        ]
    elif structured:
        rows = [{"prediction": a, "probability": round(p, 4)} for a, p in zip(names, best_p)]
    else:
        rows = [{"prediction": a, "probability": f"{p:.4f}"} for a, p in zip(names, best_p)]
    if top_k > 1:
        order = np.argsort(-proba, axis=1, kind="stable")[:, :top_k]
        for row, ks, ps in zip(rows, order.tolist(), np.take_along_axis(proba, order, axis=1).tolist()):
            top = [(labels[k], round(p, 4) if model.has_probability else None) for k, p in zip(ks, ps)]
            row["top_k"] = (
                [list(t) for t in top]
                if structured
                else " ".join(f"{a}:{p:.4f}" if p is not None else a for a, p in top)
            )
    return rows


def predict_files(
    model_path: str,
    inputs: list[str],
    spec: InputSpec,
    *,
    output: str | None = None,
    output_format: str | None = None,
    top_k: int = 1,
    jobs: int = 1,
    tokenized: bool = False,
    metrics_out: str | None = None,
    trust: bool = False,
    device: str = "auto",
    batch_size: int | None = None,
    threads: int | None = None,
    scheduler: str | None = None,
) -> dict | None:
    """Predict every document of ``inputs`` to ``output``; metrics when ``spec.label_column`` is set."""
    if top_k < 1:
        raise UsageError("--top-k must be 1 or more")
    if metrics_out and not spec.label_column:
        raise UsageError("--metrics-out needs the gold labels: name their column with --label-column")
    if not tokenized and not scheduler:  # the tagger warms up while the model (and torch) load
        _start_tagger(_peeked_recipe(model_path), jobs)
    model = load_model(model_path, trust=trust, device=device, threads=threads)
    if not tokenized and not scheduler:
        _start_tagger(model.recipe, jobs)
    if model.task == "regression" and top_k > 1:
        raise UsageError("--top-k is for classifiers; this model predicts numbers")
    if model.labels is not None:
        top_k = min(top_k, len(model.labels))
    if tokenized and model.needs_raw:
        raise UsageError(
            "this model also reads character n-grams of the raw text: give raw input, without --tokenized"
        )
    recipe = Recipe(operation="split", nfc=model.recipe.nfc) if tokenized else model.recipe
    fmt = output_format or default_output_format(inputs[0], spec)
    structured = fmt in ("jsonl", "text")
    gold: list[str] = []
    predicted: list[str] = []
    values: list[float] = []
    count = empty = 0
    chunks = preprocess_chunks(
        read_records(inputs, spec),
        recipe,
        jobs=jobs,
        chunk_size=batch_size or model.batch_size,
        scheduler=scheduler,
    )
    with contextlib.closing(chunks), open_output(output) as stream, progress.task("predicting") as bar:
        # primary "": no output column takes the place of the text column; every input column
        # passes through and prediction/probability are added after them
        writer = RecordWriter(stream, fmt, primary="") if fmt != "text" else None
        for records, texts in chunks:
            empty += sum(1 for t in texts if not t.strip())
            pred = model.predict(texts, raw=[r.text for r in records] if model.needs_raw else None)
            rows = _rows(model, pred, top_k, structured)
            if writer is not None:
                # plain-text input has no columns to pass through: keep the text itself
                writer.write_many(
                    records,
                    [
                        row if r.fields is not None else {"text": r.text, **row}
                        for r, row in zip(records, rows)
                    ],
                )
            else:
                stream.write("".join(_text_line(row) for row in rows))
                stream.flush()
            if spec.label_column:
                gold.extend(_gold_labels(records, spec.label_column))
                if model.task == "regression":
                    values.extend(float(v) for v in pred.values)
                else:
                    predicted.extend(row["prediction"] for row in rows)
            count += len(records)
            bar.advance(len(records))
    if count == 0:
        progress.warn("the input holds no documents; nothing was predicted")
    if empty:
        progress.warn(
            f"{empty:,} of {count:,} documents were empty after preprocessing; their "
            "predictions carry no evidence"
        )
    if not spec.label_column or count == 0:
        return None
    from nlpcli.classify import metrics as M

    if model.task == "regression":
        result = M.regression_metrics(_gold_numbers(gold, inputs[0]), values)
    else:
        result = M.classification_metrics(gold, predicted, model.labels)
    M.report(result, title=", ".join(display_name(p) for p in inputs))
    if metrics_out:
        M.write_json(result, metrics_out, {"model": model_path})
    return result


def _gold_labels(records, column: str) -> list[str]:
    """The gold labels of ``records`` (an empty one stops with file:line)."""
    labels = []
    for r in records:
        label = (r.label or "").strip()
        if not label:
            raise DataError(f"empty gold label in column {column!r}", source=r.source, line=r.line)
        labels.append(label)
    return labels


def _gold_numbers(gold: list[str], first_input: str) -> list[float]:
    try:
        return [float(g) for g in gold]
    except ValueError as exc:
        raise DataError(
            f"a gold label is not a number ({exc}); this model predicts numbers",
            source=display_name(first_input),
        ) from None


def _text_line(row: dict) -> str:
    """Plain text output: ``label<TAB>probability`` (``--top-k``: label/probability pairs), or the number."""
    if "top_k" in row:
        return "\t".join(f"{label}\t{_probability(p)}" for label, p in row["top_k"]) + "\n"
    if "probability" in row:
        return f"{row['prediction']}\t{_probability(row['probability'])}\n"
    return f"{format_number(row['prediction'])}\n"


def _probability(p: float | None) -> str:
    return "" if p is None else f"{p:.4f}"
