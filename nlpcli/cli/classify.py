"""``nlpcli train`` and ``nlpcli predict``: text classifiers and regressors (logreg, linreg, mlp, sgd, rnn)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from nlpcli.cli import app
from nlpcli.cli.options import (
    EncodingErrors,
    FeatureKind,
    Format,
    Inputs,
    Jobs,
    Output,
    OutputFormat,
    PartitionMB,
    RowNorm,
    Scheduler,
    Seed,
    TextColumn,
    TextField,
    TrustArtifact,
    Weighting,
    choice,
    input_spec,
    inputs_checked,
    output_option,
)
from nlpcli.cli.preprocess import (
    Keep,
    Nfc,
    Squash,
    Stopwords,
    TaggingOperation,
    TrainTagger,
    UserDict,
    build_recipe,
)

Device = Annotated[
    choice("Device", ("auto", "cpu", "cuda")),
    typer.Option(
        "--device",
        help="auto (a CUDA GPU when there is one, else the CPU), cpu or cuda "
        "(an error when no GPU is usable).",
    ),
]
Threads = Annotated[
    Optional[int],
    typer.Option(
        "--threads",
        min=1,
        help="Torch CPU threads (default: torch's choice). Results are reproducible for "
        "a given --seed and thread count on the same machine.",
    ),
]
Tokenized = Annotated[
    bool,
    typer.Option(
        "--tokenized",
        help="The text is already tokenized with the recipe (e.g. by 'nlpcli preprocess morphs "
        "--stem --norm'): use it as it is. The model still stores the recipe, so predict "
        "takes raw text.",
    ),
]

TrainScheduler = Annotated[
    Optional[str],
    typer.Option(
        "--scheduler",
        help="sgd: train on a Dask cluster, the scheduler's address (tcp://HOST:8786): the workers "
        "read the inputs themselves (a path or URL every worker sees), fit shards of them in "
        "parallel and their weights are averaged after each epoch (see docs/sgd.md).",
    ),
]


#: choices, made once (an annotation is evaluated for each command the parser builds)
Model = choice("Model", ("logreg", "linreg", "mlp", "sgd", "rnn"))
Task = choice("Task", ("classification", "regression"))
CharSource = choice("CharSource", ("tokens", "text"))
ClassWeight = choice("ClassWeight", ("none", "balanced"))
Solver = choice("Solver", ("auto", "liblinear", "lbfgs", "saga", "newton-cg", "newton-cholesky"))
Activation = choice("Activation", ("relu", "tanh", "logistic", "identity"))
Penalty = choice("Penalty", ("l2", "l1", "elasticnet", "none"))
SgdSchedule = choice("SgdSchedule", ("optimal", "invscaling", "adaptive", "constant"))
RnnCell = choice("RnnCell", ("rnn", "lstm", "gru"))
Pooling = choice("Pooling", ("last", "max", "mean"))

TRAIN_HELP = """Train a classifier (or regressor) on labelled text and save it as one artifact.

Models: logreg (logistic regression on n-gram tf-idf), linreg (ridge, or least absolute deviations
with --loss absolute; --task regression), mlp (scikit-learn multi-layer perceptron on the same
features), sgd (a linear model fitted by stochastic gradient descent on minibatches streamed from
the file: for data too large for memory; hashed features, --hashing 20, unless --vectorizer is
given; see docs/sgd.md), rnn (PyTorch RNN/LSTM/GRU over the tokens).

Raw text is tokenized by the recipe (default: Okt morphs --stem --norm), which the model stores, so
'nlpcli predict MODEL' takes raw text. Features for logreg/linreg/mlp come from --vectorizer FILE or
are fitted here with the same options as 'vectorize fit'. A report on the dev data (--dev FILE or
--dev-fraction) ends the run: accuracy, macro-F1, per-class precision/recall, confusion matrix
(MAE/RMSE/R² for regression).

Determinism: a fixed --seed gives the same model for the same data, options and --threads on the
same machine (scikit-learn models are single-threaded here; the RNN's CPU results can differ with
another thread count). The RNN writes a checkpoint each epoch (--checkpoint); Ctrl-C saves it
(sgd: its checkpoint at the current minibatch) and exits 130; --resume CHECKPOINT continues to the
same model an uninterrupted run gives.

