"""The fitted features of :class:`~nlpcli.features.vectorizers.TextFeatures` as plain tables
(vocabulary, idf, options), applied with numpy alone: the same matrix as scikit-learn's
``transform``, without importing scikit-learn or scipy (about a second of start-up).

:func:`export_tables` reads the tables out of a fitted extractor when a model is saved;
:func:`transform` turns texts into :class:`Rows` (a CSR matrix as three numpy arrays). The
analyzers copy scikit-learn's word n-grams, ``char`` and ``char_wb`` n-grams and its hashing
(MurmurHash3, written out here) step for step; ``nlpcli train`` checks the two give the same
numbers before it stores the tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: the separator of the stored vocabulary (terms in column order, joined); a vocabulary holding
#: it in a term is stored as a dict instead
_SEPARATOR = "\n"
_WHITE_SPACES = re.compile(r"\s\s+")


@dataclass
class Rows:
    """A CSR matrix: row ``i`` holds ``data[indptr[i]:indptr[i+1]]`` at columns ``indices[...]``
    (sorted within a row)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n_columns: int

    @property
    def row_ids(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))


# -- exporting ---------------------------------------------------------------------------------


def export_tables(extractor) -> dict | None:
    """The tables of a fitted ``TextFeatures`` (None for another kind of extractor, or options the
    plain path does not cover)."""
    from nlpcli.features.vectorizers import TextFeatures

    if type(extractor) is not TextFeatures or extractor.vectorizer is None:
        return None
    c = extractor.config
    blocks = [_block_tables(extractor.vectorizer, extractor.weighting, extractor.masks[0], c.hashing)]
    if blocks[0] is None:
        return None
    if extractor.char_vectorizer is not None:
        chars = _block_tables(
            extractor.char_vectorizer, extractor.char_weighting, extractor.masks[1], c.hashing
        )
        if chars is None:
            return None
        chars["source"] = "text" if extractor.needs_raw else "tokens"
        blocks.append(chars)
    return {"blocks": blocks, "needs_raw": extractor.needs_raw}


def _block_tables(vectorizer, weighting, mask, hashing: int | None) -> dict | None:
    """One block: analyzer options, terms (or hashing width), counting, weighting."""
    from sklearn.feature_extraction.text import (
        CountVectorizer,
        HashingVectorizer,
        TfidfTransformer,
        TfidfVectorizer,
    )

    from nlpcli.features.vectorizers import AugmentedTfidfTransformer, whitespace_tokens

    v = vectorizer
    word = v.analyzer == "word"
    if (word and v.tokenizer is not whitespace_tokens) or v.analyzer not in ("word", "char", "char_wb"):
        return None
    if getattr(v, "stop_words", None) is not None or getattr(v, "strip_accents", None) is not None:
        return None
    if v.preprocessor is not None:
        return None
    table: dict = {
        "analyzer": v.analyzer,
        "ngram": [int(n) for n in v.ngram_range],
        "lowercase": bool(v.lowercase),
        "binary": bool(v.binary),
        "mask": None if mask is None else np.asarray(mask, dtype=bool),
    }
    if isinstance(v, HashingVectorizer):
        if v.alternate_sign or v.norm is not None or hashing is None:
            return None
        table.update(terms=None, width=int(v.n_features))
    elif isinstance(v, CountVectorizer):
        table.update(_terms(v.vocabulary_))
    else:
        return None
    if isinstance(v, TfidfVectorizer):
        weighting = v._tfidf
    if weighting is None:
        table["weighting"] = None
    elif type(weighting) is AugmentedTfidfTransformer:
        table.update(weighting="augmented", idf=np.asarray(weighting.idf_, dtype=np.float64))
        table["norm"] = weighting.norm
    elif isinstance(weighting, TfidfTransformer):
        if not weighting.use_idf:
            return None
        table.update(weighting="tfidf", idf=np.asarray(weighting.idf_, dtype=np.float64))
        table.update(sublinear=bool(weighting.sublinear_tf), norm=weighting.norm)
    else:
        return None
    if table.get("norm") not in (None, "l1", "l2"):
        return None
    return table


def _terms(vocabulary: dict) -> dict:
    """The vocabulary as its terms in column order, joined by :data:`_SEPARATOR` (a compact
    string: loads in a fraction of the time a pickled dict of numpy integers takes)."""
    terms = [""] * len(vocabulary)
    for term, column in vocabulary.items():
        terms[int(column)] = term
    if any(_SEPARATOR in t for t in terms):
        return {"terms": {t: i for i, t in enumerate(terms)}, "width": len(terms)}
    return {"terms": _SEPARATOR.join(terms), "width": len(terms)}


