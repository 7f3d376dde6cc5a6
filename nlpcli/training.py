"""The one torch training loop: device choice, seeds, batches, gradient clipping, early stopping,
a time budget, a checkpoint each epoch, exact resume, and Ctrl-C that saves before exiting.

It knows nothing about text: a caller hands it a :class:`LoopTask` (the model, the optimizer, a
function that lists the batches of an epoch, a loss function and an evaluation function) and
plain data to store with the checkpoints (what it needs to rebuild the model on resume).

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
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Sequence

from nlpcli import artifacts, progress
from nlpcli.errors import ArtifactError, DependencyError, UsageError

CHECKPOINT_KIND = "checkpoint"
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass
class LoopConfig:
    epochs: int = 5
    batch_size: int = 64
    patience: int | None = 2  # epochs without dev improvement before stopping; None: never
    clip_norm: float | None = 5.0  # max gradient norm; None: no clipping
    device: str = "auto"
    threads: int | None = None
    seed: int = 0
    checkpoint: str | None = None  # written each epoch (and on Ctrl-C / time budget)
    resume: str | None = None
    max_time: float | None = None  # seconds of training, resumed runs included
    ema: float | None = None  # evaluate and keep an exponential moving average of the weights (decay per step)
    precision: str = "fp32"  # forward passes in training: fp32, bf16 (autocast) or auto (see resolve_precision)

    def __post_init__(self):
        if self.ema is not None and not 0 < self.ema < 1:
            raise UsageError("--ema must be between 0 and 1 (e.g. 0.999), or 0 for off")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise UsageError(f"--device must be one of {', '.join(DEVICES)}")
        if self.epochs < 1 or self.batch_size < 1:
            raise UsageError("--epochs and --batch-size must be positive")
        if self.precision not in PRECISIONS:
            raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LoopTask:
    """What the loop trains. ``batches(epoch, generator)`` must be deterministic given the generator;
    ``loss(model, batch)`` returns a scalar tensor; ``evaluate(model)`` returns a dict holding
    ``metric`` (higher is better unless ``lower_is_better``)."""

    model: Any
    optimizer: Any
    batches: Callable[[int, Any], Sequence[Any]]
    loss: Callable[[Any, Any], Any]
    evaluate: Callable[[Any], dict] | None = None
    metric: str = "accuracy"
    lower_is_better: bool = False
    extra: dict = field(default_factory=dict)  # plain data stored in every checkpoint
    on_batch_end: Callable[[int, int], None] | None = None  # (epoch, batch) hook (tests, DDP)


@dataclass
class LoopResult:
    best_score: float | None
    best_epoch: int | None
    epochs: int  # epochs completed
    stopped: str  # "epochs", "early", "time"
    seconds: float
    history: list[dict]


# --------------------------------------------------------------------------------------------
# devices, threads, seeds


def resolve_device(name: str = "auto", warn: bool = True):
    """A torch device: ``auto`` falls back to the CPU (with a warning unless ``warn`` is False);
    ``cuda`` without a GPU is an error."""
    import torch

    if name == "cpu":
        return torch.device("cpu")
    available = torch.cuda.is_available()
    if name in ("auto", "cuda") and available and dist_context().active:
        return torch.device("cuda", dist_context().local_rank % torch.cuda.device_count())
    if name == "auto":
        if available:
            return torch.device("cuda")
        if warn:
            progress.warn("no CUDA GPU found; running on the CPU (--device cpu silences this)")
        return torch.device("cpu")
    if not available:
        raise DependencyError(f"--device {name}: no CUDA GPU is usable here (torch {torch.__version__}, "
                              f"CUDA build: {torch.version.cuda or 'none'}); use --device cpu or auto")
    device = torch.device(name)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise DependencyError(f"--device {name}: only {torch.cuda.device_count()} GPU(s) here")
    return device


def resolve_precision(name: str, device) -> str:
    """``fp32`` or ``bf16`` for training forward passes on ``device``. ``auto`` is bf16 where the
    hardware multiplies bfloat16 natively (a CPU with AVX512-BF16 or AMX, as oneDNN reports it; a
    CUDA GPU that supports it) and fp32 elsewhere, where emulated bf16 would be slower."""
    if name != "auto":
        return name
    return "bf16" if _native_bf16(device) else "fp32"


def _native_bf16(device) -> bool:
    import torch

    try:
        if device.type == "cuda":
            return bool(torch.cuda.is_bf16_supported())
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # an older or unusual build: no native bf16 known
        return False


def autocast(precision: str, device):
    """A context for forward passes: bf16 autocast (matrix products in bfloat16, weights and
    gradients kept in fp32), or nothing for fp32."""
    import torch

    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def set_threads(threads: int | None) -> None:
    if threads:
        if threads > 4096:  # torch takes a C int: a huge value is an OverflowError there
            raise UsageError(f"--threads {threads}: at most 4096")
        import torch

        torch.set_num_threads(threads)


def adam(params, lr: float, weight_decay: float = 0.0):
    """Adam, fused (one kernel per parameter instead of a handful of small ops) where this torch
    has it for the device: 3-5x faster steps on CPU, which is about 5 % of a small translator's
    batch. The fused and the plain variants compute the same update."""
    import torch

    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):  # torch < 2.4 on CPU, or an unsupported device
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def seed_everything(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_generator(seed: int, epoch: int):
    """The generator an epoch's batch order is drawn from: the same on resume."""
    import torch

    return torch.Generator().manual_seed(seed * 100_003 + epoch)


