"""Korean morphological analysers behind one interface: KoNLPy's Okt, Kkma, Komoran, Hannanum
(all on the JVM) and Kiwi (kiwipiepy, native and multi-threaded).

A tagger is created lazily, once per process (the JVM cannot be shared across processes, and a
tagger cannot be pickled): worker processes build their own in the pool initializer from the
plain recipe. Every method takes a *batch* of texts, so a tagger that parallelises internally
(Kiwi) or that pays a per-call toll (the JPype bridge) can amortise it.
"""

from __future__ import annotations

import os
from typing import Sequence

from nlpcli.errors import DependencyError, UsageError

TAGGERS = ("okt", "kkma", "komoran", "hannanum", "kiwi")
JVM_TAGGERS = ("okt", "kkma", "komoran", "hannanum")

Tagged = list[tuple[str, str]]


class Tagger:
    """Base class: per-text loops over ``_pos``; subclasses override the batch methods they can."""

    name = "base"
    supports_stem = False
    supports_norm = False
    supports_phrases = False
    #: parallelises inside one process (threads) rather than across worker processes
    threaded = False

    def pos(self, texts: Sequence[str], stem: bool = False, norm: bool = False) -> list[Tagged]:
        return [self._pos(t, stem, norm) if t else [] for t in texts]

    def nouns(self, texts: Sequence[str]) -> list[list[str]]:
        return [[w for w, tag in tagged if self.is_noun(tag)] for tagged in self.pos(texts)]

    def phrases(self, texts: Sequence[str]) -> list[list[str]]:
        raise UsageError(f"--tagger {self.name} cannot extract phrases; use --tagger okt")

    def normalize(self, texts: Sequence[str]) -> list[str]:
        raise UsageError(f"--tagger {self.name} has no spelling normalizer; use --tagger okt for --norm")

    def is_noun(self, tag: str) -> bool:
        return tag.startswith("NN")

    def _pos(self, text: str, stem: bool, norm: bool) -> Tagged:  # pragma: no cover - abstract
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# the JVM


JVM_OPTIONS_ENV = "NLPCLI_JVM_OPTIONS"


def _jvm_missing_error(detail: str) -> DependencyError:
    return DependencyError(
        f"no Java runtime found ({detail}); KoNLPy's taggers run on the JVM: install one "
        "(Debian/Ubuntu: apt-get install default-jre-headless; or set JAVA_HOME), "
        "or use --tagger kiwi, which needs no Java")


def check_jvm() -> None:
    """Raise a clear :class:`DependencyError` if no JVM can be found (without starting one)."""
    try:
        import jpype
    except ImportError:  # pragma: no cover - konlpy depends on JPype1
        raise DependencyError("JPype1 is not installed: pip install konlpy") from None
    if jpype.isJVMStarted():
        return
    try:
        jvm_path = jpype.getDefaultJVMPath()
    except Exception as exc:  # JVMNotFoundException and friends
        raise _jvm_missing_error(type(exc).__name__) from None
    if not jvm_path or not os.path.exists(jvm_path):
        raise _jvm_missing_error("no libjvm found")


def start_jvm(max_heap_mb: int = 1024) -> None:
    """Start this process's JVM with KoNLPy's class path (once); clear error if there is no Java."""
    check_jvm()
    import jpype

    if jpype.isJVMStarted():
        return
    from konlpy import utils

    jvm_path = jpype.getDefaultJVMPath()

    javadir = os.path.join(utils.installpath, "java")
    classpath = [os.path.join(javadir, "*"), os.path.join(javadir, "bin")]
    options = ["-Dfile.encoding=UTF8", f"-Xmx{max_heap_mb}m"]
    options += os.environ.get(JVM_OPTIONS_ENV, "").split()
    try:
        jpype.startJVM(jvm_path, *options, classpath=classpath, convertStrings=True)
    except OSError as exc:
        raise _jvm_missing_error(str(exc)) from None


class OktTagger(Tagger):
    """KoNLPy's Okt, token for token; calls the Java side directly and joins each result into
    one string on the Java side, so only one string crosses the bridge per text."""

    name = "okt"
    supports_stem = True
    supports_norm = True
    supports_phrases = True

    def __init__(self):
        start_jvm()
        import jpype
        from konlpy.tag import Okt

        self._okt = Okt()
        self._jki = self._okt.jki
        self._join = jpype.JClass("java.lang.String").join
        self._bool = {True: jpype.java.lang.Boolean(True), False: jpype.java.lang.Boolean(False)}

    def _pos(self, text: str, stem: bool, norm: bool) -> Tagged:
        joined = self._join("\n", self._jki.tokenize(text, self._bool[norm], self._bool[stem]))
        if not joined:
            return []
        return [tuple(t.rsplit("/", 1)) for t in joined.split("\n")]  # type: ignore[misc]

    def is_noun(self, tag: str) -> bool:
        return tag == "Noun"

    def phrases(self, texts: Sequence[str]) -> list[list[str]]:
        return [list(self._okt.phrases(t)) if t else [] for t in texts]

    def normalize(self, texts: Sequence[str]) -> list[str]:
        return [str(self._okt.normalize(t)) if t else "" for t in texts]


class _KonlpyTagger(Tagger):
    """Kkma, Komoran and Hannanum through KoNLPy's own classes."""

    def __init__(self, name: str):
        start_jvm()
        from konlpy import tag

        self.name = name
        self._tagger = getattr(tag, name.capitalize())()

    def _pos(self, text: str, stem: bool, norm: bool) -> Tagged:
        if not text.strip():
            return []
        return [(w, t) for w, t in self._tagger.pos(text)]

    def nouns(self, texts: Sequence[str]) -> list[list[str]]:
        return [list(self._tagger.nouns(t)) if t.strip() else [] for t in texts]


# --------------------------------------------------------------------------------------------
# Kiwi


KIWI_STEM_TAGS = ("VV", "VA", "VX", "VCP", "VCN", "XSV", "XSA")


class KiwiTagger(Tagger):
    """kiwipiepy; batches go through ``Kiwi.tokenize`` on ``threads`` native threads."""

    name = "kiwi"
    supports_stem = True
    threaded = True

    def __init__(self, threads: int = 1):
        try:
            from kiwipiepy import Kiwi
        except ImportError:  # pragma: no cover
            raise DependencyError("kiwipiepy is not installed: pip install kiwipiepy") from None
        self.threads = max(1, threads)
        self._kiwi = Kiwi(num_workers=self.threads)

    def pos(self, texts: Sequence[str], stem: bool = False, norm: bool = False) -> list[Tagged]:
        if norm:
            raise UsageError("--norm is Okt's spelling normalizer; use --tagger okt, or drop --norm")
        results = self._kiwi.tokenize(list(texts)) if self.threads > 1 else (
            self._kiwi.tokenize(t) for t in texts)
        out = []
        for tokens in results:
            if stem:
                out.append([(t.form + "다", t.tag) if t.tag.startswith(KIWI_STEM_TAGS) else (t.form, t.tag)
                            for t in tokens])
            else:
                out.append([(t.form, t.tag) for t in tokens])
        return out

    def is_noun(self, tag: str) -> bool:
        return tag in ("NNG", "NNP")


def create_tagger(name: str, threads: int = 1) -> Tagger:
    if name == "okt":
        return OktTagger()
    if name in ("kkma", "komoran", "hannanum"):
        return _KonlpyTagger(name)
    if name == "kiwi":
        return KiwiTagger(threads)
    raise UsageError(f"unknown tagger {name!r}; choose one of {', '.join(TAGGERS)}")
