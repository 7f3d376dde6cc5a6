"""``train --model sgd``: a linear model fitted by stochastic gradient descent on a stream of
minibatches (scikit-learn's ``SGDClassifier``/``SGDRegressor.partial_fit``), so that the
feature matrix of the whole training set never exists.

Passes over the input:

1. the *scan*: reads every document once, checks its label (or number), collects the classes
   and the range of the numbers, counts hashed features when no ``--vectorizer`` is given, and,
   when the text has to be tokenized (a tagger) or comes from stdin, writes the tokens to a cache
   file beside the model;
2. one pass per epoch over the cache (or the pre-tokenized input itself): chunks in a shuffled
   order (the cache only: a plain input is read in order), then a bounded shuffle buffer of
   documents, then minibatches of ``batch_size`` through ``partial_fit``.

Each epoch's order comes from ``(seed, epoch)`` alone, so a run interrupted after batch *k* and
resumed from its checkpoint replays the epoch's order, skips *k* batches and ends at the same
weights as an uninterrupted run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from nlpcli import artifacts, progress
from nlpcli.classify.dataset import numeric_label
from nlpcli.errors import DataError, UsageError
from nlpcli.interrupt import InterruptFlag
from nlpcli.textio import (
    STDIO,
    InputSpec,
    atomic_path,
    check_output,
    default_checkpoint,
    display_name,
    read_records,
)

CLASSIFICATION_LOSSES = ("log_loss", "hinge", "modified_huber")
#: the first is the default: the mean absolute error (what ``train`` reports) is what it fits
REGRESSION_LOSSES = ("epsilon_insensitive", "squared_error", "huber")
#: losses whose model gives class probabilities (``predict``'s probability column)
PROBABILITY_LOSSES = ("log_loss", "modified_huber")
PENALTIES = ("l2", "l1", "elasticnet", "none")
SCHEDULES = ("optimal", "invscaling", "adaptive", "constant")
#: hashed features when neither --vectorizer nor --hashing is given: 2**20 columns per block
DEFAULT_HASHING = 20
CHECKPOINT_KIND = "sgd-checkpoint"


@dataclass
class SgdConfig:
    """The options of ``--model sgd``; None fields take the task's default."""

    task: str = "classification"
    loss: str | None = None  # log_loss (classification), epsilon_insensitive (regression)
    penalty: str = "l2"
    alpha: float | None = None  # 2e-6 (classification), 1e-6 (regression)
    l1_ratio: float = 0.15  # elasticnet
    epochs: int = 3  # on 150k reviews: dev accuracy 0.8666 after 3, 0.8679 after 5, in 60% of the time
    batch_size: int = 10000  # documents per partial_fit (each call costs a pass over the weights)
    average: bool | None = None  # averaged SGD, the mean of the weights seen (default: regression only)
    schedule: str | None = None  # learning-rate schedule: optimal (classification), invscaling
    eta0: float | None = None  # initial learning rate (invscaling, adaptive, constant): 0.01 (regression 5)
    patience: int | None = 2  # epochs without dev improvement before stopping; None or 0: never
    shuffle_buffer: int = 50000  # documents held for shuffling (memory is bounded by it)
    chunk_size: int = 5000  # documents per chunk of the cache (the unit of the chunk shuffle)
    classes: list[str] | None = None  # the labels, instead of collecting them in the scan
    checkpoint: str | None = None  # written on Ctrl-C (default OUTPUT.ckpt)
    resume: str | None = None

    def __post_init__(self):
        regression = self.task == "regression"
        losses = REGRESSION_LOSSES if regression else CLASSIFICATION_LOSSES
        self.loss = self.loss or losses[0]
        if self.loss not in losses:
            raise UsageError(
                f"--loss for sgd {'regression' if regression else 'classification'} must be "
                f"one of {', '.join(losses)}"
            )
        if self.penalty not in PENALTIES:
            raise UsageError(f"--penalty must be one of {', '.join(PENALTIES)}")
        self.alpha = self.alpha if self.alpha is not None else (1e-6 if regression else 2e-6)
        self.schedule = self.schedule or ("invscaling" if regression else "optimal")
        if self.schedule not in SCHEDULES:
            raise UsageError(f"--learning-rate-schedule must be one of {', '.join(SCHEDULES)}")
        # tf-idf rows have unit length: numbers from 1 to 10 need large weights, hence a large start
        self.eta0 = self.eta0 if self.eta0 is not None else (5.0 if regression else 0.01)
        self.average = self.average if self.average is not None else regression
        if self.alpha < 0 or self.eta0 <= 0:
            raise UsageError("--alpha must not be negative and --learning-rate must be positive")
        if min(self.epochs, self.batch_size, self.shuffle_buffer, self.chunk_size) < 1:
            raise UsageError("--epochs, --batch-size and --shuffle-buffer must be positive")
        if self.patience == 0:  # --no-early-stopping
            self.patience = None
        if self.patience is not None and self.patience < 1:
            raise UsageError("--patience must be positive")
        if isinstance(self.classes, str):
            self.classes = [c.strip() for c in self.classes.split(",") if c.strip()]
        if self.classes is not None:
            if regression:
                raise UsageError("--classes is for classification; --task regression predicts numbers")
            if len(set(self.classes)) < 2:
                raise UsageError("--classes needs at least two labels, e.g. --classes 0,1")

    @property
    def has_probability(self) -> bool:
        return self.task == "classification" and self.loss in PROBABILITY_LOSSES

    def to_dict(self) -> dict:
        return asdict(self)

    def make_estimator(self, seed: int):
        """A fresh scikit-learn SGD estimator (its own shuffling of each minibatch is seeded)."""
        from sklearn.linear_model import SGDClassifier, SGDRegressor

        common = dict(
            loss=self.loss,
            penalty=None if self.penalty == "none" else self.penalty,
            alpha=self.alpha,
            l1_ratio=self.l1_ratio,
            learning_rate=self.schedule,
            eta0=self.eta0,
            average=self.average,
            random_state=seed,
        )
        if self.task == "regression":
            return CenteredRegressor(SGDRegressor(**common))
        return SGDClassifier(**common)


