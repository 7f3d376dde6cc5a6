"""``train --model sgd --scheduler ADDRESS``: SGD on a Dask cluster by iterative parameter
mixing (McDonald, Hall and Mann 2010; Zinkevich, Weimer, Smola and Li 2010).

The inputs are cut into byte-range partitions (:mod:`nlpcli.partitions`) that the workers read
themselves, from a path or URL they all see; the client never ships the data. The partitions are
dealt round-robin into one *shard* per worker thread, and each shard stays with its worker from
epoch to epoch. Passes:

1. the *scan*, one task per shard: the worker reads its partitions, tokenizes them, checks every
   label, counts the hashed features' document frequencies (unless ``--vectorizer`` is given)
   and writes each partition's tokens to a cache on its own disk; the driver merges the scans
   and the counts and fits the features;
2. each *epoch*: the current weights go to every worker once (one scatter), each shard's task
   starts from them and runs ``partial_fit`` over its own partitions (read from the cache, in an
   order shuffled by the seed, the epoch and the partitions), and returns its weights and the
   number of documents it fitted; the driver averages the weights, weighted by those numbers,
   scores ``--dev`` where it runs, keeps the best epoch and stops early as a local run does.

Tasks are pure functions of (weights, partitions, epoch, seed): when a worker dies, Dask reruns
its task on another one (which tokenizes again any partition whose cache it lacks) and the
result is the same. The saved model is an ordinary sgd artifact; its manifest says it was
trained on a cluster.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace

from nlpcli import progress
from nlpcli.classify import sgd as S
from nlpcli.errors import DataError, NlpcliError, UsageError
from nlpcli.interrupt import InterruptFlag
from nlpcli.textio import STDIO, InputSpec, atomic_path, chunked, display_name

#: the arrays that are averaged: the weights, and for averaged SGD the running means and the
#: weights they follow (an estimator has some of them)
WEIGHTS = (
    "coef_",
    "intercept_",
    "_standard_coef",
    "_standard_intercept",
    "_average_coef",
    "_average_intercept",
)
#: the folder, under the workers' temporary directory, of the token caches
CACHE_FOLDER = "nlpcli-sgd-tokens"


# -- mixing: plain functions ---------------------------------------------------------------


def deal(partitions: list, shards: int) -> list[list]:
    """The partitions dealt round-robin into ``shards`` lists (fewer when there are fewer
    partitions: no shard is empty)."""
    shards = max(1, min(shards, len(partitions)))
    return [partitions[k::shards] for k in range(shards)]


def _sgd_part(estimator):
    return estimator.estimator if isinstance(estimator, S.CenteredRegressor) else estimator


def mix(estimators: list, counts: list[int]):
    """An estimator whose weights are the example-weighted mean of those of ``estimators``
    (shards that fitted no document are left out). Its step count ``t_``, which drives the
    learning-rate schedule and the running mean of averaged SGD, is their weighted mean too."""
    import numpy as np

    kept = [(e, n) for e, n in zip(estimators, counts) if n > 0]
    if not kept:
        raise DataError("no shard of the cluster fitted a document")
    total = float(sum(n for _, n in kept))
    mixed = copy.deepcopy(kept[0][0])
    target = _sgd_part(mixed)
    parts = [(_sgd_part(e), n / total) for e, n in kept]
    for name in WEIGHTS:
        arrays = [getattr(e, name, None) for e, _ in parts]
        if any(a is None for a in arrays):
            continue
        mean = sum(np.asarray(a, dtype=np.float64) * w for a, (_, w) in zip(arrays, parts))
        setattr(target, name, np.asarray(mean, dtype=np.asarray(arrays[0]).dtype))
    target.t_ = float(sum(e.t_ * w for e, w in parts))
    return mixed


# -- the worker's side ---------------------------------------------------------------------


@dataclass(frozen=True)
class ShardJob:
    """What a shard's task needs besides the weights and the features."""

    spec: InputSpec
    recipe: dict  # the recipe that reads the inputs (pre-tokenized: split)
    keep_raw: bool  # the features also read the raw text
    task: str
    classes: tuple | None  # --classes: the labels allowed (None: any, collected by the scan)
    labels: tuple | None  # the class order of the model (None: regression, or the scan)
    batch_size: int
    shuffle_buffer: int
    chunk_size: int
    seed: int
    stamps: tuple = ()  # (path, size, modification time) of the inputs: part of the cache key


