"""Option types shared by every command, so each flag means the same thing everywhere."""

from __future__ import annotations

import functools
from enum import Enum
from typing import Annotated, Optional

import typer

from nlpcli.textio import (
    ENCODING_ERRORS,
    INPUT_FORMATS,
    OUTPUT_FORMATS,
    InputSpec,
    check_input,
    check_output,
)

#: ``ctx.meta`` key of the path checks found while parsing: they run once parsing is over, so a
#: bad option is reported first (exit 2), then a bad path, then the work starts
_PATH_CHECKS = "nlpcli.path_checks"


def _later(ctx: typer.Context, check, *args, **kwargs) -> None:
    if not ctx.resilient_parsing:  # completing a command line checks nothing
        ctx.meta.setdefault(_PATH_CHECKS, []).append(functools.partial(check, *args, **kwargs))


def _current_context():
    try:
        from typer._click.globals import get_current_context
    except ImportError:  # older typer on top of click
        from click import get_current_context
    return get_current_context(silent=True)


def plain_command(command):
    """``command`` (a command's function) running the path checks of its options first, and
    called with plain strings for the choices (:func:`choice`) the parser hands over as enums."""

    @functools.wraps(command)
    def checked(*args, **kwargs):
        ctx = _current_context()
        for check in ctx.meta.pop(_PATH_CHECKS, []) if ctx is not None else []:
            check()
        return command(*args, **{k: _plain(v) for k, v in kwargs.items()})

    return checked


def _plain(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def choice(name: str, values: tuple[str, ...]) -> type[Enum]:
    """An option's fixed set of values as a str Enum: the parser checks it (exit 2, before any
    work), ``--help`` lists it and the shell completes it; the command gets the plain string."""
    return Enum(name, {v: v for v in values}, type=str, module=__name__)


def inputs_checked(ctx: typer.Context, paths):
    """Inputs that are missing, directories or unreadable stop the run before any work."""
    for path in [paths] if isinstance(paths, str) else paths or []:
        _later(ctx, check_input, path)
    return paths


def output_option(help: str, *names: str, binary: bool = False, directory: bool = False):
    """An output option (``--output/-o`` unless ``names`` are given), checked before the work
    starts (see :func:`nlpcli.textio.check_output`): an existing directory where a file is
    expected, a missing or read-only folder, binary output to a terminal."""

    def checked(ctx: typer.Context, value):
        _later(ctx, check_output, value, binary=binary, directory=directory)
        return value

    return typer.Option(*(names or ("--output", "-o")), help=help, callback=checked)


Inputs = Annotated[
    list[str],
    typer.Argument(
        help="Input files ('-' or nothing: stdin). Plain text (one document a line), .tsv/.csv with a "
        "header, .jsonl; gzip is read transparently.",
        show_default=False,
        callback=inputs_checked,
    ),
]
InputFormat = choice("InputFormat", INPUT_FORMATS)
Format = Annotated[
    Optional[InputFormat],
    typer.Option(
        "--format", "-f", help="Input format: text, tsv, csv or jsonl (default: from the extension)."
    ),
]
TextColumn = Annotated[
    Optional[str],
    typer.Option(
        "--text-column",
        "-c",
        help="TSV/CSV column holding the text (default: text, document, sentence, "
        "review, or the only column).",
    ),
]
LabelColumn = Annotated[
    Optional[str], typer.Option("--label-column", help="TSV/CSV column (JSONL field) holding the label.")
]
TextField = Annotated[
    Optional[str], typer.Option("--text-field", help="JSONL field holding the text (default: text).")
]
EncodingErrors = Annotated[
    choice("EncodingErrors", ENCODING_ERRORS),
    typer.Option(
        "--encoding-errors", help="On invalid UTF-8: strict (stop with file:line), replace or ignore."
    ),
]
Output = Annotated[Optional[str], output_option("Output file, written atomically ('-' or nothing: stdout).")]
OutputFormat = Annotated[
    Optional[choice("OutputFormat", OUTPUT_FORMATS)],
    typer.Option(
        "--output-format",
        "-F",
        help="text, tsv or jsonl (default: the shape of the input: TSV/CSV gives "
        "TSV with the other columns passed through, JSONL gives JSONL).",
    ),
]
#: feature choices of ``vectorize fit`` and ``train`` (``features.vectorizers``; lecture: augmented)
FeatureKind = choice("FeatureKind", ("count", "tfidf"))
Weighting = choice("Weighting", ("sklearn", "augmented", "lecture"))
RowNorm = choice("RowNorm", ("l2", "l1", "none"))
Jobs = Annotated[
    int,
    typer.Option(
        "--jobs",
        "-j",
        min=1,
        help="Parallel workers: threads of one JVM for Okt, threads for Kiwi and MeCab, "
        "processes for Kkma/Komoran/Hannanum (one JVM each). Output order is always "
        "the input order.",
    ),
]
#: the seeds numpy, scikit-learn, gensim and torch all accept
MAX_SEED = 2**32 - 1
Seed = Annotated[int, typer.Option("--seed", min=0, max=MAX_SEED, help="Random seed.")]
TrustArtifact = Annotated[
    bool,
    typer.Option(
        "--trust-artifact",
        help="Load artifacts that name code outside nlpcli's allowlist. "
        "Only for files you made yourself: a pickle can run any code.",
    ),
]


class TaggerName(str, Enum):
    """``--tagger``: a choice checked (and completed) by the parser."""

    okt = "okt"
    kiwi = "kiwi"
    mecab = "mecab"
    kkma = "kkma"
    komoran = "komoran"
    hannanum = "hannanum"


#: ``--tagger`` where ``none`` means the text is already whitespace-tokenized
TaggerOrNone = Enum(
    "TaggerOrNone", {**{t.name: t.value for t in TaggerName}, "none": "none"}, type=str, module=__name__
)


def input_spec(
    fmt: str | None,
    text_column: str | None,
    label_column: str | None,
    text_field: str | None,
    encoding_errors: str,
) -> InputSpec:
    return InputSpec(
        format=fmt,
        text_column=text_column,
        label_column=label_column,
        text_field=text_field,
        encoding_errors=encoding_errors,
    )


Scheduler = Annotated[
    Optional[str],
    typer.Option(
        "--scheduler",
        help="Run on a Dask cluster: the scheduler's address (tcp://HOST:8786). Workers need "
        "nlpcli (and Java for KoNLPy taggers); start them with --nthreads 1.",
    ),
]

FitScheduler = Annotated[
    Optional[str],
    typer.Option(
        "--scheduler",
        help="Fit on a Dask cluster: the scheduler's address (tcp://HOST:8786). The workers read "
        "the inputs themselves, so give paths (or fsspec URLs) that every worker can read. Workers "
        "need the same nlpcli (and Java for KoNLPy taggers); start them with --nthreads 1.",
    ),
]

PartitionMB = Annotated[
    float,
    typer.Option(
        "--partition-mb",
        min=0.001,
        help="With --scheduler: the size of the parts (MB) the inputs are cut into, one task each "
        "(compressed and CSV files are one part each).",
    ),
]