class CenteredRegressor:
    """An SGD regressor fitted to the numbers minus their mean (``offset``), which is added back
    when predicting: on sparse features scikit-learn moves the intercept 100 times slower than
    the weights, so an uncentred model would spend its epochs walking to the mean."""

    def __init__(self, estimator, offset: float = 0.0):
        self.estimator = estimator
        self.offset = offset

    def partial_fit(self, X, y):
        self.estimator.partial_fit(X, y - self.offset)
        return self

    def predict(self, X):
        return self.estimator.predict(X) + self.offset

    @property
    def coef_(self):
        return self.estimator.coef_

    @property
    def intercept_(self):
        return self.estimator.intercept_ + self.offset


# -- reading ---------------------------------------------------------------------------------


@dataclass
class Scan:
    """What the first pass learned: the documents kept, the classes, the range of the numbers,
    and where the documents are read from in each epoch."""

    documents: int = 0
    labels: set = field(default_factory=set)
    low: float = math.inf
    high: float = -math.inf
    total: float = 0.0  # the sum of the numbers (regression)
    empty: int = 0
    cache: str | None = None  # the token cache (None: re-read the inputs)
    offsets: list[int] = field(default_factory=list)  # byte offset of each chunk of the cache
    temporary: bool = False  # the cache goes when training ends (stdin)

    def add(self, label: str, number: float | None) -> None:
        """Count one document kept, with its label (and number, for regression)."""
        self.documents += 1
        self.labels.add(label)
        if number is not None:
            self.low, self.high = min(self.low, number), max(self.high, number)
            self.total += number

    def merge(self, other: Scan) -> Scan:
        """Add the scan of other inputs (another shard of a cluster)."""
        self.documents += other.documents
        self.labels |= other.labels
        self.low, self.high = min(self.low, other.low), max(self.high, other.high)
        self.total += other.total
        self.empty += other.empty
        return self

    def check(self, name: str) -> None:
        """After the scan: a warning for the documents left out, an error when none is left."""
        if self.empty:
            progress.warn(f"{name}: {self.empty:,} documents are empty after preprocessing and were left out")
        if not self.documents:
            raise DataError(
                "no documents with text to train on" + (" (all were empty)" if self.empty else ""),
                source=name,
            )