# --------------------------------------------------------------------------------------------
# distributed runs (torchrun)


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
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend)
    if not ctx.is_main:
        progress.configure(quiet=True, debug=progress.DEBUG)
    return ctx


def _rank_max(values: list[float], ctx: DistContext) -> list[float]:
    if not ctx.active:
        return values
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.tolist()


def _any_rank(flags: list[bool], ctx: DistContext) -> list[bool]:
    """The flags OR-ed over all ranks, so every rank stops at the same batch."""
    return [bool(v) for v in _rank_max([1.0 if f else 0.0 for f in flags], ctx)]


def agreed_max(value: float) -> float:
    """The largest ``value`` over the ranks of a torchrun job (``value`` itself outside one): for
    quantities every rank must agree on, such as a learning rate that follows the clock (ranks
    whose optimizers stepped with different rates would drift apart under DDP)."""
    return _rank_max([float(value)], dist_context())[0]


# --------------------------------------------------------------------------------------------
# checkpoints


def load_checkpoint(path: str) -> dict:
    """A checkpoint written by :class:`Trainer` (checked like every artifact; weights only)."""
    art = artifacts.load(path, kinds=(CHECKPOINT_KIND,))
    state = art.payload
    for key in ("model", "optimizer", "progress", "rng"):
        if key not in state:
            raise ArtifactError(f"{path}: checkpoint lacks {key!r}; it is damaged, start again without --resume")
    state["manifest"] = art.manifest
    return state


class WeightAverage:
    """An exponential moving average of a model's parameters (Polyak averaging), updated after
    every optimizer step: ``avg += (1 - d) * (w - avg)`` with ``d = min(decay, (1 + n) / (10 + n))``
    after ``n`` steps (the warm-up keeps the first steps from dragging the random start along).
    Dev evaluation and the saved model use the average; training continues from the raw weights."""

    def __init__(self, model, decay: float):
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.shadow = [p.detach().clone() for p in self.params]
        self.decay, self.steps = decay, 0

    def update(self) -> None:
        import torch

        self.steps += 1
        weight = 1.0 - min(self.decay, (1 + self.steps) / (10 + self.steps))
        with torch.no_grad():
            torch._foreach_lerp_(self.shadow, [p.detach() for p in self.params], weight)

    @contextlib.contextmanager
    def applied(self):
        """Within the block the model holds the averaged weights; the raw ones come back after."""
        import torch

        with torch.no_grad():
            backup = [p.detach().clone() for p in self.params]
            for p, s in zip(self.params, self.shadow):
                p.copy_(s)
        try:
            yield
        finally:
            with torch.no_grad():
                for p, b in zip(self.params, backup):
                    p.copy_(b)

    def state_dict(self) -> dict:
        return {"steps": self.steps, "shadow": [s.detach().cpu() for s in self.shadow]}

    def load_state_dict(self, state: dict) -> None:
        import torch

        if len(state["shadow"]) != len(self.shadow):
            raise ArtifactError("the checkpoint's weight average does not fit this model; resume with the "
                                "options it was started with")
        self.steps = int(state["steps"])
        with torch.no_grad():
            for s, saved in zip(self.shadow, state["shadow"]):
                s.copy_(saved)


