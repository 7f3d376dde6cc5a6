"""The translation model's configuration, without torch: what the CLI validates and the artifact stores.

:class:`ModelConfig` is stored in every translator artifact as a plain dict (``to_dict``);
:func:`stored_config` reads such a dict back, including those of artifacts written before an
option existed. The torch module it describes is :class:`nlpcli.translate.model.Seq2Seq`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from nlpcli.errors import UsageError

CELLS = ("gru", "lstm")

#: ``translate run``: an input of at most this many sentences is translated with numpy alone
#: (torch is not imported: 1-2 s saved); more go through torch in batches, faster per sentence
#: (bench/RESULTS.md: how it was chosen)
PLAIN_LIMIT = 16
ATTENTIONS = ("bahdanau", "luong", "dot", "none")


@dataclass
class ModelConfig:
    cell: str = "gru"
    layers: int = 1
    hidden: int = 256
    embedding_dim: int = 256
    bidirectional: bool = True
    attention: str = "bahdanau"
    dropout: float = 0.3
    tie_embeddings: bool = True
    # True: the attention context of each step is an input of the decoder RNN (Bahdanau et al.
    # 2015; Luong et al. 2015's input feeding), so training runs the decoder one position at a
    # time. False: the decoder RNN reads only the target embeddings and attends from its output;
    # training then runs the whole decoder and all attention at once. Artifacts written before
    # the option existed have no key: stored_config() reads them as True, what they were trained with.
    input_feeding: bool = False

    def __post_init__(self):
        if self.cell not in CELLS:
            raise UsageError(f"--cell must be one of {', '.join(CELLS)}")
        if self.attention not in ATTENTIONS:
            raise UsageError(f"--attention must be one of {', '.join(ATTENTIONS)}")
        if min(self.layers, self.hidden, self.embedding_dim) < 1:
            raise UsageError("--layers, --hidden and --embedding-dim must be positive")
        if not 0 <= self.dropout < 1:
            raise UsageError("--dropout must be in [0, 1)")
        if self.attention == "dot" and self.bidirectional:
            raise UsageError(
                "--attention dot needs --unidirectional (the encoder output must have the "
                "decoder's size); use --attention luong (general) with a bidirectional encoder"
            )

    @property
    def feeds(self) -> bool:
        """Whether each decoder step reads the previous context (always so without attention,
        where the context is the fixed sentence summary)."""
        return self.input_feeding or self.attention == "none"

    def to_dict(self) -> dict:
        return asdict(self)


def stored_config(config: dict) -> ModelConfig:
    """The configuration a ``to_dict`` describes (as stored in an artifact or checkpoint). A dict
    without ``input_feeding`` comes from before the option existed, when every model fed it."""
    return ModelConfig(**{"input_feeding": True, **config})
