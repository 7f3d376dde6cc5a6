"""``nlpcli embed``: train word2vec / fastText / doc2vec and query them from the shell."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from nlpcli.cli import app
from nlpcli.cli.options import (
    MAX_SEED,
    EncodingErrors,
    Format,
    Inputs,
    Jobs,
    TextColumn,
    TextField,
    TrustArtifact,
    choice,
    input_spec,
    inputs_checked,
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

embed_app = typer.Typer(
    help="Word and document embeddings: word2vec, fastText, doc2vec; "
    "fast similarity queries from a memory-mapped index.",
    no_args_is_help=True,
)
app.add_typer(embed_app, name="embed")

#: choices, made once (an annotation is evaluated for each command the parser builds)
Algo = choice("Algo", ("word2vec", "fasttext", "doc2vec"))
Arch = choice("Arch", ("cbow", "skipgram", "dbow", "dm"))
ExportFormat = choice("ExportFormat", ("word2vec-text", "word2vec-bin"))
ImportFormat = choice("ImportFormat", ("auto", "word2vec-text", "word2vec-binary", "fasttext-bin", "glove"))
PlotMethod = choice("PlotMethod", ("pca", "tsne"))

Model = Annotated[
    str,
    typer.Argument(
        help="A model directory from 'nlpcli embed train' or 'nlpcli embed import'.", show_default=False
    ),
]
Words = Annotated[
    Optional[list[str]],
    typer.Argument(
        help="Query words; none: read queries from stdin, one per line (words separated by spaces).",
        show_default=False,
    ),
]
Topn = Annotated[int, typer.Option("--topn", "-n", min=1, help="How many neighbours.")]
Json = Annotated[
    bool, typer.Option("--json", help="One JSON object per query instead of word<TAB>score lines.")
]


@embed_app.command(
    "train",
    help=(
        "Train word2vec, fastText or doc2vec on a corpus and save a model directory.\n\n"
        "CORPUS: pre-tokenized text, one document a line (whitespace tokens; gzip accepted), or raw text "
        "with --tagger (or --keep...): it is then tokenized once into a cache file next to the model, "
        "reused by the next train on the same input. TSV/CSV/JSONL take the text column.\n\n"
        "fastText learns character n-gram vectors too, so it answers for words never seen in training "
        "(Korean words carry particles and endings). doc2vec learns a vector per document (tags: "
        "--id-column, or line numbers).\n\n"
        "The model loads in gensim itself: Word2Vec.load('MODEL/model.gensim') (FastText, Doc2Vec alike). "
        "Determinism: --seed fixes the initialisation, but only --workers 1 gives bit-identical vectors "
        "(threads race on shared weights); one worker is proportionally slower.\n\n"
        "Example: nlpcli embed train sample_data/reviews-unlabeled.txt.gz --keep hangul --dim 64 -o reviews.w2v"
    ),
)
def train_cmd(
    inputs: Inputs = None,
    output: Annotated[str, output_option("Model directory to write (atomically).", directory=True)] = ...,
    algo: Annotated[
        Algo,
        typer.Option("--algo", help="word2vec, fasttext or doc2vec."),
    ] = "word2vec",
    arch: Annotated[
        Optional[Arch],
        typer.Option(
            "--arch",
            help="word2vec/fasttext: cbow (default) or skipgram; doc2vec: dbow (default, PV-DBOW) or dm (PV-DM).",
        ),
    ] = None,
    dim: Annotated[int, typer.Option("--dim", help="Vector dimensions.")] = 100,
    window: Annotated[int, typer.Option("--window", help="Context window (words each side).")] = 5,
    min_count: Annotated[int, typer.Option("--min-count", help="Ignore words rarer than this.")] = 5,
    epochs: Annotated[int, typer.Option("--epochs", help="Passes over the corpus.")] = 5,
    negative: Annotated[
        int, typer.Option("--negative", help="Negative samples per word (negative sampling).")
    ] = 5,
    hs: Annotated[
        bool, typer.Option("--hs", help="Hierarchical softmax instead of negative sampling.")
    ] = False,
    sample: Annotated[
        float, typer.Option("--sample", help="Subsampling threshold of frequent words (0: off).")
    ] = 1e-3,
    alpha: Annotated[
        Optional[float], typer.Option("--alpha", help="Initial learning rate (default: gensim's).")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", help="Training threads.")] = 2,
    seed: Annotated[
        int,
        typer.Option(
            "--seed", min=0, max=MAX_SEED, help="Random seed (bit-identical only with --workers 1)."
        ),
    ] = 1,
    min_n: Annotated[
        int,
        typer.Option(
            "--min-n", help="fastText: shortest character n-gram (Hangul syllables count one each)."
        ),
    ] = 3,
    max_n: Annotated[int, typer.Option("--max-n", help="fastText: longest character n-gram.")] = 6,
    bucket: Annotated[
        int,
        typer.Option("--bucket", help="fastText: hash buckets for n-grams (memory: bucket x dim x 4 bytes)."),
    ] = 2_000_000,
    dbow_words: Annotated[
        bool,
        typer.Option(
            "--dbow-words", help="doc2vec dbow: also train word vectors (skip-gram), slower, often better."
        ),
    ] = False,
    max_vocab: Annotated[
        Optional[int],
        typer.Option("--max-vocab", help="Keep at most this many words (raises the min count)."),
    ] = None,
    loss: Annotated[
        bool,
        typer.Option(
            "--loss", help="word2vec: compute the training loss and show it each epoch (a few % slower)."
        ),
    ] = False,
    id_column: Annotated[
        Optional[str],
        typer.Option("--id-column", help="doc2vec: TSV/CSV column (JSONL field) with document ids."),
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
    fmt: Format = None,
    text_column: TextColumn = None,
    text_field: TextField = None,
    encoding_errors: EncodingErrors = "strict",
    jobs: Jobs = 1,
) -> None:
    from nlpcli.embed.train import EmbedConfig, train

    config = EmbedConfig(
        algo=algo,
        arch=arch,
        dim=dim,
        window=window,
        min_count=min_count,
        epochs=epochs,
        negative=negative,
        hs=hs,
        sample=sample,
        alpha=alpha,
        workers=workers,
        seed=seed,
        min_n=min_n,
        max_n=max_n,
        bucket=bucket,
        dbow_words=dbow_words,
        max_vocab=max_vocab,
        loss=loss,
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
        user_dict,
    )
    spec = input_spec(fmt, text_column, None, text_field, encoding_errors)
    train(inputs or ["-"], spec, recipe, config, output, id_column=id_column, jobs=jobs)


def _query(kind: str, model: str, words: list[str] | None, **kwargs) -> None:
    import sys

    from nlpcli.embed.query import run

    failed = run(kind, model, words, sys.stdout, **kwargs)
    if failed:
        from nlpcli import progress

        progress.warn(f"{failed:,} queries could not be answered")
        raise typer.Exit(1)


@embed_app.command(
    "similar",
    help=(
        "The nearest words (cosine similarity), as gensim's most_similar: several words are averaged; "
        "--negative words are subtracted.\n\n"
        "Output: word<TAB>score lines (with no WORDS, each stdin line is a query and lines are "
        "query<TAB>word<TAB>score). Needs no gensim: answers from a memory-mapped index in a fraction of a second. "
        "fastText models also answer for unseen words (from their character n-grams).\n\n"
        "Example: nlpcli embed similar reviews.w2v 영화 --topn 5"
    ),
)
def similar_cmd(
    model: Model,
    words: Words = None,
    topn: Topn = 10,
    negative: Annotated[
        Optional[list[str]], typer.Option("--negative", help="A word to subtract (repeatable).")
    ] = None,
    as_json: Json = False,
) -> None:
    _query("similar", model, words, topn=topn, negative=negative, as_json=as_json)


@embed_app.command(
    "analogy",
    help=(
        "A is to B as C is to ?  (3CosAdd: the words nearest to B - A + C, other than A, B, C). "
        "'embed analogy MODEL 남자 여자 왕' asks 남자:여자 = 왕:? and should answer 여왕.\n\n"
        "With no words, each stdin line 'A B C' is a query.\n\n"
        "Example: nlpcli embed analogy wiki.ft 남자 여자 왕 --topn 3"
    ),
)
def analogy_cmd(
    model: Model,
    words: Annotated[
        Optional[list[str]],
        typer.Argument(help="A B C (or none: read 'A B C' lines from stdin).", show_default=False),
    ] = None,
    topn: Annotated[int, typer.Option("--topn", "-n", min=1, help="How many answers.")] = 1,
    as_json: Json = False,
) -> None:
    _query("analogy", model, words, topn=topn, as_json=as_json)


@embed_app.command(
    "similarity",
    help="Cosine similarity of two words (or of each 'W1 W2' line on stdin).\n\n"
    "Example: nlpcli embed similarity reviews.w2v 영화 작품",
)
def similarity_cmd(
    model: Model,
    words: Annotated[
        Optional[list[str]],
        typer.Argument(help="W1 W2 (or none: read pairs from stdin).", show_default=False),
    ] = None,
    as_json: Json = False,
) -> None:
    _query("similarity", model, words, as_json=as_json)


@embed_app.command(
    "vector",
    help="A word's vector (exactly gensim's model.wv of the word), space-separated on one line.\n\n"
    "Example: nlpcli embed vector reviews.w2v 영화",
)
def vector_cmd(
    model: Model,
    words: Annotated[
        Optional[list[str]],
        typer.Argument(help="WORD (or none: one word a line on stdin).", show_default=False),
    ] = None,
    as_json: Json = False,
) -> None:
    _query("vector", model, words, as_json=as_json)


@embed_app.command(
    "evaluate",
    help=(
        "Word analogies (accuracy per section, gensim's evaluate_word_analogies) and word-pair similarity "
        "(Spearman/Pearson, evaluate_word_pairs), with the out-of-vocabulary rate. fastText models answer "
        "unseen pair words from their n-grams (gensim's vocabulary-only figure is reported too).\n\n"
        "Example: nlpcli embed evaluate wiki.ft --analogies analogy.txt --pairs ws353.tsv"
    ),
)
def evaluate_cmd(
    model: Model,
    analogies: Annotated[
        Optional[str],
        typer.Option("--analogies", help="Analogy questions (': section' lines, then 'a b c d')."),
    ] = None,
    pairs: Annotated[
        Optional[str], typer.Option("--pairs", help="Word pairs: word1<TAB>word2<TAB>score, '#' comments.")
    ] = None,
    restrict_vocab: Annotated[
        int, typer.Option("--restrict-vocab", help="Search only the N most frequent words (gensim: 300000).")
    ] = 300_000,
    case_sensitive: Annotated[
        bool,
        typer.Option("--case-sensitive", help="Do not uppercase words before lookup (gensim uppercases)."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The full report as JSON on stdout.")] = False,
) -> None:
    import json

    from nlpcli import progress
    from nlpcli.embed.evaluate import evaluate
    from nlpcli.errors import UsageError

    if not analogies and not pairs:
        raise UsageError("give --analogies FILE and/or --pairs FILE")
    report = evaluate(model, analogies, pairs, restrict_vocab, not case_sensitive)
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return
    pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    lines = []
    for key in ("pairs", "pairs_vocab_only"):
        if key in report:
            p = report[key]
            label = "pairs" + (
                " (vocabulary only, as gensim)"
                if key == "pairs_vocab_only"
                else " (fastText n-grams for unseen words)"
                if p["subwords"]
                else ""
            )
            sp = "-" if p["spearman"] is None else f"{p['spearman']:.3f}"
            pe = "-" if p["pearson"] is None else f"{p['pearson']:.3f}"
            lines.append(
                f"{label}\t{p['file']}\tspearman {sp}\tpearson {pe}\t"
                f"answered {p['answered']}/{p['pairs']}\toov {pct(p['oov_rate'])}"
            )
    if "analogies" in report:
        a = report["analogies"]
        rows = [
            [s["section"], f"{s['correct']}/{s['answered']}", pct(s["accuracy"]), pct(s["oov_rate"])]
            for s in a["sections"]
        ]
        rows.append(["total", f"{a['correct']}/{a['answered']}", pct(a["accuracy"]), pct(a["oov_rate"])])
        progress.table(f"analogies ({a['file']})", ["section", "correct", "accuracy", "oov"], rows)
        lines.append(
            f"analogies\t{a['file']}\taccuracy {pct(a['accuracy'])}\t"
            f"correct {a['correct']}/{a['answered']}\toov {pct(a['oov_rate'])}"
        )
    print("\n".join(lines))


@embed_app.command(
    "docs",
    help=(
        "doc2vec: the training documents most similar to TEXT (inferred vector; raw text goes through the "
        "model's recipe, e.g. its tagger). Output: id<TAB>score<TAB>text lines. With no TEXT, each stdin "
        "line is a query (lines then start with the query's line number). Inferred vectors vary slightly "
        "between runs unless PYTHONHASHSEED is set (gensim seeds inference from Python's string hash).\n\n"
        "Example: nlpcli embed docs reviews.d2v '배우들 연기가 좋았다' --topn 3"
    ),
)
def docs_cmd(
    model: Model,
    text: Annotated[
        Optional[str],
        typer.Argument(help="The query text (none: one text a line on stdin).", show_default=False),
    ] = None,
    topn: Topn = 10,
    tokenized: Annotated[
        bool, typer.Option("--tokenized", help="TEXT is already tokenized: skip the recipe.")
    ] = False,
    epochs: Annotated[
        Optional[int], typer.Option("--epochs", help="Inference epochs (default: the model's).")
    ] = None,
    as_json: Json = False,
    trust: TrustArtifact = False,
) -> None:
    import json
    import sys

    from nlpcli.embed.docs import similar_documents

    queries = [text] if text is not None else [line.rstrip("\n") for line in sys.stdin if line.strip()]
    for number, query in enumerate(queries, 1):
        hits = similar_documents(model, query, topn=topn, tokenized=tokenized, epochs=epochs, trust=trust)
        if as_json:
            print(json.dumps({"query": query, "results": hits}, ensure_ascii=False))
        else:
            prefix = f"{number}\t" if text is None else ""
            print("".join(f"{prefix}{h['id']}\t{h['score']:.6f}\t{h['text']}\n" for h in hits), end="")
        sys.stdout.flush()


@embed_app.command(
    "export",
    help="Export the word vectors for other tools: word2vec text or binary format "
    "(gensim's save_word2vec_format; loads in fastText, spaCy, gensim's KeyedVectors).\n\n"
    "Example: nlpcli embed export reviews.w2v --limit 1000 | head -n 3",
)
def export_cmd(
    model: Model,
    output: Annotated[
        Optional[str],
        output_option("File to write, atomically ('-' or nothing: stdout; word2vec-bin: not a terminal)."),
    ] = None,
    fmt: Annotated[
        ExportFormat,
        typer.Option("--format", help="word2vec-text or word2vec-bin."),
    ] = "word2vec-text",
    limit: Annotated[Optional[int], typer.Option("--limit", help="Only the N most frequent words.")] = None,
    trust: TrustArtifact = False,
) -> None:
    from nlpcli import progress
    from nlpcli.embed.export import export

    n = export(model, output, fmt, limit=limit, trust=trust)
    progress.info(f"{n:,} word vectors -> {output or 'stdout'} ({fmt})")


@embed_app.command(
    "import",
    help=(
        "Import pretrained word vectors (Facebook's cc.ko.300.vec / .bin, word2vec, GloVe, or a file from "
        "'embed export') as a model directory that every embed query and 'train --embeddings' take.\n\n"
        "Formats (--format auto tells them apart by the header / magic number): word2vec-text (.vec: a "
        "'COUNT DIM' line, then 'word v1 .. vDIM' lines), word2vec-binary, glove (text without the header), "
        "fasttext-bin (a fastText .bin: its n-gram buckets are kept, so unseen words are answered from their "
        "character n-grams, as gensim's load_facebook_vectors). The file is streamed: memory does not grow "
        "with it. Answers equal gensim's load_word2vec_format / load_facebook_vectors; a duplicate word keeps "
        "its first vector (a warning, as gensim); a malformed line stops with FILE:LINE and writes nothing.\n\n"
        "Example: nlpcli embed import cc.ko.300.vec -o cc.ko --limit 200000 && nlpcli embed similar cc.ko 영화"
    ),
)
def import_cmd(
    file: Annotated[
        str,
        typer.Argument(help="The vectors file ('-': stdin).", show_default=False, callback=inputs_checked),
    ],
    output: Annotated[str, output_option("Model directory to write (atomically).", directory=True)],
    fmt: Annotated[
        ImportFormat,
        typer.Option("--format", help="auto, word2vec-text, word2vec-binary, fasttext-bin or glove."),
    ] = "auto",
    limit: Annotated[
        Optional[int],
        typer.Option(
            "--limit",
            min=1,
            help="Only the first N words (the most frequent, in these files), as gensim's limit.",
        ),
    ] = None,
    encoding_errors: EncodingErrors = "strict",
) -> None:
    from nlpcli.embed.importer import import_vectors

    import_vectors(file, output, fmt, limit=limit, encoding_errors=encoding_errors)


@embed_app.command(
    "plot",
    help=(
        "Plot the given words and their nearest neighbours in 2-D (PCA, or --method tsne), labelled in Hangul. "
        "Needs a font with Hangul glyphs: found on the system (e.g. Debian's fonts-nanum) or given with --font.\n\n"
        "Example: nlpcli embed plot reviews.w2v 영화 배우 -o words.png"
    ),
)
def plot_cmd(
    model: Model,
    words: Annotated[
        list[str], typer.Argument(help="Words to plot (each with its neighbours).", show_default=False)
    ],
    output: Annotated[
        str, output_option("Image file (.png, .svg, .pdf; '-': PNG on stdout).", binary=True)
    ] = ...,
    neighbours: Annotated[
        int, typer.Option("--neighbours", "-n", min=0, help="Nearest neighbours per word.")
    ] = 8,
    method: Annotated[PlotMethod, typer.Option("--method", help="pca or tsne.")] = "pca",
    font: Annotated[
        Optional[str], typer.Option("--font", help="A .ttf/.otf/.ttc font file with Hangul glyphs.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, max=MAX_SEED, help="Random seed (t-SNE).")] = 0,
    title: Annotated[Optional[str], typer.Option("--title", help="Plot title.")] = None,
) -> None:
    from nlpcli import progress
    from nlpcli.embed.plot import plot_words

    n = plot_words(
        model, words, output, neighbours=neighbours, method=method, font=font, seed=seed, title=title
    )
    progress.info(f"{n} words plotted -> {output}")
