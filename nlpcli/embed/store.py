"""The on-disk layout of an ``embed`` model, written atomically and checked on load.

A model is a directory::

    MODEL/
      nlpcli.json                 the manifest (kind, version, params, recipe, data, file sizes); written last
      model.gensim                gensim's own file: Word2Vec/FastText/Doc2Vec.load("MODEL/model.gensim")
      model.gensim.*.npy          gensim's arrays (every array stored separately, so they can be memory-mapped)
      vocab.txt                   the vocabulary, one word a line, most frequent first (gensim's order)
      index.npy                   the L2-normalized word vectors, float32, same order (the query index)
      docs.txt, doc_ids.txt       doc2vec: each training document's text and id, one a line

A model imported from another tool's vectors file (``embed import``, kind ``vectors``) has no
gensim file: ``vocab.txt``, ``index.npy``, the raw vectors in ``vectors.npy`` (what ``embed vector``
prints) and, from a fastText ``.bin``, the n-gram bucket matrix in ``ngrams.npy``; the manifest's
``arrays`` names them, ``subwords`` gives min_n/max_n/bucket, ``source`` the file it came from.

The query commands (similar, analogy, similarity, vector) read only ``nlpcli.json``,
``vocab.txt`` and memory-mapped ``.npy`` files: no gensim import, no unpickling. Commands that
need the gensim object (docs, export, fastText's own n-gram machinery) unpickle ``model.gensim``
through :mod:`nlpcli.artifacts`' allowlisting unpickler, so the file cannot run code.

The directory is built under a temporary name beside the target and renamed into place at the
end (the manifest, with the size of every file, is the last file written), so a crash or Ctrl-C
never leaves half a model; a truncated file is caught by its size.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator

from nlpcli import artifacts, versions
from nlpcli.errors import ArtifactError, ArtifactKindError, CorruptArtifactError, DataError  # noqa: F401
from nlpcli.textio import naming_write_errors, usual_mode

MANIFEST = "nlpcli.json"
GENSIM_FILE = "model.gensim"
VOCAB = "vocab.txt"
INDEX = "index.npy"
DOCS = "docs.txt"
DOC_IDS = "doc_ids.txt"

RAW_VECTORS = "vectors.npy"
NGRAMS = "ngrams.npy"

#: the kinds trained by nlpcli: a gensim model file beside the index
KINDS = ("word2vec", "fasttext", "doc2vec")
#: vectors imported from another tool's file (``embed import``): no gensim model
IMPORTED_KIND = "vectors"
#: kinds whose word vectors the query index holds (doc2vec only with word training)
WORD_KINDS = KINDS + (IMPORTED_KIND,)


def resolve(path: str | os.PathLike) -> str:
    """The model directory for ``path`` (the directory itself, or any file inside it)."""
    path = os.fspath(path)
    if os.path.isfile(path) and os.path.exists(os.path.join(os.path.dirname(path) or ".", MANIFEST)):
        return os.path.dirname(path) or "."
    return path


def read_manifest(
    path: str, kinds: Iterable[str] | None = None, checked: Iterable[str] | None = None, *, warn: bool = True
) -> dict:
    """Read and check ``MODEL/nlpcli.json``: kind, version, the size of every file, and the
    CRC-32 of the files named in ``checked`` (None: all of them). A command that reads only some
    files (a query: ``vocab.txt`` and ``index.npy``) checks those and calls :func:`check_files`
    before it opens another; reading a file it never uses would only cost time. With ``warn``,
    say when the tagger the model was made with has changed since."""
    model = resolve(path)
    if not os.path.exists(model):
        raise ArtifactError(f"{model}: no such model; check the path (train one with 'nlpcli embed train')")
    if not os.path.isdir(model):
        raise ArtifactError(
            f"{model}: not an embed model (the directory 'nlpcli embed train' or 'embed import' "
            f"writes); to query a vectors file (.vec, .bin, .txt), import it first: "
            f"nlpcli embed import {model} -o MODEL"
        )
    mpath = os.path.join(model, MANIFEST)
    if not os.path.exists(mpath):
        raise ArtifactError(
            f"{model}: not an nlpcli embed model (no {MANIFEST}); was it written by 'nlpcli embed train'?"
        )
    try:
        with open(mpath, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptArtifactError(f"{mpath}: corrupt manifest ({exc}); re-create the model") from None
    # kind and version first: a newer nlpcli may checksum its manifest another way
    manifest = artifacts.check_manifest(model, manifest, kinds)
    if "checksum" in manifest and manifest.pop("checksum") != _manifest_crc(manifest):
        raise CorruptArtifactError(
            f"{mpath}: checksum mismatch: changed or damaged since it was written; "
            "the model is corrupt, re-create it"
        )
    for name, size in manifest.get("files", {}).items():
        fpath = os.path.join(model, name)
        if not os.path.exists(fpath):
            raise CorruptArtifactError(f"{fpath}: missing; the model is incomplete, re-create it")
        actual = os.path.getsize(fpath)
        if actual != size:
            raise CorruptArtifactError(
                f"{fpath}: {'truncated' if actual < size else 'changed'} ({actual:,} bytes, "
                f"expected {size:,}); the model is corrupt, re-create it"
            )
    crcs = manifest.get("crc32", {})  # absent in models of nlpcli 0.1
    if not isinstance(crcs, dict) or (crcs and set(crcs) != set(manifest.get("files", {}))):
        raise CorruptArtifactError(f"{mpath}: damaged file list; the model is corrupt, re-create it")
    check_files(model, manifest, crcs if checked is None else checked)
    if warn:
        versions.warn_if_tagger_changed(model, manifest)
    return manifest


def check_files(model: str, manifest: dict, names: Iterable[str]) -> None:
    """Compare the CRC-32 of each of ``names`` (inside ``model``) with the manifest's (files it
    does not list, and models of nlpcli 0.1 without CRCs, go unchecked)."""
    crcs = manifest.get("crc32", {})
    for name in names:
        if name in crcs and _crc32(os.path.join(model, name)) != crcs[name]:
            raise CorruptArtifactError(
                f"{os.path.join(model, name)}: checksum mismatch: changed or damaged "
                "since it was written; the model is corrupt, re-create it"
            )


def _manifest_crc(manifest: dict) -> int:
    """CRC-32 of the manifest itself (without its ``checksum`` field), in a canonical form."""
    import zlib

    return zlib.crc32(json.dumps(manifest, sort_keys=True, ensure_ascii=False).encode("utf-8"))


def _crc32(path: str) -> int:
    """CRC-32 of a file (a few GB/s: cheap next to loading the model)."""
    import zlib

    crc = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            crc = zlib.crc32(block, crc)
    return crc


def check_target(target: str) -> None:
    """Where a model directory can go: its folder exists, and nothing is in the way but an
    nlpcli model or an empty directory (checked again before the work, by the commands)."""
    if not os.path.isdir(os.path.dirname(os.path.abspath(target))):
        raise DataError("the output directory does not exist; create it first", source=target)
    if os.path.exists(target):
        if os.path.isfile(target) or (
            os.listdir(target) and not os.path.exists(os.path.join(target, MANIFEST))
        ):
            raise DataError("exists and is not an nlpcli embed model; choose another --output", source=target)


@contextlib.contextmanager
def building(target: str) -> Iterator[str]:
    """A temporary directory beside ``target``, renamed to ``target`` when the block succeeds.

    An existing model at ``target`` is replaced only at the very end (and only if it is an
    nlpcli model or an empty directory: never a user's other directory).
    """
    target = os.path.abspath(target)
    parent = os.path.dirname(target)
    check_target(target)
    try:
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(target)[:200]}.", suffix=".part", dir=parent)
    except OSError as exc:  # a read-only folder, a name too long
        raise DataError(f"cannot write here ({exc.strerror or exc})", source=target) from None
    os.chmod(tmp, usual_mode(directory=True))  # mkdtemp's 0700, as a plain mkdir would not
    try:
        with naming_write_errors(target):
            yield tmp
        old = None
        if os.path.exists(target):
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.", suffix=".old", dir=parent)
            os.rmdir(old)
            os.replace(target, old)
        os.replace(tmp, target)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_manifest(
    directory: str, kind: str, *, params: dict, recipe: dict | None, data: dict, extra: dict | None = None
) -> dict:
    """The manifest, last, listing the size of every file already in ``directory``."""
    files, crcs = {}, {}
    for name in sorted(os.listdir(directory)):
        if name != MANIFEST:
            files[name] = os.path.getsize(os.path.join(directory, name))
            crcs[name] = _crc32(os.path.join(directory, name))
    manifest = artifacts.make_manifest(
        kind, params=params, recipe=recipe, data=data, extra={"files": files, "crc32": crcs, **(extra or {})}
    )
    tmp = os.path.join(directory, MANIFEST + ".part")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({**manifest, "checksum": _manifest_crc(manifest)}, fh, ensure_ascii=False, indent=1)
    os.replace(tmp, os.path.join(directory, MANIFEST))
    return manifest


#: the two functions every gensim Word2Vec/FastText/Doc2Vec pickle names: ``hashfxn=hash`` (pure)
#: and ``load = call_on_class_only`` (only raises): harmless, so allowed by name (never gensim's others)
artifacts.allow_globals(("builtins", "hash"), ("gensim.utils", "call_on_class_only"))


def load_gensim(
    path: str, kinds: Iterable[str] | None = None, *, trust: bool = False, mmap: str | None = "r"
):
    """The gensim model object of an embed model, unpickled through the allowlist.

    The pickle may name only gensim/numpy/scipy classes (see :mod:`nlpcli.artifacts`); its arrays
    are plain ``.npy`` files, memory-mapped read-only by default.
    """
    manifest = read_manifest(path, kinds)
    model_dir = resolve(path)
    fname = os.path.join(model_dir, GENSIM_FILE)
    obj = artifacts.unpickle(fname, trust)
    from gensim.utils import SaveLoad

    compress, subname = SaveLoad._adapt_by_suffix(fname)
    try:
        obj._load_specials(fname, mmap, compress, subname)
    except (OSError, ValueError) as exc:
        raise CorruptArtifactError(
            f"{model_dir}: an array file is corrupt ({exc}); re-create the model"
        ) from None
    return obj, manifest


def gensim_subname(fname: str, *attribs: str) -> str:
    """The name gensim gives a separately stored array (``model.gensim.wv.vectors.npy``)."""
    return ".".join((fname, *attribs, "npy"))


def array_path(model_dir: str, manifest: dict, name: str) -> str:
    """The file of the raw word vectors (``name="vectors"``) or the fastText n-gram matrix
    (``"ngrams"``): named in an imported model's manifest, gensim's own array files otherwise."""
    named = manifest.get("arrays", {}).get(name)
    if named:
        return os.path.join(model_dir, named)
    attr = {"vectors": "vectors", "ngrams": "vectors_ngrams"}[name]
    return gensim_subname(os.path.join(model_dir, GENSIM_FILE), "wv", attr)


def read_vocab(model_dir: str) -> list[str]:
    """``vocab.txt``: one word a line (only ``\\n`` ends a line)."""
    with open(os.path.join(model_dir, VOCAB), encoding="utf-8", newline="\n") as fh:
        return fh.read().split("\n")[:-1]


def load_word_vectors(path: str, trust: bool = False):
    """``(words, vectors)`` of any embed model with word vectors (trained or imported), or of an
    artifact file holding gensim KeyedVectors / Word2Vec or a mapping with ``words``/``vectors``.

    An embed model is read from ``vocab.txt`` and its raw-vector ``.npy`` (no gensim, no
    unpickling); vectors are float32, exactly gensim's ``wv.vectors`` (``kv[word]`` row by row).
    """
    import numpy as np

    if os.path.isdir(path) or os.path.exists(os.path.join(os.path.dirname(path) or ".", MANIFEST)):
        manifest = read_manifest(path, WORD_KINDS)
        model_dir = resolve(path)
        if not manifest.get("word_vectors", True):
            raise ArtifactKindError(
                f"{model_dir}: this doc2vec model was trained without word vectors "
                "(PV-DBOW); retrain with --dbow-words"
            )
        words = read_vocab(model_dir)
        fname = array_path(model_dir, manifest, "vectors")
        if os.path.exists(fname):
            try:
                vectors = np.load(fname, mmap_mode="r")
            except (OSError, ValueError) as exc:
                raise CorruptArtifactError(f"{fname}: corrupt ({exc}); re-create the model") from None
        else:  # a gensim file whose arrays were pickled inline
            obj, _ = load_gensim(model_dir, KINDS, trust=trust)
            vectors = obj.wv.vectors
        return _checked_vectors(path, words, vectors)
    art = artifacts.load(path, trust=trust)
    obj = art.payload
    for attr in ("wv", "keyed_vectors"):
        obj = getattr(obj, attr, obj)
    if isinstance(obj, dict):
        words = obj.get("words") or obj.get("vocab") or obj.get("index_to_key")
        vectors = obj.get("vectors")
    else:
        words = getattr(obj, "index_to_key", None) or getattr(obj, "words", None)
        vectors = getattr(obj, "vectors", None)
    if words is None or vectors is None:
        raise ArtifactError(
            f"{path}: a {art.kind} artifact without word vectors; --embeddings needs a "
            "word2vec/fastText model from 'nlpcli embed train' or 'nlpcli embed import'"
        )
    return _checked_vectors(path, list(words), vectors.numpy() if hasattr(vectors, "numpy") else vectors)


def _checked_vectors(path: str, words: list[str], vectors):
    import numpy as np

    vectors = np.array(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise CorruptArtifactError(
            f"{path}: word vectors of an unexpected shape {vectors.shape} for {len(words):,} words"
        )
    return list(words), vectors
