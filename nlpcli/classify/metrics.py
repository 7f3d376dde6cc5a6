"""Evaluation of predictions: accuracy, macro-F1, per-class precision/recall, confusion matrix
(classification); MAE, RMSE, R² (regression). Plain numpy, JSON-ready dicts, rich tables on stderr."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np

from nlpcli import progress
from nlpcli.textio import output_path


def classification_metrics(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None
) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix.

    ``labels`` fixes the order of classes (the model's); gold labels the model never saw are
    added at the end, so they show up as missed rather than vanish.
    """
    gold = [str(g) for g in gold]
    predicted = [str(p) for p in predicted]
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    order = list(labels or [])
    for label in list(gold) + list(predicted):
        if label not in order:
            order.append(label)
    index = {label: i for i, label in enumerate(order)}
    k = len(order)
    g = np.fromiter((index[x] for x in gold), dtype=np.int64, count=len(gold))
    p = np.fromiter((index[x] for x in predicted), dtype=np.int64, count=len(predicted))
    confusion = np.bincount(g * k + p, minlength=k * k).reshape(k, k) if k else np.zeros((0, 0), int)
    tp = np.diag(confusion).astype(float)
    support = confusion.sum(axis=1)
    predicted_count = confusion.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted_count > 0, tp / np.maximum(predicted_count, 1), 0.0)
        recall = np.where(support > 0, tp / np.maximum(support, 1), 0.0)
        f1 = np.where(
            precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0
        )
    # macro averages run over the labels seen in gold or predictions, as scikit-learn's do: a
    # label only ever predicted counts with F1 0; a model label never seen in either is left out
    present = (support > 0) | (predicted_count > 0)
    n = len(gold)
    return {
        "task": "classification",
        "n": n,
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "labels": order,
        "per_class": {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(order)
        },
        "confusion": confusion.tolist(),
    }


def regression_metrics(gold: Sequence[float], predicted: Sequence[float]) -> dict:
    y = np.asarray(gold, dtype=float)
    yhat = np.asarray(predicted, dtype=float)
    n = len(y)
    if n == 0:
        return {"task": "regression", "n": 0, "mae": 0.0, "rmse": 0.0, "r2": 0.0}
    err = yhat - y
    var = float(((y - y.mean()) ** 2).sum())
    return {
        "task": "regression",
        "n": n,
        "mae": float(np.abs(err).mean()),
        "rmse": float(math.sqrt((err**2).mean())),
        "r2": float(1 - (err**2).sum() / var) if var > 0 else 0.0,
        "mean_gold": float(y.mean()),
        "mean_predicted": float(yhat.mean()),
    }


def headline(metrics: dict) -> str:
    """One line: 'accuracy 0.8712, macro-F1 0.8711 (25,000 docs)' or 'MAE 1.52, RMSE 2.10 (...)'."""
    if metrics["task"] == "classification":
        return (
            f"accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f} ({metrics['n']:,} docs)"
        )
    return f"MAE {metrics['mae']:.4f}, RMSE {metrics['rmse']:.4f}, R² {metrics['r2']:.4f} ({metrics['n']:,} docs)"


def report(metrics: dict, title: str = "evaluation") -> None:
    """The metrics as rich tables on stderr (nothing with --quiet)."""
    if progress.QUIET:
        return
    progress.info(f"{title}: {headline(metrics)}")
    if metrics["task"] != "classification":
        return
    labels = metrics["labels"]
    rows = [
        [label, f"{c['precision']:.4f}", f"{c['recall']:.4f}", f"{c['f1']:.4f}", f"{c['support']:,}"]
        for label, c in metrics["per_class"].items()
    ]
    progress.table("per class", ["label", "precision", "recall", "F1", "support"], rows)
    if len(labels) <= 20:
        conf = [
            [f"gold {label}"] + [f"{v:,}" for v in row] for label, row in zip(labels, metrics["confusion"])
        ]
        progress.table(
            "confusion matrix (rows: gold, columns: predicted)",
            [""] + [f"pred {label}" for label in labels],
            conf,
        )


def write_json(metrics: dict, path: str, extra: dict | None = None) -> None:
    out = dict(metrics)
    if extra:
        out.update(extra)
    with output_path(path, binary=False) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(out, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