# -- applying ----------------------------------------------------------------------------------


class PlainFeatures:
    """The exported tables, ready to transform texts (vocabularies are built on first use)."""

    def __init__(self, tables: dict):
        self.blocks = tables["blocks"]
        self.needs_raw = bool(tables.get("needs_raw"))
        self._vocabularies: list[dict | None] = [None] * len(self.blocks)

    @property
    def n_features(self) -> int:
        return sum(b["width"] for b in self.blocks)

    #: up to this many documents, terms are looked up in the joined vocabulary string itself
    #: (:class:`JoinedTerms`): building the dict of a 100k-term vocabulary takes longer
    FEW = 8

    def lookup(self, i: int, n_docs: int):
        """The term -> column mapping of block ``i`` for a batch of ``n_docs`` documents."""
        terms = self.blocks[i]["terms"]
        if n_docs <= self.FEW and isinstance(terms, str) and self._vocabularies[i] is None:
            return JoinedTerms(terms)
        return self.vocabulary(i)

    def vocabulary(self, i: int) -> dict:
        if self._vocabularies[i] is None:
            terms = self.blocks[i]["terms"]
            self._vocabularies[i] = (
                terms
                if isinstance(terms, dict)
                else dict(zip(terms.split(_SEPARATOR), range(self.blocks[i]["width"])))
            )
        return self._vocabularies[i]  # type: ignore[return-value]

    def transform(self, texts: Sequence[str], raw: Sequence[str] | None = None) -> Rows:
        parts = []
        for i, block in enumerate(self.blocks):
            docs = raw if block.get("source") == "text" else texts
            if docs is None or len(docs) != len(texts):
                from nlpcli.errors import UsageError

                raise UsageError(
                    "these features read character n-grams of the raw text: give the raw "
                    "documents too (not pre-tokenized input)"
                )
            parts.append(self._block(i, block, docs))
        return parts[0] if len(parts) == 1 else _hstack(parts)

    def _block(self, i: int, block: dict, docs: Sequence[str]) -> Rows:
        analyze = analyzer(block["analyzer"], tuple(block["ngram"]), block["lowercase"])
        if block["terms"] is None:
            rows = _hashed(docs, analyze, block["width"])
        else:
            rows = _counted(docs, analyze, self.lookup(i, len(docs)), block["width"])
        if block["binary"]:
            rows.data[:] = 1.0
        if block["mask"] is not None:  # hashed columns outside the document-frequency bounds
            rows = _keep(rows, block["mask"][rows.indices])
        return _weigh(rows, block)


class JoinedTerms:
    """Term -> column lookups in the stored vocabulary string (terms in column order, one a line):
    a search of the string per term, for a handful of documents."""

    def __init__(self, joined: str):
        self._text = _SEPARATOR + joined + _SEPARATOR

    def get(self, term: str) -> int | None:
        if _SEPARATOR in term:
            return None
        at = self._text.find(_SEPARATOR + term + _SEPARATOR)
        return None if at < 0 else self._text.count(_SEPARATOR, 0, at)


def analyzer(kind: str, ngram: tuple[int, int], lowercase: bool) -> Callable[[str], list[str]]:
    """scikit-learn's analyzer of that kind (word n-grams over whitespace tokens, char, char_wb)."""
    ngrams = {"word": _word_ngrams, "char": _char_ngrams, "char_wb": _char_wb_ngrams}[kind]
    if lowercase:
        return lambda doc: ngrams(doc.lower(), ngram)
    return lambda doc: ngrams(doc, ngram)


def _word_ngrams(doc: str, ngram: tuple[int, int]) -> list[str]:
    original = doc.split()
    min_n, max_n = ngram
    if max_n == 1:
        return original
    if min_n == 1:
        tokens = list(original)
        min_n += 1
    else:
        tokens = []
    n_original = len(original)
    for n in range(min_n, min(max_n + 1, n_original + 1)):
        for i in range(n_original - n + 1):
            tokens.append(" ".join(original[i : i + n]))
    return tokens


def _char_ngrams(doc: str, ngram: tuple[int, int]) -> list[str]:
    doc = _WHITE_SPACES.sub(" ", doc)
    length = len(doc)
    min_n, max_n = ngram
    if min_n == 1:
        grams = list(doc)
        min_n += 1
    else:
        grams = []
    for n in range(min_n, min(max_n + 1, length + 1)):
        for i in range(length - n + 1):
            grams.append(doc[i : i + n])
    return grams


