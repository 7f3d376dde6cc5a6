"""The one torch training loop: batches, gradient clipping, early stopping, a time budget, a
checkpoint each epoch, exact resume, and Ctrl-C that saves before exiting.

It knows nothing about text: a caller hands it a :class:`LoopTask` (the model, the optimizer, a
function that lists the batches of an epoch, a loss function, an evaluation function and the
learning rate's schedule) and plain data to store with the checkpoints (what it needs to rebuild
the model on resume).

Exact resume: the batches of epoch ``e`` are drawn from a generator seeded with ``(seed, e)``,
and a checkpoint holds the model, the optimizer, the torch RNG state at the start of the next
batch, the epoch and the number of batches already done in it. A run resumed from any
checkpoint (end of an epoch, or where Ctrl-C stopped it) therefore ends at the same model as an
uninterrupted run with the same seed, data, options and thread count.

Under ``torchrun`` (WORLD_SIZE > 1) the model is wrapped in DistributedDataParallel (gloo on
CPU, nccl on GPU), each rank trains on every WORLD_SIZE-th batch of the same seeded order (so
``--batch-size`` is per process: the global batch is WORLD_SIZE times it), every rank evaluates
the same model on dev and so takes the same early-stopping decision, stopping flags (Ctrl-C,
time budget) are agreed on with an all-reduce, and only rank 0 writes checkpoints, models and
reports. Resume works the same way: every rank loads the checkpoint.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from nlpcli import progress
from nlpcli.interrupt import InterruptFlag
from nlpcli.training.batching import epoch_generator
from nlpcli.training.checkpoint import checkpoint_state, cpu_state, restore_checkpoint, write_checkpoint
from nlpcli.training.config import LoopConfig
from nlpcli.training.ddp import (
    any_rank,
    dist_context,
    gather_objects,
    init_distributed,
    rank_max,
    rank_share,
    wrap_model,
)
from nlpcli.training.ema import WeightAverage
from nlpcli.training.precision import autocast, resolve_precision
from nlpcli.training.schedule import Constant, Schedule


@dataclass
class LoopTask:
    """What the loop trains. ``batches(epoch, generator)`` must be deterministic given the generator;
    ``loss(model, batch)`` returns a scalar tensor; ``evaluate(model)`` returns a dict holding
    ``metric`` (higher is better unless ``lower_is_better``); ``schedule`` sets the learning rate
    (:mod:`nlpcli.training.schedule`)."""

    model: Any
    optimizer: Any
    batches: Callable[[int, Any], Sequence[Any]]
    loss: Callable[[Any, Any], Any]
    evaluate: Callable[[Any], dict] | None = None
    metric: str = "accuracy"
    lower_is_better: bool = False
    extra: dict = field(default_factory=dict)  # plain data stored in every checkpoint
    on_batch_end: Callable[[int, int], None] | None = None  # (epoch, batch) hook (tests, DDP)
    schedule: Schedule = field(default_factory=Constant)


@dataclass
class LoopResult:
    best_score: float | None
    best_epoch: int | None
    epochs: int  # epochs completed
    stopped: str  # "epochs", "early", "time"
    seconds: float
    history: list[dict]


_PROGRESS = (
    "epoch",
    "batch",
    "best_score",
    "best_epoch",
    "bad_epochs",
    "history",
    "elapsed",
    "loss_sum",
    "loss_count",
)


@dataclass
class LoopState:
    """Where a run stands. The fields from ``epoch`` to ``loss_count`` are a checkpoint's ``progress``."""

    epoch: int = 0  # the epoch under way (0-based)
    batch: int = 0  # batches of it done
    best_score: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0  # evaluations since the best one
    history: list[dict] = field(default_factory=list)  # a record per epoch
    elapsed: float = 0.0  # seconds trained, resumed runs included, as of the last checkpoint
    loss_sum: float = 0.0  # over the epoch's batches so far
    loss_count: int = 0
    rng: Any = None  # torch's RNG state at the start of batch ``batch``
    best_model: dict | None = None  # the best weights so far, on the CPU
    stopped: str | None = None  # "early" or "time" once the loop is to stop before its last epoch

    def progress(self) -> dict:
        return {name: getattr(self, name) for name in _PROGRESS}

    @classmethod
    def from_progress(cls, saved: dict, best_model: dict | None) -> LoopState:
        state = cls(**{name: saved[name] for name in _PROGRESS if name in saved}, best_model=best_model)
        state.epoch, state.batch = int(state.epoch), int(state.batch)
        return state


