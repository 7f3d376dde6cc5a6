"""``embed export``: word vectors in the word2vec text or binary format, for other tools.

Trained models are written by gensim's ``save_word2vec_format``; imported ones (kind ``vectors``,
no gensim model) from ``vocab.txt`` and ``vectors.npy`` directly, numbers as ``%.9g`` (every
float32 reads back exactly).
"""

from __future__ import annotations

from nlpcli.embed import store
from nlpcli.errors import UsageError
from nlpcli.textio import check_output, output_path

FORMATS = ("word2vec-text", "word2vec-bin")


def export(
    model: str, output: str | None, fmt: str = "word2vec-text", limit: int | None = None, trust: bool = False
) -> int:
    """Write the model's word vectors with gensim's ``save_word2vec_format`` (``None`` or ``-``:
    stdout); returns their count."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    check_output(output, binary=fmt == "word2vec-bin")
    manifest = store.read_manifest(model, store.WORD_KINDS)
    if manifest["kind"] == store.IMPORTED_KIND:
        return _export_imported(model, manifest, output, fmt, limit)
    if not manifest.get("word_vectors", True):
        raise UsageError(
            f"{model}: this doc2vec model has no trained word vectors (PV-DBOW without --dbow-words)"
        )
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
    with output_path(output, binary=fmt == "word2vec-bin") as tmp:
        wv.save_word2vec_format(tmp, binary=fmt == "word2vec-bin")
    return count


def _export_imported(model: str, manifest: dict, output: str | None, fmt: str, limit: int | None) -> int:
    """An imported model's words and raw vectors, streamed (``vocab.txt`` and ``vectors.npy``)."""
    import numpy as np

    model_dir = store.resolve(model)
    words = store.read_vocab(model_dir)
    vectors = np.load(store.array_path(model_dir, manifest, "vectors"), mmap_mode="r")
    count = min(limit, len(words)) if limit else len(words)
    dim = vectors.shape[1]
    row_text = " %.9g" * dim
    with output_path(output, binary=fmt == "word2vec-bin") as tmp, open(tmp, "wb") as fh:
        fh.write(f"{count} {dim}\n".encode())
        for start in range(0, count, 4096):
            block = np.asarray(vectors[start : min(count, start + 4096)], dtype="<f4")
            for word, row in zip(words[start : start + len(block)], block):
                if fmt == "word2vec-bin":
                    fh.write(f"{word} ".encode() + row.tobytes())
                else:
                    fh.write((word + row_text % tuple(row.tolist()) + "\n").encode())
    return count
