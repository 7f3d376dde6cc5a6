"""The learning rate's one home: a schedule object that the loop calls at fixed points.

On its task's schedule, :class:`~nlpcli.training.loop.Trainer` calls

* ``start_epoch(optimizer, epoch)`` before it draws the batches of an epoch (the epoch a run
  resumes in included);
* ``after_batch(optimizer, done)`` after every optimizer step, for schedules whose
  ``follows_progress`` is True, with ``done`` the share of the planned run behind it: of the
  ``--max-time`` budget when there is one (the slowest rank's clock under torchrun, so that every
  rank steps with the same rate), else of the batches of all ``--epochs``;
* ``after_evaluation(optimizer, improved)`` after each dev evaluation, with whether it gave the
  best score so far (a score restored from a checkpoint included).

The rate lives in the optimizer's state, which every checkpoint holds, and each schedule sets it
from the epoch, the progress or the dev results alone, so a resumed run follows the schedule of
an uninterrupted one (a schedule that follows the clock, as far as the clock is reproducible).
Torch-free: a schedule only writes the optimizer's ``param_groups``.
"""

from __future__ import annotations

from nlpcli import progress


def set_lr(optimizer, value: float) -> None:
    """Every parameter group of ``optimizer`` steps with ``value`` from now on."""
    for group in optimizer.param_groups:
        group["lr"] = value


class Schedule:
    """The calls the loop makes; each leaves the rate as it is unless a subclass says otherwise."""

    follows_progress = False  # True: the loop calls after_batch with the share of the run done

    def start_epoch(self, optimizer, epoch: int) -> None:
        """Before the batches of ``epoch`` (0-based)."""

    def after_batch(self, optimizer, done: float) -> None:
        """After an optimizer step, with ``done`` of the run behind (0 to 1; past 1 once a time
        budget is spent)."""

    def after_evaluation(self, optimizer, improved: bool) -> None:
        """After a dev evaluation that gave (``improved``) or did not give the best score so far."""


class Constant(Schedule):
    """The rate the optimizer was made with, throughout (the loop's default)."""


class ExponentialDecay(Schedule):
    """``base * decay ** epoch`` in epoch ``epoch`` (0-based), set when the epoch starts."""

    def __init__(self, base: float, decay: float):
        self.base, self.decay = base, decay

    def start_epoch(self, optimizer, epoch: int) -> None:
        set_lr(optimizer, self.base * self.decay**epoch)


class LinearDecay(Schedule):
    """From ``base`` down to ``floor * base`` over the planned run, after every batch (the first
    batch steps with ``base``, the rate the optimizer was made with)."""

    follows_progress = True

    def __init__(self, base: float, floor: float):
        self.base, self.floor = base, floor

    def after_batch(self, optimizer, done: float) -> None:
        set_lr(optimizer, self.base * (1.0 - (1.0 - self.floor) * min(done, 1.0)))


class ReduceOnPlateau(Schedule):
    """The rate times ``factor`` after every dev evaluation that does not beat the best score so
    far; ``label`` names the score in the log line."""

    def __init__(self, factor: float = 0.5, label: str = "the dev score"):
        self.factor, self.label = factor, label

    def after_evaluation(self, optimizer, improved: bool) -> None:
        if improved:
            return
        lr = optimizer.param_groups[0]["lr"]
        set_lr(optimizer, lr * self.factor)
        progress.info(f"{self.label} did not improve: learning rate {lr:g} -> {lr * self.factor:g}")
