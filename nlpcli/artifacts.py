"""Saving and loading every nlpcli artifact (vectorizers and models; joblib and torch files).

Every artifact carries a manifest: its kind, the nlpcli version and artifact format that wrote
it, the parameters, the preprocessing recipe raw text must go through, a summary of the data
it was trained on, and when it was made. Files are written atomically (temporary file, then
rename) and checked on load, with a distinct error for each way a file can be wrong: missing,
not an nlpcli artifact, truncated or corrupt, written by a newer nlpcli, of the wrong kind, or
asking to run code that nlpcli does not allow.

A joblib file is a pickle, and unpickling can run any code the file names. So joblib
artifacts are read with an allowlisting unpickler (the approach of skops.io): only numpy,
scipy.sparse, scikit-learn and nlpcli classes and a handful of known constructors may be named;
anything else (``os.system``, ``builtins.eval``, ...) is replaced by an inert placeholder and
the load is refused, unless the user says ``--trust-artifact``. Torch artifacts hold tensors and
plain JSON-like config only and are read with ``torch.load(weights_only=True)``, or, where a
command can answer with numpy alone, by :func:`load_arrays` through a closed list of names
(:mod:`nlpcli.torchfile`).

The joblib layout is a plain dict ``{"nlpcli": manifest, "payload": object}``, so
``joblib.load(path)["payload"]`` still works for users who continue in Python.

Every file ends with a one-line footer, ``#nlpcli-sha256:<hex>``, the SHA-256 of the bytes
before it; pickle, joblib and torch all stop reading before it. A file whose footer does not
match is refused as corrupt, so a flipped byte in the weights gives an error, never different
answers. Files without the footer (nlpcli 0.1) load as before.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import pickle
import platform
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from nlpcli import __version__, versions
from nlpcli.errors import (
    ArtifactError,
    ArtifactKindError,
    ArtifactVersionError,
    CorruptArtifactError,
    UntrustedArtifactError,
)
from nlpcli.textio import output_path

#: Bumped when the layout of artifact files changes incompatibly, so that an older nlpcli refuses
#: a file it cannot read with a clear "newer format" error. 2: linear models carry plain scoring
#: tables and RNN models their vocabulary as one string. Format 1 files still load.
FORMAT_VERSION = 2
MANIFEST_KEY = "nlpcli"

_ZIP_MAGIC = b"PK\x03\x04"
_JOBLIB_MAGICS = (
    b"\x80",
    b"\x1f\x8b",
    b"ZF",
    b"\x78",
    b"BZh",
    b"\xfd7zXZ",
    b"\x28\xb5\x2f\xfd",
    b"\x04\x22\x4d\x18",
)


@dataclass
class Artifact:
    manifest: dict
    payload: Any
    path: str

    @property
    def kind(self) -> str:
        return self.manifest["kind"]

    @property
    def recipe(self) -> dict | None:
        return self.manifest.get("recipe")


def make_manifest(
    kind: str,
    *,
    params: dict | None = None,
    recipe: dict | None = None,
    data: dict | None = None,
    extra: dict | None = None,
) -> dict:
    manifest = {
        "kind": kind,
        "format": FORMAT_VERSION,
        "nlpcli_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "params": params or {},
        "recipe": recipe,
        "data": data or {},
        "libraries": versions.for_artifact(kind, params, recipe),
        "input_bytes": _input_bytes(data or {}),
    }
    if extra:
        manifest.update(extra)
    return manifest


def _input_bytes(data: dict) -> dict[str, int]:
    """The size of each training input named in a data summary that is a file on disk."""
    names = data.get("inputs") if isinstance(data.get("inputs"), list) else []
    names = [*names, *(data.get(key) for key in ("train", "dev"))]
    return {n: os.path.getsize(n) for n in dict.fromkeys(names) if isinstance(n, str) and os.path.isfile(n)}


# --------------------------------------------------------------------------------------------
# the allowlist


_SAFE_GLOBALS = {
    ("builtins", n)
    for n in (
        "dict",
        "list",
        "set",
        "frozenset",
        "tuple",
        "slice",
        "complex",
        "bytearray",
        "bytes",
        "str",
        "int",
        "float",
        "bool",
        "range",
    )
} | {
    ("collections", "OrderedDict"),
    ("collections", "defaultdict"),
    ("collections", "Counter"),
    ("copyreg", "_reconstructor"),
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
}

#: gensim classes (never functions) for ``embed`` models, whose main file is a plain gensim pickle
_SAFE_PREFIX_CLASSES = ("sklearn.", "nlpcli.", "scipy.sparse.", "numpy.random.", "numpy.dtypes", "gensim.")

#: nlpcli functions that artifacts may refer to (e.g. a tokenizer); see :func:`picklable`.
_SAFE_FUNCTIONS: set[tuple[str, str]] = set()


def picklable(func):
    """Mark an nlpcli module-level function as safe to name from an artifact (a tokenizer...)."""
    _SAFE_FUNCTIONS.add((func.__module__, func.__qualname__))
    return func


def _is_allowed(module: str, name: str, obj: Any) -> bool:
    if (module, name) in _SAFE_GLOBALS or (module, name) in _SAFE_FUNCTIONS:
        return True
    if not isinstance(obj, type):
        return False
    if module == "numpy":
        import numpy as np

        return issubclass(obj, np.generic)
    return module.startswith(_SAFE_PREFIX_CLASSES) or module in ("numpy.dtypes",)


class _Refused:
    """Stands in for a global the allowlist refused: calling it does nothing."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