def _char_wb_ngrams(doc: str, ngram: tuple[int, int]) -> list[str]:
    doc = _WHITE_SPACES.sub(" ", doc)
    min_n, max_n = ngram
    grams = []
    for w in doc.split():
        w = " " + w + " "
        length = len(w)
        for n in range(min_n, max_n + 1):
            offset = 0
            grams.append(w[offset : offset + n])
            while offset + n < length:
                offset += 1
                grams.append(w[offset : offset + n])
            if offset == 0:  # a short word (length < n) counts once
                break
    return grams


def _from_pairs(rows: list[int], cols: list[int], n_docs: int, width: int) -> Rows:
    """Count the (row, column) pairs: one entry per distinct pair, columns sorted within a row."""
    if not cols:
        return Rows(np.zeros(n_docs + 1, dtype=np.int64), np.zeros(0, np.int64), np.zeros(0), width)
    keys = np.asarray(rows, dtype=np.int64) * width + np.asarray(cols, dtype=np.int64)
    keys, counts = np.unique(keys, return_counts=True)
    row = keys // width
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=n_docs), out=indptr[1:])
    return Rows(indptr, keys - row * width, counts.astype(np.float64), width)


def _counted(docs: Sequence[str], analyze, vocabulary, width: int) -> Rows:
    rows: list[int] = []
    cols: list[int] = []
    get = vocabulary.get
    for r, doc in enumerate(docs):
        found = [j for j in map(get, analyze(doc)) if j is not None]
        cols.extend(found)
        rows.extend([r] * len(found))
    return _from_pairs(rows, cols, len(docs), width)


def _hashed(docs: Sequence[str], analyze, width: int) -> Rows:
    rows: list[int] = []
    cols: list[int] = []
    for r, doc in enumerate(docs):
        found = [hash_column(term, width) for term in analyze(doc)]
        cols.extend(found)
        rows.extend([r] * len(found))
    return _from_pairs(rows, cols, len(docs), width)


def hash_column(term: str, width: int) -> int:
    """The column scikit-learn's ``HashingVectorizer`` gives ``term``: ``abs(murmur3) % width``."""
    h = murmurhash3_32(term.encode("utf-8"))
    if h == -(2**31):
        return (2**31 - 1 - (width - 1)) % width
    return abs(h) % width


def murmurhash3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 (x86, 32 bits) of ``data`` as a signed integer, as scikit-learn computes it."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    n = len(data) - len(data) % 4
    for (k,) in _blocks(data[:n]):
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[n:]
    k = 0
    for i in reversed(range(len(tail))):
        k = (k << 8) | tail[i]
    if tail:
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def _blocks(data: bytes):
    import struct

    return struct.iter_unpack("<I", data)


def _keep(rows: Rows, keep: np.ndarray) -> Rows:
    """Only the entries where ``keep`` is true."""
    counts = np.bincount(rows.row_ids[keep], minlength=len(rows.indptr) - 1)
    indptr = np.zeros(len(rows.indptr), dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return Rows(indptr, rows.indices[keep], rows.data[keep], rows.n_columns)


def _weigh(rows: Rows, block: dict) -> Rows:
    """The block's tf-idf weighting and row normalization, as scikit-learn applies them."""
    weighting = block["weighting"]
    if weighting is None:
        return rows
    data = rows.data
    if weighting == "tfidf":
        if block["sublinear"]:
            np.log(data, data)
            data += 1.0
    elif len(data):  # augmented: 0.5 + 0.5 f / max f over the terms of the document
        lengths = np.diff(rows.indptr)
        row_max = np.maximum.reduceat(data, rows.indptr[:-1][lengths > 0])
        data[:] = 0.5 + 0.5 * data / np.repeat(row_max, lengths[lengths > 0])
    data *= block["idf"][rows.indices]
    norm = block.get("norm")
    if norm and len(data):
        ids = rows.row_ids
        sums = np.bincount(
            ids, weights=data * data if norm == "l2" else np.abs(data), minlength=len(rows.indptr) - 1
        )
        if norm == "l2":
            sums = np.sqrt(sums)
        sums[sums == 0] = 1.0
        data /= sums[ids]
    return rows


def _hstack(parts: list[Rows]) -> Rows:
    """Blocks side by side (the columns of each after those of the ones before it)."""
    offset = 0
    indices, data, lengths = [], [], []
    for p in parts:
        indices.append(p.indices + offset)
        data.append(p.data)
        lengths.append(np.diff(p.indptr))
        offset += p.n_columns
    n = len(parts[0].indptr) - 1
    order = np.argsort(np.concatenate([np.repeat(np.arange(n), k) for k in lengths]), kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.sum(lengths, axis=0), out=indptr[1:])
    return Rows(indptr, np.concatenate(indices)[order], np.concatenate(data)[order], offset)
