"""``vectorize fit --scheduler``: counting on a Dask cluster, merging there, fitting here.

The driver plans byte-range partitions of the inputs (:mod:`nlpcli.partitions`) and sends only
the plan: each worker reads its partitions from the path or URL itself, tokenizes them with the
recipe (one tagger per worker process, built by its first task) and counts them into
:class:`~nlpcli.features.counting.TermCounts` (or ``HashedCounts`` with hashing). The partial
counts are merged on the cluster, pairwise in a tree, so the driver receives one merged count
and then prunes it and builds the vectorizer exactly as a local fit does: counts are sums, so
the vocabulary, the idf and the document frequencies equal the local ones.

Every task is a pure function of its inputs, so when a worker dies Dask reruns its tasks on
another one and the result is unchanged.
"""

from __future__ import annotations

import functools
import json

from nlpcli import progress
from nlpcli.errors import NlpcliError
from nlpcli.features.counting import merged
from nlpcli.features.vectorizers import TextFeatures, VectorizerConfig
from nlpcli.partitions import TARGET_BYTES, Partition, plan, read_records
from nlpcli.text.recipe import Recipe, init_worker, worker_preprocessor
from nlpcli.textio import InputSpec, chunked

#: documents a worker tokenizes and counts at a time: with a tagger, and for pre-tokenized text
TAGGED_CHUNK, SPLIT_CHUNK = 2_000, 20_000


def count_partition(spec: InputSpec, config: VectorizerConfig, part: Partition) -> list:
    """A task: the counts (word block, then char block) of one partition, read and tokenized on
    this worker by the preprocessor :func:`~nlpcli.text.recipe.init_worker` built."""
    pre = worker_preprocessor()
    features = TextFeatures(config)
    counts = features.counters()
    size = SPLIT_CHUNK if pre.recipe.operation == "split" else TAGGED_CHUNK
    for chunk in chunked(read_records(part, spec), size):
        raw = [r.text for r in chunk]
        features.count_chunk(counts, pre.same_tokens(raw), raw)
    return counts


def count_on_cluster(
    inputs: list[str],
    spec: InputSpec,
    config: VectorizerConfig,
    recipe: Recipe,
    address: str,
    target_bytes: int = TARGET_BYTES,
) -> list:
    """The merged counts of ``inputs``, counted and merged on the cluster at ``address``."""
    from distributed import as_completed

    from nlpcli.dask_cluster import _run_chunk, connect, require_workers, tree_reduce

    parts = plan(inputs, spec, target_bytes)  # an unreadable input fails here, before any task
    client = connect(address)
    try:
        require_workers(client, address)
        initargs = (recipe.to_dict(),)
        key = json.dumps(["count_partition", initargs], sort_keys=True, default=str)
        count = functools.partial(count_partition, spec, config)
        futures = [
            client.submit(_run_chunk, count, init_worker, initargs, key, part, pure=False) for part in parts
        ]
        total = tree_reduce(client, futures, merged)
        done = as_completed(futures, loop=client.loop)
        del futures  # merged partial counts are released as the tree goes up
        with progress.task(f"counting {len(parts)} partitions on the cluster", len(parts), "parts") as bar:
            for future in done:
                if future.status == "error":
                    _result(future)
                bar.advance(1)
            return _result(total)
    finally:
        client.close()


def _result(future):
    """The result of a task; its error as raised on the worker, or one line when the cluster
    gave up on the task (the workers running it died each time)."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker as exc:
        raise NlpcliError(
            f"the cluster gave up on a task after the workers running it died ({exc}); "
            "check the workers' memory and logs"
        ) from None
    except RuntimeError as exc:
        if "deserializ" not in str(exc):
            raise
        raise NlpcliError(
            "the workers could not load the task: every worker needs the same Python packages "
            "and nlpcli version as this one"
        ) from None
