"""The versions of the libraries that shape an artifact's results, as recorded in its manifest.

A tokenizer's output changes with the tagger's version (and its dictionary or model package), a
model's numbers with scikit-learn's, gensim's or torch's. Every manifest records the versions of
the libraries relevant to that artifact (``libraries``), so ``nlpcli info`` can tell what made a
model and loading one whose tagger has changed since can say so.

Versions come from the installed packages' metadata (:func:`importlib.metadata.version`): no
library is imported to learn its version. The JVM's ``java.version`` is recorded only when a
KoNLPy tagger was used, asked of the running JVM through JPype; when the tagging ran in worker
processes only, it is read from the ``release`` file of the Java runtime (never by running
``java -version``).
"""

from __future__ import annotations

import functools
import os
import sys

from nlpcli import progress

#: what ``nlpcli --version`` lists, in this order (distribution names)
LIBRARIES = (
    "kiwipiepy",
    "kiwipiepy_model",
    "konlpy",
    "JPype1",
    "python-mecab-ko",
    "python-mecab-ko-dic",
    "scikit-learn",
    "scipy",
    "gensim",
    "torch",
    "sentencepiece",
    "numpy",
)

#: the packages that decide each tagger's tokens (the tagger and its dictionary or model)
TAGGER_LIBRARIES = {
    "kiwi": ("kiwipiepy", "kiwipiepy_model"),
    "mecab": ("python-mecab-ko", "python-mecab-ko-dic"),
    "okt": ("konlpy",),
    "kkma": ("konlpy",),
    "komoran": ("konlpy",),
    "hannanum": ("konlpy",),
}
#: the key of the JVM's version in a manifest's ``libraries``
JAVA = "java"

_MODEL_LIBRARIES = {
    "vectorizer": ("scikit-learn", "scipy", "numpy"),
    "classifier": ("scikit-learn", "scipy", "numpy"),
    "regressor": ("scikit-learn", "scipy", "numpy"),
    "sgd-checkpoint": ("scikit-learn", "scipy", "numpy"),
    "checkpoint": ("torch", "numpy"),
    "translator": ("torch", "numpy"),
    "word2vec": ("gensim", "numpy"),
    "fasttext": ("gensim", "numpy"),
    "doc2vec": ("gensim", "numpy"),
    "vectors": ("numpy",),
}


@functools.cache
def installed(name: str) -> str | None:
    """The installed version of distribution ``name``, or None when it is not installed."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def taggers_used(params: dict | None, recipe: dict | None) -> list[str]:
    """The taggers an artifact tokenizes with: its recipe's, and a translator's tagger tokenizers."""
    used = []
    if recipe:
        from nlpcli.text.recipe import Recipe

        try:
            if Recipe.from_dict(recipe).uses_tagger:
                used.append(recipe["tagger"])
        except Exception:  # not a valid recipe: loading it reports that
            pass
    train = (params or {}).get("train")
    if isinstance(train, dict):
        used += [train.get(side) for side in ("src_tokenizer", "tgt_tokenizer")]
    return [t for t in dict.fromkeys(used) if t in TAGGER_LIBRARIES]


def _model_libraries(kind: str, params: dict) -> tuple[str, ...]:
    if params.get("model") == "rnn":  # a torch classifier or regressor
        return ("torch", "numpy")
    names = _MODEL_LIBRARIES.get(kind, ())
    train = params.get("train")
    if kind == "translator" and isinstance(train, dict) and "spm" in train.values():
        names += ("sentencepiece",)
    return names


def for_artifact(kind: str, params: dict | None = None, recipe: dict | None = None) -> dict[str, str]:
    """``{library: version}`` for the installed libraries that shape an artifact of ``kind``."""
    taggers = taggers_used(params, recipe)
    names = [lib for tagger in taggers for lib in TAGGER_LIBRARIES[tagger]]
    names += _model_libraries(kind, params or {})
    found = {name: installed(name) for name in dict.fromkeys(names)}
    versions = {name: version for name, version in found.items() if version}
    from nlpcli.text.taggers import NATIVE_TAGGERS

    if any(t not in NATIVE_TAGGERS for t in taggers):  # KoNLPy's, on the JVM
        java = java_version()
        if java:
            versions[JAVA] = java
    return versions


def java_version() -> str | None:
    """``java.version`` of this process's JVM if one is running; otherwise that of the Java
    runtime found through ``JAVA_HOME`` or ``java`` on the PATH (its ``release`` file; nothing is
    run, and JPype is not imported); None when there is none."""
    jpype = sys.modules.get("jpype")
    if jpype is not None and jpype.isJVMStarted():
        return str(jpype.java.lang.System.getProperty("java.version"))
    import shutil

    homes = [os.environ.get("JAVA_HOME")]
    java = shutil.which("java")
    if java:  # JAVA_HOME/bin/java, usually through a chain of links
        homes.append(os.path.dirname(os.path.dirname(os.path.realpath(java))))
    for home in filter(None, homes):
        release = os.path.join(home, "release")
        if os.path.isfile(release):
            return _release_version(release)
    return None


def _release_version(path: str) -> str | None:
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            key, _, value = line.strip().partition("=")
            if key == "JAVA_VERSION":
                return value.strip('"') or None
    return None


def tagger_changes(manifest: dict) -> list[tuple[str, str, str]]:
    """``(library, recorded, installed)`` for each tagger library whose installed version differs
    from the one the artifact was made with (libraries not installed now are left to the tagger's
    own error)."""
    recorded = manifest.get("libraries")
    if not isinstance(recorded, dict):
        return []
    tagger_libs = {lib for libs in TAGGER_LIBRARIES.values() for lib in libs}
    changes = []
    for name, version in recorded.items():
        if name in tagger_libs:
            now = installed(name)
            if now and now != str(version):
                changes.append((name, str(version), now))
    return changes


_WARNED: set[str] = set()


def warn_if_tagger_changed(path: str, manifest: dict) -> None:
    """One warning line when the artifact's tagger version differs from the installed one."""
    changes = tagger_changes(manifest)
    if not changes or path in _WARNED:
        return
    _WARNED.add(path)
    made = " and ".join(f"{name} {old}" for name, old, _ in changes)
    now = " and ".join(new for _, _, new in changes)
    progress.warn(f"{path} was made with {made}, this is {now}: tokens may differ")


def report() -> str:
    """``nlpcli --version``: nlpcli's and Python's versions on the first line, then every library
    in :data:`LIBRARIES` and Java, one a line."""
    import platform

    from nlpcli import __version__

    rows = [(name, installed(name) or "not installed") for name in LIBRARIES]
    rows.append((JAVA, java_version() or "not found"))
    width = max(len(name) for name, _ in rows)
    lines = [f"nlpcli {__version__}, Python {platform.python_version()}"]
    return "\n".join(lines + [f"{name:<{width}}  {version}" for name, version in rows])
