"""The one torch training loop (see :mod:`nlpcli.training.loop`), imported lazily: importing this
package does not import torch."""

from __future__ import annotations

import importlib


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(importlib.import_module(f"{__name__}.loop"), name)
