"""``nlpcli info``: what an artifact is, how it was made, and whether it is intact."""

from __future__ import annotations

from typing import Annotated

import typer

from nlpcli.cli import app


@app.command(
    "info",
    help="Show what an artifact is and how it was made: kind, the nlpcli version and time that "
    "wrote it, the preprocessing recipe, parameters, training data, dev metrics, the versions of "
    "the libraries it was made with (and the installed ones where they differ), its size and "
    "whether its checksum verifies.\n\n"
    "Reads the manifest, not the model: quick on large models, and nothing in the file is run. "
    "Works on every artifact nlpcli writes "
    "(vectorizers, models, translators, checkpoints, embed model directories).\n\n"
    "Example: nlpcli info sentiment.joblib --json",
)
def info_cmd(
    artifact: Annotated[
        str, typer.Argument(help="An artifact file, or an embed model directory.", show_default=False)
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON on stdout (stable keys; see docs/artifacts.md).")
    ] = False,
) -> None:
    from nlpcli import info

    info.show(artifact, as_json)
