"""Count and tf-idf features: scikit-learn's vectorizers, augmented tf with smoothed idf, and a union of
word and character n-grams, wrapped in one :class:`TextFeatures` object that artifacts store.

Input to ``fit``/``transform`` is *tokenized* text (whitespace-separated tokens, as
``nlpcli preprocess`` writes it); the character n-gram part, when asked for, reads the same
text with the token boundaries as spaces. Tokens are used exactly as they are: no lowercasing
and no token pattern, unless asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from nlpcli.artifacts import picklable
from nlpcli.errors import DataError, UsageError

KINDS = ("count", "tfidf")
#: --hashing: bits per block (2**bits columns; the document frequencies take 8 bytes a column)
MIN_HASH_BITS, MAX_HASH_BITS = 4, 28
ANALYZERS = ("word", "char", "char_wb")
WEIGHTINGS = ("sklearn", "augmented")
#: older names still accepted for a weighting
WEIGHTING_ALIASES = {"lecture": "augmented"}


@picklable
def whitespace_tokens(text: str) -> list[str]:
    """The tokenizer for pre-tokenized text: tokens are whatever whitespace separates."""
    return text.split()


def parse_ngram(value: str | Sequence[int]) -> tuple[int, int]:
    """``"1,2"`` or ``"2"`` to ``(1, 2)`` / ``(2, 2)``."""
    if not isinstance(value, str):
        lo, hi = value
    else:
        try:
            parts = [int(p) for p in value.replace("-", ",").split(",") if p.strip()]
        except ValueError:
            raise UsageError(f"n-gram range must look like 1,2 (got {value!r})") from None
        if len(parts) == 1:
            parts = parts * 2
        if len(parts) != 2:
            raise UsageError(f"n-gram range must look like 1,2 (got {value!r})")
        lo, hi = parts
    if not 1 <= lo <= hi:
        raise UsageError(f"n-gram range needs 1 <= MIN <= MAX (got {lo},{hi})")
    return lo, hi


def parse_df(value: str | int | float, name: str) -> int | float:
    """scikit-learn's convention: an int is a document count, a float in [0, 1] a fraction."""
    if isinstance(value, (int, float)):
        number = value
    else:
        text = value.strip()
        try:
            number = int(text) if text.isdigit() else float(text)
        except ValueError:
            raise UsageError(f"{name} must be a count (3) or a fraction (0.9); got {value!r}") from None
    if isinstance(number, float) and not 0.0 <= number <= 1.0:
        raise UsageError(f"{name} as a fraction must be within [0, 1]; got {number}")
    if isinstance(number, int) and number < 0:
        raise UsageError(f"{name} must not be negative")
    return number


