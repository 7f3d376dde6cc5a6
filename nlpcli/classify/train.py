"""``nlpcli train``: read a labelled file, build features (or an RNN), fit, report on dev, save.

scikit-learn models (logreg, linreg, mlp) are saved as one joblib artifact holding the whole
chain (feature extractor, estimator, label names; the recipe in the manifest); the RNN is saved
as a torch artifact by :mod:`nlpcli.classify.rnn`. Both have the kind ``classifier`` or
``regressor``, so ``predict`` takes either.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import Counter
from dataclasses import dataclass, field

from nlpcli import artifacts, progress
from nlpcli.classify import metrics as M
from nlpcli.classify.models import (MODELS, SKLEARN_MODELS, TASKS, EstimatorConfig, TextModel,
                                    kind_for, make_estimator)
from nlpcli.errors import DataError, UsageError
from nlpcli.features.vectorizers import VectorizerConfig
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

    def subset(self, index, name: str) -> "Dataset":
        return Dataset([self.texts[i] for i in index], [self.labels[i] for i in index], name,
                       None if self.values is None else [self.values[i] for i in index],
                       None if self.raw is None else [self.raw[i] for i in index])


def read_labelled(inputs: list[str], spec: InputSpec, recipe: Recipe, *, task: str = "classification",
                  jobs: int = 1, tokenized: bool = False, drop_empty: bool = True,
                  keep_raw: bool = False) -> Dataset:
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
                    raise DataError(f"empty label in column {spec.label_column!r}", source=r.source, line=r.line)
                if values is not None:
                    try:
                        number = float(label)
                    except ValueError:
                        number = math.nan
                    if not math.isfinite(number):
                        raise DataError(f"label {label!r} is not a number; --task regression needs "
                                        "numeric labels (or use --task classification)",
                                        source=r.source, line=r.line)
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
        progress.warn(f"{name}: {len(empty):,} documents are empty after preprocessing and were left "
                      f"out (first at {empty[0]})")
    if not texts:
        raise DataError("no documents with text to train on" + (" (all were empty)" if empty else ""),
                        source=name)
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
        raise DataError(f"the labels hold a single class ({only!r}); a classifier needs at least two "
                        "(wrong --label-column? for numbers use --task regression)", source=train.name)
    if len(counts) > 0.5 * len(train) and len(train) > 100:
        progress.warn(f"{len(counts):,} distinct labels in {len(train):,} documents: is "
                      f"{train.name} really labelled by class? (numbers: --task regression)")
    return label_order(counts)


def split_dev(data: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    import numpy as np

    if not 0 < fraction < 1:
        raise UsageError("--dev-fraction must be between 0 and 1")
    n_dev = int(round(len(data) * fraction))
    if n_dev < 1 or n_dev >= len(data):
        raise DataError(f"too few documents ({len(data)}) to hold out {fraction:.0%} as dev data",
                        source=data.name)
    order = np.random.default_rng(seed).permutation(len(data))
    return (data.subset(sorted(order[n_dev:]), data.name),
            data.subset(sorted(order[:n_dev]), f"{data.name} (held-out {fraction:.0%})"))


@dataclass
class TrainConfig:
    model: str = "logreg"
    task: str = "classification"
    recipe: Recipe = field(default_factory=lambda: Recipe("morphs", "okt", stem=True, norm=True))
    tokenized: bool = False  # inputs already went through ``recipe``
    vectorizer: str | None = None  # a feature artifact; else ``features`` is fitted here
    features: VectorizerConfig = field(default_factory=lambda: VectorizerConfig(ngram=(1, 2), min_df=3, max_df=0.9))
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)
    dev: list[str] | None = None
    dev_fraction: float | None = None  # None: 0.1 for rnn without --dev, else no dev split
    seed: int = 0
    jobs: int = 1
    trust: bool = False
    metrics_out: str | None = None

    def __post_init__(self):
        if self.model not in MODELS:
            raise UsageError(f"--model must be one of {', '.join(MODELS)}")
        if self.task not in TASKS:
            raise UsageError(f"--task must be one of {', '.join(TASKS)}")
        if self.model == "logreg" and self.task == "regression":
            raise UsageError("--model logreg is a classifier; for numbers use --model linreg")
        if self.model == "linreg" and self.task == "classification":
            raise UsageError("--model linreg predicts numbers: add --task regression (labels: --model logreg)")


def load_data(inputs: list[str], spec: InputSpec, cfg: TrainConfig, recipe: Recipe,
              keep_raw: bool = False) -> tuple[Dataset, Dataset | None]:
    if keep_raw and cfg.tokenized:
        raise UsageError("--char-source text reads the raw documents: train on the raw file, without --tokenized")
    train_ds = read_labelled(inputs, spec, recipe, task=cfg.task, jobs=cfg.jobs, tokenized=cfg.tokenized,
                             keep_raw=keep_raw)
    dev_ds = None
    if cfg.dev:
        dev_ds = read_labelled(cfg.dev, spec, recipe, task=cfg.task, jobs=cfg.jobs, tokenized=cfg.tokenized,
                               drop_empty=False, keep_raw=keep_raw)
        if cfg.dev_fraction:
            progress.warn("--dev given: --dev-fraction is ignored")
    else:
        fraction = cfg.dev_fraction if cfg.dev_fraction is not None else (0.1 if cfg.model == "rnn" else 0.0)
        if fraction:
            train_ds, dev_ds = split_dev(train_ds, fraction, cfg.seed)
    return train_ds, dev_ds


def evaluate(task: str, gold: Dataset, labels: list[str] | None, pred) -> dict:
    """Metrics of a :class:`~nlpcli.classify.models.Prediction` against ``gold``."""
    if task == "regression":
        return M.regression_metrics(gold.values, pred.values)
    import numpy as np

    predicted = [labels[i] for i in np.argmax(pred.probabilities, axis=1)]
    return M.classification_metrics(gold.labels, predicted, labels)


def train(inputs: list[str], spec: InputSpec, output: str, cfg: TrainConfig, rnn=None, loop=None) -> dict | None:
    """Train ``cfg.model`` on ``inputs``, report on the dev data, save to ``output``.

    Returns the dev metrics (None without dev data). ``rnn``/``loop`` configure the RNN
    (:class:`~nlpcli.classify.rnn.RnnConfig`, :class:`~nlpcli.training.LoopConfig`).
    """
    recipe = cfg.recipe
    extractor = None
    if cfg.model in SKLEARN_MODELS and cfg.vectorizer:
        from nlpcli.features.extractors import load_feature_extractor

        extractor, recipe, _ = load_feature_extractor(cfg.vectorizer, trust=cfg.trust)
    if cfg.model == "rnn" and cfg.vectorizer:
        raise UsageError("--vectorizer is for logreg/linreg/mlp; the RNN learns its own embeddings "
                         "(initialize them with --embeddings)")
    needs_raw = (cfg.model in SKLEARN_MODELS and not cfg.vectorizer and cfg.features.char_ngram is not None
                 and cfg.features.char_source == "text")
    train_ds, dev_ds = load_data(inputs, spec, cfg, recipe, keep_raw=needs_raw)
    labels = check_classes(train_ds) if cfg.task == "classification" else None
    if dev_ds is not None and labels is not None:
        unseen = sorted(set(dev_ds.labels) - set(labels))
        if unseen:
            progress.warn(f"{dev_ds.name}: labels never seen in training: {', '.join(unseen[:10])}")
    data = {"inputs": [display_name(p) for p in inputs], "documents": len(train_ds),
            "dev": dev_ds.name if dev_ds is not None else None,
            "dev_documents": len(dev_ds) if dev_ds is not None else 0}
    if labels is not None:
        data["label_counts"] = dict(Counter(train_ds.labels))
    if cfg.model == "rnn":
        from nlpcli.classify import rnn as rnn_mod

        dev_metrics = rnn_mod.train_rnn(train_ds, dev_ds, labels, output, cfg, recipe, data,
                                        rnn or rnn_mod.RnnConfig(), loop)
    else:
        dev_metrics = _train_sklearn(train_ds, dev_ds, labels, output, cfg, recipe, extractor, data)
    if dev_metrics is not None:
        M.report(dev_metrics, title=f"dev ({dev_ds.name})")
        if cfg.metrics_out:
            M.write_json(dev_metrics, cfg.metrics_out, {"model": cfg.model, "dev": dev_ds.name})
    elif cfg.metrics_out:
        progress.warn("no dev data (--dev or --dev-fraction): --metrics-out was not written")
    else:
        progress.info("no dev data: pass --dev FILE or --dev-fraction 0.1 for a report")
    return dev_metrics


def _train_sklearn(train_ds: Dataset, dev_ds: Dataset | None, labels, output: str, cfg: TrainConfig,
                   recipe: Recipe, extractor, data: dict) -> dict | None:
    import numpy as np

    from nlpcli.features.vectorizers import TextFeatures

    start = time.perf_counter()
    if extractor is None:
        extractor = TextFeatures(cfg.features)
        X = extractor.fit_transform(train_ds.texts, raw=train_ds.raw) if train_ds.raw is not None \
            else extractor.fit_transform(train_ds.texts)
    else:
        X = extractor.transform(train_ds.texts)
    progress.info(f"features: {X.shape[0]:,} documents x {X.shape[1]:,} features "
                  f"({time.perf_counter() - start:.1f} s)")
    if cfg.task == "classification":
        index = {label: i for i, label in enumerate(labels)}
        y = np.fromiter((index[v] for v in train_ds.labels), dtype=np.int64, count=len(train_ds))
        value_range = None
    else:
        y = np.asarray(train_ds.values, dtype=float)
        value_range = (float(y.min()), float(y.max())) if cfg.estimator.clip else None
    estimator = make_estimator(cfg.model, cfg.task, cfg.estimator, len(labels or []), cfg.seed)
    start = time.perf_counter()
    progress.info(f"{cfg.model}: fitting {type(estimator).__name__} ...")
    with _quiet_convergence():
        estimator.fit(X, y)
    fit_seconds = time.perf_counter() - start
    progress.info(f"{cfg.model}: fitted in {fit_seconds:.1f} s")
    model = TextModel(extractor, estimator, cfg.task, labels, value_range)
    dev_metrics = None
    if dev_ds is not None:
        dev_metrics = evaluate(cfg.task, dev_ds, labels, model.predict(dev_ds.texts, raw=dev_ds.raw))
        data["dev_metrics"] = {k: v for k, v in dev_metrics.items() if k in ("accuracy", "macro_f1", "mae", "rmse", "n")}
    data["fit_seconds"] = round(fit_seconds, 2)
    params = {"model": cfg.model, "task": cfg.task, "labels": labels, "seed": cfg.seed,
              "estimator": cfg.estimator.to_dict(),
              "features": cfg.features.to_dict() if not cfg.vectorizer else {"vectorizer": cfg.vectorizer}}
    artifacts.save(output, kind_for(cfg.task), model, params=params, recipe=recipe.to_dict(), data=data)
    progress.info(f"{kind_for(cfg.task)} ({cfg.model}) -> {output}")
    return dev_metrics


@contextlib.contextmanager
def _quiet_convergence():
    """scikit-learn's ConvergenceWarning as one nlpcli warning instead of a Python warning dump."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        yield
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        progress.warn("the optimizer stopped before converging; raise --max-iter for a tighter fit")
