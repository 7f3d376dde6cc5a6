"""``nlpcli train``: read a labelled file, build features (or an RNN), fit, report on dev, save.

``sgd`` streams minibatches through :mod:`nlpcli.classify.sgd` and never holds the corpus.
scikit-learn models (logreg, linreg, mlp, sgd) are saved as one joblib artifact holding the whole
chain (feature extractor, estimator, label names; the recipe in the manifest); the RNN is saved
as a torch artifact by :mod:`nlpcli.classify.rnn.train`. Both have the kind ``classifier`` or
``regressor``, so ``predict`` takes either.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field

from nlpcli import artifacts, progress
from nlpcli.classify import metrics as M
from nlpcli.classify.dataset import Dataset, check_classes, evaluate, read_labelled, split_dev
from nlpcli.classify.models import (
    MODELS,
    SKLEARN_MODELS,
    TASKS,
    EstimatorConfig,
    TextModel,
    kind_for,
    make_estimator,
)
from nlpcli.errors import UsageError
from nlpcli.features.vectorizers import VectorizerConfig
from nlpcli.text.recipe import Recipe
from nlpcli.textio import InputSpec, display_name

#: the dev fraction held out of the training data when neither --dev nor --dev-fraction is given
DEFAULT_DEV_FRACTION = {"rnn": 0.1}


@dataclass
class TrainConfig:
    model: str = "logreg"
    task: str = "classification"
    recipe: Recipe = field(default_factory=lambda: Recipe("morphs", "okt", stem=True, norm=True))
    tokenized: bool = False  # inputs already went through ``recipe``
    vectorizer: str | None = None  # a feature artifact; else ``features`` is fitted here
    features: VectorizerConfig = field(
        default_factory=lambda: VectorizerConfig(ngram=(1, 2), min_df=3, max_df=0.9)
    )
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)
    dev: list[str] | None = None
    dev_fraction: float | None = None  # None: DEFAULT_DEV_FRACTION of the model (rnn: 0.1), else none
    seed: int = 0
    jobs: int = 1
    trust: bool = False
    metrics_out: str | None = None
    scheduler: str | None = None  # sgd: train on the Dask cluster at this address
    partition_bytes: int = 32 << 20  # with scheduler: the parts the workers read

    def __post_init__(self):
        if self.scheduler and self.model != "sgd":
            raise UsageError("--scheduler trains --model sgd only (the other models fit in one process)")
        if self.model not in MODELS:
            raise UsageError(f"--model must be one of {', '.join(MODELS)}")
        if self.task not in TASKS:
            raise UsageError(f"--task must be one of {', '.join(TASKS)}")
        if self.model == "logreg" and self.task == "regression":
            raise UsageError("--model logreg is a classifier; for numbers use --model linreg")
        if self.model == "linreg" and self.task == "classification":
            raise UsageError(
                "--model linreg predicts numbers: add --task regression (labels: --model logreg)"
            )

    @property
    def held_out_fraction(self) -> float:
        """The fraction of the training data held out as dev data when there is no ``dev`` file."""
        if self.dev_fraction is not None:
            return self.dev_fraction
        return DEFAULT_DEV_FRACTION.get(self.model, 0.0)

    @staticmethod
    def recipe_options(tagger: str, operation: str, stem: bool, norm: bool) -> dict:
        """The recipe's ``operation``, ``tagger``, ``stem`` and ``norm`` for the train options:
        tagger ``none`` reads whitespace tokens (operation ``split``); stemming is for Okt and Kiwi,
        normalization for Okt, and ignored for the other taggers."""
        if tagger == "none":
            return {"operation": "split", "tagger": "okt", "stem": False, "norm": False}
        return {
            "operation": operation,
            "tagger": tagger,
            "stem": stem and tagger in ("okt", "kiwi"),
            "norm": norm and tagger == "okt",
        }


def load_data(
    inputs: list[str], spec: InputSpec, cfg: TrainConfig, recipe: Recipe, keep_raw: bool = False
) -> tuple[Dataset, Dataset | None]:
    if keep_raw and cfg.tokenized:
        raise UsageError(
            "--char-source text reads the raw documents: train on the raw file, without --tokenized"
        )
    train_ds = read_labelled(
        inputs, spec, recipe, task=cfg.task, jobs=cfg.jobs, tokenized=cfg.tokenized, keep_raw=keep_raw
    )
    dev_ds = None
    if cfg.dev:
        dev_ds = read_labelled(
            cfg.dev,
            spec,
            recipe,
            task=cfg.task,
            jobs=cfg.jobs,
            tokenized=cfg.tokenized,
            drop_empty=False,
            keep_raw=keep_raw,
        )
        if cfg.dev_fraction:
            progress.warn("--dev given: --dev-fraction is ignored")
    else:
        if cfg.held_out_fraction:
            train_ds, dev_ds = split_dev(train_ds, cfg.held_out_fraction, cfg.seed)
    return train_ds, dev_ds


def train(
    inputs: list[str], spec: InputSpec, output: str, cfg: TrainConfig, rnn=None, loop=None, sgd=None
) -> dict | None:
    """Train ``cfg.model`` on ``inputs``, report on the dev data, save to ``output``.

    Returns the dev metrics (None without dev data). ``rnn``/``loop`` configure the RNN
    (:class:`~nlpcli.classify.rnn.config.RnnConfig`, :class:`~nlpcli.training.LoopConfig`),
    ``sgd`` the SGD model (:class:`~nlpcli.classify.sgd.SgdConfig`).
    """
    if cfg.model == "sgd":
        from nlpcli.classify.sgd import SgdConfig, train_sgd

        data = {"inputs": [display_name(p) for p in inputs]}
        sgd = sgd or SgdConfig(task=cfg.task)
        if cfg.scheduler:
            from nlpcli.classify.sgd_cluster import train_on_cluster

            dev_metrics, dev_name = train_on_cluster(inputs, spec, output, cfg, sgd, data)
        else:
            dev_metrics, dev_name = train_sgd(inputs, spec, output, cfg, sgd, data)
        return _report(cfg, dev_metrics, dev_name)
    recipe = cfg.recipe
    extractor = None
    if cfg.model in SKLEARN_MODELS and cfg.vectorizer:
        from nlpcli.features.extractors import load_feature_extractor

        extractor, recipe, _ = load_feature_extractor(cfg.vectorizer, trust=cfg.trust)
    if cfg.model == "rnn" and cfg.vectorizer:
        raise UsageError(
            "--vectorizer is for logreg/linreg/mlp; the RNN learns its own embeddings "
            "(initialize them with --embeddings)"
        )
    needs_raw = (
        cfg.model in SKLEARN_MODELS
        and not cfg.vectorizer
        and cfg.features.char_ngram is not None
        and cfg.features.char_source == "text"
    )
    train_ds, dev_ds = load_data(inputs, spec, cfg, recipe, keep_raw=needs_raw)
    labels = check_classes(train_ds) if cfg.task == "classification" else None
    if dev_ds is not None and labels is not None:
        unseen = sorted(set(dev_ds.labels) - set(labels))
        if unseen:
            progress.warn(f"{dev_ds.name}: labels never seen in training: {', '.join(unseen[:10])}")
    data = {
        "inputs": [display_name(p) for p in inputs],
        "documents": len(train_ds),
        "dev": dev_ds.name if dev_ds is not None else None,
        "dev_documents": len(dev_ds) if dev_ds is not None else 0,
    }
    if labels is not None:
        data["label_counts"] = dict(Counter(train_ds.labels))
    if cfg.model == "rnn":
        from nlpcli.classify.rnn.config import RnnConfig
        from nlpcli.classify.rnn.train import train_rnn

        dev_metrics = train_rnn(train_ds, dev_ds, labels, output, cfg, recipe, data, rnn or RnnConfig(), loop)
    else:
        dev_metrics = _train_sklearn(train_ds, dev_ds, labels, output, cfg, recipe, extractor, data)
    return _report(cfg, dev_metrics, dev_ds.name if dev_ds is not None else None)


def _report(cfg: TrainConfig, dev_metrics: dict | None, dev_name: str | None) -> dict | None:
    """The dev report on stderr (and in --metrics-out)."""
    if dev_metrics is not None:
        M.report(dev_metrics, title=f"dev ({dev_name})")
        if cfg.metrics_out:
            M.write_json(dev_metrics, cfg.metrics_out, {"model": cfg.model, "dev": dev_name})
    elif cfg.metrics_out:
        progress.warn("no dev data (--dev or --dev-fraction): --metrics-out was not written")
    else:
        progress.info("no dev data: pass --dev FILE or --dev-fraction 0.1 for a report")
    return dev_metrics


def _train_sklearn(
    train_ds: Dataset,
    dev_ds: Dataset | None,
    labels,
    output: str,
    cfg: TrainConfig,
    recipe: Recipe,
    extractor,
    data: dict,
) -> dict | None:
    import numpy as np

    from nlpcli.features.vectorizers import TextFeatures

    start = time.perf_counter()
    if extractor is None:
        extractor = TextFeatures(cfg.features)
        X = (
            extractor.fit_transform(train_ds.texts, raw=train_ds.raw)
            if train_ds.raw is not None
            else extractor.fit_transform(train_ds.texts)
        )
    else:
        X = extractor.transform(train_ds.texts)
    progress.info(
        f"features: {X.shape[0]:,} documents x {X.shape[1]:,} features ({time.perf_counter() - start:.1f} s)"
    )
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
        data["dev_metrics"] = {
            k: v for k, v in dev_metrics.items() if k in ("accuracy", "macro_f1", "mae", "rmse", "n")
        }
    data["fit_seconds"] = round(fit_seconds, 2)
    model.prepare_scoring(train_ds.texts, train_ds.raw)
    params = {
        "model": cfg.model,
        "task": cfg.task,
        "labels": labels,
        "seed": cfg.seed,
        "estimator": cfg.estimator.to_dict(),
        "features": cfg.features.to_dict() if not cfg.vectorizer else {"vectorizer": cfg.vectorizer},
    }
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