@dataclass
class VectorizerConfig:
    kind: str = "tfidf"
    ngram: tuple[int, int] = (1, 1)
    analyzer: str = "word"
    min_df: int | float = 1
    max_df: int | float = 1.0
    binary: bool = False
    max_features: int | None = None
    sublinear_tf: bool = False
    lowercase: bool = False
    weighting: str = "sklearn"
    norm: str | None = "l2"
    char_ngram: tuple[int, int] | None = None  # add a char_wb tf-idf block of this range
    char_source: str = "tokens"  # the char block reads the tokenized text, or "text": the raw text
    hashing: int | None = None  # hash terms into 2**hashing columns per block: no vocabulary is kept

    def __post_init__(self):
        if self.kind not in KINDS:
            raise UsageError(f"--kind must be one of {', '.join(KINDS)}")
        if self.analyzer not in ANALYZERS:
            raise UsageError(f"--analyzer must be one of {', '.join(ANALYZERS)}")
        self.weighting = WEIGHTING_ALIASES.get(self.weighting, self.weighting)
        if self.weighting not in WEIGHTINGS:
            raise UsageError(f"--weighting must be one of {', '.join(WEIGHTINGS)}")
        if self.weighting == "augmented" and self.kind != "tfidf":
            raise UsageError("--weighting augmented is a tf-idf weighting: use it with --kind tfidf")
        if self.norm not in (None, "l1", "l2"):
            raise UsageError("--norm must be l1, l2 or none")
        if self.max_features is not None and self.max_features < 1:
            raise UsageError("--max-features must be positive")
        self.ngram = parse_ngram(self.ngram)
        if self.char_ngram is not None:
            self.char_ngram = parse_ngram(self.char_ngram)
        if self.char_source not in ("tokens", "text"):
            raise UsageError("--char-source must be tokens or text")
        self.min_df = parse_df(self.min_df, "--min-df")
        self.max_df = parse_df(self.max_df, "--max-df")
        if self.hashing is not None:
            if not MIN_HASH_BITS <= self.hashing <= MAX_HASH_BITS:
                raise UsageError(
                    f"--hashing takes a number of bits from {MIN_HASH_BITS} to {MAX_HASH_BITS} "
                    f"(20: 2^20 = 1,048,576 columns); got {self.hashing}"
                )
            if self.max_features is not None:
                raise UsageError("--max-features needs a vocabulary: it does not combine with --hashing")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ngram"] = list(self.ngram)
        d["char_ngram"] = list(self.char_ngram) if self.char_ngram else None
        return d


class AugmentedTfidfTransformer:
    """tf-idf with augmented term frequency 0.5 + 0.5·f(t,d)/max_w f(w,d)
    (on the terms present in d, so the matrix stays sparse) times idf = log(|D| / (1 + df(t)))."""

    def __init__(self, norm: str | None = None):
        self.norm = norm

    def fit(self, X, y=None):
        X = sp.csr_matrix(X)
        return self.fit_df(np.bincount(X.indices, minlength=X.shape[1]), X.shape[0])

    def fit_df(self, df: np.ndarray, n_docs: int):
        """Fit from the document frequency of each column over ``n_docs`` documents."""
        self.idf_ = np.log(n_docs / (1.0 + df))
        return self

    def transform(self, X):
        X = sp.csr_matrix(X, dtype=np.float64, copy=True)
        if X.nnz:
            row_max = np.maximum.reduceat(X.data, X.indptr[:-1][np.diff(X.indptr) > 0])
            counts = np.diff(X.indptr)
            X.data = 0.5 + 0.5 * X.data / np.repeat(row_max, counts[counts > 0])
            X.data *= self.idf_[X.indices]
        if self.norm:
            from sklearn.preprocessing import normalize

            X = normalize(X, norm=self.norm, copy=False)
        return X

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)


#: the name artifacts written before the rename refer to
LectureTfidfTransformer = AugmentedTfidfTransformer


