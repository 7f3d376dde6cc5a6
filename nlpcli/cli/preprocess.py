"""``nlpcli preprocess``: normalize and tokenize Korean text, streamed."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from nlpcli.cli import app
from nlpcli.cli.options import (
    EncodingErrors,
    Format,
    Inputs,
    Jobs,
    Output,
    OutputFormat,
    Scheduler,
    TaggerName,
    TaggerOrNone,
    TextColumn,
    TextField,
    choice,
    input_spec,
)

OPERATION_HELP = (
    "normalize (NFC, spaces, --squash, --keep; --norm for Okt's spelling fixes), "
    "morphs, pos (token/TAG), nouns, phrases (Okt; words joined by _), "
    "split (pre-tokenized: filters only)"
)


def read_stopwords(path: str | None) -> list[str]:
    """One stop word a line; '#' starts a comment."""
    if not path:
        return []
    from nlpcli.textio import iter_lines

    words = []
    for _, line in iter_lines(path):
        line = line.split("#", 1)[0].strip()
        if line:
            words.extend(line.split())
    return words


def build_recipe(
    operation: str,
    tagger: str,
    stem: bool,
    norm: bool,
    nfc: bool,
    keep: str | None,
    squash: int,
    stopwords: str | None,
    min_length: int,
    lowercase: bool,
    user_dict: str | None = None,
):
    from nlpcli.text.recipe import Recipe, read_user_dict

    tagger = str(getattr(tagger, "value", tagger))  # TaggerName members arrive from the parser
    return Recipe(
        operation=operation,
        tagger=tagger,
        stem=stem,
        norm=norm,
        nfc=nfc,
        keep=keep,
        squash=squash,
        stopwords=read_stopwords(stopwords),
        min_length=min_length,
        lowercase=lowercase,
        user_words=read_user_dict(user_dict) if user_dict else [],
    )


Tagger = Annotated[
    TaggerName,
    typer.Option(
        "--tagger",
        "-t",
        help="okt (default, KoNLPy's Okt exactly), kkma, komoran, hannanum (KoNLPy, need Java), "
        "kiwi (kiwipiepy: fast, no Java) or mecab (python-mecab-ko: fastest, no Java).",
    ),
]
#: ``--tagger`` for ``train``: a tagger, or none for whitespace-tokenized text
TrainTagger = Annotated[
    TaggerOrNone,
    typer.Option(
        "--tagger",
        "-t",
        help="okt, kiwi, mecab, kkma, komoran, hannanum, or none (text is already whitespace-tokenized).",
    ),
]
UserDict = Annotated[
    Optional[str],
    typer.Option(
        "--user-dict",
        help="Kiwi/Komoran: a user dictionary, one word<TAB>tag[<TAB>score] a line (tag: NNP, "
        "NNG, VV, ...; score: Kiwi only). Its entries are stored in the recipe.",
    ),
]
Stem = Annotated[
    bool, typer.Option("--stem", help="Okt/Kiwi: verbs and adjectives to their dictionary form.")
]
Norm = Annotated[
    bool, typer.Option("--norm", help="Okt: normalize colloquial spellings (안녕하세욬 -> 안녕하세요).")
]
Nfc = Annotated[bool, typer.Option("--nfc/--no-nfc", help="Unicode NFC first.")]
Keep = Annotated[
    Optional[str],
    typer.Option(
        "--keep",
        help="Keep only these characters (others become spaces): hangul, hangul-digits, "
        "hangul-latin, no-punct, or a class such as '[가-힣0-9]'.",
    ),
]
Squash = Annotated[
    int,
    typer.Option(
        "--squash", min=0, help="Cut runs of one repeated character to N (ㅋㅋㅋㅋㅋ -> ㅋㅋ with 2); 0: off."
    ),
]
Stopwords = Annotated[
    Optional[str], typer.Option("--stopwords", help="File of stop words to drop (one a line).")
]
MinLength = Annotated[int, typer.Option("--min-length", min=0, help="Drop tokens shorter than this.")]
Lowercase = Annotated[bool, typer.Option("--lowercase", help="Lowercase tokens (Latin script).")]
#: for commands that take tokenized text, or raw text plus a recipe they store with their result
RawTagger = Annotated[
    Optional[TaggerName],
    typer.Option(
        "--tagger",
        "-t",
        help="Raw input: tokenize with this tagger (okt, kiwi, mecab, ...) and store the recipe "
        "with the result, so later steps tokenize new text the same way.",
    ),
]
#: the operations that run a tagger (``text.recipe.TAGGING_OPERATIONS``)
TaggingOperation = choice("TaggingOperation", ("morphs", "pos", "nouns", "phrases"))
RawOperation = Annotated[
    TaggingOperation, typer.Option("--operation", help="With --tagger: morphs, nouns, pos or phrases.")
]
#: every operation (``text.recipe.OPERATIONS``)
Operation = choice("Operation", ("normalize", "morphs", "pos", "nouns", "phrases", "split"))


@app.command(
    help="Normalize and tokenize Korean text, one output line per input document.\n\n"
    f"OPERATION: {OPERATION_HELP}.\n\n"
    "Example: nlpcli preprocess morphs --tagger kiwi sample_data/reviews-test.tsv -o test.tok.tsv",
)
def preprocess(
    operation: Annotated[
        Operation,
        typer.Argument(help="normalize | morphs | pos | nouns | phrases | split", show_default=False),
    ],
    inputs: Inputs = None,
    tagger: Tagger = TaggerName.okt,
    user_dict: UserDict = None,
    stem: Stem = False,
    norm: Norm = False,
    nfc: Nfc = True,
    keep: Keep = None,
    squash: Squash = 0,
    stopwords: Stopwords = None,
    min_length: MinLength = 1,
    lowercase: Lowercase = False,
    fmt: Format = None,
    text_column: TextColumn = None,
    text_field: TextField = None,
    encoding_errors: EncodingErrors = "strict",
    output: Output = None,
    output_format: OutputFormat = None,
    jobs: Jobs = 1,
    scheduler: Scheduler = None,
) -> None:
    from nlpcli.text.stream import preprocess_files

    recipe = build_recipe(
        operation,
        tagger,
        stem,
        norm,
        nfc,
        keep,
        squash,
        stopwords,
        min_length,
        lowercase,
        user_dict=user_dict,
    )
    spec = input_spec(fmt, text_column, None, text_field, encoding_errors)
    preprocess_files(
        inputs or ["-"],
        recipe,
        spec,
        output=output,
        output_format=output_format,
        jobs=jobs,
        scheduler=scheduler,
    )
