"""``embed train``: word2vec, fastText and doc2vec with gensim, saved as an embed model.

Word2vec and fastText read the corpus with gensim's ``corpus_file`` mode (C++ reads the file,
one thread a worker: the fastest path gensim has, and no Python lists of the corpus). Doc2vec
streams the same file with ``TaggedLineDocument`` when it has more than one worker, because
gensim's ``corpus_file`` mode skips some documents at the worker boundaries (a known gensim bug:
https://github.com/RaRe-Technologies/gensim/issues/2757).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass

from nlpcli import progress
from nlpcli.embed import corpus as corpus_mod
from nlpcli.embed import store
from nlpcli.errors import DataError, UsageError
from nlpcli.text.recipe import Recipe
from nlpcli.textio import InputSpec, display_name

ALGOS = ("word2vec", "fasttext", "doc2vec")
WORD_ARCHS = ("cbow", "skipgram")
DOC_ARCHS = ("dbow", "dm")


@dataclass
class EmbedConfig:
    algo: str = "word2vec"
    arch: str | None = None  # cbow | skipgram (word2vec, fasttext); dbow | dm (doc2vec)
    dim: int = 100
    window: int = 5
    min_count: int = 5
    epochs: int = 5
    negative: int = 5
    hs: bool = False
    sample: float = 1e-3
    alpha: float | None = None
    workers: int = 2
    seed: int = 1
    min_n: int = 3
    max_n: int = 6
    bucket: int = 2_000_000
    dbow_words: bool = False
    max_vocab: int | None = None
    loss: bool = False  # word2vec: compute and report the training loss (a few % slower)

    def __post_init__(self):
        if self.algo not in ALGOS:
            raise UsageError(f"unknown --algo {self.algo!r}; choose one of {', '.join(ALGOS)}")
        archs = DOC_ARCHS if self.algo == "doc2vec" else WORD_ARCHS
        if self.arch is None:
            self.arch = archs[0]
        if self.arch not in archs:
            raise UsageError(
                f"--arch {self.arch!r} does not fit --algo {self.algo}; choose one of {', '.join(archs)}"
            )
        for name in ("dim", "window", "min_count", "epochs", "workers"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be 1 or more")
        if self.negative < 0 or (self.negative == 0 and not self.hs):
            raise UsageError("--negative must be 1 or more (or give --hs for hierarchical softmax)")
        if not 0 <= self.sample < 1:
            raise UsageError("--sample must be in [0, 1) (0: no subsampling)")
        if self.algo == "fasttext" and not (1 <= self.min_n <= self.max_n):
            raise UsageError("--min-n and --max-n must satisfy 1 <= min-n <= max-n")
        if self.dbow_words and not (self.algo == "doc2vec" and self.arch == "dbow"):
            raise UsageError("--dbow-words applies to --algo doc2vec --arch dbow only")
        if self.loss and self.algo != "word2vec":
            raise UsageError(
                "--loss is reported by word2vec only (gensim computes no loss for fastText/doc2vec)"
            )
        if not 0 <= self.seed < 2**32:  # numpy's limit, which gensim passes it to
            raise UsageError("--seed must be between 0 and 4294967295")

    @property
    def has_word_vectors(self) -> bool:
        return self.algo != "doc2vec" or self.arch == "dm" or self.dbow_words

    def gensim_params(self) -> dict:
        """The keyword arguments of the gensim class, exactly (the benchmarks use these too)."""
        p = dict(
            vector_size=self.dim,
            window=self.window,
            min_count=self.min_count,
            epochs=self.epochs,
            hs=int(self.hs),
            negative=0 if self.hs else self.negative,
            sample=self.sample,
            workers=self.workers,
            seed=self.seed,
            max_final_vocab=self.max_vocab,
        )
        if self.alpha is not None:
            p["alpha"] = self.alpha
        if self.algo == "doc2vec":
            p.update(dm=int(self.arch == "dm"), dbow_words=int(self.dbow_words))
        else:
            p["sg"] = int(self.arch == "skipgram")
        if self.algo == "fasttext":
            p.update(min_n=self.min_n, max_n=self.max_n, bucket=self.bucket)
        return p


def gensim_class(algo: str):
    from gensim.models import Doc2Vec, FastText, Word2Vec

    return {"word2vec": Word2Vec, "fasttext": FastText, "doc2vec": Doc2Vec}[algo]


def _callback(config: EmbedConfig, model_words: list[int]):
    from gensim.models.callbacks import CallbackAny2Vec

    class Report(CallbackAny2Vec):
        """One line per epoch on stderr: words/s and (word2vec) the epoch's loss."""

        def __init__(self):
            self.epoch = 0
            self.loss = 0.0

        def on_epoch_begin(self, model):
            self.start = time.perf_counter()

        def on_epoch_end(self, model):
            self.epoch += 1
            took = time.perf_counter() - self.start
            words = model_words[0]
            line = f"epoch {self.epoch}/{config.epochs}: {words / max(took, 1e-9):,.0f} words/s, {took:.1f} s"
            if config.algo == "word2vec" and config.loss:
                total = model.get_latest_training_loss()
                line += f", loss {total - self.loss:,.0f}"
                self.loss = total
            progress.info(line)

    return Report()