class Trainer:
    """Runs :class:`LoopTask` under :class:`LoopConfig`."""

    def __init__(self, config: LoopConfig, is_main: bool | None = None):
        self.config = config
        self.dist = dist_context()
        # only the main process (rank 0 under torchrun) writes checkpoints and reports
        self.is_main = self.dist.is_main if is_main is None else is_main
        self.average: WeightAverage | None = None
        # set when a run begins: the device, the precision of forward passes, the model they go
        # through (DDP under torchrun) and the clock's reading at the start (less the time trained
        # before a resume)
        self.device = self.precision = self.net = None
        self._started = 0.0

    def fit(self, task: LoopTask, resume_state: dict | None = None) -> LoopResult:
        """Train until the last epoch, early stopping or the time budget (from ``resume_state``, a
        checkpoint, when given); the model ends with the best weights seen on dev."""
        state = self._begin(task, resume_state)
        with InterruptFlag() as interrupt:
            try:
                while state.epoch < self.config.epochs and state.stopped is None:
                    partial = self._run_epoch(task, state, interrupt)
                    self._end_of_epoch(task, state, partial)
            except KeyboardInterrupt:
                self._save_interrupted(task, state)
                raise
        if state.best_model is not None:
            task.model.load_state_dict({k: v.to(self.device) for k, v in state.best_model.items()})
        return LoopResult(
            state.best_score,
            state.best_epoch,
            len(state.history),
            state.stopped or "epochs",
            self._elapsed(),
            state.history,
        )

    # -- the steps of a run -------------------------------------------------------------------

    def _begin(self, task: LoopTask, resume_state: dict | None) -> LoopState:
        """The state to start from (the checkpoint's, when resuming), the clock, the device, the
        precision, and the model the forward passes go through (DDP under torchrun)."""
        state = LoopState()
        self.average = WeightAverage(task.model, self.config.ema) if self.config.ema else None
        if resume_state is not None:
            state = self._restore(task, resume_state)
        self._started = time.perf_counter() - state.elapsed
        state.rng = torch.get_rng_state()
        self.device = next(task.model.parameters()).device
        self.precision = resolve_precision(self.config.precision, self.device)
        self.dist = init_distributed(self.device)
        self.net = wrap_model(task.model, self.device, self.dist)
        return state

    def _run_epoch(self, task: LoopTask, state: LoopState, interrupt: InterruptFlag) -> bool:
        """The batches of ``state.epoch`` from ``state.batch`` on (this rank's share of them); True
        when the time budget ran out before the last one."""
        cfg = self.config
        task.schedule.start_epoch(task.optimizer, state.epoch)
        batches = rank_share(task.batches(state.epoch, epoch_generator(cfg.seed, state.epoch)), self.dist)
        task.model.train()
        title = f"epoch {state.epoch + 1}/{cfg.epochs}"
        with progress.task(title, total=len(batches), unit="batches") as bar:
            bar.advance(state.batch)
            for b in range(state.batch, len(batches)):
                # invariant: (state.batch, state.rng) describe the start of batch ``state.batch``
                self._train_batch(task, state, batches[b])
                bar.advance(1)
                if b % 20 == 0:
                    bar.update(description=f"{title} loss {state.loss_sum / state.loss_count:.4f}")
                self._after_batch(task, state, len(batches))
                if self._stop_inside_epoch(state, len(batches), interrupt):
                    return True
        return False

    def _train_batch(self, task: LoopTask, state: LoopState, batch) -> None:
        """One optimizer step on ``batch``; ``state`` then describes the start of the next batch."""
        task.optimizer.zero_grad(set_to_none=True)
        with autocast(self.precision, self.device):
            loss = task.loss(self.net, batch)
        loss.backward()
        if self.config.clip_norm:
            torch.nn.utils.clip_grad_norm_(task.model.parameters(), self.config.clip_norm)
        task.optimizer.step()
        if self.average is not None:
            self.average.update()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise FloatingPointError(
                f"the training loss became {value} at epoch {state.epoch + 1}, batch "
                f"{state.batch + 1}; lower --learning-rate or set --clip-norm"
            )
        state.loss_sum += value
        state.loss_count += 1
        state.batch += 1
        state.rng = torch.get_rng_state()

    def _after_batch(self, task: LoopTask, state: LoopState, n_batches: int) -> None:
        """The schedule's step, then the task's hook (so that a checkpoint taken in the hook holds
        the rate of the next batch)."""
        if task.schedule.follows_progress:
            task.schedule.after_batch(task.optimizer, self._done(state, n_batches))
        if task.on_batch_end is not None:
            task.on_batch_end(state.epoch, state.batch - 1)

    def _done(self, state: LoopState, n_batches: int) -> float:
        """The share of the planned run behind: of the time budget when there is one (the slowest
        rank's clock), else of the batches of all epochs."""
        if self.config.max_time:
            return rank_max([self._elapsed() / self.config.max_time], self.dist)[0]
        return (state.epoch * n_batches + state.batch) / (self.config.epochs * n_batches)

    def _stop_inside_epoch(self, state: LoopState, n_batches: int, interrupt: InterruptFlag) -> bool:
        """Between two batches: KeyboardInterrupt after Ctrl-C on any rank; True when the time budget
        ran out (on any rank) before the epoch's last batch."""
        cfg = self.config
        late = cfg.max_time is not None and self._elapsed() > cfg.max_time and state.batch < n_batches
        interrupted, late = any_rank([interrupt.raised, late], self.dist)
        if interrupted:
            raise KeyboardInterrupt
        return late

    def _end_of_epoch(self, task: LoopTask, state: LoopState, partial: bool) -> None:
        """Evaluate and report the epoch, take a checkpoint, and decide whether to go on."""
        self._record_epoch(task, state, partial)
        if partial:
            state.stopped = "time"
            state.elapsed = self._elapsed()
            self.save_checkpoint(task, state)
            progress.warn(
                f"--max-time reached after {self._elapsed() / 60:.1f} min "
                f"(epoch {state.epoch + 1}, batch {state.batch}); keeping the best model so far"
            )
            return
        state.epoch += 1
        state.batch = 0
        state.elapsed = self._elapsed()
        self.save_checkpoint(task, state)
        state.stopped = self._should_stop(state)

    def _record_epoch(self, task: LoopTask, state: LoopState, partial: bool) -> None:
        record = {
            "epoch": state.epoch + 1,
            "batches": state.batch,
            "loss": state.loss_sum / max(state.loss_count, 1),
        }
        with self.average.applied() if self.average is not None else contextlib.nullcontext():
            improved = self._evaluate(task, record, state)
            if improved:
                state.best_model = cpu_state(task.model)
        task.schedule.after_evaluation(task.optimizer, improved)
        record["seconds"] = round(self._elapsed(), 1)
        state.history.append(record)
        self._report(record, task, partial)
        state.loss_sum, state.loss_count = 0.0, 0

    def _should_stop(self, state: LoopState) -> str | None:
        """After a whole epoch that was not the last: "early" after ``patience`` epochs without dev
        improvement, "time" once the budget is spent (on any rank); None to go on."""
        cfg = self.config
        if state.epoch >= cfg.epochs:
            return None
        if cfg.patience is not None and state.bad_epochs >= cfg.patience:
            progress.info(f"early stopping: no dev improvement in {cfg.patience} epoch(s)")
            return "early"
        if any_rank([cfg.max_time is not None and self._elapsed() > cfg.max_time], self.dist)[0]:
            progress.warn(f"--max-time reached after {self._elapsed() / 60:.1f} min; stopping")
            return "time"
        return None

    def _save_interrupted(self, task: LoopTask, state: LoopState) -> None:
        """After Ctrl-C: a checkpoint where the run stopped, and how to go on from it."""
        cfg = self.config
        state.elapsed = self._elapsed()
        if cfg.checkpoint:
            with _ignore_sigint():  # every rank takes part (RNG gather); rank 0 writes
                self.save_checkpoint(task, state)
        if self.is_main and cfg.checkpoint:
            progress.warn(
                f"interrupted at epoch {state.epoch + 1}, batch {state.batch}: checkpoint saved to "
                f"{cfg.checkpoint}; continue with --resume {cfg.checkpoint}"
            )

    def _elapsed(self) -> float:
        return time.perf_counter() - self._started

    # -- checkpoints, evaluation, reports -----------------------------------------------------

    def save_checkpoint(self, task: LoopTask, state: LoopState) -> None:
        if not self.config.checkpoint:
            return
        rank_rngs = gather_objects(state.rng, self.dist)  # dropout draws differ per rank: every rank's RNG
        if not self.is_main:
            return
        ckpt = checkpoint_state(
            task.model,
            task.optimizer,
            state.progress(),
            state.rng,
            state.best_model,
            task.extra,
            self.config.to_dict(),
            None if self.average is None else self.average.state_dict(),
        )
        if rank_rngs is not None:
            ckpt["rng"]["ranks"] = rank_rngs
        write_checkpoint(self.config.checkpoint, ckpt, self.config.to_dict())

    def _restore(self, task: LoopTask, ckpt: dict) -> LoopState:
        saved = restore_checkpoint(ckpt, task.model, task.optimizer, self.dist, self.config.resume)
        state = LoopState.from_progress(saved, ckpt.get("best_model"))
        if self.average is not None and ckpt.get("average"):
            self.average.load_state_dict(ckpt["average"])
        progress.info(
            f"resuming at epoch {state.epoch + 1}, batch {state.batch} ({state.elapsed:.0f} s trained so far)"
        )
        return state

    def _evaluate(self, task: LoopTask, record: dict, state: LoopState) -> bool:
        """Evaluate on dev; True when this is the best model so far (always True without dev)."""
        if task.evaluate is None:
            return True
        task.model.eval()
        with torch.no_grad():
            result = task.evaluate(task.model)
        task.model.train()
        score = float(result[task.metric])
        record.update({k: v for k, v in result.items() if isinstance(v, (int, float))})
        best = state.best_score
        better = best is None or (score < best if task.lower_is_better else score > best)
        if better:
            state.best_score, state.best_epoch, state.bad_epochs = score, record["epoch"], 0
        else:
            state.bad_epochs += 1
        record["best"] = better
        return better

    def _report(self, record: dict, task: LoopTask, partial: bool) -> None:
        if not self.is_main:
            return
        parts = [
            f"epoch {record['epoch']}/{self.config.epochs}" + (" (partial)" if partial else ""),
            f"loss {record['loss']:.4f}",
        ]
        if task.evaluate is not None:
            best = " *" if record.get("best") else ""
            parts.append(f"dev {task.metric} {record[task.metric]:.4f}{best}")
        parts.append(f"{record['seconds']:.0f} s")
        progress.info(", ".join(parts))


# --------------------------------------------------------------------------------------------
# Ctrl-C


@contextlib.contextmanager
def _ignore_sigint() -> Iterator[None]:
    """While the checkpoint is written, a further Ctrl-C must not leave half a file (it would not:
    the write is atomic) nor skip the message."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