def _allowlisted(find_class, refused: list[str], module: str, name: str):
    """``find_class(module, name)`` if the allowlist has it, else :class:`_Refused` (and the name
    noted in ``refused``)."""
    try:
        obj = find_class(module, name)
    except Exception:  # unknown module or name: maybe a newer nlpcli
        refused.append(f"{module}.{name} (not found)")
        return _Refused
    if _is_allowed(module, name, obj):
        return obj
    refused.append(f"{module}.{name}")
    return _Refused


def _restricted_unpickler_class():
    from joblib.numpy_pickle import NumpyUnpickler

    class RestrictedUnpickler(NumpyUnpickler):
        refused: list[str]

        def find_class(self, module, name):
            return _allowlisted(super().find_class, self.refused, module, name)

    return RestrictedUnpickler


class _JoblibArrays(Exception):
    """The file holds joblib's array records, which only joblib's own unpickler reads."""


class _FastRestrictedUnpickler(pickle.Unpickler):
    """The C unpickler with the same allowlist: for artifacts written as plain pickles (protocol
    5, arrays in-band), about 7x faster than joblib's pure-Python unpickler on a 100k-word
    vocabulary; a joblib-written file (NumpyArrayWrapper) is handed back to that one."""

    refused: list[str]

    def find_class(self, module, name):
        if (module, name) == ("joblib.numpy_pickle", "NumpyArrayWrapper"):
            raise _JoblibArrays
        return _allowlisted(super().find_class, self.refused, module, name)


def allow_globals(*names: tuple[str, str]) -> None:
    """Let artifacts name these ``(module, name)`` functions too (for libraries whose pickles
    need a harmless helper, e.g. gensim's ``call_on_class_only``)."""
    _SAFE_FUNCTIONS.update(names)


def _load_joblib(path: str, trust: bool) -> tuple[Any, list[str]]:
    """Unpickle a joblib file; return the object and the globals the allowlist refused."""
    if trust:
        import joblib

        return joblib.load(path), []
    with open(path, "rb") as f:
        if f.read(1) == b"\x80":  # an uncompressed pickle: try the C unpickler first
            f.seek(0)
            unpickler = _FastRestrictedUnpickler(f)
            unpickler.refused = []
            try:
                return unpickler.load(), unpickler.refused
            except _JoblibArrays:
                pass
            except Exception:
                if unpickler.refused:
                    return None, unpickler.refused
                raise
    from joblib import numpy_pickle

    unpickler_cls = _restricted_unpickler_class()
    with open(path, "rb") as f:
        with numpy_pickle._validate_fileobject_and_memmap(f, path, None) as (fobj, _):
            if isinstance(fobj, str):
                raise CorruptArtifactError(f"{path}: an old-style joblib file, not an nlpcli artifact")
            unpickler = unpickler_cls(path, fobj, True)
            unpickler.refused = []
            try:
                obj = unpickler.load()
            except Exception:
                if unpickler.refused:
                    return None, unpickler.refused
                raise
            return obj, unpickler.refused


