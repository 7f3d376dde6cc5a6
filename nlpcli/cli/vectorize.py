"""``nlpcli vectorize fit | transform | inspect``: count and tf-idf features."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from nlpcli.cli import app
from nlpcli.cli.options import (
    EncodingErrors,
    FeatureKind,
    FitScheduler,
    Format,
    Inputs,
    Jobs,
    LabelColumn,
    PartitionMB,
    RowNorm,
    Scheduler,
    TextColumn,
    TextField,
    TrustArtifact,
    Weighting,
    choice,
    input_spec,
    output_option,
)
from nlpcli.cli.preprocess import (
    Keep,
    Nfc,
    Norm,
    RawOperation,
    RawTagger,
    Squash,
    Stem,
    Stopwords,
    UserDict,
    build_recipe,
)

#: choices, made once (an annotation is evaluated for each command the parser builds)
Analyzer = choice("Analyzer", ("word", "char", "char_wb"))

vectorize_app = typer.Typer(
    help="Count and tf-idf features (n-grams, document-frequency bounds).", no_args_is_help=True
)
app.add_typer(vectorize_app, name="vectorize")


@vectorize_app.command(
    "fit",
    help="Fit a count or tf-idf vectorizer and save it as an artifact.\n\n"
    "Input is pre-tokenized text (whitespace tokens, as 'nlpcli preprocess' writes), "
    "or raw text with --tagger: the preprocessing recipe is then stored in the artifact, "
    "so 'transform' and 'predict' accept raw text and tokenize it the same way.\n\n"
    "The input streams past once: only document frequencies are kept, so memory grows "
    "with the vocabulary (or 2^BITS with --hashing), not with the number of documents.\n\n"
    "Example: nlpcli vectorize fit train.tok.txt --ngram 1,2 --min-df 2 -o tfidf.joblib",
)
def fit_cmd(
    inputs: Inputs = None,
    output: Annotated[
        str, output_option("Where to save the vectorizer (.joblib; '-': stdout).", binary=True)
    ] = ...,
    kind: Annotated[FeatureKind, typer.Option("--kind", help="count or tfidf.")] = "tfidf",
    ngram: Annotated[str, typer.Option("--ngram", help="Word n-gram range MIN,MAX.")] = "1,1",
    analyzer: Annotated[
        Analyzer,
        typer.Option("--analyzer", help="word (the tokens), char or char_wb."),
    ] = "word",
    char_ngram: Annotated[
        Optional[str],
        typer.Option(
            "--char-ngram",
            help="Also add character n-grams of this range MIN,MAX (char_wb tf-idf, sublinear) "
            "next to the word features, e.g. 1,4.",
        ),
    ] = None,
    min_df: Annotated[
        str, typer.Option("--min-df", help="Ignore terms in fewer documents: count (3) or fraction (0.001).")
    ] = "1",
    max_df: Annotated[
        str, typer.Option("--max-df", help="Ignore terms in more documents: count or fraction (0.9).")
    ] = "1.0",
    binary: Annotated[bool, typer.Option("--binary", help="0/1 term presence instead of counts.")] = False,
    max_features: Annotated[
        Optional[int], typer.Option("--max-features", help="Keep the most frequent N terms.")
    ] = None,
    sublinear_tf: Annotated[bool, typer.Option("--sublinear-tf", help="tf-idf: 1 + log(tf).")] = False,
    lowercase: Annotated[
        bool, typer.Option("--lowercase", help="Lowercase tokens (default: used as they are).")
    ] = False,
    weighting: Annotated[
        Weighting,
        typer.Option(
            "--weighting",
            help="tf-idf weighting: sklearn, or augmented (augmented tf 0.5 + 0.5·f/max f, "
            "smoothed idf log(|D|/(1+df)); 'lecture' is another name for it).",
        ),
    ] = "sklearn",
    norm_rows: Annotated[
        RowNorm, typer.Option("--row-norm", help="Row normalization for tf-idf: l2, l1 or none.")
    ] = "l2",
    hashing: Annotated[
        Optional[int],
        typer.Option(
            "--hashing",
            metavar="BITS",
            help="Hash terms into 2^BITS columns (per block: words, and characters with --char-ngram) "
            "instead of keeping a vocabulary; idf from per-column document counts. Memory: 8 bytes "
            "a column, whatever the corpus (20: 8 MB). Not with --max-features.",
        ),
    ] = None,
    tagger: RawTagger = None,
    user_dict: UserDict = None,
    operation: RawOperation = "morphs",
    stem: Stem = False,
    norm: Norm = False,
    nfc: Nfc = True,
    keep: Keep = None,
    squash: Squash = 0,
    stopwords: Stopwords = None,
    matrix_out: Annotated[
        Optional[str],
        output_option("Also save the training matrix (.npz, scipy sparse).", "--matrix-out", binary=True),
    ] = None,
    labels_out: Annotated[
        Optional[str],
        output_option("Also save the label column (one a line); needs --label-column.", "--labels-out"),
    ] = None,
    fmt: Format = None,
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    text_field: TextField = None,
    encoding_errors: EncodingErrors = "strict",
    jobs: Jobs = 1,
    scheduler: FitScheduler = None,
    partition_mb: PartitionMB = 32.0,
) -> None:
    from nlpcli.errors import UsageError
    from nlpcli.features import vectorize
    from nlpcli.features.vectorizers import VectorizerConfig

    if labels_out and not label_column:
        raise UsageError("--labels-out needs --label-column")
    config = VectorizerConfig(
        kind=kind,
        ngram=ngram,
        analyzer=analyzer,
        min_df=min_df,
        max_df=max_df,
        binary=binary,
        max_features=max_features,
        sublinear_tf=sublinear_tf,
        lowercase=lowercase,
        weighting=weighting,
        norm=None if norm_rows == "none" else norm_rows,
        char_ngram=char_ngram,
        hashing=hashing,
    )
    recipe = build_recipe(
        operation if tagger else "split",
        tagger or "okt",
        stem,
        norm,
        nfc,
        keep,
        squash,
        stopwords,
        1,
        False,
        user_dict=user_dict,
    )
    spec = input_spec(fmt, text_column, label_column, text_field, encoding_errors)
    vectorize.fit(
        inputs or ["-"],
        spec,
        config,
        recipe,
        output,
        jobs=jobs,
        matrix_out=matrix_out,
        labels_out=labels_out,
        scheduler=scheduler,
        partition_bytes=round(partition_mb * 2**20),
    )


@vectorize_app.command(
    "transform",
    help="The features of new text (raw or tokenized, as the artifact's "
    "recipe says) as a scipy sparse matrix (.npz): to -o FILE, or to stdout when it is not a terminal.\n\n"
    "Example: nlpcli vectorize transform tfidf.joblib sample_data/reviews-test.tsv -o X-test.npz",
)
def transform_cmd(
    artifact: Annotated[str, typer.Argument(help="A vectorizer from 'vectorize fit'.")],
    inputs: Inputs = None,
    output: Annotated[
        Optional[str],
        output_option("Matrix file (.npz; '-' or nothing: stdout, unless it is a terminal).", binary=True),
    ] = None,
    labels_out: Annotated[Optional[str], output_option("Also save the label column.", "--labels-out")] = None,
    fmt: Format = None,
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    text_field: TextField = None,
    encoding_errors: EncodingErrors = "strict",
    jobs: Jobs = 1,
    scheduler: Scheduler = None,
    trust: TrustArtifact = False,
) -> None:
    from nlpcli import progress
    from nlpcli.features import vectorize

    spec = input_spec(fmt, text_column, label_column, text_field, encoding_errors)
    X = vectorize.transform(
        artifact,
        inputs or ["-"],
        spec,
        output,
        jobs=jobs,
        labels_out=labels_out,
        trust=trust,
        scheduler=scheduler,
    )
    progress.info(f"{X.shape[0]:,} x {X.shape[1]:,} matrix, {X.nnz:,} non-zeros -> {output or 'stdout'}")


@vectorize_app.command(
    "inspect",
    help="Parameters, vocabulary size, most and least frequent terms "
    "(hashed features: how many columns have each document frequency).\n\n"
    "Example: nlpcli vectorize inspect tfidf.joblib --top 5",
)
def inspect_cmd(
    artifact: Annotated[str, typer.Argument(help="A vectorizer from 'vectorize fit'.")],
    top: Annotated[int, typer.Option("--top", min=1, help="How many terms to list.")] = 15,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of tables.")] = False,
    trust: TrustArtifact = False,
) -> None:
    from nlpcli.features import vectorize

    info = vectorize.inspect(artifact, top=top, trust=trust)
    if as_json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    _print_header(console, artifact, info)
    if "hashing" in info:
        table = Table(
            title=f"hashed columns by document frequency ({info['columns_used']:,} of "
            f"{info['features']:,} used; no vocabulary is kept)"
        )
        table.add_column("documents")
        table.add_column("columns")
        for label, n in info["df_histogram"]:
            table.add_row(label, f"{n:,}")
        console.print(table)
        return
    terms = Table(title="terms by document frequency")
    for col in ("most frequent", "df", "least frequent", "df "):
        terms.add_column(col)
    for (a, da), (b, db) in zip(info["most_frequent"], info["least_frequent"]):
        terms.add_row(a, f"{da:,}", b, f"{db:,}")
    console.print(terms)


def _print_header(console, artifact: str, info: dict) -> None:
    from rich.table import Table

    head = Table(title=f"{artifact}", show_header=False)
    head.add_row("kind", f"{info['config']['kind']} ({info['config']['weighting']} weighting)")
    head.add_row(
        "n-grams",
        f"{info['config']['analyzer']} {tuple(info['config']['ngram'])}"
        + (f" + char {tuple(info['config']['char_ngram'])}" if info["config"]["char_ngram"] else ""),
    )
    head.add_row("min/max df", f"{info['config']['min_df']} / {info['config']['max_df']}")
    hashed = f", hashed into 2^{info['hashing']} columns a block" if "hashing" in info else ""
    head.add_row(
        "features",
        f"{info['features']:,} (word {info['word_features']:,}, char {info['char_features']:,}{hashed})",
    )
    head.add_row(
        "trained on",
        f"{info['documents']:,} documents from {', '.join(info['manifest']['data'].get('inputs', []))}",
    )
    head.add_row("preprocess", info["preprocess"])
    head.add_row("nlpcli", f"{info['manifest']['nlpcli_version']}, {info['manifest']['created']}")
    console.print(head)
