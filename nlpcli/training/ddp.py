"""Distributed runs under ``torchrun`` (WORLD_SIZE > 1): where this process stands, joining the
job, wrapping the model in DistributedDataParallel, and the values every rank must agree on."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from nlpcli import progress


@dataclass
class DistContext:
    """Where this process stands in a ``torchrun`` job (rank 0 of 1 outside one)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def dist_context() -> DistContext:
    """This process's rank and world size from torchrun's environment (WORLD_SIZE, RANK, LOCAL_RANK)."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return DistContext()
    return DistContext(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


def is_main_process() -> bool:
    """Only rank 0 writes models, checkpoints and reports."""
    return dist_context().is_main


def init_distributed(device) -> DistContext:
    """Join the torchrun job (gloo on CPU, nccl on GPU) when there is one; silence ranks > 0."""
    ctx = dist_context()
    if not ctx.active:
        return ctx
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend)
    if not ctx.is_main:
        progress.configure(quiet=True, debug=progress.DEBUG)
    return ctx


def wrap_model(model, device, ctx: DistContext):
    """The model the loop runs forward passes through: under a job, DistributedDataParallel, which
    averages the gradients over the ranks after every backward; outside one, the model itself."""
    if not ctx.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def rank_share(batches: list, ctx: DistContext) -> list:
    """This rank's share of an epoch's batches: every WORLD_SIZE-th of the same seeded order, as
    many on every rank."""
    if not ctx.active:
        return batches
    share = len(batches) // ctx.world
    return batches[ctx.rank : share * ctx.world : ctx.world]


def rank_max(values: list[float], ctx: DistContext) -> list[float]:
    """Each value's largest over the ranks (the values themselves outside a job)."""
    if not ctx.active:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.tolist()


def any_rank(flags: list[bool], ctx: DistContext) -> list[bool]:
    """The flags OR-ed over all ranks, so every rank stops at the same batch."""
    return [bool(v) for v in rank_max([1.0 if f else 0.0 for f in flags], ctx)]


def agreed_max(value: float) -> float:
    """The largest ``value`` over the ranks of a torchrun job (``value`` itself outside one): for
    quantities every rank must agree on, such as a learning rate that follows the clock (ranks
    whose optimizers stepped with different rates would drift apart under DDP)."""
    return rank_max([float(value)], dist_context())[0]


def gather_objects(obj, ctx: DistContext) -> list | None:
    """``obj`` of every rank, in rank order (a collective call: every rank makes it); None outside
    a job."""
    if not ctx.active:
        return None
    gathered = [None] * ctx.world
    dist.all_gather_object(gathered, obj)
    return gathered