def cache_file(part, job: ShardJob) -> str:
    """Where a worker caches a partition's tokens: its temporary directory, under a key of the
    partition, the input's size and modification time, the recipe and the columns."""
    stamp = [s for s in job.stamps if s[0] == part.path]
    blob = json.dumps(
        [part.path, part.start, part.end, stamp, job.recipe, asdict(job.spec), job.keep_raw, 1],
        sort_keys=True,
        default=str,
    )
    key = hashlib.sha1(blob.encode()).hexdigest()[:20]
    return os.path.join(tempfile.gettempdir(), CACHE_FOLDER, f"{key}.tsv")


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return f"the worker at {get_worker().address}"
    except (ImportError, ValueError):
        return "this process"


def _check_readable(path: str) -> None:
    """An input a worker cannot see is one clear error naming it (and the worker)."""
    from nlpcli.partitions import is_url

    if is_url(path):
        from fsspec.core import url_to_fs

        fs, inner = url_to_fs(path)
        seen = fs.exists(inner)
    else:
        seen = os.access(path, os.R_OK)
    if not seen:
        raise DataError(
            f"{_worker_name()} cannot read this input; every worker must see the inputs at the "
            "same path (a shared file system, or a URL such as s3://bucket/train.tsv)",
            source=path,
        )


def _checked(r, part, job: ShardJob, allowed: set | None) -> tuple[str, float | None]:
    """The label (and number) of a record; an error in a partition that starts inside the file
    (whose records carry no line number) names the partition's bytes instead."""
    try:
        return S.check_label(r, job.task, allowed)
    except DataError as exc:
        if r.line:
            raise
        message = str(exc).removeprefix(f"{exc.source}:0: ")
        end = "the end" if part.end is None else f"byte {part.end}"
        raise DataError(f"a line between byte {part.start} and {end}: {message}", source=r.source) from None


def _tokenized(part, job: ShardJob, scan: S.Scan | None) -> Iterator[list[tuple]]:
    """A partition's documents as chunks of ``(label, tokens, raw)``, tokenized from the input
    and written to its cache as they go (the cache appears when the partition is complete);
    ``scan`` counts the documents, labels, numbers and empty texts."""
    from nlpcli.dask_cluster import run_in_worker
    from nlpcli.partitions import read_records
    from nlpcli.text.recipe import init_worker, process_in_worker

    _check_readable(part.path)
    allowed = set(job.classes or job.labels or ()) or None
    path = cache_file(part, job)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as out:
        for records in chunked(read_records(part, job.spec), job.chunk_size):
            texts = run_in_worker(process_in_worker, init_worker, (job.recipe,), [r.text for r in records])
            docs = []
            for r, text in zip(records, texts):
                label, number = _checked(r, part, job, allowed)
                if not text.strip():
                    if scan is not None:
                        scan.empty += 1
                    continue
                docs.append((label, S.one_line(text), S.one_line(r.text) if job.keep_raw else None))
                if scan is not None:
                    scan.add(label, number)
            out.writelines("\t".join(d if job.keep_raw else d[:2]) + "\n" for d in docs)
            yield docs


def partition_docs(part, job: ShardJob) -> Iterator[list[tuple]]:
    """A partition's documents in chunks: from the worker's cache, or tokenized again (its
    cache is on another worker's disk, or was lost with a worker)."""
    path = cache_file(part, job)
    if not os.path.exists(path):
        yield from _tokenized(part, job, None)
        return
    with open(path, encoding="utf-8", newline="\n") as fh:
        for lines in chunked(fh, job.chunk_size):
            yield [S.cached_document(line, job.keep_raw) for line in lines]


