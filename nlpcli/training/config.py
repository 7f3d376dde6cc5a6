"""How the loop runs (:class:`LoopConfig`), the choices it accepts and the check that a checkpoint
fits the run resuming from it. Torch-free: the command line builds these before torch loads."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from nlpcli.errors import UsageError

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
    ema: float | None = (
        None  # evaluate and keep an exponential moving average of the weights (decay per step)
    )
    precision: str = (
        "fp32"  # forward passes in training: fp32, bf16 (autocast) or auto (see resolve_precision)
    )

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


def check_resume(ckpt: dict, expected: dict, path: str) -> None:
    """Refuse a checkpoint made with other model options or data (``expected``: plain values)."""
    stored = ckpt.get("extra", {}).get("fingerprint", {})
    diffs = [k for k, v in expected.items() if k in stored and stored[k] != v]
    if diffs:
        shown = ", ".join(f"{k}: {stored[k]!r} there, {expected[k]!r} now" for k in diffs[:4])
        raise UsageError(
            f"{path}: the checkpoint was made with other options or data ({shown}); "
            "resume with the same command, or start again without --resume"
        )
