"""Taggers started ahead of use: in a child process where it can be, else on a warm-up thread.

:func:`prepare` starts building a tagger as soon as a command knows which it needs;
:func:`create_tagger` (what every :class:`~nlpcli.text.recipe.Preprocessor` calls) returns it
then, or builds one. Why a child process:

Kiwi's constructor and its first call (most of its model) and the JVM's start hold the GIL:
on a thread they cannot overlap anything in this process. A one-off command (``predict`` on a
few lines, ``translate run`` on a sentence) spends those seconds while it still has Python,
numpy and its model to load. :func:`start` forks a child at the start of such a command, before
any other thread exists; the child builds the tagger and warms it up while the parent goes on,
then answers the parent's calls (``pos``, ``nouns``, ``phrases``, ``normalize``) over a pair of
pipes. The tokens are those of the same tagger in-process (it is the same code, with the same
arguments).

Only where it is safe and useful: Linux (fork without exec), a process with one thread (the
check reads ``/proc/self/task``), and taggers that take seconds to load (Kiwi and the KoNLPy
taggers on the JVM; MeCab loads in 0.05 s). Anything else returns None and the caller builds the
tagger in-process as before.

The child ignores Ctrl-C (the parent handles it), leaves with ``os._exit`` (never flushing the
parent's buffers or running its exit handlers), and ends when the parent closes the pipe or
exits; the parent kills and reaps it at exit. A child that dies is replaced by an in-process
tagger on the next call, so a command never fails for it.
"""

from __future__ import annotations

import atexit
import os
import pickle
import signal
import sys
import threading
from collections.abc import Sequence

from nlpcli.text.taggers import NATIVE_TAGGERS, Tagger, UserWord, attach_daemon, new_tagger, tagger_class

#: taggers started ahead of use by :func:`prepare`: key -> (tagger, warm-up thread)
_PREPARED: dict[tuple, tuple[Tagger, threading.Thread | None]] = {}
#: the first call of a tagger loads much of it lazily (Kiwi's language model: more than its
#: constructor takes; Okt's dictionaries and JIT): this text warms it up
WARM_UP_TEXT = "오늘 날씨가 좋네요"


def prepare(name: str, threads: int = 1, user_words: Sequence[UserWord] = ()) -> None:
    """Start building a tagger now, so that the caller can go on loading a model meanwhile; the
    next :func:`create_tagger` with the same arguments returns it. Where it can, in a child
    process (Kiwi's and the JVM's loading hold the GIL, so only another process overlaps
    them: see the module); else built here and warmed up on a thread. Best effort: an
    error here is left for the first use to raise."""
    key = (name, max(1, threads), tuple(tuple(w) for w in user_words))
    if key in _PREPARED:
        return
    child = start(name, threads, user_words)  # loads beside this process
    if child is not None:
        _PREPARED[key] = (child, None)
        return
    try:
        tagger = new_tagger(name, threads, user_words)
    except Exception:
        return
    jvm = name not in NATIVE_TAGGERS
    thread = threading.Thread(target=_warm_up, args=(tagger, jvm), name="nlpcli-warm-up", daemon=True)
    thread.start()
    _PREPARED[key] = (tagger, thread)


def _warm_up(tagger: Tagger, jvm: bool) -> None:
    try:
        if jvm:
            attach_daemon()
        tagger.pos([WARM_UP_TEXT])
    except Exception:  # the real call reports it
        pass


def create_tagger(name: str, threads: int = 1, user_words: Sequence[UserWord] = ()) -> Tagger:
    prepared = _PREPARED.pop((name, max(1, threads), tuple(tuple(w) for w in user_words)), None)
    if prepared is not None:
        tagger, thread = prepared
        if thread is not None:
            thread.join()  # type: ignore[attr-defined]
        return tagger
    return new_tagger(name, threads, user_words)


#: taggers worth a child process: those whose loading takes seconds (MeCab: 0.05 s)
FORKED_TAGGERS = ("kiwi", "okt", "kkma", "komoran", "hannanum")


