"""The RNN's options (torch-free): the network, the vocabulary and the optimizer, with their
defaults and checks, and the training-loop options the train command gives it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from nlpcli.errors import UsageError
from nlpcli.textio import default_checkpoint

CELLS = ("rnn", "lstm", "gru")
POOLINGS = ("last", "max", "mean")
#: the options that shape the network (stored in the artifact)
MODEL_OPTIONS = (
    "cell",
    "layers",
    "bidirectional",
    "hidden",
    "embedding_dim",
    "dropout",
    "pooling",
    "max_length",
    "subwords",
)
DEFAULT_LEARNING_RATE = 2e-3


@dataclass
class RnnConfig:
    cell: str = "gru"
    layers: int = 1
    bidirectional: bool = True
    hidden: int = 128
    embedding_dim: int = 128
    dropout: float = 0.3
    pooling: str = "max"
    max_length: int = 100
    min_count: int = 2
    max_vocab: int | None = None
    embeddings: str | None = None
    freeze_embeddings: bool = False
    learning_rate: float | None = DEFAULT_LEARNING_RATE  # None: the default
    weight_decay: float = 0.0
    lr_decay: float = 1.0  # the learning rate of epoch e is learning_rate * lr_decay**e
    subwords: int = 0  # add character n-grams up to this length to each token's embedding; 0: off

    def __post_init__(self):
        if self.learning_rate is None:
            self.learning_rate = DEFAULT_LEARNING_RATE
        if self.cell not in CELLS:
            raise UsageError(f"--cell must be one of {', '.join(CELLS)}")
        if self.pooling not in POOLINGS:
            raise UsageError(f"--pooling must be one of {', '.join(POOLINGS)}")
        if self.layers < 1 or self.hidden < 1 or self.embedding_dim < 1 or self.max_length < 1:
            raise UsageError("--layers, --hidden, --embedding-dim and --max-length must be positive")
        if not 0 <= self.dropout < 1:
            raise UsageError("--dropout must be in [0, 1)")
        if self.freeze_embeddings and not self.embeddings:
            raise UsageError("--freeze-embeddings needs --embeddings FILE")
        if self.learning_rate <= 0:
            raise UsageError("--learning-rate must be positive")
        if not 0 < self.lr_decay <= 1:
            raise UsageError("--lr-decay must be in (0, 1]")
        if not 0 <= self.subwords <= 6:
            raise UsageError("--subwords must be between 0 (off) and 6")

    def model_dict(self) -> dict:
        """The options that shape the network (stored in the artifact)."""
        return {k: v for k, v in asdict(self).items() if k in MODEL_OPTIONS}


def loop_config(
    output: str,
    *,
    early_stopping: bool = True,
    patience: int = 2,
    clip_norm: float = 5.0,
    ema: float = 0.0,
    checkpoint: str | None = None,
    max_time: float | None = None,
    **options,
):
    """The :class:`~nlpcli.training.LoopConfig` of the RNN from the train options: no patience
    without ``early_stopping``, 0 turns ``clip_norm`` and ``ema`` off, the checkpoint defaults to
    ``OUTPUT.ckpt``, ``max_time`` is in minutes. ``options``: the other LoopConfig fields."""
    from nlpcli import training

    return training.LoopConfig(
        patience=patience if early_stopping else None,
        clip_norm=clip_norm or None,
        ema=ema or None,
        checkpoint=checkpoint or default_checkpoint(output),
        max_time=max_time * 60 if max_time else None,
        **options,
    )