def scan_shard(parts: list, job: ShardJob, extractor) -> tuple[S.Scan, list | None]:
    """A task: the first pass over a shard (see the module's docstring); ``extractor``: the
    unfitted hashed features whose document frequencies are counted (None: none)."""
    scan = S.Scan()
    counts = extractor.counters() if extractor is not None else None
    for part in parts:
        for docs in _tokenized(part, job, scan):
            if counts is not None and docs:
                raw = [r for _, _, r in docs] if job.keep_raw else None
                extractor.count_chunk(counts, [t for _, t, _ in docs], raw)
    return scan, counts


def train_shard(estimator, extractor, parts: list, epoch: int, job: ShardJob):
    """A task: one epoch of ``partial_fit`` over a shard's partitions, starting from
    ``estimator``; returns the new estimator, the documents fitted and the seconds it took."""
    import numpy as np

    start = time.perf_counter()
    estimator = copy.deepcopy(estimator)  # the scattered weights are shared by a worker's tasks
    rng = np.random.default_rng([job.seed, epoch, *(p.index for p in parts)])
    order = rng.permutation(len(parts)).tolist()
    chunks = (chunk for i in order for chunk in partition_docs(parts[i], job))
    labels = list(job.labels) if job.labels is not None else None
    classes = None if labels is None else np.arange(len(labels))
    done = 0
    for batch in S.shuffled_batches(chunks, rng, job.shuffle_buffer, job.batch_size):
        S.fit_batch(estimator, *S.batch_xy(extractor, labels, job.keep_raw, batch), classes)
        done += len(batch)
    return estimator, done, time.perf_counter() - start


def remove_files(paths: list[str]) -> None:
    for path in paths:
        try:
            os.remove(path)
        except OSError:
            pass


# -- the driver's side ---------------------------------------------------------------------


@dataclass
class Cluster:
    """The client, the scheduler's address, the shards and the worker each one prefers."""

    client: object
    address: str
    shards: list[list]
    homes: list[str]  # the worker of each shard (a shard moves only when its worker is gone)
    partitions: int

    @property
    def workers(self) -> int:
        return len(set(self.homes))


def _stamps(paths) -> tuple:
    from nlpcli.partitions import _fs, is_url

    stamps = []
    for path in dict.fromkeys(paths):
        if is_url(path):
            info = _fs(path).info(path)
            stamps.append((path, info.get("size"), str(info.get("mtime") or info.get("ETag") or "")))
        else:
            st = os.stat(path)
            stamps.append((path, st.st_size, st.st_mtime_ns))
    return tuple(stamps)


