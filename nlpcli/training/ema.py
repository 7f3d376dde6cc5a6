"""An exponential moving average of the weights (``--ema``)."""

from __future__ import annotations

import contextlib

import torch

from nlpcli.errors import ArtifactError


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
        self.steps += 1
        weight = 1.0 - min(self.decay, (1 + self.steps) / (10 + self.steps))
        with torch.no_grad():
            torch._foreach_lerp_(self.shadow, [p.detach() for p in self.params], weight)

    @contextlib.contextmanager
    def applied(self):
        """Within the block the model holds the averaged weights; the raw ones come back after."""
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
        if len(state["shadow"]) != len(self.shadow):
            raise ArtifactError(
                "the checkpoint's weight average does not fit this model; resume with the "
                "options it was started with"
            )
        self.steps = int(state["steps"])
        with torch.no_grad():
            for s, saved in zip(self.shadow, state["shadow"]):
                s.copy_(saved)
