"""The error types nlpcli raises and the exit code each one maps to (the one place for both).

Core modules raise these; only :mod:`nlpcli.cli` turns them into a message and an exit code.
Every message is meant to be shown as one line: what went wrong, where (file and line when
there is one), and what to do about it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1  # data or runtime error
    USAGE = 2  # bad options or arguments
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class NlpcliError(Exception):
    """Base class: a problem the user can act on. Shown as one line, no traceback."""

    exit_code: ExitStatus = ExitStatus.ERROR


class UsageError(NlpcliError):
    """Options or arguments that do not fit together."""

    exit_code = ExitStatus.USAGE


class DataError(NlpcliError):
    """Input data that cannot be read as asked: encoding, columns, format."""

    def __init__(self, message: str, source: str | None = None, line: int | None = None):
        self.source = source
        self.line = line
        where = ""
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        super().__init__(where + message)


class ArtifactError(NlpcliError):
    """A model/vectorizer file that is missing, corrupt, of the wrong kind or too new."""


class ArtifactKindError(ArtifactError):
    pass


class ArtifactVersionError(ArtifactError):
    pass


class CorruptArtifactError(ArtifactError):
    pass


class UntrustedArtifactError(ArtifactError):
    pass


class OutputClosed(NlpcliError):
    """The reader of stdout went away (``| head``): stop quietly, exit 0."""

    exit_code = ExitStatus.OK


class DependencyError(NlpcliError):
    """Something outside Python is missing (a JVM, a font, an optional package)."""
