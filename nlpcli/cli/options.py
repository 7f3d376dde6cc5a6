"""Option types shared by every command, so each flag means the same thing everywhere."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from nlpcli.textio import InputSpec

Inputs = Annotated[
    list[str],
    typer.Argument(
        help="Input files ('-' or nothing: stdin). Plain text (one document a line), .tsv/.csv with a "
        "header, .jsonl; gzip is read transparently.",
        show_default=False,
    ),
]
Format = Annotated[
    Optional[str],
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
    str,
    typer.Option(
        "--encoding-errors", help="On invalid UTF-8: strict (stop with file:line), replace or ignore."
    ),
]
Output = Annotated[
    Optional[str],
    typer.Option("--output", "-o", help="Output file, written atomically ('-' or nothing: stdout)."),
]
OutputFormat = Annotated[
    Optional[str],
    typer.Option(
        "--output-format",
        "-F",
        help="text, tsv or jsonl (default: the shape of the input: TSV/CSV gives "
        "TSV with the other columns passed through, JSONL gives JSONL).",
    ),
]
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
