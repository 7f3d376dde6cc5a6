"""Reading torch files without torch (nlpcli.torchfile) and torch artifacts as numpy arrays
(artifacts.load_arrays): the same values as torch.load, and NeedsTorch for anything else."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from nlpcli import artifacts, torchfile
from nlpcli.errors import ArtifactKindError, CorruptArtifactError


def _same(got, expected):
    if isinstance(expected, torch.Tensor):
        assert isinstance(got, np.ndarray) and not got.flags.writeable
        assert got.dtype == expected.numpy().dtype and got.shape == tuple(expected.shape)
        np.testing.assert_array_equal(got, expected.numpy())
    elif isinstance(expected, dict):
        assert type(got) is type(expected) and list(got) == list(expected)
        for key in expected:
            _same(got[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert type(got) is type(expected) and len(got) == len(expected)
        for g, e in zip(got, expected):
            _same(g, e)
    else:
        assert got == expected


def test_same_values_as_torch_load(tmp_path):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    obj = {
        "matrix": base,
        "transposed": base.t(),  # a view: the storage with other strides
        "rows": base[1:3],  # an offset into the same storage
        "column": base[:, 2],
        "scalar": torch.tensor(3.5, dtype=torch.float64),
        "empty": torch.zeros(0, 3),
        "kinds": [
            torch.tensor([1, -2], dtype=torch.int64),
            torch.tensor([True, False]),
            torch.ones(2, dtype=torch.float16),
        ],
        "ordered": OrderedDict(
            b=torch.tensor([1, 2], dtype=torch.int32), a=torch.tensor([7], dtype=torch.uint8)
        ),
        "plain": {"name": "모델", "sizes": (1, 2.5, None), "flags": {True, False}},
    }
    path = tmp_path / "t.pt"
    torch.save(obj, path)
    got = torchfile.read_arrays(path)
    _same(got, torch.load(path, weights_only=True))
    # one storage: the views share the matrix's bytes instead of copying them
    assert np.shares_memory(got["matrix"], got["transposed"]) and np.shares_memory(got["matrix"], got["rows"])


@pytest.mark.parametrize(
    "value",
    [
        torch.ones(2, dtype=torch.bfloat16),  # numpy has no bfloat16
        torch.nn.Parameter(torch.ones(2)),  # a rebuild function outside the closed list
        torch.ones(2, dtype=torch.complex64),
    ],
)
def test_anything_else_needs_torch(tmp_path, value):
    path = tmp_path / "t.pt"
    torch.save({"x": value}, path)
    with pytest.raises(torchfile.NeedsTorch):
        torchfile.read_arrays(path)


def test_damaged_or_foreign_files_need_torch(tmp_path):
    path = tmp_path / "t.pt"
    torch.save({"x": torch.arange(100, dtype=torch.float32)}, path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        members = {n: archive.read(n) for n in names}
    storage = next(n for n in names if n.endswith("/data/0"))
    short = tmp_path / "short.pt"
    with zipfile.ZipFile(short, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data[:40] if name == storage else data)
    (tmp_path / "text.pt").write_text("not a zip", encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("a/readme.txt", "hello")
    for bad in (short, tmp_path / "text.pt", tmp_path / "other.zip", tmp_path / "missing.pt"):
        with pytest.raises(torchfile.NeedsTorch):
            torchfile.read_arrays(bad)


def test_a_pickle_that_would_run_code_is_never_called(tmp_path):
    """A file naming os.system is refused before anything is called (no file appears)."""
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, path)
    with pytest.raises(torchfile.NeedsTorch, match="system"):
        torchfile.read_arrays(path)
    assert not marker.exists()


def test_load_arrays_checks_like_load(tmp_path):
    path = tmp_path / "m.pt"
    artifacts.save_torch(path, "translator", {"state_dict": {"w": torch.ones(3, 2)}, "vocab": ["a", "b"]})
    art = artifacts.load_arrays(path, kinds=("translator",))
    assert art.kind == "translator" and art.payload["vocab"] == ["a", "b"]
    np.testing.assert_array_equal(art.payload["state_dict"]["w"], np.ones((3, 2), np.float32))
    with pytest.raises(ArtifactKindError, match="needs classifier"):
        artifacts.load_arrays(path, kinds=("classifier",))
    data = bytearray(path.read_bytes())
    i = data.index(np.ones(1, np.float32).tobytes())
    data[i] ^= 1  # one bit of the weights
    flipped = tmp_path / "flipped.pt"
    flipped.write_bytes(bytes(data))
    with pytest.raises(CorruptArtifactError, match="checksum mismatch"):
        artifacts.load_arrays(flipped)
    joblib_file = tmp_path / "v.joblib"
    artifacts.save(joblib_file, "vectorizer", {"x": 1})
    assert artifacts.load_arrays(joblib_file) is None  # not a torch file: load() is the way
    bf16 = tmp_path / "bf16.pt"
    artifacts.save_torch(bf16, "translator", {"state_dict": {"w": torch.ones(2, dtype=torch.bfloat16)}})
    assert artifacts.load_arrays(bf16) is None and artifacts.load(bf16).kind == "translator"


def test_reading_does_not_import_torch(tmp_path):
    path = tmp_path / "m.pt"
    artifacts.save_torch(path, "translator", {"state_dict": {"w": torch.ones(3, 2)}})
    code = (
        "import sys; from nlpcli import artifacts; "
        f"a = artifacts.load_arrays({str(path)!r}); "
        "print(a.payload['state_dict']['w'].sum(), 'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    assert out.split() == ["6.0", "False"]
