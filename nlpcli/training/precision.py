"""The precision of training forward passes: fp32, or bf16 under autocast."""

from __future__ import annotations

import contextlib

import torch


def resolve_precision(name: str, device) -> str:
    """``fp32`` or ``bf16`` for training forward passes on ``device``. ``auto`` is bf16 where the
    hardware multiplies bfloat16 natively (a CPU with AVX512-BF16 or AMX, as oneDNN reports it; a
    CUDA GPU that supports it) and fp32 elsewhere, where emulated bf16 would be slower."""
    if name != "auto":
        return name
    return "bf16" if _native_bf16(device) else "fp32"


def _native_bf16(device) -> bool:
    try:
        if device.type == "cuda":
            return bool(torch.cuda.is_bf16_supported())
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # an older or unusual build: no native bf16 known
        return False


def autocast(precision: str, device):
    """A context for forward passes: bf16 autocast (matrix products in bfloat16, weights and
    gradients kept in fp32), or nothing for fp32."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