def _cpu_state(module) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


class _InterruptFlag:
    """SIGINT sets a flag that the loop checks between batches, so a checkpoint is never taken
    half-way through an optimizer step; a second Ctrl-C interrupts at once."""

    def __init__(self):
        self.raised = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.raised:
            raise KeyboardInterrupt
        self.raised = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class Trainer:
    """Runs :class:`LoopTask` under :class:`LoopConfig`."""

    def __init__(self, config: LoopConfig, is_main: bool | None = None):
        self.config = config
        self.dist = dist_context()
        # only the main process (rank 0 under torchrun) writes checkpoints and reports
        self.is_main = self.dist.is_main if is_main is None else is_main
        self.average: WeightAverage | None = None

    # -- checkpoint state -------------------------------------------------------------------

    def _state(self, task: LoopTask, epoch: int, batch: int, rng, best_state, stats: dict) -> dict:
        import torch

        rng_state = {"torch": rng}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            rng_state["cuda"] = torch.cuda.get_rng_state_all()
        return {"model": _cpu_state(task.model), "optimizer": task.optimizer.state_dict(),
                "best_model": best_state, "rng": rng_state,
                "progress": {"epoch": epoch, "batch": batch, **stats}, "extra": task.extra,
                "loop": self.config.to_dict(),
                "average": None if self.average is None else self.average.state_dict()}

    def save_checkpoint(self, task: LoopTask, epoch: int, batch: int, rng, best_state, stats: dict) -> None:
        if not self.config.checkpoint:
            return
        rank_rngs = None
        if self.dist.active:  # every rank's RNG (dropout draws differ per rank): a collective call
            import torch.distributed as dist

            rank_rngs = [None] * self.dist.world
            dist.all_gather_object(rank_rngs, rng)
        if not self.is_main:
            return
        state = self._state(task, epoch, batch, rng, best_state, stats)
        if rank_rngs is not None:
            state["rng"]["ranks"] = rank_rngs
        artifacts.save_torch(self.config.checkpoint, CHECKPOINT_KIND, state,
                             params={"loop": self.config.to_dict()})

    def _restore(self, task: LoopTask, ckpt: dict) -> tuple[int, int, Any, dict]:
        import torch

        try:
            task.model.load_state_dict(ckpt["model"])
            task.optimizer.load_state_dict(ckpt["optimizer"])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise ArtifactError(f"{self.config.resume}: the checkpoint does not fit this model "
                                f"({str(exc).splitlines()[0][:160]}); resume with the options it was "
                                "started with") from None
        rng = ckpt["rng"]["torch"]
        ranks = ckpt["rng"].get("ranks")
        if self.dist.active and ranks is not None and len(ranks) == self.dist.world:
            rng = ranks[self.dist.rank]
        torch.set_rng_state(rng)
        if "cuda" in ckpt["rng"] and torch.cuda.is_available():
            with contextlib.suppress(RuntimeError):
                torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])
        p = dict(ckpt["progress"])
        epoch, batch = int(p.pop("epoch")), int(p.pop("batch"))
        return epoch, batch, ckpt.get("best_model"), p

    # -- the loop ---------------------------------------------------------------------------

    def fit(self, task: LoopTask, resume_state: dict | None = None) -> LoopResult:
        import torch

        cfg = self.config
        model = task.model
        stats = {"best_score": None, "best_epoch": None, "bad_epochs": 0, "history": [],
                 "elapsed": 0.0, "loss_sum": 0.0, "loss_count": 0}
        epoch, start_batch, best_state = 0, 0, None
        self.average = WeightAverage(model, cfg.ema) if cfg.ema else None
        if resume_state is not None:
            epoch, start_batch, best_state, restored = self._restore(task, resume_state)
            if self.average is not None and resume_state.get("average"):
                self.average.load_state_dict(resume_state["average"])
            stats.update(restored)
            progress.info(f"resuming at epoch {epoch + 1}, batch {start_batch} "
                          f"({stats['elapsed']:.0f} s trained so far)")
        stopped = "epochs"
        started = time.perf_counter() - stats["elapsed"]
        rng_at_batch = torch.get_rng_state()
        done = start_batch
        device = next(model.parameters()).device
        precision = resolve_precision(cfg.precision, device)
        ctx = init_distributed(device)
        net = model
        if ctx.active:
            # DistributedDataParallel: gradients averaged over ranks after every backward; each rank
            # trains on its share of every epoch's batches (the same seeded order on every rank)
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

        def elapsed() -> float:
            return time.perf_counter() - started

        with _InterruptFlag() as interrupt:
            try:
                while epoch < cfg.epochs:
                    batches = task.batches(epoch, epoch_generator(cfg.seed, epoch))
                    if ctx.active:
                        share = len(batches) // ctx.world
                        batches = batches[ctx.rank:share * ctx.world:ctx.world]
                    model.train()
                    out_of_time = False
                    with progress.task(f"epoch {epoch + 1}/{cfg.epochs}", total=len(batches),
                                       unit="batches") as bar:
                        bar.advance(start_batch)
                        for b in range(start_batch, len(batches)):
                            # invariant: (done, rng_at_batch) describe the start of batch ``done``
                            task.optimizer.zero_grad(set_to_none=True)
                            with autocast(precision, device):
                                loss = task.loss(net, batches[b])
                            loss.backward()
                            if cfg.clip_norm:
                                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm)
                            task.optimizer.step()
                            if self.average is not None:
                                self.average.update()
                            value = float(loss.detach())
                            if not math.isfinite(value):
                                raise FloatingPointError(
                                    f"the training loss became {value} at epoch {epoch + 1}, batch {b + 1}; "
                                    "lower --learning-rate or set --clip-norm")
                            stats["loss_sum"] += value
                            stats["loss_count"] += 1
                            done = b + 1
                            rng_at_batch = torch.get_rng_state()
                            bar.advance(1)
                            if b % 20 == 0:
                                bar.update(description=f"epoch {epoch + 1}/{cfg.epochs} loss "
                                                       f"{stats['loss_sum'] / stats['loss_count']:.4f}")
                            if task.on_batch_end is not None:
                                task.on_batch_end(epoch, b)
                            late = cfg.max_time is not None and elapsed() > cfg.max_time and done < len(batches)
                            if ctx.active:
                                interrupted, late = _any_rank([interrupt.raised, late], ctx)
                            else:
                                interrupted = interrupt.raised
                            if interrupted:
                                raise KeyboardInterrupt
                            if late:
                                out_of_time = True
                                break
                    record = {"epoch": epoch + 1, "batches": done,
                              "loss": stats["loss_sum"] / max(stats["loss_count"], 1)}
                    with self.average.applied() if self.average is not None else contextlib.nullcontext():
                        improved = self._evaluate(task, record, stats)
                        if improved:
                            best_state = _cpu_state(model)
                    record["seconds"] = round(elapsed(), 1)
                    stats["history"].append(record)
                    self._report(record, stats, task, cfg, partial=out_of_time)
                    stats["loss_sum"], stats["loss_count"] = 0.0, 0
                    if out_of_time:
                        stopped = "time"
                        stats["elapsed"] = elapsed()
                        self.save_checkpoint(task, epoch, done, rng_at_batch, best_state, stats)
                        progress.warn(f"--max-time reached after {elapsed() / 60:.1f} min "
                                      f"(epoch {epoch + 1}, batch {done}); keeping the best model so far")
                        break
                    epoch += 1
                    start_batch = done = 0
                    stats["elapsed"] = elapsed()
                    self.save_checkpoint(task, epoch, 0, rng_at_batch, best_state, stats)
                    if cfg.patience is not None and stats["bad_epochs"] >= cfg.patience and epoch < cfg.epochs:
                        stopped = "early"
                        progress.info(f"early stopping: no dev improvement in {cfg.patience} epoch(s)")
                        break
                    late = cfg.max_time is not None and elapsed() > cfg.max_time
                    if ctx.active:
                        late = _any_rank([late], ctx)[0]
                    if late and epoch < cfg.epochs:
                        stopped = "time"
                        progress.warn(f"--max-time reached after {elapsed() / 60:.1f} min; stopping")
                        break
            except KeyboardInterrupt:
                stats["elapsed"] = elapsed()
                if cfg.checkpoint:
                    with _ignore_sigint():  # every rank takes part (RNG gather); rank 0 writes
                        self.save_checkpoint(task, epoch, done, rng_at_batch, best_state, stats)
                if self.is_main and cfg.checkpoint:
                    progress.warn(f"interrupted at epoch {epoch + 1}, batch {done}: checkpoint saved to "
                                  f"{cfg.checkpoint}; continue with --resume {cfg.checkpoint}")
                raise
        if best_state is not None:
            model.load_state_dict({k: v.to(device) for k, v in best_state.items()})
        return LoopResult(stats["best_score"], stats["best_epoch"], len(stats["history"]), stopped,
                          elapsed(), stats["history"])

    def _evaluate(self, task: LoopTask, record: dict, stats: dict) -> bool:
        """Evaluate on dev; True when this is the best model so far (always True without dev)."""
        if task.evaluate is None:
            return True
        import torch

        task.model.eval()
        with torch.no_grad():
            result = task.evaluate(task.model)
        task.model.train()
        score = float(result[task.metric])
        record.update({k: v for k, v in result.items() if isinstance(v, (int, float))})
        best = stats["best_score"]
        better = best is None or (score < best if task.lower_is_better else score > best)
        if better:
            stats["best_score"], stats["best_epoch"], stats["bad_epochs"] = score, record["epoch"], 0
        else:
            stats["bad_epochs"] += 1
        record["best"] = better
        return better

    def _report(self, record: dict, stats: dict, task: LoopTask, cfg: LoopConfig, partial: bool) -> None:
        if not self.is_main:
            return
        parts = [f"epoch {record['epoch']}/{cfg.epochs}" + (" (partial)" if partial else ""),
                 f"loss {record['loss']:.4f}"]
        if task.evaluate is not None:
            parts.append(f"dev {task.metric} {record[task.metric]:.4f}" + (" *" if record.get("best") else ""))
        parts.append(f"{record['seconds']:.0f} s")
        progress.info(", ".join(parts))


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


def check_resume(ckpt: dict, expected: dict, path: str) -> None:
    """Refuse a checkpoint made with other model options or data (``expected``: plain values)."""
    stored = ckpt.get("extra", {}).get("fingerprint", {})
    diffs = [k for k, v in expected.items() if k in stored and stored[k] != v]
    if diffs:
        shown = ", ".join(f"{k}: {stored[k]!r} there, {expected[k]!r} now" for k in diffs[:4])
        raise UsageError(f"{path}: the checkpoint was made with other options or data ({shown}); "
                         "resume with the same command, or start again without --resume")


def length_batches(lengths, batch_size: int, generator=None, pool: int = 50) -> list:
    """Batches of document indices of similar length: shuffle, sort within pools of ``pool``
    batches, cut, shuffle the batches (no generator: in order, sorted, for inference)."""
    import numpy as np
    import torch

    n = len(lengths)
    if generator is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]
    perm = torch.randperm(n, generator=generator).numpy()
    batches = []
    span = batch_size * pool
    for start in range(0, n, span):
        chunk = perm[start:start + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    shuffle = torch.randperm(len(batches), generator=generator).numpy()
    return [batches[i] for i in shuffle]