def loads_restricted(data: bytes, what: str) -> Any:
    """Unpickle ``data`` (a pickle nested inside an artifact that was already checked) through the
    allowlist; refused or broken bytes raise the errors :func:`load` raises, naming ``what``."""
    import io

    unpickler = _FastRestrictedUnpickler(io.BytesIO(data))
    unpickler.refused = []
    try:
        obj = unpickler.load()
    except Exception as exc:
        if not unpickler.refused:
            raise CorruptArtifactError(
                f"{what}: truncated or corrupt ({type(exc).__name__}); re-create it"
            ) from None
    _refuse(what, unpickler.refused)
    return obj


# --------------------------------------------------------------------------------------------
# the checksum footer

_FOOTER_PREFIX = b"\n#nlpcli-sha256:"
_FOOTER_LENGTH = len(_FOOTER_PREFIX) + 64 + 1
_FOOTER = re.compile(rb"\n#nlpcli-sha256:([0-9a-f]{64})\n\Z")


def _digest(path: str, length: int) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while length > 0:
            block = fh.read(min(length, 1 << 20))
            if not block:
                break
            sha.update(block)
            length -= len(block)
    return sha.hexdigest()


def add_footer(path: str) -> None:
    """Append the checksum footer to a file just written (before it is renamed into place)."""
    digest = _digest(path, os.path.getsize(path))
    with open(path, "ab") as fh:
        fh.write(_FOOTER_PREFIX + digest.encode() + b"\n")


#: artifacts loaded in this process that have no checksum (written by nlpcli 0.1): if using one
#: fails in an unexpected way, the error names it as possibly damaged (see nlpcli.cli.main)
UNVERIFIED: list[str] = []


def _looks_like_footer(tail: bytes) -> bool:
    """Most of the bytes are where a footer's would be: a footer with a byte or two changed."""
    prefix = sum(a == b for a, b in zip(tail, _FOOTER_PREFIX))
    hexes = sum(c in b"0123456789abcdef" for c in tail[len(_FOOTER_PREFIX) : -1])
    return len(tail) == _FOOTER_LENGTH and prefix + hexes >= 60


def _cut_footer(tail: bytes) -> bool:
    """The file ends in the first bytes of a footer (``\n#nl``...): it was cut short there. A
    pickle ends with its STOP opcode ``.`` and a torch file with its zip directory (``\x00\x00``
    when it has no comment), never like this."""
    if tail.endswith((b".\n", b"\x00\n")):  # only the footer's newline is left
        return True
    start = tail.rfind(b"\n#")
    if start < 0:
        return False
    rest = tail[start:]
    head = rest[: len(_FOOTER_PREFIX)]
    return _FOOTER_PREFIX.startswith(head) and all(c in b"0123456789abcdef" for c in rest[len(head) :])


def verify_footer(path: str) -> bool:
    """Check the footer of ``path``: True if it has one that matches, False if it has none (an
    older file); :class:`CorruptArtifactError` if the bytes before it are not the ones written."""
    size = os.path.getsize(path)
    if size < _FOOTER_LENGTH:
        return False
    with open(path, "rb") as fh:
        fh.seek(size - _FOOTER_LENGTH)
        tail = fh.read(_FOOTER_LENGTH)
    match = _FOOTER.search(tail)
    if match is None:
        with open(path, "rb") as fh:
            fh.seek(max(0, size - (1 << 16)))
            end = fh.read()
        damaged = b"#nlpcli-sha256:" in end or b"-sha256:" in end[-200:] or _looks_like_footer(tail)
        if damaged or _cut_footer(tail):
            raise CorruptArtifactError(
                f"{path}: bytes after its checksum line, or a damaged checksum line: "
                "the file was changed after it was written; re-create it"
            )
        return False
    if _digest(path, size - _FOOTER_LENGTH) != match.group(1).decode():
        raise CorruptArtifactError(
            f"{path}: checksum mismatch: the file was changed or damaged after it was written; re-create it"
        )
    return True


# --------------------------------------------------------------------------------------------
# saving


