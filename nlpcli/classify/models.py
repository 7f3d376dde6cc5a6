"""The scikit-learn chain that a ``classifier``/``regressor`` joblib artifact holds: feature
extractor (any feature artifact kind) + estimator + label names, over tokenized text.

The preprocessing recipe travels in the artifact's manifest, so ``predict`` tokenizes raw text
the same way before :meth:`TextModel.predict` sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from nlpcli.classify.linear import softmax
from nlpcli.errors import UsageError

SKLEARN_MODELS = ("logreg", "linreg", "mlp")
MODELS = SKLEARN_MODELS + ("sgd", "rnn")
TASKS = ("classification", "regression")
LOGREG_SOLVERS = ("auto", "liblinear", "lbfgs", "saga", "newton-cg", "newton-cholesky")
ACTIVATIONS = ("relu", "tanh", "logistic", "identity")
LINREG_LOSSES = ("squared", "absolute")
#: --alpha when it is not given: the ridge strength of linreg, the L2 penalty of mlp
DEFAULT_ALPHA = {"linreg": 1.0, "mlp": 1e-4}
DEFAULT_LEARNING_RATE = 1e-3  # mlp


def kind_for(task: str) -> str:
    """The artifact kind of a trained model: ``classifier`` or ``regressor``."""
    return "classifier" if task == "classification" else "regressor"


@dataclass
class EstimatorConfig:
    """Hyper-parameters of the scikit-learn estimators (each model reads its own)."""

    C: float = 3.5  # logreg; linreg --loss absolute
    class_weight: str | None = None  # logreg: None (or "none") or "balanced"
    solver: str = "auto"  # logreg
    max_iter: int = 1000  # logreg, linreg absolute; mlp: epochs
    alpha: float = 1.0  # linreg (ridge strength); mlp (L2 penalty)
    loss: str = "squared"  # linreg: squared (ridge) or absolute (least absolute deviations)
    clip: bool = True  # regression: clip predictions to the training range
    hidden: tuple[int, ...] = (128,)  # mlp
    activation: str = "relu"  # mlp
    early_stopping: bool = True  # mlp
    learning_rate: float = DEFAULT_LEARNING_RATE  # mlp
    batch_size: int = 256  # mlp

    @classmethod
    def for_model(
        cls,
        model: str,
        *,
        epochs: int | None = None,
        max_iter: int = 1000,
        alpha: float | None = None,
        learning_rate: float | None = None,
        batch_size: int | None = None,
        loss: str | None = None,
        **options,
    ) -> EstimatorConfig:
        """The estimator options of ``model`` from the train options: mlp counts ``epochs`` (None:
        5) as its iterations (the others ``max_iter``); ``alpha`` None is the model's default
        (:data:`DEFAULT_ALPHA`), ``learning_rate`` None the mlp's (1e-3), ``batch_size`` None the
        mlp's (64); ``loss`` is linreg's (sgd's losses are its own config's). ``options``: the other fields."""
        if loss is not None and model != "sgd":
            options["loss"] = loss
        return cls(
            max_iter=(epochs or 5) if model == "mlp" else max_iter,
            batch_size=batch_size or 64,
            alpha=alpha if alpha is not None else DEFAULT_ALPHA.get(model, 1.0),
            learning_rate=learning_rate if learning_rate is not None else DEFAULT_LEARNING_RATE,
            **options,
        )

    def __post_init__(self):
        if self.class_weight == "none":
            self.class_weight = None
        if self.C <= 0:
            raise UsageError("--C must be positive")
        if self.alpha < 0:
            raise UsageError("--alpha must not be negative")
        if self.class_weight not in (None, "balanced"):
            raise UsageError("--class-weight must be none or balanced")
        if self.solver not in LOGREG_SOLVERS:
            raise UsageError(f"--solver must be one of {', '.join(LOGREG_SOLVERS)}")
        if self.activation not in ACTIVATIONS:
            raise UsageError(f"--activation must be one of {', '.join(ACTIVATIONS)}")
        if self.loss not in LINREG_LOSSES:
            raise UsageError(f"--loss must be one of {', '.join(LINREG_LOSSES)}")
        if isinstance(self.hidden, str):
            self.hidden = parse_sizes(self.hidden)
        self.hidden = tuple(int(h) for h in self.hidden)
        if not self.hidden or min(self.hidden) < 1:
            raise UsageError("--hidden-sizes needs positive layer sizes, e.g. 256 or 256,64")
        if self.max_iter < 1 or self.batch_size < 1:
            raise UsageError("--max-iter and --batch-size must be positive")
        if self.learning_rate <= 0:
            raise UsageError("--learning-rate must be positive")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d


def parse_sizes(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in value.replace(" ", "").split(",") if v)
    except ValueError:
        raise UsageError(f"layer sizes must look like 256 or 256,64 (got {value!r})") from None


def make_estimator(model: str, task: str, cfg: EstimatorConfig, n_classes: int, seed: int):
    """A fresh scikit-learn estimator for ``model``/``task``."""
    if model == "logreg":
        if task != "classification":
            raise UsageError(
                "--model logreg is a classifier; for numbers use --model linreg "
                "(or mlp/rnn with --task regression)"
            )
        from sklearn.linear_model import LogisticRegression

        solver = cfg.solver
        if solver == "auto":  # liblinear: fast and exact on large sparse binary problems
            solver = "liblinear" if n_classes == 2 else "lbfgs"
        return LogisticRegression(
            C=cfg.C, class_weight=cfg.class_weight, solver=solver, max_iter=cfg.max_iter, random_state=seed
        )
    if model == "linreg":
        if task != "regression":
            raise UsageError(
                "--model linreg predicts numbers: use it with --task regression "
                "(for labels use --model logreg)"
            )
        if cfg.loss == "absolute":
            from sklearn.svm import LinearSVR

            # epsilon 0: the least-absolute-deviation fit, which minimizes MAE directly
            return LinearSVR(
                C=cfg.C,
                epsilon=0.0,
                loss="epsilon_insensitive",
                dual=True,
                max_iter=cfg.max_iter,
                random_state=seed,
            )
        from sklearn.linear_model import Ridge

        return Ridge(alpha=cfg.alpha, random_state=seed)
    if model == "mlp":
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        cls = MLPClassifier if task == "classification" else MLPRegressor
        return cls(
            hidden_layer_sizes=cfg.hidden,
            activation=cfg.activation,
            alpha=cfg.alpha,
            batch_size=cfg.batch_size,
            learning_rate_init=cfg.learning_rate,
            max_iter=cfg.max_iter,
            early_stopping=cfg.early_stopping,
            validation_fraction=0.1,
            n_iter_no_change=2,
            random_state=seed,
        )
    raise UsageError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")


@dataclass
class Prediction:
    """Model output for a batch: class probabilities (n × k, in ``labels`` order) for a
    classifier, numbers (n) for a regressor."""

    probabilities: np.ndarray | None = None
    values: np.ndarray | None = None


class TextModel:
    """Feature extractor + fitted estimator + label names: tokenized text in, predictions out.

    A linear model saved by this version also holds ``scoring``, plain tables (numpy arrays) of
    its features and weights (:mod:`nlpcli.classify.linear`): predictions then come from numpy
    alone, and the scikit-learn objects travel packed as bytes inside the pickle, unpacked (through
    the artifact allowlist) only when something asks for ``extractor`` or ``estimator``. Without
    the tables (older artifacts, mlp, doc2vec features) scikit-learn does the work as before.
    """

    #: batches of more documents than this go through scikit-learn (imported once, for a large
    #: input): its compiled hashing, and its sparse products, beat the plain path there
    PLAIN_LIMIT = 2000
    #: the same for hashed features (the plain MurmurHash3 is Python)
    PLAIN_HASHING_LIMIT = 64

    def __init__(
        self,
        extractor,
        estimator,
        task: str,
        labels: list[str] | None,
        value_range: tuple[float, float] | None = None,
    ):
        self._extractor = extractor
        self._estimator = estimator
        self._packed: bytes | None = None
        self.task = task
        self.labels = labels
        self.value_range = value_range  # regression: clip predictions to it (None: no clipping)
        self.scoring: dict | None = None
        self._plain = None

    # -- storing ------------------------------------------------------------------------------

    def __getstate__(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k != "_plain"}
        if self.scoring is not None and self._packed is None:
            import pickle

            state["_packed"] = pickle.dumps((self._extractor, self._estimator), protocol=5)
        if state.get("_packed") is not None:
            state["_extractor"] = state["_estimator"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        # artifacts written before the plain tables hold the scikit-learn objects themselves
        state = dict(state)
        for old in ("extractor", "estimator"):
            if old in state:
                state["_" + old] = state.pop(old)
        state.setdefault("_packed", None)
        state.setdefault("scoring", None)
        state["_plain"] = None
        self.__dict__.update(state)

    def _unpack(self) -> None:
        if self._packed is not None and self._extractor is None and self._estimator is None:
            from nlpcli.artifacts import loads_restricted

            self._extractor, self._estimator = loads_restricted(self._packed, "the model's scikit-learn part")

    @property
    def extractor(self):
        self._unpack()
        return self._extractor

    @extractor.setter
    def extractor(self, value) -> None:
        self._unpack()
        self._extractor, self._packed, self.scoring = value, None, None

    @property
    def estimator(self):
        self._unpack()
        return self._estimator

    @estimator.setter
    def estimator(self, value) -> None:
        self._unpack()
        self._estimator, self._packed, self.scoring = value, None, None

    def prepare_scoring(self, texts: Sequence[str], raw: Sequence[str] | None = None) -> bool:
        """Keep the plain tables of a linear model (checked against scikit-learn on ``texts``)."""
        from nlpcli.classify.linear import export_scorer

        self.scoring = export_scorer(self, texts, raw)
        return self.scoring is not None

    # -- using --------------------------------------------------------------------------------

    @property
    def needs_raw(self) -> bool:
        """Whether the features also read the raw documents (character n-grams of the text)."""
        if self.scoring is not None:
            return bool(self.scoring["features"]["needs_raw"])
        return bool(getattr(self.extractor, "needs_raw", False))

    @property
    def has_probability(self) -> bool:
        """Whether the classifier gives probabilities of its own (a hinge-loss SGD model does not:
        its scores only rank the labels, and ``predict`` leaves the probability empty)."""
        if self.scoring is not None:
            return self.task == "classification" and self.scoring["link"] != "decision"
        return self.task == "classification" and hasattr(self.estimator, "predict_proba")

    def features(self, texts: Sequence[str], raw: Sequence[str] | None = None):
        if self.needs_raw:
            return self.extractor.transform(list(texts), raw=None if raw is None else list(raw))
        return self.extractor.transform(list(texts))

    def predict_features(self, X) -> Prediction:
        est = self.estimator
        if self.task == "regression":
            values = np.asarray(est.predict(X), dtype=float).ravel()
            if self.value_range is not None:
                values = np.clip(values, *self.value_range)
            return Prediction(values=values)
        if hasattr(est, "predict_proba"):
            proba = est.predict_proba(X)
        else:
            proba = softmax(est.decision_function(X))
        # estimator classes are label indices; put the columns in label order
        classes = np.asarray(est.classes_, dtype=int)
        if len(classes) != len(self.labels) or (classes != np.arange(len(classes))).any():
            full = np.zeros((proba.shape[0], len(self.labels)))
            full[:, classes] = proba
            proba = full
        return Prediction(probabilities=proba)

    def _plain_scorer(self, n: int):
        """The plain features for ``n`` documents, or None when scikit-learn is to score them."""
        if self.scoring is None:
            return None
        hashing = any(b["terms"] is None for b in self.scoring["features"]["blocks"])
        if n > (self.PLAIN_HASHING_LIMIT if hashing else self.PLAIN_LIMIT):
            return None
        if self._plain is None:
            from nlpcli.features.plain import PlainFeatures

            self._plain = PlainFeatures(self.scoring["features"])
        return self._plain

    def predict(self, texts: Sequence[str], raw: Sequence[str] | None = None) -> Prediction:
        """Predictions for tokenized ``texts`` (and their ``raw`` documents, when the features need them)."""
        plain = self._plain_scorer(len(texts))
        if plain is not None:
            from nlpcli.classify.linear import score

            X = plain.transform(list(texts), None if raw is None else list(raw))
            return Prediction(*score(self.scoring, X, self.labels, self.value_range))
        return self.predict_features(self.features(texts, raw))
