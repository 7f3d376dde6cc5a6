"""``nlpcli info``: what an artifact is, how it was made and whether it is intact.

Reads the manifest only (see :func:`nlpcli.artifacts.peek` and
:func:`nlpcli.embed.store.read_manifest`): no model is built, and torch, gensim and scikit-learn
are not imported. A file that cannot be used gets the same one-line error as loading it would
give (missing, not an nlpcli artifact, corrupt, written by a newer nlpcli).

:func:`describe` returns a dict with stable keys (``--json``, documented in docs/artifacts.md);
:func:`render` lays it out for people.
"""

from __future__ import annotations

import json
import os

from nlpcli import artifacts, versions
from nlpcli.embed import store

#: ``checksum`` values: what was verified
CHECKSUMS = {
    "verified": "verified (SHA-256 of the file)",
    "verified-files": "verified (CRC-32 of every file)",
    "sizes": "file sizes only (written by nlpcli 0.1, no checksums)",
    "none": "none (written by nlpcli 0.1, no checksum)",
}
#: ``data`` entries shown in their own fields, not among the other facts
_SHOWN = {"inputs", "train", "documents", "train_pairs", "dev", "dev_documents", "dev_pairs", "best_dev_bleu"}


def describe(path: str | os.PathLike) -> dict:
    """Everything ``nlpcli info`` shows about the artifact at ``path``, as plain data."""
    path = os.fspath(path)
    if os.path.isdir(path) or store.resolve(path) != path:  # an embed model directory
        model_dir = store.resolve(path)
        manifest = store.read_manifest(model_dir, warn=False)
        files = {name: int(size) for name, size in manifest.get("files", {}).items()}
        storage, checksum = "directory", "verified-files" if manifest.get("crc32") else "sizes"
        path = model_dir
    else:
        manifest, verified, storage = artifacts.peek(path)
        files = {os.path.basename(path): os.path.getsize(path)}
        checksum = "verified" if verified else "none"
    recipe = manifest.get("recipe") if isinstance(manifest.get("recipe"), dict) else None
    params = manifest.get("params") if isinstance(manifest.get("params"), dict) else {}
    data = manifest.get("data") if isinstance(manifest.get("data"), dict) else {}
    libraries = manifest.get("libraries") if isinstance(manifest.get("libraries"), dict) else {}
    return {
        "path": path,
        "kind": manifest["kind"],
        "model": _model_name(manifest["kind"], params),
        "storage": storage,
        "bytes": sum(files.values()),
        "files": files,
        "checksum": checksum,
        "nlpcli_version": manifest.get("nlpcli_version"),
        "format": manifest.get("format"),
        "created": manifest.get("created"),
        "python": manifest.get("python"),
        "recipe": recipe,
        "preprocess": _preprocess(recipe),
        "user_words": len(recipe.get("user_words") or []) if recipe else 0,
        "tokenizers": _tokenizers(params),
        "params": params,
        "training_data": _training_data(manifest, params, data),
        "dev_metrics": _dev_metrics(data),
        "libraries": {name: str(v) for name, v in libraries.items()},
        "installed": {name: _installed(name) for name in libraries},
        "manifest": manifest,
    }


def _model_name(kind: str, params: dict) -> str | None:
    if isinstance(params.get("model"), str):  # train: logreg, linreg, mlp, sgd, rnn
        return params["model"]
    if kind in store.KINDS and params.get("arch"):  # word2vec/fasttext skipgram or cbow, doc2vec dm/dbow
        return str(params["arch"])
    return None


def _preprocess(recipe: dict | None) -> str | None:
    if recipe is None:
        return None
    from nlpcli.text.recipe import Recipe

    described = Recipe.from_dict(recipe).describe()
    return described + " (pre-tokenized input)" if recipe.get("operation") == "split" else described


def _tokenizers(params: dict) -> dict | None:
    train = params.get("train")
    if not isinstance(train, dict) or "src_tokenizer" not in train:
        return None
    return {"source": train.get("src_tokenizer"), "target": train.get("tgt_tokenizer")}


def _installed(name: str) -> str | None:
    return versions.java_version() if name == versions.JAVA else versions.installed(name)