class TextFeatures:
    """A fitted feature extractor: tokenized text in, a sparse matrix out.

    Holds the word (or char) vectorizer, the optional character n-gram block, the augmented tf-idf
    weighting when chosen, and the document frequency of every feature (for ``inspect``).

    Two ways to fit: :meth:`fit_transform` on documents in memory (scikit-learn's own fit), and
    :meth:`fit_chunks` on a stream of chunks, which only counts document frequencies and so
    never holds the corpus (the same vocabulary and idf). With ``config.hashing`` the blocks are
    scikit-learn ``HashingVectorizer`` s and the idf comes from per-column counts.
    """

    #: with hashing: the tf-idf of the character block, and the columns kept by min/max df
    #: (None: all); class attributes so that artifacts written without them load as before
    char_weighting = None
    masks: tuple[np.ndarray | None, np.ndarray | None] = (None, None)

    def __init__(self, config: VectorizerConfig):
        self.config = config
        self.vectorizer = None
        self.char_vectorizer = None
        self.weighting = None
        self.doc_freq: np.ndarray | None = None
        self.n_docs = 0

    # -- building ---------------------------------------------------------------------------

    @property
    def augmented(self) -> bool:
        return WEIGHTING_ALIASES.get(self.config.weighting, self.config.weighting) == "augmented"

    def _word_params(self) -> dict:
        """The options of the main block's analyzer (what turns a document into terms)."""
        c = self.config
        params = dict(ngram_range=c.ngram, lowercase=c.lowercase, dtype=np.float64)
        if c.analyzer == "word":
            params.update(analyzer="word", tokenizer=whitespace_tokens, token_pattern=None)
        else:
            params.update(analyzer=c.analyzer)
        return params

    def _char_params(self) -> dict:
        c = self.config
        return dict(analyzer="char_wb", ngram_range=c.char_ngram, lowercase=c.lowercase, dtype=np.float64)

    def _make_main(self):
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

        c = self.config
        common = dict(
            min_df=c.min_df,
            max_df=c.max_df,
            binary=c.binary,
            max_features=c.max_features,
            **self._word_params(),
        )
        if c.kind == "count" or self.augmented:
            return CountVectorizer(**common)
        return TfidfVectorizer(sublinear_tf=c.sublinear_tf, norm=c.norm, **common)

    def _make_char(self):
        from sklearn.feature_extraction.text import TfidfVectorizer

        c = self.config
        return TfidfVectorizer(
            min_df=c.min_df,
            max_df=c.max_df,
            sublinear_tf=True,
            max_features=c.max_features,
            **self._char_params(),
        )

    @property
    def needs_raw(self) -> bool:
        """True when the character block reads the raw text (``char_source="text"``): then
        ``fit_transform``/``transform`` need ``raw``, the documents before tokenization."""
        return bool(getattr(self.config, "char_source", "tokens") == "text" and self.config.char_ngram)

    def _char_input(self, texts: Sequence[str], raw: Sequence[str] | None) -> Sequence[str]:
        if not self.needs_raw:
            return texts
        if raw is None or len(raw) != len(texts):
            raise UsageError(
                "these features read character n-grams of the raw text: give the raw "
                "documents too (not pre-tokenized input)"
            )
        return raw

    def fit_transform(self, texts: Sequence[str], raw: Sequence[str] | None = None):
        if len(texts) == 0:
            raise DataError("no documents to fit the vectorizer on")
        if self.config.hashing is not None:
            self.fit_chunks([(texts, raw)])
            return self.transform(texts, raw)
        self.n_docs = len(texts)
        self.vectorizer = self._make_main()
        try:
            X = self.vectorizer.fit_transform(texts)
        except ValueError as exc:  # empty vocabulary, min_df > max_df, ...
            raise DataError(f"cannot build a vocabulary: {exc}") from None
        if self.augmented:
            self.weighting = AugmentedTfidfTransformer(norm=self.config.norm)
            X = self.weighting.fit_transform(X)
        blocks = [X]
        if self.config.char_ngram:
            self.char_vectorizer = self._make_char()
            try:
                blocks.append(self.char_vectorizer.fit_transform(self._char_input(texts, raw)))
            except ValueError as exc:
                raise DataError(f"cannot build a character vocabulary: {exc}") from None
        X = blocks[0] if len(blocks) == 1 else sp.hstack(blocks, format="csr")
        self.doc_freq = np.bincount(X.indices, minlength=X.shape[1]).astype(np.int64)
        return X

    # -- fitting from a stream of chunks ----------------------------------------------------

    def counters(self) -> list:
        """One fresh count per block (word, then char): what :meth:`count_chunk` adds to."""
        from nlpcli.features.counting import HashedCounts, TermCounts

        n = 1 + bool(self.config.char_ngram)
        if self.config.hashing is None:
            return [TermCounts() for _ in range(n)]
        return [HashedCounts.empty(2**self.config.hashing) for _ in range(n)]

    def count_chunk(self, counts: list, texts: Sequence[str], raw: Sequence[str] | None = None) -> None:
        """Add one chunk's document frequencies (and term counts) to ``counts``."""
        from sklearn.feature_extraction.text import CountVectorizer

        inputs = [texts]
        params = [self._word_params()]
        if self.config.char_ngram:
            inputs.append(self._char_input(texts, raw))
            params.append(self._char_params())
        for count, docs, p, binary in zip(counts, inputs, params, (self.config.binary, False)):
            if self.config.hashing is not None:
                count.add_matrix(self._hasher(p, binary).transform(docs))
            else:
                count.add_documents(CountVectorizer(**p).build_analyzer(), docs, binary)

    def fit_chunks(self, chunks) -> None:
        """Fit on ``(texts, raw)`` chunks (``raw`` may be None unless the char block reads raw
        text), counting as they stream past: memory grows with the vocabulary, not the corpus."""
        counts = self.counters()
        for texts, raw in chunks:
            self.count_chunk(counts, texts, raw)
        self.fit_counts(counts)

    def fit_counts(self, counts: list) -> None:
        """Become the fitted extractor the merged ``counts`` describe."""
        n_docs = counts[0].n_docs
        if n_docs == 0:
            raise DataError("no documents to fit the vectorizer on")
        self.n_docs = n_docs
        if self.config.hashing is not None:
            self._fit_hashed(counts)
        else:
            self._fit_vocabulary(counts)

    def _fit_vocabulary(self, counts: list) -> None:
        from sklearn.feature_extraction.text import TfidfTransformer

        from nlpcli.features.counting import prune, smooth_idf

        c = self.config
        self.vectorizer = self._make_main()
        vocabulary, df = prune(counts[0], c.min_df, c.max_df, c.max_features)
        _set_vocabulary(self.vectorizer, vocabulary)
        if c.kind == "tfidf" and not self.augmented:
            self.vectorizer._tfidf = _fitted_tfidf(
                TfidfTransformer(norm=c.norm, sublinear_tf=c.sublinear_tf), smooth_idf(df, self.n_docs)
            )
        elif self.augmented:
            self.weighting = AugmentedTfidfTransformer(norm=c.norm).fit_df(df, self.n_docs)
        dfs = [df]
        if c.char_ngram:
            self.char_vectorizer = self._make_char()
            char_vocabulary, char_df = prune(counts[1], c.min_df, c.max_df, c.max_features)
            _set_vocabulary(self.char_vectorizer, char_vocabulary)
            self.char_vectorizer._tfidf = _fitted_tfidf(
                TfidfTransformer(sublinear_tf=True), smooth_idf(char_df, self.n_docs)
            )
            dfs.append(char_df)
        self.doc_freq = np.concatenate(dfs).astype(np.int64)

    def _hasher(self, params: dict, binary: bool):
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(
            n_features=2**self.config.hashing, alternate_sign=False, norm=None, binary=binary, **params
        )

    def _fit_hashed(self, counts: list) -> None:
        from sklearn.feature_extraction.text import TfidfTransformer

        from nlpcli.features.counting import df_bounds, smooth_idf

        c = self.config
        low, high = df_bounds(c.min_df, c.max_df, self.n_docs)
        masks = []
        for count in counts:
            kept = (count.df >= low) & (count.df <= high)
            masks.append(None if kept.all() else kept)
        self.masks = (masks[0], masks[1] if len(masks) > 1 else None)
        self.vectorizer = self._hasher(self._word_params(), c.binary)
        if self.augmented:
            self.weighting = AugmentedTfidfTransformer(norm=c.norm).fit_df(counts[0].df, self.n_docs)
        elif c.kind == "tfidf":
            self.weighting = _fitted_tfidf(
                TfidfTransformer(norm=c.norm, sublinear_tf=c.sublinear_tf),
                smooth_idf(counts[0].df, self.n_docs),
            )
        if c.char_ngram:
            self.char_vectorizer = self._hasher(self._char_params(), False)
            self.char_weighting = _fitted_tfidf(
                TfidfTransformer(sublinear_tf=True), smooth_idf(counts[1].df, self.n_docs)
            )
        self.doc_freq = np.concatenate([count.df for count in counts]).astype(np.int64)

    # -- using ------------------------------------------------------------------------------

    def transform(self, texts: Sequence[str], raw: Sequence[str] | None = None):
        if self.vectorizer is None:
            raise UsageError("the vectorizer is not fitted")
        X = self._block(self.vectorizer, self.weighting, self.masks[0], texts)
        if self.char_vectorizer is not None:
            chars = self._block(
                self.char_vectorizer, self.char_weighting, self.masks[1], self._char_input(texts, raw)
            )
            X = sp.hstack([X, chars], format="csr")
        return sp.csr_matrix(X)

    @staticmethod
    def _block(vectorizer, weighting, mask, docs: Sequence[str]):
        X = vectorizer.transform(docs)
        if mask is not None:  # hashed columns outside the document-frequency bounds
            X = sp.csr_matrix(X)
            X.data[~mask[X.indices]] = 0
            X.eliminate_zeros()
        return X if weighting is None else weighting.transform(X)

    # -- looking inside ---------------------------------------------------------------------

    def feature_names(self) -> np.ndarray:
        if self.config.hashing is not None:
            raise UsageError("hashed features have no names: no vocabulary is kept")
        names = [np.asarray(self.vectorizer.get_feature_names_out(), dtype=object)]
        if self.char_vectorizer is not None:
            chars = self.char_vectorizer.get_feature_names_out()
            names.append(np.asarray(["char:" + n for n in chars], dtype=object))
        return np.concatenate(names)

    @property
    def n_features(self) -> int:
        return len(self.doc_freq) if self.doc_freq is not None else 0

    def summary(self, top: int = 20) -> dict:
        info = {"config": self.config.to_dict(), "documents": int(self.n_docs), "features": self.n_features}
        if self.config.hashing is not None:
            width = 2**self.config.hashing
            info.update(
                word_features=width,
                char_features=width if self.char_vectorizer else 0,
                hashing=self.config.hashing,
                columns_used=int((self.doc_freq > 0).sum()),
                df_histogram=df_histogram(self.doc_freq),
            )
            return info
        names = self.feature_names()
        df = self.doc_freq
        order = np.argsort(-df, kind="stable")
        rare = np.argsort(df, kind="stable")
        info.update(
            word_features=int(len(self.vectorizer.vocabulary_)),
            char_features=int(len(self.char_vectorizer.vocabulary_)) if self.char_vectorizer else 0,
            most_frequent=[[str(names[i]), int(df[i])] for i in order[:top]],
            least_frequent=[[str(names[i]), int(df[i])] for i in rare[:top]],
        )
        return info


def _set_vocabulary(vectorizer, vocabulary: dict[str, int]) -> None:
    """Make a scikit-learn count/tf-idf vectorizer fitted with this vocabulary (as its fit does)."""
    vectorizer.vocabulary_ = vocabulary
    vectorizer.fixed_vocabulary_ = False


def _fitted_tfidf(transformer, idf: np.ndarray):
    """A scikit-learn ``TfidfTransformer`` fitted to ``idf`` (what its ``fit`` would compute)."""
    transformer.idf_ = idf
    transformer.n_features_in_ = len(idf)
    return transformer


def df_histogram(df: np.ndarray) -> list[list]:
    """Columns by document frequency in powers of ten: [["0", n], ["1", n], ["2-9", n], ...]."""
    edges = [0, 1, 2, 10]
    while edges[-1] <= max(int(df.max(initial=0)), 1):
        edges.append(edges[-1] * 10)
    rows = []
    for lo, hi in zip(edges, edges[1:]):
        n = int(((df >= lo) & (df < hi)).sum())
        label = str(lo) if hi == lo + 1 else f"{lo}-{hi - 1}"
        if n or lo == 0:
            rows.append([label, n])
    return rows
