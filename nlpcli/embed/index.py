"""The query side of an embed model: numpy only, memory-mapped, no gensim.

``index.npy`` holds the L2-normalized word vectors (float32, gensim's vocabulary order), so
``similar`` is one matrix-vector product over a memory-mapped file and a partial sort: the same
arithmetic as gensim's ``most_similar`` (mean of the normalized query vectors, normalized, dot
with every normalized row), the same neighbours and scores. FastText models also answer for
words outside the vocabulary, from gensim's own n-gram bucket file (memory-mapped) and a port of
its n-gram hashing; so do vectors imported from a fastText ``.bin`` (``embed import``).
"""

from __future__ import annotations

import difflib
import os
import unicodedata
from dataclasses import dataclass

import numpy as np

from nlpcli.embed import store
from nlpcli.errors import NlpcliError, UsageError


class UnknownWordError(NlpcliError):
    """A query word the model has no vector for (exit 1)."""


# --------------------------------------------------------------------------------------------
# fastText n-grams, as gensim.models.fasttext_inner computes them


def ngram_bytes(word: str, min_n: int, max_n: int) -> list[bytes]:
    """The character n-grams of ``<word>`` as UTF-8 bytes (gensim's ``compute_ngrams_bytes``)."""
    data = f"<{word}>".encode()
    size = len(data)
    out = []
    for i in range(size):
        if data[i] & 0xC0 == 0x80:
            continue
        j, n = i, 1
        while j < size and n <= max_n:
            j += 1
            while j < size and data[j] & 0xC0 == 0x80:
                j += 1
            if n >= min_n and not (n == 1 and (i == 0 or j == size)):
                out.append(data[i:j])
            n += 1
    return out


def ft_hash(data: bytes) -> int:
    """Facebook fastText's FNV-1a variant over signed bytes (gensim's ``ft_hash_bytes``)."""
    h = 2166136261
    for b in data:
        h ^= (b - 256 if b > 127 else b) & 0xFFFFFFFF
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def ngram_hashes(word: str, min_n: int, max_n: int, bucket: int) -> list[int]:
    return [ft_hash(g) % bucket for g in ngram_bytes(word, min_n, max_n)]


# --------------------------------------------------------------------------------------------


@dataclass
class Hit:
    word: str
    score: float