def one_line(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ").replace("\r", " ")


def check_label(r, task: str, classes: set | None) -> tuple[str, float | None]:
    label = (r.label or "").strip()
    if not label:
        raise DataError("empty label", source=r.source, line=r.line)
    if task == "regression":
        return label, numeric_label(label, r.source, r.line)
    if classes is not None and label not in classes:
        raise DataError(
            f"label {label!r} is not one of --classes {','.join(sorted(classes))}",
            source=r.source,
            line=r.line,
        )
    return one_line(label), None


def cache_path(
    output: str, inputs: list[str], spec: InputSpec, recipe, keep_raw: bool, chunk_size: int
) -> str:
    """Beside the model, named after the first input and a key of the inputs (path, size,
    modification time), the recipe, the columns and the chunk size: a retrain reuses it."""
    parent = os.path.dirname(os.path.abspath(output))
    if STDIO in inputs:
        return os.path.join(parent, f"stdin.sgd-tokens-{os.getpid()}.tsv")
    stats = [[os.path.abspath(p), os.stat(p).st_size, os.stat(p).st_mtime_ns] for p in inputs]
    blob = json.dumps(
        {
            "inputs": stats,
            "recipe": recipe.to_dict(),
            "spec": asdict(spec),
            "raw": keep_raw,
            "chunk": chunk_size,
            "v": 2,
        },
        sort_keys=True,
        default=str,
    )
    key = hashlib.sha1(blob.encode()).hexdigest()[:12]
    return os.path.join(parent, f"{os.path.basename(inputs[0])}.sgd-tokens-{key}.tsv")


def _docs_from_inputs(
    inputs: list[str], spec: InputSpec, recipe, jobs: int
) -> Iterator[tuple[list, list[str]]]:
    from nlpcli.text.stream import preprocess_chunks

    for p in inputs:
        if p != STDIO and not os.path.isfile(p):
            raise DataError("no such file; check the path", source=p)
    yield from preprocess_chunks(read_records(inputs, spec), recipe, jobs=jobs)


def scan(
    inputs: list[str],
    spec: InputSpec,
    recipe,
    cfg: SgdConfig,
    *,
    jobs: int,
    cache: str | None,
    keep_raw: bool,
    extractor=None,
    counts=None,
) -> Scan:
    """The first pass (see the module's docstring); ``counts`` (``extractor.counters()``) get
    the document frequencies of the features."""
    result = Scan(cache=cache, temporary=cache is not None and STDIO in inputs)
    classes = set(cfg.classes) if cfg.classes else None
    out = None
    pending: list[tuple[str, str | None]] = []
    name = ", ".join(display_name(p) for p in inputs)
    with atomic_path(cache) if cache else _nothing() as tmp, progress.task(f"reading {name}") as bar:
        if tmp:
            out = open(tmp, "w", encoding="utf-8", newline="\n")
        try:
            for records, texts in _docs_from_inputs(inputs, spec, recipe, jobs):
                for r, text in zip(records, texts):
                    label, number = check_label(r, cfg.task, classes)
                    if not text.strip():
                        result.empty += 1
                        continue
                    raw = one_line(r.text) if keep_raw else None
                    if out is not None:
                        if result.documents % cfg.chunk_size == 0:
                            result.offsets.append(out.tell())
                        out.write(f"{label}\t{one_line(text)}" + (f"\t{raw}\n" if keep_raw else "\n"))
                    result.add(label, number)
                    if counts is not None:
                        pending.append((text, raw))
                if counts is not None and len(pending) >= cfg.chunk_size:
                    _count(extractor, counts, pending)
                bar.advance(len(records))
            if counts is not None and pending:
                _count(extractor, counts, pending)
        finally:
            if out is not None:
                out.close()
    result.check(name)
    return result


def _count(extractor, counts, pending: list) -> None:
    texts = [t for t, _ in pending]
    raw = [r for _, r in pending] if pending[0][1] is not None else None
    extractor.count_chunk(counts, texts, raw)
    pending.clear()


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def epoch_chunks(
    scan_: Scan, inputs: list[str], spec: InputSpec, recipe, rng, chunk_size: int, keep_raw: bool
) -> Iterator[list[tuple[str, str, str | None]]]:
    """The documents of one epoch as chunks of ``(label, tokens, raw)``: the cache's chunks in a
    shuffled order, or the pre-tokenized inputs in order."""
    if scan_.cache is None:
        chunk = []
        for records, texts in _docs_from_inputs(inputs, spec, recipe, 1):
            for r, text in zip(records, texts):
                if text.strip():
                    chunk.append(((r.label or "").strip(), text, None))
            if len(chunk) >= chunk_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
        return
    with open(scan_.cache, encoding="utf-8", newline="\n") as fh:
        for i in rng.permutation(len(scan_.offsets)).tolist():
            fh.seek(scan_.offsets[i])
            chunk = []
            for _ in range(chunk_size):
                line = fh.readline()
                if not line:
                    break
                chunk.append(cached_document(line, keep_raw))
            yield chunk


def cached_document(line: str, keep_raw: bool) -> tuple[str, str, str | None]:
    """``(label, tokens, raw)`` from a line of a token cache."""
    parts = line.rstrip("\n").split("\t")
    return parts[0], parts[1], parts[2] if keep_raw else None


def shuffled_batches(chunks, rng, buffer_size: int, batch_size: int) -> Iterator[list]:
    """Minibatches from a bounded shuffle buffer: when it holds ``buffer_size`` documents it is
    shuffled and its first half goes out; at the end, the rest."""
    buffer: list = []
    batch: list = []
    for chunk in chunks:
        buffer.extend(chunk)
        while len(buffer) >= buffer_size:
            order = rng.permutation(len(buffer))
            half = max(1, len(buffer) // 2)
            out = [buffer[i] for i in order[:half]]
            buffer = [buffer[i] for i in order[half:]]
            for doc in out:
                batch.append(doc)
                if len(batch) == batch_size:
                    yield batch
                    batch = []
    for i in rng.permutation(len(buffer)).tolist():
        batch.append(buffer[i])
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _meta_path(cache: str) -> str:
    return cache[: -len(".tsv")] + ".json" if cache.endswith(".tsv") else cache + ".json"


def save_meta(result: Scan) -> None:
    with atomic_path(_meta_path(result.cache)) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        json.dump(
            {
                "documents": result.documents,
                "labels": sorted(result.labels),
                "low": result.low,
                "high": result.high,
                "total": result.total,
                "empty": result.empty,
                "offsets": result.offsets,
            },
            fh,
        )


def load_meta(cache: str) -> Scan | None:
    """The scan of a cache written before (None when there is none)."""
    meta = _meta_path(cache)
    if not (os.path.exists(cache) and os.path.exists(meta)):
        return None
    with open(meta, encoding="utf-8") as fh:
        m = json.load(fh)
    return Scan(
        m["documents"], set(m["labels"]), m["low"], m["high"], m["total"], m["empty"], cache, m["offsets"]
    )


def remove_cache(result: Scan) -> None:
    for p in (result.cache, _meta_path(result.cache)):
        if p and os.path.exists(p):
            os.remove(p)


# -- training --------------------------------------------------------------------------------


@dataclass
class State:
    """Where training stands: saved in the checkpoint, so ``--resume`` continues from it."""

    estimator: object
    epoch: int = 0  # the epoch under way
    batch: int = 0  # minibatches of it already fitted
    best: object = None  # a copy of the estimator after its best dev epoch
    best_score: float = -math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    history: list = field(default_factory=list)  # per epoch: docs/s and the dev score
    seconds: float = 0.0


def _after_batch(state: State) -> None:
    """Called after each minibatch (tests replace it to interrupt at a known point)."""


@dataclass
class Job:
    """Everything an epoch needs besides the state."""

    cfg: SgdConfig
    scan: Scan
    inputs: list[str]
    spec: InputSpec
    reader: object  # the recipe that reads the inputs in each epoch (pre-tokenized: split)
    extractor: object
    labels: list[str] | None
    seed: int
    keep_raw: bool
    clip: bool = True  # regression: clip predictions to the range of the training numbers
    score: object = None  # (estimator) -> dev score, higher is better; None: no dev data
    cluster: dict | None = None  # trained on a Dask cluster: the shards and their job (resume)


def batch_xy(extractor, labels: list[str] | None, keep_raw: bool, batch: list):
    """The features and targets of a minibatch of ``(label, tokens, raw)`` documents."""
    import numpy as np

    texts = [t for _, t, _ in batch]
    raw = [r for _, _, r in batch] if keep_raw else None
    X = extractor.transform(texts, raw) if keep_raw else extractor.transform(texts)
    if labels is None:
        return X, np.fromiter((float(v) for v, _, _ in batch), dtype=float, count=len(batch))
    index = {label: i for i, label in enumerate(labels)}
    return X, np.fromiter((index[v] for v, _, _ in batch), dtype=np.int64, count=len(batch))


def fit_batch(estimator, X, y, classes) -> None:
    """One ``partial_fit`` (``classes``: the class indices; None for regression)."""
    if classes is not None:
        estimator.partial_fit(X, y, classes=classes)
    else:
        estimator.partial_fit(X, y)


def run_epoch(job: Job, state: State, flag: InterruptFlag) -> int:
    """Fit one epoch's minibatches from ``state.batch`` on; returns the documents fitted."""
    import numpy as np

    rng = np.random.default_rng([job.seed, state.epoch])
    chunks = epoch_chunks(job.scan, job.inputs, job.spec, job.reader, rng, job.cfg.chunk_size, job.keep_raw)
    classes = None if job.labels is None else np.arange(len(job.labels))
    done = 0
    with progress.task(f"epoch {state.epoch + 1}", total=job.scan.documents) as bar:
        for b, batch in enumerate(shuffled_batches(chunks, rng, job.cfg.shuffle_buffer, job.cfg.batch_size)):
            if b < state.batch:  # fitted before the checkpoint: replay the order only
                bar.advance(len(batch))
                continue
            fit_batch(state.estimator, *batch_xy(job.extractor, job.labels, job.keep_raw, batch), classes)
            state.batch = b + 1
            done += len(batch)
            bar.advance(len(batch))
            _after_batch(state)
            if flag.raised:
                raise KeyboardInterrupt
    return done


def fit(job: Job, state: State, checkpoint: str | None, save_checkpoint) -> State:
    """Epochs until ``cfg.epochs`` or ``cfg.patience`` epochs without a better dev score; Ctrl-C
    saves ``checkpoint`` (through ``save_checkpoint(state)``) and stops with KeyboardInterrupt."""
    cfg = job.cfg
    with InterruptFlag() as flag:
        try:
            while state.epoch < cfg.epochs:
                start = time.perf_counter()
                done = run_epoch(job, state, flag)
                seconds = time.perf_counter() - start
                state.seconds += seconds
                entry = {
                    "epoch": state.epoch + 1,
                    "documents": done,
                    "seconds": round(seconds, 2),
                    "docs_per_second": round(done / seconds) if seconds > 0 else None,
                }
                stop = _end_epoch(job, state, entry)
                state.epoch += 1
                state.batch = 0
                if stop:
                    break
        except KeyboardInterrupt:
            where = f"interrupted at epoch {state.epoch + 1}, batch {state.batch}"
            if not checkpoint:  # the model was going to stdout and no --checkpoint was given
                progress.warn(f"{where}: no checkpoint kept (--checkpoint FILE keeps one)")
                raise
            save_checkpoint(state)
            progress.warn(f"{where}: checkpoint saved to {checkpoint}; continue with --resume {checkpoint}")
            raise
    return state


def _end_epoch(job: Job, state: State, entry: dict) -> bool:
    """Score the epoch on dev, keep the best; True when patience has run out."""
    note = f"{entry['docs_per_second']:,} docs/s" if entry["docs_per_second"] else ""
    if job.score is not None:
        score = job.score(state.estimator)
        entry["dev_score"] = round(score, 5)
        if score > state.best_score:
            state.best_score, state.best_epoch, state.bad_epochs = score, state.epoch + 1, 0
            state.best = copy.deepcopy(state.estimator)
        else:
            state.bad_epochs += 1
        note += f", dev {'accuracy' if job.labels is not None else '-MAE'} {abs(score):.4f}"
    state.history.append(entry)
    progress.info(
        f"sgd epoch {entry['epoch']}: {entry['documents']:,} documents in {entry['seconds']} s ({note})"
    )
    patience = job.cfg.patience
    if patience is not None and job.score is not None and state.bad_epochs >= patience:
        progress.info(
            f"sgd: no dev improvement in {patience} epochs: stopping; best epoch {state.best_epoch}"
        )
        return True
    return False


# -- the whole run ---------------------------------------------------------------------------


def train_sgd(inputs: list[str], spec: InputSpec, output: str, cfg, sgd: SgdConfig, data: dict):
    """``train --model sgd`` (``cfg``: the :class:`~nlpcli.classify.train.TrainConfig`): returns
    the dev metrics (None without dev data) and the dev data's name."""
    from nlpcli.text.recipe import Recipe

    checkpoint = checkpoint_path(output, cfg, sgd)
    if sgd.resume:
        job, state, recipe = _resume(sgd.resume, inputs, spec, cfg, cluster=False)
    else:
        extractor, recipe, keep_raw = _features(cfg)
        stdin = STDIO in inputs
        if stdin and not sgd.classes and sgd.task == "classification":
            raise UsageError(
                "stdin cannot be re-read for each epoch: give the classes with --classes "
                "(e.g. --classes 0,1), or train on a file"
            )
        reader = Recipe(operation="split", nfc=recipe.nfc) if cfg.tokenized else recipe
        direct = reader.operation == "split" and not stdin and not keep_raw
        cache = None if direct else cache_path(output, inputs, spec, reader, keep_raw, sgd.chunk_size)
        scan_ = load_meta(cache) if cache and not stdin else None
        if scan_ is not None:
            progress.info(f"reusing the tokenized cache {cache} ({scan_.documents:,} documents)")
            _check_classes(scan_, sgd)
        fitting = not cfg.vectorizer
        counts = extractor.counters() if fitting and scan_ is None else None
        if scan_ is None:
            scan_ = scan(
                inputs,
                spec,
                reader,
                sgd,
                jobs=cfg.jobs,
                cache=cache,
                keep_raw=keep_raw,
                extractor=extractor,
                counts=counts,
            )
            if cache and not stdin:
                save_meta(scan_)
                progress.info(f"tokens cached in {cache} (reused by the next sgd train on the same input)")
        if fitting:
            _fit_features(extractor, scan_, counts, inputs, spec, reader, sgd, keep_raw)
        labels = _labels(scan_, sgd)
        job = Job(
            sgd,
            scan_,
            inputs,
            spec,
            reader if direct else None,
            extractor,
            labels,
            cfg.seed,
            keep_raw,
            clip=cfg.estimator.clip,
        )
        state = new_state(sgd, cfg.seed, scan_)
    dev_ds = _dev(job, cfg, recipe)
    data.update(
        documents=job.scan.documents,
        dev=dev_ds.name if dev_ds else None,
        dev_documents=len(dev_ds) if dev_ds else 0,
    )
    state = fit(job, state, checkpoint, lambda s: _save_checkpoint(checkpoint, job, s, recipe, cfg))
    return _finish(job, state, output, cfg, recipe, data, dev_ds, checkpoint)


def checkpoint_path(output: str, cfg, sgd: SgdConfig) -> str | None:
    """The checks every sgd run starts with; returns where its checkpoint goes (none for a model
    written to stdout, unless --checkpoint names one)."""
    if cfg.dev_fraction:
        raise UsageError("--dev-fraction holds documents in memory; for sgd give a --dev FILE")
    check_output(output, binary=True)
    return (
        sgd.checkpoint or sgd.resume or default_checkpoint(output)
    )  # a resumed run goes on in its checkpoint


def new_state(sgd: SgdConfig, seed: int, scan_: Scan) -> State:
    """The state before the first epoch: a fresh estimator (a regressor centred on the mean)."""
    state = State(sgd.make_estimator(seed))
    if isinstance(state.estimator, CenteredRegressor):
        state.estimator.offset = scan_.total / scan_.documents
    return state


def _features(cfg):
    """The feature extractor (from --vectorizer, or unfitted hashed features), the recipe, and
    whether the features read the raw text."""
    import dataclasses

    from nlpcli.features.vectorizers import TextFeatures

    if cfg.vectorizer:
        from nlpcli.features.extractors import load_feature_extractor

        extractor, recipe, _ = load_feature_extractor(cfg.vectorizer, trust=cfg.trust)
        return extractor, recipe, bool(getattr(extractor, "needs_raw", False))
    features = cfg.features
    if features.hashing is None:
        features = dataclasses.replace(features, hashing=DEFAULT_HASHING)
    extractor = TextFeatures(features)
    keep_raw = extractor.needs_raw
    if keep_raw and cfg.tokenized:
        raise UsageError(
            "--char-source text reads the raw documents: train on the raw file, without --tokenized"
        )
    return extractor, cfg.recipe, keep_raw


def _fit_features(
    extractor, scan_: Scan, counts, inputs, spec, reader, sgd: SgdConfig, keep_raw: bool
) -> None:
    """Fit the hashed features' document frequencies: from the scan's counts, or (a reused
    cache) from one counting pass over the cache."""
    if counts is None:
        import numpy as np

        counts = extractor.counters()
        for chunk in epoch_chunks(
            scan_, inputs, spec, reader, np.random.default_rng(0), sgd.chunk_size, keep_raw
        ):
            extractor.count_chunk(
                counts, [t for _, t, _ in chunk], [r for _, _, r in chunk] if keep_raw else None
            )
    extractor.fit_counts(counts)
    progress.info(f"features: {extractor.n_features:,} hashed columns over {extractor.n_docs:,} documents")


def _check_classes(scan_: Scan, sgd: SgdConfig) -> None:
    if sgd.classes:
        outside = sorted(scan_.labels - set(sgd.classes))
        if outside:
            raise DataError(f"labels outside --classes: {', '.join(outside[:10])}", source=scan_.cache)


def _labels(scan_: Scan, sgd: SgdConfig) -> list[str] | None:
    from nlpcli.classify.dataset import label_order

    if sgd.task == "regression":
        return None
    labels = label_order(sgd.classes or scan_.labels)
    if len(labels) < 2:
        raise DataError(
            f"the labels hold a single class ({labels[0]!r}); a classifier needs at least two "
            "(wrong --label-column? for numbers use --task regression)"
        )
    unused = sorted(set(labels) - scan_.labels)
    if unused:
        progress.warn(f"--classes {', '.join(unused)} never occur in the training data")
    return labels


def _dev(job: Job, cfg, recipe):
    """The dev data (in memory: it is scored after every epoch) and the job's scoring function."""
    if not cfg.dev:
        return None
    from nlpcli.classify.dataset import evaluate, read_labelled
    from nlpcli.classify.models import TextModel

    dev_ds = read_labelled(
        cfg.dev,
        job.spec,
        recipe,
        task=job.cfg.task,
        jobs=cfg.jobs,
        tokenized=cfg.tokenized,
        drop_empty=False,
        keep_raw=job.keep_raw,
    )
    X = TextModel(job.extractor, None, job.cfg.task, job.labels).features(dev_ds.texts, dev_ds.raw)

    def score(estimator) -> float:
        model = TextModel(job.extractor, estimator, job.cfg.task, job.labels, _value_range(job))
        metrics = evaluate(job.cfg.task, dev_ds, job.labels, model.predict_features(X))
        return metrics["accuracy"] if job.labels is not None else -metrics["mae"]

    job.score = score
    return dev_ds


def _value_range(job: Job):
    return (job.scan.low, job.scan.high) if job.labels is None and job.clip else None


def _save_checkpoint(path: str, job: Job, state: State, recipe, cfg) -> None:
    payload = {
        "state": state,
        "job": {k: v for k, v in job.__dict__.items() if k != "score"},
        "recipe": recipe.to_dict(),
        "tokenized": cfg.tokenized,
    }
    artifacts.save(
        path,
        CHECKPOINT_KIND,
        payload,
        params={"sgd": job.cfg.to_dict(), "seed": job.seed},
        data={"epoch": state.epoch, "batch": state.batch},
    )


def _resume(path: str, inputs: list[str], spec: InputSpec, cfg, cluster: bool):
    """The job and state saved in a checkpoint (the options of the interrupted run are kept);
    ``cluster``: resuming with --scheduler."""
    from nlpcli.text.recipe import Recipe

    payload = artifacts.load(path, kinds=(CHECKPOINT_KIND,), trust=cfg.trust).payload
    job = Job(**payload["job"])
    if (job.cluster is not None) != cluster:
        raise UsageError(
            f"{path} is the checkpoint of a run "
            + (
                "on a Dask cluster: resume it with --scheduler ADDRESS"
                if job.cluster
                else "in one process: resume it without --scheduler"
            )
        )
    if job.scan.cache is not None and not os.path.exists(job.scan.cache):
        raise DataError(
            "the token cache of this checkpoint is gone; train again without --resume", source=job.scan.cache
        )
    if job.scan.cache is None and [os.path.abspath(p) for p in inputs] != [
        os.path.abspath(p) for p in job.inputs
    ]:
        progress.warn("--resume: training goes on with the inputs of the interrupted run")
    state = payload["state"]
    progress.info(f"resuming {path} at epoch {state.epoch + 1}, batch {state.batch}")
    return job, state, Recipe.from_dict(payload["recipe"])


def _finish(job: Job, state: State, output: str, cfg, recipe, data: dict, dev_ds, checkpoint: str | None):
    from nlpcli.classify.dataset import evaluate
    from nlpcli.classify.models import TextModel, kind_for

    estimator = state.best if state.best is not None else state.estimator
    model = TextModel(job.extractor, estimator, job.cfg.task, job.labels, _value_range(job))
    dev_metrics = None
    if dev_ds is not None:
        dev_metrics = evaluate(job.cfg.task, dev_ds, job.labels, model.predict(dev_ds.texts, raw=dev_ds.raw))
        data["dev_metrics"] = {
            k: v for k, v in dev_metrics.items() if k in ("accuracy", "macro_f1", "mae", "rmse", "n")
        }
    model.prepare_scoring(
        dev_ds.texts if dev_ds is not None else [], dev_ds.raw if dev_ds is not None else None
    )
    data.update(
        fit_seconds=round(state.seconds, 2), epochs=state.history, best_epoch=state.best_epoch or None
    )
    if job.labels is not None:
        data["labels"] = job.labels
    params = {
        "model": "sgd",
        "task": job.cfg.task,
        "labels": job.labels,
        "seed": job.seed,
        "sgd": job.cfg.to_dict(),
        "features": job.extractor.config.to_dict() if not cfg.vectorizer else {"vectorizer": cfg.vectorizer},
    }
    artifacts.save(output, kind_for(job.cfg.task), model, params=params, recipe=recipe.to_dict(), data=data)
    progress.info(f"{kind_for(job.cfg.task)} (sgd) -> {output}")
    if checkpoint and os.path.exists(checkpoint):
        os.remove(checkpoint)
    if job.scan.temporary:
        remove_cache(job.scan)
    return dev_metrics, dev_ds.name if dev_ds is not None else None