def save(
    path: str | os.PathLike,
    kind: str,
    payload: Any,
    *,
    params: dict | None = None,
    recipe: dict | None = None,
    data: dict | None = None,
    extra: dict | None = None,
) -> dict:
    """Write a joblib artifact atomically; returns its manifest.

    It is a plain pickle (protocol 5, arrays in-band), which ``joblib.load`` and ``pickle.load``
    both read and which nlpcli loads with the C unpickler. (Not joblib's compressed format: the
    checksum line after a compressed stream would not load.)
    """
    manifest = make_manifest(kind, params=params, recipe=recipe, data=data, extra=extra)
    obj = {MANIFEST_KEY: manifest, "payload": payload}
    with output_path(path) as tmp:
        with open(tmp, "wb") as fh:
            pickle.dump(obj, fh, protocol=5)
        add_footer(tmp)
    return manifest


def save_torch(
    path: str | os.PathLike,
    kind: str,
    state: dict,
    *,
    params: dict | None = None,
    recipe: dict | None = None,
    data: dict | None = None,
    extra: dict | None = None,
) -> dict:
    """Write a torch artifact atomically: ``state`` holds tensors, state dicts and plain values."""
    import torch

    manifest = make_manifest(kind, params=params, recipe=recipe, data=data, extra=extra)
    with output_path(path) as tmp:
        torch.save({MANIFEST_KEY: manifest, **state}, tmp)
        add_footer(tmp)
    return manifest


# --------------------------------------------------------------------------------------------
# loading


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in str(version).split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def check_manifest(path: str, manifest: Any, kinds: Iterable[str] | None) -> dict:
    """Refuse a manifest that is missing, from a newer nlpcli, or of another kind."""
    if not isinstance(manifest, dict) or "kind" not in manifest:
        raise ArtifactError(f"{path}: not an nlpcli artifact (no manifest); was it written by nlpcli?")
    if manifest.get("format", 0) > FORMAT_VERSION or _version_tuple(
        manifest.get("nlpcli_version", "0")
    ) > _version_tuple(__version__):
        raise ArtifactVersionError(
            f"{path}: written by nlpcli {manifest.get('nlpcli_version')} (artifact format "
            f"{manifest.get('format')}), newer than this nlpcli {__version__}; "
            "upgrade with 'pip install -U nlpcli'"
        )
    kinds = tuple(kinds) if kinds else ()
    if kinds and manifest["kind"] not in kinds:
        raise ArtifactKindError(
            f"{path}: is a {manifest['kind']} artifact, but this command needs {' or '.join(kinds)}"
        )
    return manifest


def _sniff(path: str) -> str:
    if not os.path.exists(path):
        raise ArtifactError(f"{path}: no such file; check the path")
    if os.path.isdir(path):
        raise ArtifactError(f"{path}: is a directory, expected an artifact file")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not head:
        raise CorruptArtifactError(f"{path}: empty file; the artifact is corrupt, re-create it")
    if head.startswith(_ZIP_MAGIC):
        return "torch"
    if head.startswith(_JOBLIB_MAGICS):
        return "joblib"
    raise ArtifactError(f"{path}: not an nlpcli artifact (neither a joblib nor a torch file)")


def read_manifest(path: str | os.PathLike, trust: bool = False) -> dict:
    """The manifest of an artifact file, with the checks of :func:`load`; see :func:`peek`."""
    return peek(path, trust).manifest


class Peek(NamedTuple):
    manifest: dict
    #: the checksum footer matched (False: the file has none, written by nlpcli 0.1)
    verified: bool
    #: ``joblib`` or ``torch``
    storage: str


def peek(path: str | os.PathLike, trust: bool = False) -> Peek:
    """The manifest of an artifact file, read without building what the file holds.

    The manifest is the first entry of the stored dict, so reading stops at the first object
    beyond plain data (a scikit-learn estimator, an nlpcli class, a torch tensor): neither
    scikit-learn nor torch is imported, and of a torch file only the small pickle record is read.
    The checks are those of :func:`load` (missing, empty, not an artifact, checksum, newer
    version, recipe); a file this cannot read (compressed joblib, anything unusual) is loaded.
    """
    path = os.fspath(path)
    kind = _sniff(path)
    verified = verify_footer(path)
    manifest = _peek_manifest(path, kind)
    if manifest is None:
        return Peek(load(path, trust=trust).manifest, verified, kind)
    manifest = check_manifest(path, manifest, None)
    _check_recipe(path, manifest)
    return Peek(manifest, verified, kind)


