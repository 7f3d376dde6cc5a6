"""Which device the loop trains on, and how many CPU threads torch uses."""

from __future__ import annotations

import torch

from nlpcli.errors import DependencyError, UsageError
from nlpcli.training.ddp import dist_context


def resolve_device(name: str = "auto"):
    """A torch device: ``auto`` is a CUDA GPU when there is one and the CPU otherwise, silently
    (a CPU is a normal place to run); ``cuda`` without a GPU is an error."""
    if name == "cpu":
        return torch.device("cpu")
    available = torch.cuda.is_available()
    if name in ("auto", "cuda") and available and dist_context().active:
        return torch.device("cuda", dist_context().local_rank % torch.cuda.device_count())
    if name == "auto":
        return torch.device("cuda" if available else "cpu")
    if not available:
        raise DependencyError(
            f"--device {name}: no CUDA GPU is usable here (torch {torch.__version__}, "
            f"CUDA build: {torch.version.cuda or 'none'}); use --device cpu or auto"
        )
    device = torch.device(name)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise DependencyError(f"--device {name}: only {torch.cuda.device_count()} GPU(s) here")
    return device


def set_threads(threads: int | None) -> None:
    if threads:
        if threads > 4096:  # torch takes a C int: a huge value is an OverflowError there
            raise UsageError(f"--threads {threads}: at most 4096")
        torch.set_num_threads(threads)