def can_fork() -> bool:
    """Forking is safe here: Linux, and this process has a single thread."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def start(name: str, threads: int = 1, user_words: Sequence[UserWord] = ()) -> TaggerProcess | None:
    """A child process building the tagger ``name`` now; None where that is not safe or useful."""
    if name not in FORKED_TAGGERS or os.environ.get("NLPCLI_TAGGER_PROCESS", "1") == "0" or not can_fork():
        return None
    requests_read, requests_write = os.pipe()  # parent -> child
    replies_read, replies_write = os.pipe()  # child -> parent
    pid = os.fork()
    if pid == 0:  # the child: build, then serve; never return into the parent's code
        status = 0
        try:
            os.close(requests_write)  # the parent's ends
            os.close(replies_read)
            devnull = os.open(os.devnull, os.O_RDWR)  # never hold the parent's stdin or stdout
            os.dup2(devnull, 0)  # open: a pipeline's reader waits for the last writer to go
            os.dup2(devnull, 1)
            _serve(name, threads, user_words, requests_read, replies_write)
        except BaseException:  # noqa: BLE001 - nothing may escape into the parent's code
            status = 1
        finally:
            os._exit(status)
    os.close(requests_read)
    os.close(replies_write)
    return TaggerProcess(
        name, threads, user_words, pid, os.fdopen(requests_write, "wb"), os.fdopen(replies_read, "rb")
    )


def _serve(name: str, threads: int, user_words: Sequence[UserWord], read_fd: int, write_fd: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests, replies = os.fdopen(read_fd, "rb"), os.fdopen(write_fd, "wb")
    tagger, failure = None, None
    try:
        tagger = new_tagger(name, threads, user_words)
        tagger.pos([WARM_UP_TEXT])
    except Exception as exc:  # reported on the first call, as the in-process tagger would
        failure = exc
    while True:
        try:
            method, args, kwargs = pickle.load(requests)
        except (EOFError, OSError, pickle.UnpicklingError):
            return
        try:
            if failure is not None:
                raise failure
            reply = ("ok", getattr(tagger, method)(*args, **kwargs))
        except Exception as exc:
            reply = ("error", exc)
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an exception that does not pickle
            data = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        replies.write(data)
        replies.flush()


class TaggerProcess(Tagger):
    """The parent's side: a :class:`Tagger` whose calls run in the child (see the module)."""

    def __init__(self, name: str, threads: int, user_words: Sequence[UserWord], pid: int, requests, replies):
        cls = tagger_class(name)
        self.name, self.supports_stem, self.supports_norm = name, cls.supports_stem, cls.supports_norm
        self.supports_phrases, self.threaded = cls.supports_phrases, cls.threaded
        self._is_noun = cls.is_noun
        self._args = (name, threads, tuple(user_words))
        self._pid, self._requests, self._replies = pid, requests, replies
        self._local: Tagger | None = None
        self._lock = threading.Lock()
        atexit.register(self.close)

    def _call(self, method: str, *args, **kwargs):
        with self._lock:
            if self._local is None:
                try:
                    pickle.dump((method, args, kwargs), self._requests, protocol=pickle.HIGHEST_PROTOCOL)
                    self._requests.flush()
                    status, value = pickle.load(self._replies)
                except (EOFError, OSError, pickle.UnpicklingError):  # the child is gone
                    self.close()
                    self._local = new_tagger(*self._args)
                else:
                    if status == "error":
                        raise value
                    return value
        return getattr(self._local, method)(*args, **kwargs)

    def pos(self, texts: Sequence[str], stem: bool = False, norm: bool = False):
        return self._call("pos", list(texts), stem=stem, norm=norm)

    def nouns(self, texts: Sequence[str]):
        return self._call("nouns", list(texts))

    def phrases(self, texts: Sequence[str]):
        return self._call("phrases", list(texts))

    def normalize(self, texts: Sequence[str]):
        return self._call("normalize", list(texts))

    def is_noun(self, tag: str) -> bool:
        return self._is_noun(self, tag)

    def close(self) -> None:
        """End the child (closing its pipe; killed if it is still loading) and reap it."""
        if self._pid is None:
            return
        pid, self._pid = self._pid, None
        for stream in (self._requests, self._replies):
            try:
                stream.close()
            except OSError:
                pass
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
