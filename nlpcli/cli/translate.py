"""``nlpcli translate``: train a seq2seq translator with attention, translate, evaluate with BLEU/chrF."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from nlpcli.cli import app
from nlpcli.cli.classify import Device, Threads
from nlpcli.cli.options import (
    EncodingErrors,
    Format,
    Inputs,
    Output,
    OutputFormat,
    Seed,
    TextColumn,
    TextField,
    choice,
    input_spec,
    inputs_checked,
    output_option,
)
from nlpcli.translate.config import PLAIN_LIMIT

translate_app = typer.Typer(
    help="Sequence-to-sequence translation with attention (Korean <-> English): train, run, evaluate.",
    no_args_is_help=True,
)
app.add_typer(translate_app, name="translate")

#: choices, made once (an annotation is evaluated for each command the parser builds)
TranslateCell = choice("TranslateCell", ("gru", "lstm"))
Attention = choice("Attention", ("bahdanau", "luong", "dot", "none"))
TranslateSchedule = choice("TranslateSchedule", ("linear", "plateau", "constant"))
Precision = choice("Precision", ("auto", "fp32", "bf16"))

Pairs = Annotated[
    list[str],
    typer.Argument(
        help="Sentence pairs: a headerless two-column file (ko<TAB>en, the column with Hangul is taken as ko), "
        "or TSV/CSV with a header / JSONL with --src-column/--tgt-column (default: columns named after "
        "the languages).",
        show_default=False,
        callback=inputs_checked,
    ),
]
SourceLang = Annotated[str, typer.Option("--source-lang", help="Language to translate from (ko, en, ...).")]
TargetLang = Annotated[str, typer.Option("--target-lang", help="Language to translate into.")]
SrcColumn = Annotated[
    Optional[str],
    typer.Option("--src-column", help="Column (JSONL field) of the source side; needs a header."),
]
TgtColumn = Annotated[
    Optional[str],
    typer.Option("--tgt-column", help="Column (JSONL field) of the target side; needs a header."),
]
Beam = Annotated[int, typer.Option("--beam", "-b", min=1, help="Beam size (1: greedy search, fastest).")]
MaxLength = Annotated[
    int,
    typer.Option(
        "--max-length",
        min=1,
        help="Source sentences longer than this many tokens are cut (with a warning); output "
        "stops at this many tokens (and at 2 x source + 10).",
    ),
]
LengthPenalty = Annotated[
    float,
    typer.Option(
        "--length-penalty",
        min=0.0,
        help="Hypothesis score = log-probability / length^ALPHA (0: raw sum, favours "
        "short output; 1: mean per token).",
    ),
]
#: ``translate.tokenizers.KINDS``, and auto
Tokenizer = choice(
    "Tokenizer", ("auto", "spm", "whitespace", "char", "okt", "kiwi", "kkma", "komoran", "hannanum")
)
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="Sentences decoded together.")]

TRAIN_HELP = """Train a translator on sentence pairs and save it as one artifact (.pt).

Defaults: Kiwi morphemes on a Korean source side and sentencepiece unigram 4k on any other side
(trained on the training side and stored in the model, as is the choice of tokenizer), embedding
256, bidirectional GRU 256, GRU decoder with Bahdanau attention (no input feeding: trained over
whole targets at once), training in bf16 autocast where the hardware has native bf16 (--precision
auto), tied output embedding, dropout 0.3, word dropout 0.1, label smoothing 0.1, Adam 2e-3 with a
linear decay over the budget, gradient clipping 5, batches of 32 in length buckets, and the
weights averaged (EMA 0.999) for dev scoring and the saved model.

After each epoch the dev set is translated greedily and scored (sacrebleu BLEU/chrF); the best
epoch by dev BLEU is kept, --patience epochs without improvement stop the run (by default only
under --lr-schedule plateau or constant: a linear decay runs its whole budget), and --max-time
MINUTES stops it cleanly (mid-epoch: evaluated, best model kept). A checkpoint is written each
epoch; Ctrl-C saves it and exits 130; --resume CHECKPOINT continues.

