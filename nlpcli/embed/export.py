"""``embed export``: word vectors in the word2vec text or binary format, for other tools."""

from __future__ import annotations

from nlpcli.embed import store
from nlpcli.errors import UsageError
from nlpcli.textio import atomic_path

FORMATS = ("word2vec-text", "word2vec-bin")


def export(model: str, output: str, fmt: str = "word2vec-text", limit: int | None = None,
           trust: bool = False) -> int:
    """Write the model's word vectors with gensim's ``save_word2vec_format``; returns their count."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if output == "-":
        raise UsageError("export writes a file: give --output FILE")
    manifest = store.read_manifest(model, store.KINDS)
    if not manifest.get("word_vectors", True):
        raise UsageError(f"{model}: this doc2vec model has no trained word vectors (PV-DBOW without --dbow-words)")
    obj, _ = store.load_gensim(model, store.KINDS, trust=trust)
    wv = obj.wv
    count = min(limit, len(wv)) if limit else len(wv)
    if count < len(wv):
        from gensim.models import KeyedVectors

        top = KeyedVectors(wv.vector_size, dtype=wv.vectors.dtype)
        top.add_vectors(wv.index_to_key[:count], wv.vectors[:count])
        if "count" in wv.expandos:
            top.allocate_vecattrs(attrs=["count"], types=[wv.expandos["count"].dtype])
            top.expandos["count"][:] = wv.expandos["count"][:count]
        wv = top
    with atomic_path(output) as tmp:
        wv.save_word2vec_format(tmp, binary=fmt == "word2vec-bin")
    return count
