"""The Typer layer: ``app``, the global options, and :func:`main`, which maps errors to exit codes.

Commands live in one module each and stay thin: parse options, call one core function. Nothing
here imports torch, gensim or scikit-learn at start-up. ``app`` has every command once it is
asked for (``from nlpcli.cli import app``); :func:`main` registers only the module of the command
it runs (``nlpcli predict``: the classify module), since Typer builds every registered command,
options and all, on each run.
"""

from __future__ import annotations

import inspect
import os
import sys
import traceback
from typing import Annotated

import typer

from nlpcli import progress
from nlpcli.cli import coercion
from nlpcli.errors import ExitStatus, NlpcliError, OutputClosed
from nlpcli.textio import utf8_stdio

_app = typer.Typer(
    name="nlpcli",
    help="Korean text processing and modelling from the command line.\n\n"
    "stdout carries data only; messages and progress go to stderr. "
    "Exit codes: 0 ok, 1 data or runtime error, 2 usage error, 130 interrupted.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from nlpcli import versions

        print(versions.report())
        raise typer.Exit()


coercion.install()


@_app.callback()
def _global(
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress and no warnings on stderr.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the versions of nlpcli and of the libraries that shape its results, and exit.",
        ),
    ] = False,
) -> None:
    progress.configure(quiet=quiet, debug=debug)


#: command modules, in the order of ``--help``; each adds its commands to ``app`` when imported.
COMMAND_MODULES = ("preprocess", "vectorize", "embed", "classify", "translate", "info")
#: the module of each top-level command (a command missing here makes ``main`` register them all)
COMMAND_HOMES = {
    "preprocess": "preprocess",
    "vectorize": "vectorize",
    "embed": "embed",
    "train": "classify",
    "predict": "classify",
    "translate": "translate",
    "info": "info",
}
#: options of the ``nlpcli`` group itself (none takes a value)
_GLOBAL_OPTIONS = ("--quiet", "-q", "--debug")
_registered: list[str] = []
_registering = False


def _register(names: tuple[str, ...] = COMMAND_MODULES) -> None:
    """Import the command modules ``names`` (each adds its commands to ``app``), keeping the
    commands in the order of :data:`COMMAND_MODULES` whatever was registered before."""
    global _registering
    import importlib
    import importlib.util

    _registering = True
    try:
        for name in [n for n in names if n not in _registered]:
            module = f"nlpcli.cli.{name}"
            if importlib.util.find_spec(module) is not None:
                importlib.import_module(module)
            _registered.append(name)
    finally:
        _registering = False
    order = {name: i for i, name in enumerate(COMMAND_MODULES)}

    def rank(callback) -> int:
        return order.get(getattr(callback, "__module__", "").rsplit(".", 1)[-1], len(order))

    _app.registered_commands.sort(key=lambda c: rank(c.callback))
    _app.registered_groups.sort(key=lambda g: rank(_first_callback(g.typer_instance)))
    _reflow_helps(_app)


def _first_callback(typer_app: typer.Typer):
    for command in typer_app.registered_commands:
        return command.callback
    for group in typer_app.registered_groups:
        return _first_callback(group.typer_instance)
    return None


def _modules_for(args: list[str]) -> tuple[str, ...]:
    """The command modules a run with ``args`` needs: the command's own, or all of them (no
    command, ``--help`` or ``--version`` of the group, a name that is no command)."""
    for arg in args:
        if arg in _GLOBAL_OPTIONS:
            continue
        if arg in COMMAND_HOMES:
            return (COMMAND_HOMES[arg],)
        break
    return COMMAND_MODULES


def __getattr__(name: str):
    if name == "app":  # the whole app (a command module importing it while it registers: as it is)
        if not _registering:
            _register()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def reflow(text: str | None) -> str | None:
    """Join the source line breaks inside each paragraph of a help text. Typer 0.29 keeps them and
    then wraps again at the terminal width, which breaks sentences at random; blank lines still
    separate paragraphs, and list items (``-``, ``*``) and indented lines keep a line of their own."""
    if not text:
        return text
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        lines: list[str] = []
        for line in paragraph.split("\n"):
            if lines and line and not line.startswith((" ", "-", "*", "\b")):
                lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"
            else:
                lines.append(line)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _reflow_helps(typer_app: typer.Typer) -> None:
    """Reflow every help text; every command checks its paths once its options are parsed and
    gets plain strings for its choices. Safe to repeat (each registration calls it): reflowing is
    idempotent and a command is wrapped once."""
    from nlpcli.cli.options import plain_command

    for command in typer_app.registered_commands:
        command.help = reflow(command.help or inspect.getdoc(command.callback))
        if not getattr(command.callback, "_nlpcli_plain", False):
            command.callback = plain_command(command.callback)
            command.callback._nlpcli_plain = True  # type: ignore[attr-defined]
    for group in typer_app.registered_groups:
        group.help = reflow(group.help)
        group.typer_instance.info.help = reflow(group.typer_instance.info.help)
        _reflow_helps(group.typer_instance)