def connect_cluster(
    client, address: str, inputs: list[str], spec: InputSpec, target_bytes: int, shards: int | None = None
):
    """Plan the partitions of ``inputs`` (about ``target_bytes`` each) and deal them into
    ``shards`` (default: one per worker thread); returns the :class:`Cluster` and the inputs'
    stamps."""
    from nlpcli.dask_cluster import require_workers
    from nlpcli.partitions import plan

    workers = require_workers(client, address)
    slots = sorted(a for a, w in workers.items() for _ in range(int(w.get("nthreads", 1))))
    n = shards or len(slots)
    parts = plan(inputs, spec, target_bytes)
    stamps = _stamps([p.path for p in parts])
    if len(parts) < n:  # smaller partitions, so that every worker has some
        total = sum(size for _, size, _ in stamps)
        parts = plan(inputs, spec, max(1, -(-total // n)))
    dealt = deal(parts, n)
    homes = [slots[k % len(slots)] for k in range(len(dealt))]
    return Cluster(client, address, dealt, homes, len(parts)), stamps


def _placement(cluster: Cluster) -> list[str]:
    """Each shard's worker for this round: its home, or (gone) a living worker, spread evenly."""
    from nlpcli.dask_cluster import require_workers

    alive = sorted(require_workers(cluster.client, cluster.address))
    return [home if home in alive else alive[k % len(alive)] for k, home in enumerate(cluster.homes)]


def run_shards(cluster: Cluster, func, args: list[tuple], flag: InterruptFlag, what: str) -> list:
    """``func(*args[k])`` for every shard k on its worker; Ctrl-C cancels them."""
    client = cluster.client
    tag = uuid.uuid4().hex[:8]
    futures = [
        client.submit(
            func, *a, workers=[w], allow_other_workers=True, pure=False, key=f"nlpcli-sgd-{tag}-{what}-{k}"
        )
        for k, (a, w) in enumerate(zip(args, _placement(cluster)))
    ]
    try:
        while not all(f.done() for f in futures):
            if flag.raised:
                raise KeyboardInterrupt
            if any(f.status == "error" for f in futures):
                break
            time.sleep(0.05)
        return client.gather(futures)
    except (NlpcliError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a task that killed its workers again and again, a lost scheduler...
        raise NlpcliError(
            f"the Dask cluster at {cluster.address} failed in {what}: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        for f in futures:
            if not f.done():
                f.cancel()


def train_on_cluster(inputs: list[str], spec: InputSpec, output: str, cfg, sgd: S.SgdConfig, data: dict):
    """``train --model sgd --scheduler ADDRESS`` (``cfg``: the
    :class:`~nlpcli.classify.train.TrainConfig`): returns the dev metrics (None without dev
    data) and the dev data's name, as :func:`nlpcli.classify.sgd.train_sgd` does."""
    from nlpcli.dask_cluster import check_workers, connect

    checkpoint = S.checkpoint_path(output, cfg, sgd)
    if STDIO in inputs:
        raise UsageError(
            "--scheduler: the workers read the inputs themselves and cannot read stdin; "
            "give a path every worker can read"
        )
    client = connect(cfg.scheduler)
    try:
        check_workers(client, cfg.scheduler, __name__)
        with InterruptFlag() as flag:
            if sgd.resume:
                job, state, recipe = S._resume(sgd.resume, inputs, spec, cfg, cluster=True)
                sjob = job.cluster["job"]
                cluster, stamps = connect_cluster(
                    client, cfg.scheduler, job.inputs, job.spec, job.cluster["bytes"], job.cluster["shards"]
                )
                sjob = replace(sjob, stamps=stamps)
            else:
                start = time.perf_counter()
                job, state, recipe, cluster, sjob = _prepare(client, inputs, spec, cfg, sgd, flag)
                data["first_pass_seconds"] = round(time.perf_counter() - start, 2)
            dev_ds = S._dev(job, cfg, recipe)
            data.update(
                documents=job.scan.documents,
                dev=dev_ds.name if dev_ds else None,
                dev_documents=len(dev_ds) if dev_ds else 0,
                cluster={
                    "scheduler": cfg.scheduler,
                    "workers": cluster.workers,
                    "shards": len(cluster.shards),
                    "partitions": cluster.partitions,
                },
            )
            save = lambda s: S._save_checkpoint(checkpoint, job, s, recipe, cfg)  # noqa: E731
            state = _fit(cluster, job, state, sjob, flag, save, checkpoint)
        result = S._finish(job, state, output, cfg, recipe, data, dev_ds, checkpoint)
        _remove_caches(cluster, sjob)
        return result
    finally:
        client.close()


def _prepare(client, inputs: list[str], spec: InputSpec, cfg, sgd: S.SgdConfig, flag: InterruptFlag):
    """The first pass on the cluster: the job, the state before the first epoch, the recipe,
    the cluster and the shards' job."""
    from nlpcli.features.counting import merged
    from nlpcli.text.recipe import Recipe

    extractor, recipe, keep_raw = S._features(cfg)
    reader = Recipe(operation="split", nfc=recipe.nfc) if cfg.tokenized else recipe
    cluster, stamps = connect_cluster(client, cfg.scheduler, inputs, spec, cfg.partition_bytes)
    progress.info(
        f"sgd on {cfg.scheduler}: {cluster.workers} workers, {len(cluster.shards)} shards of "
        f"{cluster.partitions} partitions"
    )
    classes = tuple(sgd.classes) if sgd.classes else None
    sjob = ShardJob(
        spec, reader.to_dict(), keep_raw, sgd.task, classes, None, sgd.batch_size, sgd.shuffle_buffer,
        sgd.chunk_size, cfg.seed, stamps,
    )  # fmt: skip
    fitting = None if cfg.vectorizer else extractor
    with progress.task("reading and tokenizing on the workers"):
        args = [(shard, sjob, fitting) for shard in cluster.shards]
        results = run_shards(cluster, scan_shard, args, flag, "the first pass")
    scan_, counts = S.Scan(), None
    for shard_scan, shard_counts in results:
        scan_.merge(shard_scan)
        if shard_counts is not None:
            counts = shard_counts if counts is None else merged(counts, shard_counts)
    scan_.check(", ".join(display_name(p) for p in inputs))
    if fitting is not None:
        S._fit_features(extractor, scan_, counts, inputs, spec, reader, sgd, keep_raw)
    labels = S._labels(scan_, sgd)
    sjob = replace(sjob, labels=tuple(labels) if labels is not None else None)
    job = S.Job(
        sgd, scan_, inputs, spec, None, extractor, labels, cfg.seed, keep_raw, clip=cfg.estimator.clip,
        cluster={"shards": len(cluster.shards), "bytes": cfg.partition_bytes, "job": sjob},
    )  # fmt: skip
    return job, S.new_state(sgd, cfg.seed, scan_), recipe, cluster, sjob


def _fit(
    cluster: Cluster, job: S.Job, state: S.State, sjob: ShardJob, flag, save_checkpoint, checkpoint: str
):
    """Epochs of parameter mixing until ``--epochs`` or ``--patience``; Ctrl-C cancels the
    epoch under way and saves a checkpoint at its start."""
    client = cluster.client
    features = client.scatter(job.extractor, broadcast=True, hash=False)
    try:
        while state.epoch < job.cfg.epochs:
            start = time.perf_counter()
            with progress.task(f"epoch {state.epoch + 1} on {len(cluster.shards)} shards"):
                weights = client.scatter(state.estimator, broadcast=True, hash=False)
                args = [(weights, features, shard, state.epoch, sjob) for shard in cluster.shards]
                results = run_shards(cluster, train_shard, args, flag, f"epoch{state.epoch + 1}")
            state.estimator = mix([r[0] for r in results], [r[1] for r in results])
            seconds = time.perf_counter() - start
            state.seconds += seconds
            done = sum(r[1] for r in results)
            entry = {
                "epoch": state.epoch + 1,
                "documents": done,
                "seconds": round(seconds, 2),
                "docs_per_second": round(done / seconds) if seconds > 0 else None,
                "shard_docs_per_second": [round(n / s) if s > 0 else None for _, n, s in results],
            }
            stop = S._end_epoch(job, state, entry)
            state.epoch += 1
            if stop:
                break
    except KeyboardInterrupt:
        save_checkpoint(state)
        progress.warn(
            f"interrupted in epoch {state.epoch + 1}: checkpoint of its start saved to {checkpoint}; "
            f"continue with --resume {checkpoint} --scheduler ADDRESS"
        )
        raise
    return state


def _remove_caches(cluster: Cluster, sjob: ShardJob) -> None:
    """Remove the token caches from every worker's disk (best effort)."""
    files = [cache_file(p, sjob) for shard in cluster.shards for p in shard]
    try:
        cluster.client.run(remove_files, files)
    except Exception:  # a worker that went away: its temporary directory is its own affair
        progress.warn("could not remove every token cache on the workers")