Determinism: --seed fixes initialisation, batch order, dropout, word dropout and teacher
forcing; the same --seed, data, options and --threads give the same model on the same machine
(without --max-time, whose stopping point and time-based learning-rate decay follow the clock).
--precision auto picks bf16 or fp32 by the hardware, so another machine may train differently;
give --precision fp32 for the same arithmetic everywhere.

Example: nlpcli translate train train.tsv --dev dev.tsv --max-time 45 -o ko-en.pt"""


@translate_app.command("train", help=TRAIN_HELP)
def train_cmd(
    inputs: Pairs,
    output: Annotated[
        str, output_option("Where to save the translator (.pt; '-': stdout).", binary=True)
    ] = ...,
    dev: Annotated[
        Optional[list[str]],
        typer.Option(
            "--dev",
            help="Dev pairs (same layout): early stopping and the BLEU curve.",
            callback=inputs_checked,
        ),
    ] = None,
    dev_fraction: Annotated[
        float, typer.Option("--dev-fraction", help="Without --dev: hold out this fraction of the pairs.")
    ] = 0.05,
    dev_limit: Annotated[
        Optional[int],
        typer.Option(
            "--dev-limit", min=1, help="Score only the first N dev pairs each epoch (faster epochs)."
        ),
    ] = None,
    source_lang: SourceLang = "ko",
    target_lang: TargetLang = "en",
    src_column: SrcColumn = None,
    tgt_column: TgtColumn = None,
    src_tokenizer: Annotated[
        Tokenizer,
        typer.Option(
            "--src-tokenizer",
            help="auto (kiwi for a Korean source, else spm), spm (sentencepiece unigram trained here), whitespace, char, or a tagger: okt, kiwi, kkma, komoran, hannanum (morphemes).",
        ),
    ] = "auto",
    tgt_tokenizer: Annotated[
        Tokenizer,
        typer.Option(
            "--tgt-tokenizer",
            help="As --src-tokenizer, for the target side; auto is spm (a tagger loses the spacing of its output).",
        ),
    ] = "auto",
    src_vocab_size: Annotated[
        Optional[int],
        typer.Option(
            "--src-vocab-size",
            min=8,
            help="spm: pieces (default 4000); others: at most this many tokens (default 20000).",
        ),
    ] = None,
    tgt_vocab_size: Annotated[
        Optional[int],
        typer.Option(
            "--tgt-vocab-size",
            min=8,
            help="spm: pieces (default 4000); others: at most this many tokens (default 20000).",
        ),
    ] = None,
    spm_coverage: Annotated[
        float,
        typer.Option(
            "--spm-coverage",
            min=0.9,
            max=1.0,
            help="spm: share of characters the model covers (rarer ones are unknown).",
        ),
    ] = 0.9995,
    min_count: Annotated[
        int,
        typer.Option("--min-count", min=1, help="Non-spm tokenizers: tokens seen fewer times are unknown."),
    ] = 2,
    max_length: Annotated[
        int,
        typer.Option("--max-length", min=1, help="Skip training pairs with more tokens than this on a side."),
    ] = 100,
    cell: Annotated[TranslateCell, typer.Option("--cell", help="gru or lstm.")] = "gru",
    layers: Annotated[
        int, typer.Option("--layers", min=1, help="Stacked RNN layers (encoder and decoder).")
    ] = 1,
    hidden: Annotated[
        int, typer.Option("--hidden", min=1, help="RNN units (per direction in the encoder).")
    ] = 256,
    embedding_dim: Annotated[int, typer.Option("--embedding-dim", min=1, help="Embedding size.")] = 256,
    bidirectional: Annotated[
        bool, typer.Option("--bidirectional/--unidirectional", help="Encoder reads both directions.")
    ] = True,
    attention: Annotated[
        Attention,
        typer.Option(
            "--attention",
            help="bahdanau (additive), luong (general), dot (Luong dot product; needs --unidirectional), or none (fixed-vector seq2seq, the baseline).",
        ),
    ] = "bahdanau",
    dropout: Annotated[
        float,
        typer.Option(
            "--dropout",
            min=0.0,
            max=0.95,
            help="Dropout on embeddings, between layers and before the output.",
        ),
    ] = 0.3,
    tie_embeddings: Annotated[
        bool,
        typer.Option(
            "--tie-embeddings/--no-tie-embeddings", help="Output layer shares the target embedding matrix."
        ),
    ] = True,
    input_feeding: Annotated[
        bool,
        typer.Option(
            "--input-feeding/--no-input-feeding",
            help="Each decoder step reads the previous attention context (Bahdanau et al.; Luong's input feeding). Without, the decoder RNN reads only the target words and attends from its output, so training runs all positions at once (faster epochs).",
        ),
    ] = False,
    learning_rate: Annotated[
        float, typer.Option("--learning-rate", "--lr", help="Adam learning rate.")
    ] = 2e-3,
    lr_schedule: Annotated[
        TranslateSchedule,
        typer.Option(
            "--lr-schedule",
            help="linear (decay to --lr-floor over --max-time, else over --epochs), plateau (halve when dev BLEU does not improve) or constant.",
        ),
    ] = "linear",
    lr_floor: Annotated[
        float,
        typer.Option(
            "--lr-floor",
            min=0.0,
            max=1.0,
            help="--lr-schedule linear: the rate at the end of the decay, as a share of --lr.",
        ),
    ] = 0.1,
    label_smoothing: Annotated[
        float, typer.Option("--label-smoothing", min=0.0, max=0.9, help="Cross-entropy label smoothing.")
    ] = 0.1,
    teacher_forcing: Annotated[
        float,
        typer.Option(
            "--teacher-forcing",
            min=0.01,
            max=1.0,
            help="Probability of feeding the gold previous token (else the model's own guess).",
        ),
    ] = 1.0,
    word_dropout: Annotated[
        float,
        typer.Option(
            "--word-dropout",
            min=0.0,
            max=0.9,
            help="Training: replace this share of source and decoder-input tokens with <unk> (regularizes small data).",
        ),
    ] = 0.1,
    ema: Annotated[
        float,
        typer.Option(
            "--ema",
            min=0.0,
            max=0.99999,
            help="Evaluate and save an exponential moving average of the weights, with this decay per batch (0: off, the last weights).",
        ),
    ] = 0.999,
    clip_norm: Annotated[
        float, typer.Option("--clip-norm", min=0.0, help="Clip the gradient norm to this (0: off).")
    ] = 5.0,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Passes over the data (at most).")] = 30,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size", min=1, help="Pairs per batch (small batches learn more per minute on small data)."
        ),
    ] = 32,
    patience: Annotated[
        Optional[int],
        typer.Option(
            "--patience",
            min=1,
            help="Epochs without dev BLEU improvement before stopping (default: none with --lr-schedule linear, whose decay is planned for the whole run; 4 otherwise).",
        ),
    ] = None,
    max_time: Annotated[
        Optional[float],
        typer.Option(
            "--max-time", min=0.0, help="Stop after this many minutes (keeps the best model so far)."
        ),
    ] = None,
    device: Device = "auto",
    threads: Threads = None,
    precision: Annotated[
        Precision,
        typer.Option(
            "--precision",
            help="Training forward passes: fp32, bf16 (autocast: products in bfloat16, weights in fp32), or auto (bf16 where the CPU or GPU has native bfloat16, e.g. AVX512-BF16/AMX; else fp32). Translation always runs in fp32.",
        ),
    ] = "auto",
    checkpoint: Annotated[
        Optional[str],
        typer.Option("--checkpoint", help="Checkpoint file, written each epoch (default: OUTPUT.ckpt)."),
    ] = None,
    resume: Annotated[
        Optional[str], typer.Option("--resume", help="Continue from this checkpoint (same data and options).")
    ] = None,
    metrics_out: Annotated[
        Optional[str],
        output_option(
            "Write the training summary and per-epoch history (dev BLEU against minutes) as JSON.",
            "--metrics-out",
        ),
    ] = None,
    seed: Seed = 0,
    fmt: Format = None,
    encoding_errors: EncodingErrors = "strict",
) -> None:
    from nlpcli.textio import default_checkpoint
    from nlpcli.training import LoopConfig
    from nlpcli.translate.config import ModelConfig
    from nlpcli.translate.data import PairSpec
    from nlpcli.translate.train import TrainConfig, default_patience, train

    pairs = PairSpec(source_lang, target_lang, src_column, tgt_column, fmt, encoding_errors)
    cfg = TrainConfig(
        pairs=pairs,
        src_tokenizer=src_tokenizer,
        tgt_tokenizer=tgt_tokenizer,
        src_vocab_size=src_vocab_size,
        tgt_vocab_size=tgt_vocab_size,
        spm_coverage=spm_coverage,
        min_count=min_count,
        max_length=max_length,
        learning_rate=learning_rate,
        lr_schedule=lr_schedule,
        lr_floor=lr_floor,
        label_smoothing=label_smoothing,
        teacher_forcing=teacher_forcing,
        word_dropout=word_dropout,
        dev=dev,
        dev_fraction=dev_fraction,
        dev_limit=dev_limit,
        metrics_out=metrics_out,
    )
    model = ModelConfig(
        cell=cell,
        layers=layers,
        hidden=hidden,
        embedding_dim=embedding_dim,
        bidirectional=bidirectional,
        attention=attention,
        dropout=dropout,
        tie_embeddings=tie_embeddings,
        input_feeding=input_feeding,
    )
    if patience is None:
        patience = default_patience(lr_schedule)
    loop = LoopConfig(
        epochs=epochs,
        batch_size=batch_size,
        patience=patience,
        clip_norm=clip_norm or None,
        device=device,
        threads=threads,
        seed=seed,
        checkpoint=checkpoint or default_checkpoint(output),
        resume=resume,
        max_time=max_time * 60 if max_time else None,
        ema=ema or None,
        precision=precision,
    )
    train(inputs, output, cfg, model, loop)


@translate_app.command(
    "run",
    help="Translate sentences with a model from 'translate train' (stdin or files, "
    "one sentence a line, or a column of TSV/JSONL) to stdout.\n\n"
    "Output: one translation a line (TSV/JSONL: the input columns plus "
    "'translation' and 'score'). With --n-best N (text output): N lines "
    "'NUMBER<TAB>SCORE<TAB>TRANSLATION' per sentence. An empty line gives an empty "
    "translation; a word the model does not know is copied from the source.\n\n"
    f"An input of at most {PLAIN_LIMIT} sentences is translated with numpy alone, without loading "
    "torch (same translations, a start seconds shorter); more go through torch in "
    "batches, as does --device cuda.\n\n"
    "Example: echo '오늘 날씨가 좋네요' | nlpcli translate run model.pt",
)
def run_cmd(
    model: Annotated[
        str, typer.Argument(help="A translator from 'nlpcli translate train'.", show_default=False)
    ],
    inputs: Inputs = None,
    beam: Beam = 5,
    n_best: Annotated[
        int,
        typer.Option(
            "--n-best", "-n", min=1, help="Write the N best translations with their scores (N <= --beam)."
        ),
    ] = 1,
    max_length: MaxLength = 100,
    length_penalty: LengthPenalty = 1.0,
    batch_size: BatchSize = 64,
    attention_plot: Annotated[
        Optional[str],
        typer.Option(
            "--attention-plot", help="Write an attention heatmap (PNG) per sentence into this directory."
        ),
    ] = None,
    show_attention: Annotated[
        bool,
        typer.Option("--show-attention", help="Print each sentence's attention as a colored grid on stderr."),
    ] = False,
    font: Annotated[
        Optional[str],
        typer.Option(
            "--font",
            help="--attention-plot: a .ttf/.otf/.ttc font with Hangul glyphs (default: found on the system).",
        ),
    ] = None,
    output: Output = None,
    output_format: OutputFormat = None,
    device: Device = "auto",
    threads: Threads = None,
    fmt: Format = None,
    text_column: TextColumn = None,
    text_field: TextField = None,
    encoding_errors: EncodingErrors = "strict",
) -> None:
    from nlpcli.translate.run import RunOptions, run_files

    options = RunOptions(
        beam=beam,
        n_best=n_best,
        max_length=max_length,
        alpha=length_penalty,
        batch_size=batch_size,
        attention_plot=attention_plot,
        show_attention=show_attention,
        font=font,
    )
    spec = input_spec(fmt, text_column, None, text_field, encoding_errors)
    run_files(
        model,
        inputs or ["-"],
        spec,
        options,
        output=output,
        output_format=output_format,
        device=device,
        threads=threads,
    )


@translate_app.command(
    "evaluate",
    help="Score a translator on sentence pairs: corpus BLEU and chrF (sacrebleu, "
    "with signatures) on stderr, a few best and worst sentences.\n\n"
    "The direction is the model's unless --source-lang/--target-lang say "
    "otherwise. BLEU tokenization: 13a, or characters for a Korean target.\n\n"
    "Example: nlpcli translate evaluate ko-en.pt dev.tsv --beam 5",
)
def evaluate_cmd(
    model: Annotated[
        str, typer.Argument(help="A translator from 'nlpcli translate train'.", show_default=False)
    ],
    pairs: Annotated[
        str,
        typer.Argument(
            help="Sentence pairs, as for 'translate train'.", show_default=False, callback=inputs_checked
        ),
    ],
    source_lang: Annotated[
        Optional[str],
        typer.Option("--source-lang", help="Language of the source side (default: the model's)."),
    ] = None,
    target_lang: Annotated[
        Optional[str],
        typer.Option("--target-lang", help="Language of the target side (default: the model's)."),
    ] = None,
    src_column: SrcColumn = None,
    tgt_column: TgtColumn = None,
    beam: Beam = 5,
    max_length: MaxLength = 100,
    length_penalty: LengthPenalty = 1.0,
    batch_size: BatchSize = 64,
    output: Annotated[
        Optional[str], output_option("Keep the translations here, one per pair ('-': stdout).")
    ] = None,
    bleu_tokenize: Annotated[
        Optional[str],
        typer.Option(
            "--bleu-tokenize",
            help="sacrebleu tokenizer: 13a, intl, char, none, ... (default: char for a Korean target, else 13a).",
        ),
    ] = None,
    examples: Annotated[
        int, typer.Option("--examples", min=0, help="Show this many best and worst sentences.")
    ] = 3,
    metrics_out: Annotated[
        Optional[str], output_option("Write the scores, signatures and speed as JSON.", "--metrics-out")
    ] = None,
    device: Device = "auto",
    threads: Threads = None,
    fmt: Format = None,
    encoding_errors: EncodingErrors = "strict",
) -> None:
    from nlpcli.translate.evaluate import evaluate_file
    from nlpcli.translate.run import RunOptions

    spec = dict(
        source_lang=source_lang,
        target_lang=target_lang,
        src_column=src_column,
        tgt_column=tgt_column,
        format=fmt,
        encoding_errors=encoding_errors,
    )
    options = RunOptions(beam=beam, max_length=max_length, alpha=length_penalty, batch_size=batch_size)
    evaluate_file(
        model,
        pairs,
        spec,
        options,
        output=output,
        bleu_tokenize=bleu_tokenize,
        examples=examples,
        device=device,
        threads=threads,
        metrics_out=metrics_out,
    )
