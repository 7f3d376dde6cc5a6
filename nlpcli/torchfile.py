"""Reading a torch file's tensors as numpy arrays, without importing torch.

``torch.save`` writes a zip archive: a pickle record (``data.pkl``) that names each tensor as a
storage key, offset, shape and strides, and one uncompressed member per storage holding its raw
bytes. :func:`read_arrays` unpickles the record with a closed list of names (the tensor
rebuilder, the storage types of plain numeric dtypes, ``OrderedDict`` and safe builtins) and
views each tensor as a read-only numpy array over its storage's bytes, as
``torch.load(weights_only=True)`` would build it. Nothing named in the file is ever called.

Anything else (another global, a dtype numpy has no equal for such as bfloat16, a big-endian
file, a layout torch may use in a later version) raises :class:`NeedsTorch`: the caller loads
the file with torch instead, which reads it or says what is wrong with it.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import OrderedDict
from typing import Any

import numpy as np

_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}

_BUILTINS = {"set", "frozenset", "tuple", "list", "dict", "int", "float", "complex", "bool", "str", "bytes"}


class NeedsTorch(Exception):
    """The file holds something only torch can read (or it is no torch file this module knows)."""


class _StorageType:
    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)


def _rebuild_tensor(storage, offset, size, stride, *_rest):
    """``torch._utils._rebuild_tensor_v2`` for numpy: a strided view of the storage's elements."""
    if not isinstance(storage, np.ndarray):
        raise NeedsTorch("a tensor without a storage")
    size, stride = tuple(int(n) for n in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or offset < 0 or min(stride, default=0) < 0:
        raise NeedsTorch("an unusual tensor layout")
    last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else offset - 1
    if last >= storage.size:
        raise NeedsTorch("a tensor beyond its storage")
    item = storage.itemsize
    return np.lib.stride_tricks.as_strided(
        storage[offset:], shape=size, strides=tuple(s * item for s in stride), writeable=False
    )


class _ArrayUnpickler(pickle.Unpickler):
    def __init__(self, record: bytes, archive: zipfile.ZipFile, prefix: str):
        super().__init__(io.BytesIO(record))
        self.archive, self.prefix = archive, prefix
        self.storages: dict[str, np.ndarray] = {}

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return _StorageType(_DTYPES[name])
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module in ("builtins", "__builtin__") and name in _BUILTINS:  # protocol 2 says __builtin__
            return super().find_class(module, name)
        raise NeedsTorch(f"{module}.{name}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise NeedsTorch("an unknown storage record")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise NeedsTorch("an unknown storage type")
        if key not in self.storages:
            data = self.archive.read(f"{self.prefix}data/{key}")
            count = int(numel)
            if len(data) < count * storage_type.dtype.itemsize:
                raise NeedsTorch("a storage shorter than its record")
            self.storages[key] = np.frombuffer(data, dtype=storage_type.dtype, count=count)
        return self.storages[key]


def read_arrays(path: str | os.PathLike) -> Any:
    """The object a torch file holds, every tensor a read-only numpy array; :class:`NeedsTorch`
    when it holds anything else or cannot be read this way."""
    try:
        with zipfile.ZipFile(os.fspath(path)) as archive:
            names = archive.namelist()
            record = next((n for n in names if n.endswith("/data.pkl")), None)
            if record is None:
                raise NeedsTorch("no data.pkl record")
            prefix = record[: -len("data.pkl")]
            if f"{prefix}byteorder" in names and archive.read(f"{prefix}byteorder") != b"little":
                raise NeedsTorch("a big-endian file")
            return _ArrayUnpickler(archive.read(record), archive, prefix).load()
    except NeedsTorch:
        raise
    except Exception as exc:  # damaged or unusual: torch.load says what is wrong
        raise NeedsTorch(f"{type(exc).__name__}: {exc}") from None