def _silence_stdout() -> None:
    """After a closed pipe (``| head``): point stdout at /dev/null so the final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def _click_exceptions():
    """Click's exception classes: typer >= 0.20 vendors Click as ``typer._click``."""
    try:
        from typer._click import exceptions
    except ImportError:  # older typer on top of click
        from click import exceptions
    return exceptions


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, turn every failure into one line and an exit code."""
    click = _click_exceptions()
    exits = (typer.Exit, getattr(click, "Exit", typer.Exit))
    aborts = (typer.Abort, getattr(click, "Abort", typer.Abort), KeyboardInterrupt)

    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    utf8_stdio()
    code: int = ExitStatus.OK
    try:
        _register(_modules_for(args))
        result = _app(args=args, prog_name="nlpcli", standalone_mode=False)
        # without standalone mode, typer *returns* the code of an Exit (Ctrl-C is Exit(130))
        code = result if isinstance(result, int) else ExitStatus.OK
        if code == ExitStatus.INTERRUPTED:
            print("\nnlpcli: interrupted", file=sys.stderr)
    except exits as exc:
        code = exc.exit_code
        if code == ExitStatus.INTERRUPTED:  # typer turns Ctrl-C into Exit(130)
            print("\nnlpcli: interrupted", file=sys.stderr)
    except click.UsageError as exc:
        exc.show()
        code = ExitStatus.USAGE
    except click.ClickException as exc:
        exc.show()
        code = ExitStatus.ERROR
    except aborts:
        print("\nnlpcli: interrupted", file=sys.stderr)
        code = ExitStatus.INTERRUPTED
    except (BrokenPipeError, OutputClosed):
        _silence_stdout()
        code = ExitStatus.OK
    except NlpcliError as exc:
        if debug:
            traceback.print_exc()
        print(f"nlpcli: error: {exc}", file=sys.stderr)
        code = exc.exit_code
    except MemoryError:
        print(
            "nlpcli: error: out of memory; try smaller chunks, fewer --jobs or a smaller model",
            file=sys.stderr,
        )
        code = ExitStatus.ERROR
    except Exception as exc:  # a bug or an unexpected failure: one line unless --debug
        if debug:
            traceback.print_exc()
        code = _unexpected(exc)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except (ValueError, OSError) as exc:  # stdout closed or unusable: the data went where it could
        if _write_failed(exc):  # but a full disk has cut it short
            code = ExitStatus.ERROR
    sys.exit(int(code))


def _write_failed(exc: BaseException) -> bool:
    """Report a write to stdout that failed for good (a full disk, a quota): whatever read the
    output must not take it for the whole of it."""
    from nlpcli.textio import WRITE_ERRNOS, write_error

    if not isinstance(exc, OSError) or exc.errno not in WRITE_ERRNOS:
        return False
    print(f"nlpcli: error: {write_error(exc, exc.filename or '<stdout>')}", file=sys.stderr)
    return True


def _unexpected(exc: Exception) -> int:
    """The one line for an exception nlpcli did not expect; its exit code."""
    if _write_failed(exc):
        return ExitStatus.ERROR
    first = str(exc).splitlines()[0] if str(exc) else ""
    unverified = getattr(sys.modules.get("nlpcli.artifacts"), "UNVERIFIED", None)
    if unverified:  # most likely a damaged file that had no checksum to tell
        print(
            f"nlpcli: error: {unverified[-1]}: could not use this artifact ({type(exc).__name__}: "
            f"{first}); it has no checksum (written by nlpcli 0.1) and may be damaged: re-create it "
            "(--debug shows the traceback)",
            file=sys.stderr,
        )
    else:
        print(
            f"nlpcli: error: {type(exc).__name__}: {first} (run with --debug for the traceback)",
            file=sys.stderr,
        )
    return ExitStatus.ERROR
