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

from nlpcli import lazy

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
__getattr__, __dir__, __all__ = lazy.exports(__name__, _HOMES)