def _training_data(manifest: dict, params: dict, data: dict) -> dict:
    """Files, their sizes, documents, classes and dev set, whatever the kind calls them."""
    inputs = data.get("inputs")
    if not isinstance(inputs, list):
        source = manifest.get("source")  # an imported vectors file
        train = data.get("train") or (source.get("path") if isinstance(source, dict) else None)
        inputs = [train] if train else []
    classes = data.get("label_counts")
    if not isinstance(classes, dict):
        labels = data.get("labels") or params.get("labels")
        classes = {str(label): None for label in labels} if isinstance(labels, list) else None
    sizes = manifest.get("input_bytes") if isinstance(manifest.get("input_bytes"), dict) else {}
    return {
        "inputs": [str(p) for p in inputs],
        "input_bytes": {str(k): v for k, v in sizes.items()},
        "documents": data.get("documents", data.get("train_pairs")),
        "classes": classes,
        "dev": data.get("dev"),
        "dev_documents": data.get("dev_documents", data.get("dev_pairs")),
        "other": {k: v for k, v in data.items() if k not in _SHOWN and isinstance(v, (int, float, str))},
    }


def _dev_metrics(data: dict) -> dict | None:
    if isinstance(data.get("dev_metrics"), dict):
        return data["dev_metrics"]
    if data.get("best_dev_bleu") is not None:  # a translator
        return {"bleu": data["best_dev_bleu"]}  # the best epoch's; which one is among the other facts
    return None


# --------------------------------------------------------------------------------------------
# for people


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,} bytes"


def _value(v) -> str:
    if isinstance(v, float):
        return str(round(v, 6))
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return text if len(text) <= 100 else text[:97] + "..."


def _flatten(params: dict, prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    for key, v in params.items():
        if isinstance(v, dict) and v:
            rows += _flatten(v, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", _value(v)))
    return rows


def _aligned(rows: list[tuple[str, str]], indent: str = "") -> list[str]:
    width = max((len(k) for k, _ in rows), default=0)
    return [f"{indent}{k:<{width}}  {v}" for k, v in rows]


def _data_rows(info: dict) -> list[tuple[str, str]]:
    td = info["training_data"]
    sizes = td["input_bytes"]
    files = [f"{p} ({_size(sizes[p])})" if p in sizes else p for p in td["inputs"]]
    unit = "sentence pairs" if info["tokenizers"] else "documents"
    rows = [("training data", ", ".join(files) or "-")]
    if td["documents"] is not None:
        rows.append((unit, _value(td["documents"])))
    if td["classes"]:
        counts = [f"{c} ({n:,})" if n is not None else c for c, n in td["classes"].items()]
        rows.append(("classes", f"{len(counts)}: {', '.join(counts)}"))
    if td["dev"]:
        n = td["dev_documents"]
        rows.append(("dev data", td["dev"] + (f", {n:,} {unit}" if n else "")))
    if info["dev_metrics"]:
        rows.append(("dev metrics", ", ".join(f"{k} {_value(v)}" for k, v in info["dev_metrics"].items())))
    rows += [(k.replace("_", " "), _value(v)) for k, v in td["other"].items()]
    return rows


def _library_rows(info: dict) -> list[tuple[str, str]]:
    rows = []
    for name, version in info["libraries"].items():
        now = info["installed"][name]
        note = "" if now == version else f"  (installed: {now or 'not installed'})"
        rows.append((name, version + note))
    return rows


def render(info: dict) -> str:
    """The info as aligned text: the facts, the libraries, then every parameter."""
    kind = info["kind"] + (f" ({info['model']})" if info["model"] else "")
    files = f"{len(info['files'])} files, " if info["storage"] == "directory" else ""
    rows = [
        ("artifact", info["path"]),
        ("kind", kind),
        ("written by", f"nlpcli {info['nlpcli_version']} (artifact format {info['format']})"),
        ("created", f"{info['created']}, Python {info['python']}"),
        ("file", f"{info['storage']}, {files}{_size(info['bytes'])}"),
        ("checksum", CHECKSUMS[info["checksum"]]),
    ]
    if info["tokenizers"]:
        rows.append(
            ("tokenizers", f"source {info['tokenizers']['source']}, target {info['tokenizers']['target']}")
        )
    else:
        rows.append(("preprocess", info["preprocess"] or "none"))
        rows.append(("user words", f"{info['user_words']:,}"))
    rows += _data_rows(info)
    lines = _aligned(rows)
    libs = _library_rows(info)
    lines += ["", "libraries"] + (
        _aligned(libs, "  ") if libs else ["  not recorded (written by nlpcli 0.1)"]
    )
    lines += ["", "parameters"] + (_aligned(_flatten(info["params"]), "  ") or ["  none"])
    return "\n".join(lines) + "\n"


def _plain(obj):
    """JSON for what a pickled manifest may hold beyond JSON types (numpy numbers, paths)."""
    return obj.item() if hasattr(obj, "item") else str(obj)


def show(path: str, as_json: bool = False) -> None:
    """``nlpcli info``: the artifact's description on stdout, as text or JSON."""
    info = describe(path)
    if as_json:
        print(json.dumps(info, ensure_ascii=False, indent=2, default=_plain))
    else:
        print(render(info), end="")