def _empty_error(source: str) -> DataError:
    return DataError(
        "the corpus holds no words; give a non-empty corpus (one document a line)", source=source
    )


def train(
    inputs: list[str],
    spec: InputSpec,
    recipe: Recipe,
    config: EmbedConfig,
    output: str,
    *,
    id_column: str | None = None,
    jobs: int = 1,
    keep_corpus: bool = True,
) -> dict:
    """Train, save the model directory at ``output``, return its manifest."""
    store.check_target(output)  # before tokenizing and training, not after
    docs = config.algo == "doc2vec"
    corpus = corpus_mod.prepare(inputs, spec, recipe, output, docs=docs, id_column=id_column, jobs=jobs)
    source = ", ".join(display_name(p) for p in inputs or ["-"])
    try:
        if corpus.tokens == 0 or os.path.getsize(corpus.path) == 0:
            raise _empty_error(source)
        return _train(corpus, source, inputs, recipe, config, output)
    finally:
        if corpus.temporary or not keep_corpus:
            for p in (corpus.path, corpus.docs_path, corpus.ids_path):
                if p and corpus.cached and os.path.exists(p):
                    os.remove(p)


def _train(
    corpus: corpus_mod.Corpus,
    source: str,
    inputs: list[str],
    recipe: Recipe,
    config: EmbedConfig,
    output: str,
) -> dict:
    import logging

    logging.getLogger("gensim").setLevel(logging.WARNING)
    cls = gensim_class(config.algo)
    params = config.gensim_params()
    model = cls(**params)
    started = time.perf_counter()
    streamed = config.algo == "doc2vec" and config.workers > 1
    if streamed:
        from gensim.models.doc2vec import TaggedLineDocument

        feed = {"corpus_iterable": TaggedLineDocument(corpus.path)}
    else:
        feed = {"corpus_file": corpus.path}
    model.build_vocab(**feed)
    if model.corpus_total_words == 0:
        raise _empty_error(source)
    if len(model.wv) == 0:
        raise DataError(
            f"no word occurs {config.min_count} times or more in {model.corpus_total_words:,} "
            "words; lower --min-count or give a larger corpus",
            source=source,
        )
    words = [model.corpus_total_words]
    vocab_s = time.perf_counter() - started
    progress.info(
        f"vocabulary: {len(model.wv):,} words (min count {config.min_count}) from "
        f"{model.corpus_total_words:,} words in {model.corpus_count:,} documents ({vocab_s:.1f} s)"
    )
    extra = {"compute_loss": True} if config.algo == "word2vec" and config.loss else {}
    model.train(
        **feed,
        total_examples=model.corpus_count,
        total_words=model.corpus_total_words,
        epochs=model.epochs,
        callbacks=[_callback(config, words)],
        **extra,
    )
    seconds = time.perf_counter() - started
    rate = model.corpus_total_words * config.epochs / max(seconds - vocab_s, 1e-9)
    data = {
        "inputs": [display_name(p) for p in inputs or ["-"]],
        "documents": model.corpus_count,
        "words": model.corpus_total_words,
        "vocabulary": len(model.wv),
        "train_seconds": round(seconds, 2),
        "words_per_second": round(rate),
        "tokenized_corpus": corpus.path if corpus.cached and not corpus.temporary else None,
    }
    save(model, config, recipe, data, output, corpus)
    progress.info(
        f"{config.algo} ({config.arch}, {config.dim} dims): {len(model.wv):,} words, "
        f"{model.corpus_total_words:,} corpus words x {config.epochs} epochs in {seconds:.1f} s "
        f"({rate:,.0f} words/s) -> {output}"
    )
    return store.read_manifest(output)


def normalized(vectors):
    """Rows scaled to unit length as gensim does (float32; zero rows stay zero)."""
    import numpy as np

    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1)
    norms[norms == 0] = 1
    return (vectors / norms[:, np.newaxis]).astype(np.float32)


def save(
    model,
    config: EmbedConfig,
    recipe: Recipe,
    data: dict,
    output: str,
    corpus: corpus_mod.Corpus | None = None,
) -> None:
    """Write the model directory atomically: gensim's files, the query index, the manifest last."""
    import shutil

    import numpy as np

    with store.building(output) as tmp:
        model.save(os.path.join(tmp, store.GENSIM_FILE), sep_limit=0)
        with open(os.path.join(tmp, store.VOCAB), "w", encoding="utf-8", newline="\n") as fh:
            for word in model.wv.index_to_key:
                fh.write(f"{word}\n")
        np.save(os.path.join(tmp, store.INDEX), normalized(model.wv.vectors))
        if config.algo == "doc2vec" and corpus is not None and corpus.docs_path:
            from nlpcli.embed.docs import line_offsets

            for src, name in ((corpus.docs_path, store.DOCS), (corpus.ids_path, store.DOC_IDS)):
                shutil.copyfile(src, os.path.join(tmp, name))
                np.save(os.path.join(tmp, name + ".offsets.npy"), line_offsets(src))
        extra = {"word_vectors": config.has_word_vectors, "dim": config.dim}
        if config.algo == "fasttext":
            extra["subwords"] = {"min_n": config.min_n, "max_n": config.max_n, "bucket": config.bucket}
        store.write_manifest(
            tmp, config.algo, params=asdict(config), recipe=recipe.to_dict(), data=data, extra=extra
        )
