"""Attention, made visible: a PNG heatmap per sentence, or a compact colored grid in the terminal.

Rows are the output tokens (``</s>`` last), columns the source tokens; a cell's darkness is the
weight the decoder gave that source token when it wrote that output token. Hangul is drawn with a
Korean-capable font found by :mod:`nlpcli.plotting` (the same handling as ``embed plot``).
"""

from __future__ import annotations

import os

import numpy as np

from nlpcli.translate.tokenizers import SPACE

_BLOCKS = " ░▒▓█"  # also readable without colors (a pipe, NO_COLOR)


def _label(token: str) -> str:
    return token.replace(SPACE, "_") if token != SPACE else "_"


def plot_attention(
    attention: np.ndarray,
    source: list[str],
    output: list[str],
    path: str,
    font: str | None = None,
    title: str | None = None,
) -> None:
    """Save one heatmap (``attention``: [len(output) + 1, len(source)])."""
    from nlpcli.plotting import korean_figure_setup, save_figure

    plt = korean_figure_setup(font)
    rows = [_label(t) for t in output] + ["</s>"]
    cols = [_label(t) for t in source]
    att = attention[: len(rows), : len(cols)]
    width = min(2 + 0.45 * len(cols), 30)
    height = min(1.5 + 0.4 * len(rows), 30)
    fig, ax = plt.subplots(figsize=(width, height))
    try:
        image = ax.imshow(att, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(len(cols)))
        ax.set_xticklabels(cols, rotation=45, ha="right")
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(rows)
        ax.set_xlabel("source")
        ax.set_ylabel("output")
        if title:
            ax.set_title(title, fontsize=10)
        fig.colorbar(image, ax=ax, fraction=0.03)
        save_figure(fig, path)
    finally:
        plt.close(fig)


def plot_path(directory: str, number: int) -> str:
    os.makedirs(directory, exist_ok=True)
    return os.path.join(directory, f"attention-{number:05d}.png")


def render_terminal(attention: np.ndarray, source: list[str], output: list[str]):
    """A rich renderable: one row per output token, one 2-character cell per source token, shaded
    from white (no weight) to dark red (all the weight); source tokens are listed under the grid."""
    from rich.table import Table
    from rich.text import Text

    rows = [_label(t) for t in output] + ["</s>"]
    cols = [_label(t) for t in source]
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(no_wrap=True)
    for r, name in enumerate(rows):
        cells = Text()
        for c in range(len(cols)):
            w = float(attention[r, c]) if r < attention.shape[0] and c < attention.shape[1] else 0.0
            shade = int(255 * (1 - w))
            block = _BLOCKS[min(int(w * len(_BLOCKS)), len(_BLOCKS) - 1)]
            cells.append(block * 2, style=f"rgb(160,0,0) on rgb(255,{shade},{shade})")
        grid.add_row(name, cells)
    legend = Text("columns: " + " ".join(f"{i + 1}={t}" for i, t in enumerate(cols)), style="dim")
    grid.add_row("", legend)
    return grid
