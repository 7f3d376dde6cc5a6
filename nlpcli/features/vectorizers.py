"""Count and tf-idf features: scikit-learn's vectorizers, augmented tf with smoothed idf, and a union of
word and character n-grams, wrapped in one :class:`TextFeatures` object that artifacts store.

Input to ``fit``/``transform`` is *tokenized* text (whitespace-separated tokens, as
``nlpcli preprocess`` writes it); the character n-gram part, when asked for, reads the same
text with the token boundaries as spaces. Tokens are used exactly as they are: no lowercasing
and no token pattern, unless asked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from nlpcli.artifacts import picklable
from nlpcli.errors import DataError, UsageError

KINDS = ("count", "tfidf")
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
        n_docs = X.shape[0]
        df = np.bincount(X.indices, minlength=X.shape[1])
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
    """

    def __init__(self, config: VectorizerConfig):
        self.config = config
        self.vectorizer = None
        self.char_vectorizer = None
        self.weighting = None
        self.doc_freq: np.ndarray | None = None
        self.n_docs = 0

    # -- building ---------------------------------------------------------------------------

    def _make_main(self):
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

        c = self.config
        common = dict(ngram_range=c.ngram, min_df=c.min_df, max_df=c.max_df, binary=c.binary,
                      max_features=c.max_features, lowercase=c.lowercase, dtype=np.float64)
        if c.analyzer == "word":
            common.update(analyzer="word", tokenizer=whitespace_tokens, token_pattern=None)
        else:
            common.update(analyzer=c.analyzer)
        if c.kind == "count" or WEIGHTING_ALIASES.get(c.weighting, c.weighting) == "augmented":
            return CountVectorizer(**common)
        return TfidfVectorizer(sublinear_tf=c.sublinear_tf, norm=c.norm, **common)

    def _make_char(self):
        from sklearn.feature_extraction.text import TfidfVectorizer

        c = self.config
        return TfidfVectorizer(analyzer="char_wb", ngram_range=c.char_ngram, min_df=c.min_df,
                               max_df=c.max_df, sublinear_tf=True, lowercase=c.lowercase,
                               max_features=c.max_features, dtype=np.float64)

    @property
    def needs_raw(self) -> bool:
        """True when the character block reads the raw text (``char_source="text"``): then
        ``fit_transform``/``transform`` need ``raw``, the documents before tokenization."""
        return bool(getattr(self.config, "char_source", "tokens") == "text" and self.config.char_ngram)

    def _char_input(self, texts: Sequence[str], raw: Sequence[str] | None) -> Sequence[str]:
        if not self.needs_raw:
            return texts
        if raw is None or len(raw) != len(texts):
            raise UsageError("these features read character n-grams of the raw text: give the raw "
                             "documents too (not pre-tokenized input)")
        return raw

    def fit_transform(self, texts: Sequence[str], raw: Sequence[str] | None = None):
        if len(texts) == 0:
            raise DataError("no documents to fit the vectorizer on")
        self.n_docs = len(texts)
        self.vectorizer = self._make_main()
        try:
            X = self.vectorizer.fit_transform(texts)
        except ValueError as exc:  # empty vocabulary, min_df > max_df, ...
            raise DataError(f"cannot build a vocabulary: {exc}") from None
        if WEIGHTING_ALIASES.get(self.config.weighting, self.config.weighting) == "augmented":
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

    def transform(self, texts: Sequence[str], raw: Sequence[str] | None = None):
        if self.vectorizer is None:
            raise UsageError("the vectorizer is not fitted")
        X = self.vectorizer.transform(texts)
        if self.weighting is not None:
            X = self.weighting.transform(X)
        if self.char_vectorizer is not None:
            X = sp.hstack([X, self.char_vectorizer.transform(self._char_input(texts, raw))], format="csr")
        return sp.csr_matrix(X)

    # -- looking inside ---------------------------------------------------------------------

    def feature_names(self) -> np.ndarray:
        names = [np.asarray(self.vectorizer.get_feature_names_out(), dtype=object)]
        if self.char_vectorizer is not None:
            chars = self.char_vectorizer.get_feature_names_out()
            names.append(np.asarray(["char:" + n for n in chars], dtype=object))
        return np.concatenate(names)

    @property
    def n_features(self) -> int:
        return len(self.doc_freq) if self.doc_freq is not None else 0

    def summary(self, top: int = 20) -> dict:
        names = self.feature_names()
        df = self.doc_freq
        order = np.argsort(-df, kind="stable")
        rare = np.argsort(df, kind="stable")
        return {
            "config": self.config.to_dict(),
            "documents": int(self.n_docs),
            "features": int(len(names)),
            "word_features": int(len(self.vectorizer.vocabulary_)),
            "char_features": int(len(self.char_vectorizer.vocabulary_)) if self.char_vectorizer else 0,
            "most_frequent": [[str(names[i]), int(df[i])] for i in order[:top]],
            "least_frequent": [[str(names[i]), int(df[i])] for i in rare[:top]],
        }