Example: nlpcli train sample_data/reviews-train.tsv --tagger kiwi --dev sample_data/reviews-test.tsv -o sentiment.joblib"""


#: linreg's losses, then sgd's for classification and for regression (``classify.models``, ``classify.sgd``)
Loss = choice(
    "Loss",
    (
        "squared",
        "absolute",
        "log_loss",
        "hinge",
        "modified_huber",
        "epsilon_insensitive",
        "squared_error",
        "huber",
    ),
)


@app.command("train", help=TRAIN_HELP)
def train_cmd(
    inputs: Inputs = None,
    output: Annotated[
        str, output_option("Where to save the model (.joblib; .pt for rnn; '-': stdout).", binary=True)
    ] = ...,
    model: Annotated[
        Model,
        typer.Option("--model", "-m", help="logreg, linreg, mlp, sgd or rnn."),
    ] = "logreg",
    task: Annotated[
        Task,
        typer.Option("--task", help="classification (labels) or regression (numbers)."),
    ] = "classification",
    label_column: Annotated[
        str, typer.Option("--label-column", help="Column (JSONL field) holding the label or number.")
    ] = "label",
    dev: Annotated[
        Optional[list[str]],
        typer.Option(
            "--dev",
            help="Dev file(s), same format: the report and the RNN's early stopping use it.",
            callback=inputs_checked,
        ),
    ] = None,
    dev_fraction: Annotated[
        Optional[float],
        typer.Option(
            "--dev-fraction",
            help="Without --dev: hold out this fraction of the training data (default 0.1 for rnn, none otherwise).",
        ),
    ] = None,
    metrics_out: Annotated[
        Optional[str], output_option("Write the dev metrics as JSON here.", "--metrics-out")
    ] = None,
    # preprocessing
    tagger: TrainTagger = "okt",
    user_dict: UserDict = None,
    operation: Annotated[
        TaggingOperation, typer.Option("--operation", help="morphs, nouns, pos or phrases.")
    ] = "morphs",
    stem: Annotated[
        bool,
        typer.Option("--stem/--no-stem", help="Okt/Kiwi: verbs and adjectives to their dictionary form."),
    ] = True,
    norm: Annotated[
        bool,
        typer.Option(
            "--norm/--no-norm", help="Okt: normalize colloquial spellings (ignored for other taggers)."
        ),
    ] = True,
    nfc: Nfc = True,
    keep: Keep = None,
    squash: Squash = 0,
    stopwords: Stopwords = None,
    tokenized: Tokenized = False,
    # features (logreg, linreg, mlp)
    vectorizer: Annotated[
        Optional[str],
        typer.Option(
            "--vectorizer",
            help="A feature artifact ('vectorize fit', ...) instead of fitting features here; its recipe is used.",
        ),
    ] = None,
    kind: Annotated[FeatureKind, typer.Option("--kind", help="Features: count or tfidf.")] = "tfidf",
    ngram: Annotated[str, typer.Option("--ngram", help="Features: word n-gram range MIN,MAX.")] = "1,2",
    char_ngram: Annotated[
        Optional[str],
        typer.Option(
            "--char-ngram", help="Features: also character n-grams of this range (char_wb tf-idf), e.g. 1,4."
        ),
    ] = None,
    char_source: Annotated[
        CharSource,
        typer.Option(
            "--char-source",
            help="Features: --char-ngram reads the tokens, or the raw text (text: keeps endings and spelling that stemming removes; not with --tokenized).",
        ),
    ] = "tokens",
    min_df: Annotated[
        str, typer.Option("--min-df", help="Features: ignore terms in fewer documents (count or fraction).")
    ] = "3",
    max_df: Annotated[
        str, typer.Option("--max-df", help="Features: ignore terms in more documents (count or fraction).")
    ] = "0.9",
    binary: Annotated[
        bool, typer.Option("--binary", help="Features: 0/1 presence instead of counts.")
    ] = False,
    max_features: Annotated[
        Optional[int], typer.Option("--max-features", help="Features: keep the most frequent N terms.")
    ] = None,
    sublinear_tf: Annotated[
        bool, typer.Option("--sublinear-tf", help="Features: tf-idf with 1 + log(tf).")
    ] = False,
    weighting: Annotated[
        Weighting,
        typer.Option(
            "--weighting",
            help="Features: tf-idf weighting, sklearn or augmented (augmented tf, smoothed idf).",
        ),
    ] = "sklearn",
    row_norm: Annotated[RowNorm, typer.Option("--row-norm", help="Features: l2, l1 or none.")] = "l2",
    hashing: Annotated[
        Optional[int],
        typer.Option(
            "--hashing",
            help="Features: hash the terms into 2^BITS columns per block (no vocabulary is kept; default 20 for sgd, none for the others).",
        ),
    ] = None,
    # scikit-learn estimators
    C: Annotated[
        float,
        typer.Option(
            "--C", "-C", help="logreg: inverse regularization strength; linreg --loss absolute: the same."
        ),
    ] = 3.5,
    class_weight: Annotated[
        ClassWeight,
        typer.Option("--class-weight", help="logreg: none or balanced (for skewed classes)."),
    ] = "none",
    solver: Annotated[
        Solver,
        typer.Option(
            "--solver",
            help="logreg: auto (liblinear for two classes, lbfgs for more), liblinear, lbfgs, saga, newton-cg, newton-cholesky.",
        ),
    ] = "auto",
    max_iter: Annotated[
        int, typer.Option("--max-iter", min=1, help="logreg/linreg: optimizer iterations.")
    ] = 1000,
    alpha: Annotated[
        Optional[float],
        typer.Option(
            "--alpha",
            help="linreg: ridge strength (default 1.0); mlp: L2 penalty (default 1e-4); sgd: regularization (default 2e-6; 1e-6 for regression).",
        ),
    ] = None,
    loss: Annotated[
        Optional[Loss],
        typer.Option(
            "--loss",
            help="linreg: squared (default; ridge) or absolute (fits the median: lower MAE). sgd: log_loss (default), hinge (a linear SVM: predict leaves the probability empty) or modified_huber; for regression epsilon_insensitive (default: fits the mean absolute error), squared_error or huber.",
        ),
    ] = None,
    clip: Annotated[
        bool,
        typer.Option("--clip/--no-clip", help="Regression: clip predictions to the range seen in training."),
    ] = True,
    hidden_sizes: Annotated[
        str, typer.Option("--hidden-sizes", help="mlp: hidden layer sizes, e.g. 256 or 256,64.")
    ] = "128",
    activation: Annotated[
        Activation,
        typer.Option("--activation", help="mlp: relu, tanh, logistic or identity."),
    ] = "relu",
    early_stopping: Annotated[
        bool,
        typer.Option(
            "--early-stopping/--no-early-stopping", help="mlp/rnn: stop when the dev score stops improving."
        ),
    ] = True,
    # sgd
    penalty: Annotated[
        Optional[Penalty],
        typer.Option("--penalty", help="sgd: l2 (default), l1, elasticnet or none."),
    ] = None,
    average: Annotated[
        Optional[bool],
        typer.Option(
            "--average/--no-average",
            help="sgd: averaged SGD (the model is the mean of the weights along the way; steadier, often better; default: on for regression, off for classification).",
        ),
    ] = None,
    lr_schedule: Annotated[
        Optional[SgdSchedule],
        typer.Option(
            "--lr-schedule",
            help="sgd: learning-rate schedule: optimal (default for classification), invscaling (default for regression), adaptive or constant; the last three start at --learning-rate (default 0.01).",
        ),
    ] = None,
    classes: Annotated[
        Optional[str],
        typer.Option(
            "--classes",
            help="sgd: the labels, comma-separated (e.g. 0,1), instead of collecting them from the input; needed for stdin.",
        ),
    ] = None,
    shuffle_buffer: Annotated[
        Optional[int],
        typer.Option(
            "--shuffle-buffer",
            min=1,
            help="sgd: documents held for shuffling (default 50000; memory grows with it).",
        ),
    ] = None,
    # neural models and sgd
    epochs: Annotated[
        Optional[int],
        typer.Option(
            "--epochs", min=1, help="mlp/rnn/sgd: passes over the data (at most; default 5; sgd 3)."
        ),
    ] = None,
    batch_size: Annotated[
        Optional[int],
        typer.Option(
            "--batch-size",
            min=1,
            help="mlp/rnn/sgd: documents per batch (default 64; sgd 10000: each sgd batch also costs one pass over the weights).",
        ),
    ] = None,
    learning_rate: Annotated[
        Optional[float],
        typer.Option(
            "--learning-rate",
            "--lr",
            help="mlp/rnn: Adam learning rate (default 1e-3 mlp, 2e-3 rnn); sgd: the initial rate of --lr-schedule invscaling, adaptive or constant (default 0.01; regression 5).",
        ),
    ] = None,
    patience: Annotated[
        Optional[int],
        typer.Option(
            "--patience", min=1, help="rnn/sgd: epochs without dev improvement before stopping (default 2)."
        ),
    ] = None,
    cell: Annotated[RnnCell, typer.Option("--cell", help="rnn: rnn, lstm or gru.")] = "gru",
    layers: Annotated[int, typer.Option("--layers", min=1, help="rnn: stacked layers.")] = 1,
    bidirectional: Annotated[
        bool, typer.Option("--bidirectional/--unidirectional", help="rnn: read both directions.")
    ] = True,
    hidden: Annotated[int, typer.Option("--hidden", min=1, help="rnn: hidden units per direction.")] = 128,
    embedding_dim: Annotated[int, typer.Option("--embedding-dim", min=1, help="rnn: embedding size.")] = 128,
    dropout: Annotated[
        float,
        typer.Option(
            "--dropout",
            min=0.0,
            max=0.95,
            help="rnn: dropout on embeddings, between layers and before the output.",
        ),
    ] = 0.3,
    pooling: Annotated[
        Pooling,
        typer.Option("--pooling", help="rnn: last (final hidden states), max or mean over time."),
    ] = "max",
    max_length: Annotated[
        int, typer.Option("--max-length", min=1, help="rnn: keep at most this many tokens per document.")
    ] = 100,
    min_count: Annotated[
        int, typer.Option("--min-count", min=1, help="rnn: vocabulary: tokens seen at least this often.")
    ] = 2,
    max_vocab: Annotated[
        Optional[int],
        typer.Option("--max-vocab", min=2, help="rnn: at most this many tokens in the vocabulary."),
    ] = None,
    subwords: Annotated[
        int,
        typer.Option(
            "--subwords",
            min=0,
            max=6,
            help="rnn: add the character 1..N-grams of each token to its embedding (helps rare and misspelt tokens); 0: off.",
        ),
    ] = 0,
    embeddings: Annotated[
        Optional[str],
        typer.Option(
            "--embeddings", help="rnn: initialize embeddings from a word2vec artifact of 'nlpcli embed'."
        ),
    ] = None,
    freeze_embeddings: Annotated[
        bool, typer.Option("--freeze-embeddings", help="rnn: keep --embeddings fixed.")
    ] = False,
    lr_decay: Annotated[
        float,
        typer.Option(
            "--lr-decay",
            min=0.0,
            max=1.0,
            help="rnn: multiply the learning rate by this after each epoch (1: constant).",
        ),
    ] = 1.0,
    clip_norm: Annotated[
        float, typer.Option("--clip-norm", min=0.0, help="rnn: clip the gradient norm to this (0: off).")
    ] = 5.0,
    ema: Annotated[
        float,
        typer.Option(
            "--ema",
            min=0.0,
            max=0.99999,
            help="rnn: evaluate and save an exponential moving average of the weights, with this decay per batch (0: off, the last weights).",
        ),
    ] = 0.0,
    device: Device = "auto",
    threads: Threads = None,
    checkpoint: Annotated[
        Optional[str],
        typer.Option(
            "--checkpoint",
            help="rnn: checkpoint file, written each epoch; sgd: written on Ctrl-C (default: OUTPUT.ckpt).",
        ),
    ] = None,
    resume: Annotated[
        Optional[str], typer.Option("--resume", help="rnn/sgd: continue from this checkpoint.")
    ] = None,
    max_time: Annotated[
        Optional[float],
        typer.Option(
            "--max-time", min=0.0, help="rnn: stop after this many minutes (keeps the best model so far)."
        ),
    ] = None,
    seed: Seed = 0,
    fmt: Format = None,
    text_column: TextColumn = None,
    text_field: TextField = None,
    encoding_errors: EncodingErrors = "strict",
    jobs: Jobs = 1,
    scheduler: TrainScheduler = None,
    partition_mb: PartitionMB = 32.0,
    trust: TrustArtifact = False,
) -> None:
    from nlpcli.classify.models import EstimatorConfig
    from nlpcli.classify.train import TrainConfig, train
    from nlpcli.features.vectorizers import VectorizerConfig

    # fmt: off
    # the options, table-like, into the configs that own their defaults and checks
    recipe = build_recipe(**TrainConfig.recipe_options(tagger, operation, stem, norm), nfc=nfc, keep=keep,
                          squash=squash, stopwords=stopwords, min_length=1, lowercase=False, user_dict=user_dict)
    features = VectorizerConfig(kind=kind, ngram=ngram, min_df=min_df, max_df=max_df, binary=binary,
                                max_features=max_features, sublinear_tf=sublinear_tf, weighting=weighting,
                                norm=None if row_norm == "none" else row_norm, char_ngram=char_ngram,
                                char_source=char_source, hashing=hashing)
    estimator = EstimatorConfig.for_model(model, epochs=epochs, max_iter=max_iter, alpha=alpha,
                                          learning_rate=learning_rate, C=C, class_weight=class_weight, solver=solver,
                                          loss=loss, clip=clip, hidden=hidden_sizes, activation=activation,
                                          early_stopping=early_stopping, batch_size=batch_size)
    cfg = TrainConfig(model=model, task=task, recipe=recipe, tokenized=tokenized, vectorizer=vectorizer,
                      features=features, estimator=estimator, dev=dev, dev_fraction=dev_fraction, seed=seed,
                      jobs=jobs, trust=trust, metrics_out=metrics_out, scheduler=scheduler,
                      partition_bytes=round(partition_mb * 2**20))
    rnn = loop = sgd = None
    if model == "sgd":
        from nlpcli.classify.sgd import SgdConfig

        sgd = SgdConfig(**_given(task=task, loss=loss, penalty=penalty, alpha=alpha, epochs=epochs,
                                 batch_size=batch_size, average=average, schedule=lr_schedule, eta0=learning_rate,
                                 patience=patience if early_stopping else 0, shuffle_buffer=shuffle_buffer,
                                 classes=classes, checkpoint=checkpoint, resume=resume))
    if model == "rnn":
        from nlpcli.classify.rnn.config import RnnConfig, loop_config

        rnn = RnnConfig(cell=cell, layers=layers, bidirectional=bidirectional, hidden=hidden,
                        embedding_dim=embedding_dim, dropout=dropout, pooling=pooling, max_length=max_length,
                        min_count=min_count, max_vocab=max_vocab, embeddings=embeddings,
                        freeze_embeddings=freeze_embeddings, learning_rate=learning_rate, subwords=subwords,
                        lr_decay=lr_decay)
        loop = loop_config(output, early_stopping=early_stopping, clip_norm=clip_norm, device=device,
                           threads=threads, seed=seed, checkpoint=checkpoint, resume=resume, max_time=max_time,
                           ema=ema, **_given(patience=patience, epochs=epochs, batch_size=batch_size))
    # fmt: on
    spec = input_spec(fmt, text_column, label_column, text_field, encoding_errors)
    train(inputs or ["-"], spec, output, cfg, rnn=rnn, loop=loop, sgd=sgd)


def _given(**options) -> dict:
    """The options given on the command line (None: left to the config's default)."""
    return {k: v for k, v in options.items() if v is not None}


@app.command(
    "predict",
    help="Label raw text (or numbers, for a regressor) with a model from 'nlpcli train'.\n\n"
    "Output: text gives 'label<TAB>probability' a line; TSV/JSONL keep every input "
    "column and add 'prediction' and 'probability' (and 'top_k'). With "
    "--label-column, a metrics report goes to stderr.\n\n"
    "Example: echo '정말 재밌어요' | nlpcli predict model.joblib",
)
def predict_cmd(
    model: Annotated[str, typer.Argument(help="A classifier or regressor from 'nlpcli train'.")],
    inputs: Inputs = None,
    top_k: Annotated[
        int, typer.Option("--top-k", "-k", min=1, help="Also list the K most probable labels.")
    ] = 1,
    output: Output = None,
    output_format: OutputFormat = None,
    label_column: Annotated[
        Optional[str], typer.Option("--label-column", help="Gold labels: report accuracy etc. on stderr.")
    ] = None,
    metrics_out: Annotated[
        Optional[str],
        output_option("Write the metrics as JSON here (needs --label-column).", "--metrics-out"),
    ] = None,
    tokenized: Tokenized = False,
    batch_size: Annotated[
        Optional[int],
        typer.Option("--batch-size", min=1, help="Documents per batch (default 4000; rnn 2000)."),
    ] = None,
    device: Device = "auto",
    threads: Threads = None,
    fmt: Format = None,
    text_column: TextColumn = None,
    text_field: TextField = None,
    encoding_errors: EncodingErrors = "strict",
    jobs: Jobs = 1,
    scheduler: Scheduler = None,
    trust: TrustArtifact = False,
) -> None:
    from nlpcli.classify.predict import predict_files

    spec = input_spec(fmt, text_column, label_column, text_field, encoding_errors)
    predict_files(
        model,
        inputs or ["-"],
        spec,
        output=output,
        output_format=output_format,
        top_k=top_k,
        jobs=jobs,
        tokenized=tokenized,
        metrics_out=metrics_out,
        trust=trust,
        device=device,
        batch_size=batch_size,
        threads=threads,
        scheduler=scheduler,
    )
