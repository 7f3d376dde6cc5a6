"""Messages and progress for people, on stderr only.

Progress bars are drawn only when stderr is a terminal and ``--quiet`` was not given; warnings
are printed unless ``--quiet``. Nothing here ever writes to stdout, which is reserved for data.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

QUIET = False
DEBUG = False


def configure(quiet: bool = False, debug: bool = False) -> None:
    global QUIET, DEBUG
    QUIET, DEBUG = quiet, debug


def _console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def interactive() -> bool:
    return not QUIET and sys.stderr.isatty()


def info(message: str) -> None:
    """A note for people (suppressed by --quiet)."""
    if not QUIET:
        print(message, file=sys.stderr, flush=True)


def warn(message: str) -> None:
    if not QUIET:
        print(f"nlpcli: warning: {message}", file=sys.stderr, flush=True)


class _NullTask:
    def advance(self, n: int = 1) -> None:
        pass

    def update(self, **fields) -> None:
        pass


class _RichTask:
    def __init__(self, progress, task_id, unit: str):
        self._progress, self._id, self._unit = progress, task_id, unit

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._id, n)
        speed = self._progress.tasks[0].speed
        if speed:
            self._progress.update(self._id, rate=f"{speed:,.0f} {self._unit}/s")

    def update(self, **fields) -> None:
        self._progress.update(self._id, **fields)


@contextlib.contextmanager
def task(description: str, total: float | None = None, unit: str = "docs") -> Iterator[_NullTask | _RichTask]:
    """A progress bar (a counter when ``total`` is unknown) on a terminal; nothing otherwise."""
    if not interactive():
        yield _NullTask()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [SpinnerColumn(), TextColumn("[bold]{task.description}")]
    if total:
        columns += [BarColumn(), MofNCompleteColumn()]
    else:
        columns += [TextColumn("{task.completed:,.0f} " + unit)]
    columns += [TextColumn("{task.fields[rate]}"), TimeElapsedColumn()]
    if total:
        columns.append(TimeRemainingColumn())
    with Progress(*columns, console=_console(), transient=True) as progress:
        task_id = progress.add_task(description, total=total, rate="")
        yield _RichTask(progress, task_id, unit)


def table(title: str, columns: list[str], rows: list[list]) -> None:
    """A rich table on stderr (a report for people, never data)."""
    if QUIET:
        return
    from rich.table import Table

    tab = Table(title=title)
    for col in columns:
        tab.add_column(col)
    for row in rows:
        tab.add_row(*[str(c) for c in row])
    _console().print(tab)