class WordIndex:
    """Vocabulary + memory-mapped normalized vectors of one model."""

    def __init__(self, path: str):
        # only the files a query reads are checksummed (the others when they are first read)
        self.manifest = store.read_manifest(path, store.WORD_KINDS, checked=(store.VOCAB, store.INDEX))
        self.dir = store.resolve(path)
        self.kind = self.manifest["kind"]
        if not self.manifest.get("word_vectors", True):
            raise store.ArtifactKindError(
                f"{self.dir}: this doc2vec model was trained without word vectors "
                "(PV-DBOW); query documents with 'embed docs', or retrain with --dbow-words"
            )
        self.words = store.read_vocab(self.dir)
        self.vectors = np.load(os.path.join(self.dir, store.INDEX), mmap_mode="r")
        if len(self.words) != self.vectors.shape[0]:
            raise store.CorruptArtifactError(
                f"{self.dir}: vocabulary and index disagree; re-create the model"
            )
        self._lookup: dict[str, int] | None = None
        self._ngrams = None
        self._checked: set[str] = set()

    @property
    def lookup(self) -> dict[str, int]:
        if self._lookup is None:
            self._lookup = {w: i for i, w in enumerate(self.words)}
        return self._lookup

    def __len__(self) -> int:
        return len(self.words)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def subwords(self) -> dict | None:
        return self.manifest.get("subwords") if self.kind in ("fasttext", store.IMPORTED_KIND) else None

    # -- lookups ------------------------------------------------------------------------------

    @staticmethod
    def clean(word: str) -> str:
        return unicodedata.normalize("NFC", word.strip())

    def index_of(self, word: str) -> int | None:
        return self.lookup.get(word)

    def suggestions(self, word: str, n: int = 3) -> list[str]:
        """Nearest known spellings: the word without trailing particles/endings, then difflib over a slice."""
        found = []
        for cut in range(1, 4):
            stem = word[:-cut]
            if len(stem) >= 2 and stem in self.lookup:
                found.append(stem)
        if len(found) < n:
            # a cheap look at the 50k most frequent words of similar length
            pool = [w for w in self.words[:50_000] if abs(len(w) - len(word)) <= 1]
            found += [w for w in difflib.get_close_matches(word, pool, n=n, cutoff=0.6) if w not in found]
        return found[:n]

    def unknown(self, word: str) -> UnknownWordError:
        near = self.suggestions(word)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        return UnknownWordError(f"{word!r} is not in the model's vocabulary ({len(self):,} words){hint}")

    def _checked_array(self, name: str) -> str:
        """The file of the array ``name`` (:func:`store.array_path`), its checksum verified."""
        path = store.array_path(self.dir, self.manifest, name)
        if path not in self._checked:
            store.check_files(self.dir, self.manifest, [os.path.relpath(path, self.dir)])
            self._checked.add(path)
        return path

    def _ngram_matrix(self):
        if self._ngrams is None:
            self._ngrams = np.load(self._checked_array("ngrams"), mmap_mode="r")
        return self._ngrams

    def oov_vector(self, word: str) -> np.ndarray | None:
        """fastText: the raw vector of an out-of-vocabulary word from its n-grams (gensim's get_vector)."""
        sub = self.subwords
        if not sub or not sub.get("bucket"):
            return None
        hashes = ngram_hashes(word, sub["min_n"], sub["max_n"], sub["bucket"])
        if not hashes:
            return None
        rows = self._ngram_matrix()[hashes]
        out = np.zeros(self.dim, dtype=np.float32)
        for row in rows:  # summed in order, in float32, as gensim does
            out += row
        return out / np.float32(len(hashes))

    def unit(self, word: str, allow_oov: bool = True) -> tuple[np.ndarray, int | None]:
        """The normalized vector of ``word`` and its row (None for a fastText OOV word)."""
        word = self.clean(word)
        i = self.index_of(word)
        if i is not None:
            return np.asarray(self.vectors[i]), i
        if allow_oov:
            v = self.oov_vector(word)
            if v is not None:
                norm = np.linalg.norm(v)
                return (v / norm if norm else v).astype(np.float32), None
        raise self.unknown(word)

    def raw_vector(self, word: str) -> np.ndarray:
        """The unnormalized vector, exactly gensim's ``wv[word]``."""
        word = self.clean(word)
        i = self.index_of(word)
        if i is not None:
            fname = self._checked_array("vectors")
            return np.array(np.load(fname, mmap_mode="r")[i])
        v = self.oov_vector(word)
        if v is None:
            raise self.unknown(word)
        return v

    # -- queries ------------------------------------------------------------------------------

    def nearest(
        self, query: np.ndarray, topn: int, exclude: set[int] = frozenset(), restrict: int | None = None
    ) -> list[Hit]:
        mat = self.vectors if restrict is None else self.vectors[:restrict]
        scores = mat @ query
        k = min(len(scores), topn + len(exclude))
        if k <= 0:
            return []
        if k < len(scores):
            part = np.argpartition(-scores, k - 1)[:k]
        else:
            part = np.arange(len(scores))
        best = part[np.lexsort((part, -scores[part]))]
        hits = [Hit(self.words[i], float(scores[i])) for i in best if int(i) not in exclude]
        return hits[:topn]

    def similar(self, positive: list[str], negative: list[str] = (), topn: int = 10) -> list[Hit]:
        """gensim's ``most_similar(positive, negative, topn)``."""
        if not positive and not negative:
            raise UsageError("give at least one word")
        keys = list(positive) + list(negative)
        weights = [1.0] * len(positive) + [-1.0] * len(negative)
        mean = np.zeros(self.dim, dtype=np.float32)
        exclude = set()
        for word, weight in zip(keys, weights):
            vec, row = self.unit(word)
            mean += np.float32(weight) * vec
            if row is not None:
                exclude.add(row)
        mean = mean / np.float32(len(keys))
        norm = np.linalg.norm(mean)
        if norm:
            mean = (mean / norm).astype(np.float32)
        return self.nearest(mean, topn, exclude)

    def analogy(self, a: str, b: str, c: str, topn: int = 1) -> list[Hit]:
        """A is to B as C is to ?: most_similar(positive=[B, C], negative=[A]) (3CosAdd)."""
        return self.similar([b, c], [a], topn)

    def similarity(self, w1: str, w2: str) -> float:
        v1, _ = self.unit(w1)
        v2, _ = self.unit(w2)
        return float(np.dot(v1, v2))