class _PastManifest(Exception):
    """Reading reached the payload: the manifest before it is complete."""


class _ManifestReader(pickle.Unpickler):
    """Builds plain data only (through the allowlist) and stops at anything else."""

    refused: list[str]

    def find_class(self, module, name):
        if module.split(".")[0] not in ("builtins", "collections", "copyreg", "numpy"):
            raise _PastManifest
        return _allowlisted(super().find_class, self.refused, module, name)

    def persistent_load(self, pid):  # a torch storage
        raise _PastManifest


def early_manifest(path: str | os.PathLike) -> dict | None:
    """The manifest of a joblib or torch artifact read *without* any check (no checksum, no
    version): only to start work early (a model's tagger) while :func:`load` does the checking;
    None on any doubt."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            kind = "torch" if fh.read(4) == _ZIP_MAGIC else "joblib"
    except OSError:
        return None
    return _peek_manifest(path, kind)


def _peek_manifest(path: str, kind: str) -> dict | None:
    """The manifest at the head of the pickle (of a torch file: its ``data.pkl`` record), or None."""
    import io

    try:
        if kind == "torch":
            fh = io.BytesIO(_torch_record(path))
        else:
            fh = open(path, "rb")  # closed by the with block below
            if fh.read(1) != b"\x80":  # compressed by joblib
                fh.close()
                return None
            fh.seek(0)
        with fh:
            reader = _ManifestReader(fh)
            reader.refused = []
            try:
                obj = reader.load()
                found = [obj.get(MANIFEST_KEY)] if isinstance(obj, dict) else []
            except _PastManifest:
                memo = reader.memo.copy()  # the manifest is the first dict with a kind
                found = [memo[i] for i in sorted(memo) if isinstance(memo[i], dict) and "kind" in memo[i]]
    except Exception:  # damaged, or not laid out as nlpcli writes: load() says what is wrong
        return None
    return found[0] if found and not reader.refused and isinstance(found[0], dict) else None


def _read_pickle(path: str, trust: bool) -> tuple[Any, list[str]]:
    try:
        return _load_joblib(path, trust)
    except (
        EOFError,
        pickle.UnpicklingError,
        ValueError,
        IndexError,
        KeyError,
        TypeError,
        AttributeError,
        OSError,
        UnicodeDecodeError,
        MemoryError,
    ) as exc:
        raise CorruptArtifactError(
            f"{path}: truncated or corrupt ({type(exc).__name__}); re-create it"
        ) from None


def _refuse(path: str, refused: list[str]) -> None:
    if refused:
        shown = ", ".join(dict.fromkeys(refused))
        raise UntrustedArtifactError(
            f"{path}: refused to load: the file asks to run code nlpcli does not allow ({shown}); "
            "if you made this file yourself and trust it, pass --trust-artifact"
        )


def unpickle(path: str | os.PathLike, trust: bool = False) -> Any:
    """A joblib/pickle file without a manifest of its own (one part of a model directory whose
    manifest lives beside it), read through the allowlist with the same errors as :func:`load`."""
    path = os.fspath(path)
    _sniff(path)
    if not verify_footer(path):
        UNVERIFIED.append(path)
    obj, refused = _read_pickle(path, trust)
    _refuse(path, refused)
    return obj


def load(
    path: str | os.PathLike,
    kinds: Iterable[str] | None = None,
    *,
    trust: bool = False,
    map_location: str = "cpu",
) -> Artifact:
    """Load and check an artifact of one of ``kinds`` (any kind when None), joblib or torch."""
    path = os.fspath(path)
    kind = _sniff(path)
    if not verify_footer(path):
        UNVERIFIED.append(path)
    if kind == "torch":
        artifact = _load_torch(path, kinds, map_location)
    else:
        obj, refused = _read_pickle(path, trust)
        manifest = obj.get(MANIFEST_KEY) if isinstance(obj, dict) else None
        if isinstance(manifest, dict) and "kind" in manifest:
            check_manifest(path, manifest, None)  # a newer version explains unknown classes
        _refuse(path, refused)
        manifest = check_manifest(path, manifest, kinds)
        _check_recipe(path, manifest)
        artifact = Artifact(manifest, obj["payload"], path)
    versions.warn_if_tagger_changed(path, artifact.manifest)
    return artifact


def _check_recipe(path: str, manifest: dict) -> None:
    """The preprocessing recipe a manifest names must be one this nlpcli can build; otherwise the
    file was damaged (one that has no checksum) and the error says which file."""
    recipe = manifest.get("recipe")
    if recipe is None:
        return
    from nlpcli.errors import NlpcliError
    from nlpcli.text.recipe import Recipe

    try:
        if not isinstance(recipe, dict):
            raise TypeError(f"a {type(recipe).__name__}, not a mapping")
        Recipe.from_dict(recipe)
    except (NlpcliError, TypeError, ValueError) as exc:
        raise CorruptArtifactError(
            f"{path}: its preprocessing recipe cannot be used ({exc}); the file may be damaged: re-create it"
        ) from None


class _Stub:
    """What :func:`peek_values` puts where a torch file has a tensor or any object of a class."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


