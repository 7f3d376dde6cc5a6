"""Checkpoints: what one holds, writing it and restoring a run from it.

A checkpoint is a torch artifact of kind ``checkpoint``, read back with ``weights_only=True``. Its
dict holds ``model`` and ``optimizer`` (their state dicts), ``best_model`` (the best weights so
far, on the CPU), ``rng`` (torch's RNG state at the start of the next batch, CUDA's, and under
torchrun every rank's in ``ranks``), ``progress`` (the epoch, the batches done in it and the
loop's counters), ``extra`` (the task's plain data: what rebuilds the model), ``loop`` (the
:class:`~nlpcli.training.config.LoopConfig`) and ``average`` (the weight average, or None).
"""

from __future__ import annotations

import contextlib

import torch

from nlpcli import artifacts
from nlpcli.errors import ArtifactError
from nlpcli.training.config import CHECKPOINT_KIND
from nlpcli.training.ddp import DistContext


def load_checkpoint(path: str) -> dict:
    """A checkpoint written by :class:`~nlpcli.training.loop.Trainer` (checked like every
    artifact; weights only)."""
    art = artifacts.load(path, kinds=(CHECKPOINT_KIND,))
    state = art.payload
    for key in ("model", "optimizer", "progress", "rng"):
        if key not in state:
            raise ArtifactError(
                f"{path}: checkpoint lacks {key!r}; it is damaged, start again without --resume"
            )
    state["manifest"] = art.manifest
    return state


def cpu_state(module) -> dict:
    """A copy of ``module``'s state dict on the CPU."""
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


def checkpoint_state(
    model,
    optimizer,
    run_progress: dict,
    rng,
    best_model: dict | None,
    extra: dict,
    loop: dict,
    average: dict | None,
) -> dict:
    """The dict a checkpoint holds (``rng``: torch's RNG state at the start of the next batch)."""
    rng_state = {"torch": rng}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng_state["cuda"] = torch.cuda.get_rng_state_all()
    return {
        "model": cpu_state(model),
        "optimizer": optimizer.state_dict(),
        "best_model": best_model,
        "rng": rng_state,
        "progress": run_progress,
        "extra": extra,
        "loop": loop,
        "average": average,
    }


def write_checkpoint(path: str, state: dict, loop: dict) -> None:
    artifacts.save_torch(path, CHECKPOINT_KIND, state, params={"loop": loop})


def restore_checkpoint(ckpt: dict, model, optimizer, ctx: DistContext, path: str | None) -> dict:
    """Load the model, the optimizer and this rank's RNG state from ``ckpt``; returns its progress."""
    try:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
    except (RuntimeError, KeyError, ValueError) as exc:
        raise ArtifactError(
            f"{path}: the checkpoint does not fit this model "
            f"({str(exc).splitlines()[0][:160]}); resume with the options it was "
            "started with"
        ) from None
    rng = ckpt["rng"]["torch"]
    ranks = ckpt["rng"].get("ranks")
    if ctx.active and ranks is not None and len(ranks) == ctx.world:
        rng = ranks[ctx.rank]
    torch.set_rng_state(rng)
    if "cuda" in ckpt["rng"] and torch.cuda.is_available():
        with contextlib.suppress(RuntimeError):
            torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])
    return dict(ckpt["progress"])
