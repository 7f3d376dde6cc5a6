"""The one torch training loop and what it is made of.

* :mod:`~nlpcli.training.config`: :class:`LoopConfig`, the devices and precisions it accepts,
  :func:`check_resume` (torch-free, for the command line);
* :mod:`~nlpcli.training.loop`: :class:`LoopTask`, :class:`Trainer` and :class:`LoopResult`;
* :mod:`~nlpcli.training.schedule`: the learning rate's schedules, which the loop calls;
* :mod:`~nlpcli.training.batching`: batches of similar length in a seeded order;
* :mod:`~nlpcli.training.checkpoint`: what a checkpoint holds, writing it, resuming from it;
* :mod:`~nlpcli.training.ddp`: runs under ``torchrun``;
* :mod:`~nlpcli.training.device`, :mod:`~nlpcli.training.precision`, :mod:`~nlpcli.training.ema`,
  :mod:`~nlpcli.training.optim`: devices and threads, bf16 autocast, the weight average, Adam
  and seeds.

Importing this package imports none of them: each name below loads its module (and torch, for
all but the configuration and the schedules) when first used, so ``from nlpcli.training import
LoopConfig`` stays torch-free.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "config": ("CHECKPOINT_KIND", "DEVICES", "PRECISIONS", "LoopConfig", "check_resume"),
    "schedule": ("Schedule", "Constant", "ExponentialDecay", "LinearDecay", "ReduceOnPlateau", "set_lr"),
    "loop": ("LoopTask", "LoopResult", "LoopState", "Trainer"),
    "batching": ("length_batches", "epoch_generator"),
    "checkpoint": ("load_checkpoint",),
    "ddp": ("DistContext", "dist_context", "is_main_process", "init_distributed", "agreed_max"),
    "device": ("resolve_device", "set_threads"),
    "precision": ("resolve_precision", "autocast"),
    "ema": ("WeightAverage",),
    "optim": ("adam", "seed_everything"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
