"""Korean morphological analysers behind one interface: KoNLPy's Okt, Kkma, Komoran, Hannanum
(all on the JVM), Kiwi (kiwipiepy, native and multi-threaded) and MeCab (python-mecab-ko, native,
with its dictionary).

A tagger is created lazily, once per process (the JVM cannot be shared across processes, and a
tagger cannot be pickled): worker processes build their own in the pool initializer from the
plain recipe. Every method takes a *batch* of texts, so a tagger that parallelises internally
(Kiwi) or that pays a per-call toll (the JPype bridge) can amortise it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from nlpcli.errors import DependencyError, UsageError

TAGGERS = ("okt", "kkma", "komoran", "hannanum", "kiwi", "mecab")
#: taggers that run without a JVM
NATIVE_TAGGERS = ("kiwi", "mecab")
#: taggers that take user dictionary entries (``--user-dict``); MeCab's needs a compiled dictionary
USER_DICT_TAGGERS = ("kiwi", "komoran")

Tagged = list[tuple[str, str]]
#: a user dictionary entry: word, part-of-speech tag, score (Kiwi; None: its default)
UserWord = tuple[str, str, "float | None"]


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
        "or use --tagger kiwi, which needs no Java"
    )


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


def start_jvm(max_heap_mb: int = 1024, threads: int = 1) -> None:
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
    user = os.environ.get(JVM_OPTIONS_ENV, "").split()
    if threads > 1:
        # the common fork-join pool's workers, beside the calling thread
        options.append(f"-Djava.util.concurrent.ForkJoinPool.common.parallelism={threads - 1}")
        if not any(o.startswith("-XX:+Use") and o.endswith("GC") for o in user):
            # the throughput collector: no concurrent GC threads competing with the tagging
            # threads for the cores (G1, the default, made --jobs 2 about 25% slower here)
            options.append("-XX:+UseParallelGC")
    options += user
    try:
        # interrupt=False: Ctrl-C reaches Python (KeyboardInterrupt: clean up, exit 130) instead
        # of the JVM, whose own handler would halt the process wherever it is
        jpype.startJVM(jvm_path, *options, classpath=classpath, convertStrings=True, interrupt=False)
    except OSError as exc:
        raise _jvm_missing_error(str(exc)) from None
    import atexit

    atexit.register(_ignore_sigint)  # runs before JPype's own exit hook (atexit is LIFO)


def _ignore_sigint() -> None:
    """At exit, while JPype shuts the JVM down: a late Ctrl-C must not print a traceback."""
    import signal

    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # pragma: no cover - not the main thread
        pass


def _okt_function(jki, norm: bool, stem: bool):
    """A ``java.util.function.Function<String, String>``, built from method handles (no Java
    source to compile): ``text -> String.join("\\n", jki.tokenize(text, norm, stem))``.

    Mapping it over an array of texts on the Java side means one crossing of the bridge per
    batch instead of one per text (KoNLPy's ``Okt.pos``) or one per token (``toArray``).
    """
    from jpype import JClass

    handles = JClass("java.lang.invoke.MethodHandles")
    mtype = JClass("java.lang.invoke.MethodType").methodType
    string, jlist, boolean = (JClass(f"java.{n}") for n in ("lang.String", "util.List", "lang.Boolean"))
    lookup = handles.publicLookup()
    tokenize = lookup.findVirtual(jki.getClass(), "tokenize", mtype(jlist, string, boolean, boolean))
    tokenize = handles.insertArguments(
        handles.insertArguments(tokenize, 0, jki), 1, boolean(bool(norm)), boolean(bool(stem))
    )
    join = lookup.findStatic(
        string, "join", mtype(string, JClass("java.lang.CharSequence"), JClass("java.lang.Iterable"))
    )
    join = handles.insertArguments(join, 0, string("\n")).asType(mtype(string, jlist))
    return JClass("java.lang.invoke.MethodHandleProxies").asInterfaceInstance(
        JClass("java.util.function.Function"), handles.filterReturnValue(tokenize, join)
    )


def attach_daemon() -> None:
    """Thread-pool initializer: attach this thread to the (started) JVM as a daemon, so that
    the JVM's shutdown never waits for it."""
    try:
        import jpype

        if jpype.isJVMStarted():
            jpype.java.lang.Thread.attachAsDaemon()
    except Exception:  # pragma: no cover - older JPype: attached on first call instead
        pass


class OktTagger(Tagger):
    """KoNLPy's Okt, token for token.

    Batches go to the Java side whole: an array of texts is mapped through Okt's ``tokenize``
    and a ``String.join`` of each result (see :func:`_okt_function`), so one string per text
    comes back and one call crosses the bridge per batch. With ``threads`` > 1 the batch is a
    parallel stream on Java's fork-join pool (``threads`` workers, the JVM started with the
    throughput collector): the threads share one dictionary, one JIT warm-up and one heap, which
    is what makes a second core pay off (separate JVM processes each pay start-up, dictionary
    loading and warm-up), and no Python thread holds the GIL while they work.
    """

    name = "okt"
    supports_stem = True
    supports_norm = True
    supports_phrases = True
    threaded = True
    #: phrases and normalize (KoNLPy calls per text, not the batched tokenizer): texts per task
    #: when several Python threads share a batch, so a slow slice does not leave the others idle
    SLICE = 32
    #: batches of at most this many texts go through Okt's tokenize one call a text
    DIRECT = 8

    def __init__(self, threads: int = 1):
        start_jvm(threads=threads)
        import jpype
        from konlpy.tag import Okt

        self.threads = max(1, threads)
        self._okt = Okt()
        self._jki = self._okt.jki
        self._array = jpype.JArray(jpype.JClass("java.lang.String"))
        self._stream = jpype.JClass("java.util.Arrays").stream
        self._functions: dict[tuple[bool, bool], object] = {}
        self._pool = None
        self._cancelled = False

    def _function(self, norm: bool, stem: bool):
        key = (bool(norm), bool(stem))
        if key not in self._functions:
            self._functions[key] = _okt_function(self._jki, *key)
        return self._functions[key]

    def _executor(self):
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(
                self.threads, thread_name_prefix="nlpcli-okt", initializer=attach_daemon
            )
        return self._pool

    def _sliced(self, run, texts: Sequence[str]) -> list:
        """``run`` over ``texts`` in slices, on the thread pool when there are threads."""

        def checked(part: Sequence[str]) -> list:
            if self._cancelled:
                raise RuntimeError("tagging was cancelled")
            return run(part)

        if self.threads == 1 or len(texts) <= self.SLICE:
            return checked(texts)
        size = self.SLICE
        out: list = []
        for result in self._executor().map(
            checked, [texts[i : i + size] for i in range(0, len(texts), size)]
        ):
            out.extend(result)
        return out

    def joined(self, texts: Sequence[str], stem: bool = False, norm: bool = False) -> list[str]:
        """Okt's ``word/Tag`` tokens of each (non-empty) text, joined by newlines."""
        if len(texts) <= self.DIRECT and self.threads == 1:
            # a few texts (a one-off query): Okt's tokenize called directly, as KoNLPy does; the
            # stream and method-handle machinery costs more to set up than it saves here
            jki = self._jki
            return [
                "\n".join(str(t) for t in jki.tokenize(text, bool(norm), bool(stem)).toArray())
                for text in texts
            ]
        fn = self._function(norm, stem)
        array, stream = self._array, self._stream
        if self.threads > 1:
            # one call for the whole batch: Java's fork-join pool deals the texts out to its
            # threads, no Python thread needs the GIL until the batch is done
            if self._cancelled:
                raise RuntimeError("tagging was cancelled")
            return [str(s) for s in stream(array(texts)).parallel().map(fn).toArray()]
        return [str(s) for s in stream(array(texts)).map(fn).toArray()]

    def cancel(self) -> None:
        """Stop at the next batch or slice (on Ctrl-C or a closed pipe), so the process can exit
        without tagging the rest of the input first."""
        self._cancelled = True

    def pos(self, texts: Sequence[str], stem: bool = False, norm: bool = False) -> list[Tagged]:
        out: list[Tagged] = [[] for _ in texts]
        todo = [i for i, t in enumerate(texts) if t]
        if todo:
            results = self.joined([texts[i] for i in todo], stem, norm)
            for i, joined in zip(todo, results):
                if joined:
                    out[i] = [tuple(t.rsplit("/", 1)) for t in joined.split("\n")]  # type: ignore[misc]
        return out

    def _pos(self, text: str, stem: bool, norm: bool) -> Tagged:
        return self.pos([text], stem, norm)[0]

    def is_noun(self, tag: str) -> bool:
        return tag == "Noun"

    def phrases(self, texts: Sequence[str]) -> list[list[str]]:
        okt = self._okt
        return self._sliced(lambda part: [[str(p) for p in okt.phrases(t)] if t else [] for t in part], texts)

    def normalize(self, texts: Sequence[str]) -> list[str]:
        jki = self._jki
        return self._sliced(lambda part: [str(jki.normalize(t)) if t else "" for t in part], texts)


class _KonlpyTagger(Tagger):
    """Kkma, Komoran and Hannanum through KoNLPy's own classes."""

    def __init__(self, name: str, user_words: Sequence[UserWord] = ()):
        start_jvm()
        from konlpy import tag

        self.name = name
        if user_words:
            self._tagger = _komoran_with_user_words(user_words)
        else:
            self._tagger = getattr(tag, name.capitalize())()

    def _pos(self, text: str, stem: bool, norm: bool) -> Tagged:
        if not text.strip():
            return []
        return [(w, t) for w, t in self._tagger.pos(text)]

    def nouns(self, texts: Sequence[str]) -> list[list[str]]:
        return [list(self._tagger.nouns(t)) if t.strip() else [] for t in texts]


def _komoran_with_user_words(user_words: Sequence[UserWord]):
    """KoNLPy's Komoran with ``user_words`` (``word<TAB>TAG`` lines in a temporary file, read
    when the tagger is built; Komoran has no scores)."""
    import tempfile

    from konlpy.tag import Komoran

    with tempfile.TemporaryDirectory(prefix="nlpcli-userdic-") as tmp:
        path = os.path.join(tmp, "user.dic")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(f"{word}\t{tag}\n" for word, tag, _ in user_words)
        try:
            return Komoran(userdic=path)
        except Exception as exc:
            raise UsageError(f"--user-dict: Komoran did not take the entries: {exc}") from None


# --------------------------------------------------------------------------------------------
# Kiwi


KIWI_STEM_TAGS = ("VV", "VA", "VX", "VCP", "VCN", "XSV", "XSA")


class KiwiTagger(Tagger):
    """kiwipiepy; batches go through ``Kiwi.tokenize`` on ``threads`` native threads."""

    name = "kiwi"
    supports_stem = True
    threaded = True

    def __init__(self, threads: int = 1, user_words: Sequence[UserWord] = ()):
        try:
            from kiwipiepy import Kiwi
        except ImportError:  # pragma: no cover
            raise DependencyError("kiwipiepy is not installed: pip install kiwipiepy") from None
        self.threads = max(1, threads)
        self._kiwi = Kiwi(num_workers=self.threads)
        for word, tag, score in user_words:
            try:
                self._kiwi.add_user_word(word, tag, 0.0 if score is None else score)
            except (ValueError, RuntimeError) as exc:
                raise UsageError(f"--user-dict: Kiwi did not take {word!r} ({tag}): {exc}") from None

    def pos(self, texts: Sequence[str], stem: bool = False, norm: bool = False) -> list[Tagged]:
        if norm:
            raise UsageError("--norm is Okt's spelling normalizer; use --tagger okt, or drop --norm")
        results = (
            self._kiwi.tokenize(list(texts)) if self.threads > 1 else (self._kiwi.tokenize(t) for t in texts)
        )
        out = []
        for tokens in results:
            if stem:
                out.append(
                    [
                        (t.form + "다", t.tag) if t.tag.startswith(KIWI_STEM_TAGS) else (t.form, t.tag)
                        for t in tokens
                    ]
                )
            else:
                out.append([(t.form, t.tag) for t in tokens])
        return out

    def is_noun(self, tag: str) -> bool:
        return tag in ("NNG", "NNP")


# --------------------------------------------------------------------------------------------
# MeCab


#: a token of MeCab's output: the surface and the first field of the features (the tag)
_MECAB_LINE = re.compile(r"^([^\t\n]*)\t([^,\n]*)", re.MULTILINE)


class MecabTagger(Tagger):
    """python-mecab-ko (mecab-ko with mecab-ko-dic, no JVM), token for token ``MeCab().morphs``,
    ``.pos`` and ``.nouns``. No stemming. With ``threads`` > 1 a batch is dealt out in slices to
    a thread pool, one MeCab tagger per thread: measured on whole processes (bench/bench_mecab.py),
    two threads tag about twice as fast as one, while two worker processes gained little.

    The binding's tagger is called directly and its result read as one string (``surface<TAB>
    features`` lines): the same tokens as ``MeCab().pos`` at more than twice its speed, since
    ``MeCab.parse`` builds a named tuple of eight feature fields for every token.
    """

    name = "mecab"
    threaded = True
    #: texts per task on the thread pool
    SLICE = 250

    def __init__(self, threads: int = 1):
        try:
            import _mecab
            from mecab import MeCab
        except ImportError:
            raise DependencyError(
                "--tagger mecab needs python-mecab-ko: pip install python-mecab-ko"
            ) from None
        import threading

        self.threads = max(1, threads)
        self._class = MeCab
        self._lattice_type = _mecab.Lattice
        self._allocate = _mecab.MECAB_ALLOCATE_SENTENCE
        self._local = threading.local()
        self._pool = None
        self._cancelled = False
        self._local.mecab = MeCab()  # now: a missing dictionary fails here, not in a worker thread

    def _pos(self, text: str, stem: bool, norm: bool) -> Tagged:
        mecab = getattr(self._local, "mecab", None)
        if mecab is None:
            mecab = self._local.mecab = self._class()
        #: the binding's tagger (private); None: go through ``MeCab.parse``
        native = getattr(mecab, "_tagger", None)
        if native is None or "\t" in text or "\n" in text or "\r" in text:
            return [(m.surface, m.pos) for m in mecab.parse(text)]
        lattice = self._lattice_type()
        lattice.add_request_type(self._allocate)
        lattice.set_sentence(text)
        if not native.parse(lattice):
            raise RuntimeError(f"MeCab could not parse the text: {native.what()}")
        # one "surface<TAB>tag,features..." line a token, then "EOS"
        return _MECAB_LINE.findall(lattice.to_string())

    def pos(self, texts: Sequence[str], stem: bool = False, norm: bool = False) -> list[Tagged]:
        if norm:
            raise UsageError("--norm is Okt's spelling normalizer; use --tagger okt, or drop --norm")
        if self.threads == 1 or len(texts) <= self.SLICE:
            return self._slice(texts)
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="nlpcli-mecab")
        size = self.SLICE
        out: list[Tagged] = []
        for part in self._pool.map(self._slice, [texts[i : i + size] for i in range(0, len(texts), size)]):
            out.extend(part)
        return out

    def _slice(self, texts: Sequence[str]) -> list[Tagged]:
        if self._cancelled:
            raise RuntimeError("tagging was cancelled")
        return [self._pos(t, False, False) if t else [] for t in texts]

    def cancel(self) -> None:
        """Stop at the next slice (on Ctrl-C or a closed pipe)."""
        self._cancelled = True

    def is_noun(self, tag: str) -> bool:
        return tag.startswith("N")  # as MeCab().nouns: NNG, NNP, NNB, NNBC, NR, NP


def tagger_class(name: str) -> type[Tagger]:
    """The class :func:`create_tagger` builds for ``name`` (without building it)."""
    classes = {"okt": OktTagger, "kiwi": KiwiTagger, "mecab": MecabTagger}
    return classes.get(name, _KonlpyTagger)


def new_tagger(name: str, threads: int = 1, user_words: Sequence[UserWord] = ()) -> Tagger:
    if user_words and name not in USER_DICT_TAGGERS:
        raise UsageError(user_dict_error(name))
    if name == "okt":
        return OktTagger(threads)
    if name in ("kkma", "komoran", "hannanum"):
        return _KonlpyTagger(name, user_words)
    if name == "kiwi":
        return KiwiTagger(threads, user_words)
    if name == "mecab":
        return MecabTagger(threads)
    raise UsageError(f"unknown tagger {name!r}; choose one of {', '.join(TAGGERS)}")


def user_dict_error(name: str | None) -> str:
    return (
        f"--user-dict works with --tagger {' or '.join(USER_DICT_TAGGERS)}"
        + (f", not {name}" if name else "")
        + " (MeCab's user dictionaries must be compiled first)"
    )
