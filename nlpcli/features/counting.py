"""Document frequencies counted chunk by chunk, so that fitting features never holds the corpus.

Fitting a vectorizer needs, per term, the number of documents it occurs in (for min/max df and
idf) and its total count (for ``--max-features``): both are sums over documents, so they can be
counted one chunk at a time and merged (on one machine, or from many workers by a tree
reduction). :func:`prune` then applies scikit-learn's own rules to the merged counts, in the
same order and with the same arithmetic, so the vocabulary and idf equal those of an in-memory
``fit_transform`` on the same documents.

With hashing there is no vocabulary: a term's column is its hash, and the counts are one array
of ``2**bits`` document frequencies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
import scipy.sparse as sp

from nlpcli.errors import DataError, UsageError


@dataclass
class TermCounts:
    """Per term: the documents it occurs in (``df``) and its total count (``tf``)."""

    index: dict[str, int] = field(default_factory=dict)
    df: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    tf: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))
    n_docs: int = 0

    def _grow(self, size: int) -> None:
        if size > len(self.df):
            capacity = max(size, 2 * len(self.df), 1024)
            self.df = np.concatenate([self.df, np.zeros(capacity - len(self.df), dtype=np.int64)])
            self.tf = np.concatenate([self.tf, np.zeros(capacity - len(self.tf), dtype=np.float64)])

    def add(self, terms, df: np.ndarray, tf: np.ndarray, n_docs: int) -> None:
        """Add the counts of distinct ``terms`` (any iterable, in the order of ``df``/``tf``)."""
        index = self.index
        ids = np.fromiter((index.setdefault(t, len(index)) for t in terms), dtype=np.int64, count=len(df))
        self._grow(len(index))
        self.df[ids] += df
        self.tf[ids] += tf
        self.n_docs += n_docs

    def add_documents(
        self, analyze: Callable[[str], list[str]], docs: Sequence[str], binary: bool = False
    ) -> None:
        """Count the terms ``analyze`` finds in each of ``docs`` (one dictionary look-up a term,
        as scikit-learn's own counting does)."""
        index = self.index
        columns: list[int] = []
        indptr = [0]
        for doc in docs:
            for term in analyze(doc):
                j = index.get(term)
                if j is None:
                    j = index[term] = len(index)
                columns.append(j)
            indptr.append(len(columns))
        n = len(index)
        X = sp.csr_matrix(
            (np.ones(len(columns)), np.asarray(columns, dtype=np.int64), indptr), shape=(len(docs), n)
        )
        X.sum_duplicates()  # one entry per (document, term): its count
        self._grow(n)
        df = np.bincount(X.indices, minlength=n)
        self.df[:n] += df
        self.tf[:n] += df if binary else np.bincount(X.indices, weights=X.data, minlength=n)
        self.n_docs += len(docs)

    def copy(self) -> TermCounts:
        return TermCounts(dict(self.index), self.df.copy(), self.tf.copy(), self.n_docs)

    def size(self) -> int:
        return len(self.index)

    def merge(self, other: TermCounts) -> TermCounts:
        """This plus ``other`` (in place); the order of merging does not change the result."""
        n = len(other.index)
        self.add(other.index, other.df[:n], other.tf[:n], other.n_docs)
        return self

    def sorted_arrays(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Terms in scikit-learn's vocabulary order (sorted), with their df and tf."""
        terms = sorted(self.index)
        ids = np.fromiter((self.index[t] for t in terms), dtype=np.int64, count=len(terms))
        return terms, self.df[ids], self.tf[ids]


@dataclass
class HashedCounts:
    """Document frequencies of ``2**bits`` hashed columns."""

    df: np.ndarray
    n_docs: int = 0

    @classmethod
    def empty(cls, n_features: int) -> HashedCounts:
        return cls(np.zeros(n_features, dtype=np.int64))

    def add_matrix(self, X) -> None:
        self.df += column_document_counts(X)
        self.n_docs += X.shape[0]

    def copy(self) -> HashedCounts:
        return HashedCounts(self.df.copy(), self.n_docs)

    def size(self) -> int:
        return len(self.df)

    def merge(self, other: HashedCounts) -> HashedCounts:
        if len(other.df) != len(self.df):
            raise UsageError("cannot merge hashed counts of different widths")
        self.df += other.df
        self.n_docs += other.n_docs
        return self


def column_document_counts(X) -> np.ndarray:
    """In how many rows (documents) each column of a CSR matrix is stored (non-zero)."""
    X.sum_duplicates()
    return np.bincount(X.indices, minlength=X.shape[1]).astype(np.int64)


def df_bounds(min_df: int | float, max_df: int | float, n_docs: int) -> tuple[float, float]:
    """(lowest, highest) document count a term may have, as scikit-learn computes them."""
    high = max_df if isinstance(max_df, Integral) else max_df * n_docs
    low = min_df if isinstance(min_df, Integral) else min_df * n_docs
    if high < low:
        raise DataError("cannot build a vocabulary: max_df corresponds to < documents than min_df")
    return low, high


def prune(
    counts: TermCounts, min_df: int | float, max_df: int | float, max_features: int | None
) -> tuple[dict[str, int], np.ndarray]:
    """The vocabulary (term -> column) and the df of its columns, after scikit-learn's pruning:
    terms outside [min_df, max_df] go, then all but the ``max_features`` most frequent."""
    if not counts.index:
        raise DataError(
            "cannot build a vocabulary: empty vocabulary; perhaps the documents only contain stop words"
        )
    terms, df, tf = counts.sorted_arrays()
    low, high = df_bounds(min_df, max_df, counts.n_docs)
    mask = (df <= high) & (df >= low)
    if max_features is not None and mask.sum() > max_features:
        best = (-tf[mask]).argsort()[:max_features]
        limited = np.zeros(len(df), dtype=bool)
        limited[np.where(mask)[0][best]] = True
        mask = limited
    kept = np.where(mask)[0]
    if len(kept) == 0:
        raise DataError(
            "cannot build a vocabulary: after pruning, no terms remain. Try a lower "
            "min_df or a higher max_df."
        )
    return {terms[i]: column for column, i in enumerate(kept)}, df[kept]


def smooth_idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    """scikit-learn's smoothed idf, ln((1 + n) / (1 + df)) + 1, with its arithmetic (float64)."""
    df = df.astype(np.float64) + 1.0
    idf = np.full_like(df, fill_value=n_docs + 1, dtype=np.float64)
    idf /= df
    np.log(idf, out=idf)
    idf += 1.0
    return idf


def merged(a: list, b: list) -> list:
    """Block by block, the sum of two lists of counts (word block, then char block), as new
    objects: ``a`` and ``b`` are left as they were (a cluster may rerun a merge on the same
    inputs). The bigger count of each pair is copied and the smaller one added to it."""
    out = []
    for x, y in zip(a, b):
        big, small = (x, y) if x.size() >= y.size() else (y, x)
        out.append(big.copy().merge(small))
    return out