class _PeekUnpickler(pickle.Unpickler):
    """Reads the plain values of a torch file's pickle and nothing else: every class or function
    it names becomes :class:`_Stub` (never called for real), every tensor storage None."""

    def find_class(self, module, name):
        if (module, name) in _SAFE_GLOBALS and module == "builtins":
            return super().find_class(module, name)
        if (module, name) == ("collections", "OrderedDict"):
            return super().find_class(module, name)
        return _Stub

    def persistent_load(self, pid):
        return None


def peek_values(path: str | os.PathLike) -> dict | None:
    """The plain values (manifest, configs, vocabularies; no tensors) of a torch artifact, read
    without importing torch and without checks: only to start work early (a tagger) while the
    real :func:`load` runs. None when ``path`` is no torch artifact or cannot be read."""
    import io

    try:
        obj = _PeekUnpickler(io.BytesIO(_torch_record(os.fspath(path)))).load()
    except Exception:
        return None
    return obj if isinstance(obj, dict) else None


def _torch_record(path: str) -> bytes:
    """The pickle record (``data.pkl``) of a torch zip file, read without torch; StopIteration
    when it has none, zipfile's errors when it is no zip."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return archive.read(next(n for n in archive.namelist() if n.endswith("/data.pkl")))


def load_arrays(path: str | os.PathLike, kinds: Iterable[str] | None = None) -> Artifact | None:
    """A torch artifact with numpy arrays for its tensors (read-only views of the file's bytes),
    read without importing torch and with the checks of :func:`load`; None when only torch can
    read it (:mod:`nlpcli.torchfile`), and then :func:`load` is the way."""
    from nlpcli import torchfile

    path = os.fspath(path)
    if _sniff(path) != "torch":
        return None
    verified = verify_footer(path)
    try:
        obj = torchfile.read_arrays(path)
    except torchfile.NeedsTorch:
        return None
    if not verified:
        UNVERIFIED.append(path)
    artifact = _torch_artifact(path, obj, kinds)
    versions.warn_if_tagger_changed(path, artifact.manifest)
    return artifact


def _torch_artifact(path: str, obj: Any, kinds: Iterable[str] | None) -> Artifact:
    """The checked manifest and the payload of what a torch file held (tensors or arrays)."""
    manifest = check_manifest(path, obj.get(MANIFEST_KEY) if isinstance(obj, dict) else None, kinds)
    return Artifact(manifest, {k: v for k, v in obj.items() if k != MANIFEST_KEY}, path)


def _load_torch(path: str, kinds: Iterable[str] | None, map_location: str) -> Artifact:
    import torch

    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UntrustedArtifactError(
            f"{path}: refused to load: the torch file holds more than tensors and plain values "
            f"({str(exc).splitlines()[0][:120]})"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise CorruptArtifactError(
            f"{path}: truncated or corrupt torch file ({type(exc).__name__}); re-create the artifact"
        ) from None
    return _torch_artifact(path, obj, kinds)
