"""Generated inputs for ``bench/fuzz.py``: hostile text files, damaged artifacts, odd option values.

Each generator takes a ``random.Random`` and returns a :class:`Case`: the files to put in a fresh
folder, the command line, stdin, and what the campaign must check afterwards.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import pickle
import random
import zlib
from dataclasses import dataclass, field

#: characters that break naive line handling, and some that need care in UTF-8
ODD = [
    "\x00",
    "\ufeff",
    "\r",
    "\u2028",
    "\u2029",
    "\x85",
    "\x1c",
    "\x1d",
    "\x1e",
    "\x0b",
    "\x0c",
    "\t",
    ",",
    '"',
    "'",
    "\\",
    "{",
    "}",
    "[",
    "]",
    "\ud800",
    "\udcff",
    "\udc80",
    "\U0001f600",
    "\u200b",
    "\u0301",
    "가",
    "힣",
    "ᄀ",
    "ㅋ",
    "漢",
    "é",
    "ﬁ",
    " ",
    "  ",
    "-",
    "#",
    "\x7f",
    "\xa0",
]
WORDS = [
    "영화",
    "좋다",
    "정말",
    "별로",
    "배우",
    "연기",
    "재밌다",
    "최고",
    "the",
    "movie",
    "123",
    "ㅋㅋ",
    "!!",
]


@dataclass
class Case:
    family: str
    kind: str  # the generator's sub-kind, for the report
    argv: list[str]
    files: dict[str, bytes] = field(default_factory=dict)
    stdin: bytes = b""
    expect: dict = field(default_factory=dict)  # what to check: see fuzz.check
    links: dict[str, str] = field(default_factory=dict)  # name in the folder -> existing path (copied)


# --------------------------------------------------------------------------------------------
# text


def random_text(rng: random.Random, long: bool = False) -> str:
    if long or rng.random() < 0.02:
        return rng.choice(WORDS) * rng.randint(2000, 60000)
    parts = []
    for _ in range(rng.randint(0, 8)):
        r = rng.random()
        if r < 0.55:
            parts.append(rng.choice(WORDS))
        elif r < 0.85:
            parts.append(rng.choice(ODD))
        else:
            parts.append(chr(rng.randint(1, 0x2FFFF)))
        if rng.random() < 0.6:
            parts.append(" ")
    return "".join(parts)


def encode(text: str, rng: random.Random) -> bytes:
    """UTF-8, with surrogates (lone, or escaped bytes) as the raw bytes they stand for."""
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        return text.encode("utf-8")
    try:
        return text.encode("utf-8", "surrogateescape")  # U+DC80..U+DCFF: the bytes 0x80..0xFF
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")  # others: CESU-style bytes, invalid UTF-8


def _cell(rng: random.Random, fmt: str) -> str:
    text = "" if rng.random() < 0.1 else random_text(rng)
    if fmt == "tsv" or fmt == "text":
        text = text.replace("\n", " ")
        if fmt == "tsv" and rng.random() < 0.9:
            text = text.replace("\t", " ")
    return text


def _header(rng: random.Random, width: int) -> list[str]:
    names = ["text", "label", "id", "document", "", "text", " text ", "x", "라벨", "a,b", "col"]
    header = [rng.choice(names) for _ in range(width)]
    if rng.random() < 0.8 and "text" not in header:
        header[rng.randrange(width)] = "text"
    return header


def document_file(rng: random.Random, fmt: str) -> bytes:
    """A file of ``fmt`` with generated rows, mostly well-formed, sometimes not."""
    rows = rng.choice([0, 1, 2, 3, 5, 10, 40])
    newline = rng.choice(["\n"] * 6 + ["\r\n", "\r"])
    if fmt == "text":
        lines = [_cell(rng, fmt) for _ in range(rows)]
        body = newline.join(lines) + (newline if rng.random() < 0.8 and lines else "")
    elif fmt in ("tsv", "csv"):
        width = rng.randint(1, 4)
        header = _header(rng, width)
        out = io.StringIO()
        if fmt == "tsv":
            lines = ["\t".join(header)]
            for _ in range(rows):
                w = width if rng.random() < 0.95 else rng.randint(0, width + 2)
                lines.append("\t".join(_cell(rng, fmt) for _ in range(w)) if rng.random() < 0.95 else "")
            body = newline.join(lines) + newline
        else:
            writer = csv.writer(
                out,
                lineterminator=newline,
                quoting=rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
            )
            writer.writerow(header)
            for _ in range(rows):
                w = width if rng.random() < 0.95 else rng.randint(0, width + 2)
                writer.writerow([_cell(rng, fmt) for _ in range(w)])
            body = out.getvalue()
            if rng.random() < 0.1:
                body = body.replace('"', "", 1)  # an unbalanced quote
    else:  # jsonl
        lines = []
        for _ in range(rows):
            r = rng.random()
            if r < 0.8:
                obj = {"text": _cell(rng, fmt)}
                if rng.random() < 0.3:
                    obj["label"] = rng.choice([1, "0", None, "긍정", 2.5, [], {}])
                if rng.random() < 0.05:
                    obj = {"text": rng.choice([None, 3, [1], {"a": 1}, True])}
                lines.append(json.dumps(obj, ensure_ascii=rng.random() < 0.5))
            elif r < 0.9:
                lines.append("")
            else:
                lines.append(
                    rng.choice(
                        [
                            "[1, 2]",
                            "{",
                            "null",
                            '"text"',
                            '{"txt": "x"}',
                            "{'text': 1}",
                            '{"text": "a"} trailing',
                            "\ufeff{}",
                        ]
                    )
                )
        body = newline.join(lines) + (newline if lines else "")
    data = encode(body, rng)
    if rng.random() < 0.1:
        data = b"\xef\xbb\xbf" + data  # a BOM
    return mangle_bytes(rng, data) if rng.random() < 0.1 else data


def mangle_bytes(rng: random.Random, data: bytes) -> bytes:
    r = rng.random()
    if r < 0.3:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))
    data = bytearray(data or b"x")
    if r < 0.7:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    else:
        data.insert(rng.randrange(len(data) + 1), rng.choice([0x80, 0xC3, 0xFF, 0xED, 0xF4]))
    return bytes(data)


def gzipped(rng: random.Random, data: bytes) -> bytes:
    packed = gzip.compress(data, mtime=0)
    r = rng.random()
    if r < 0.15:
        packed = packed[: rng.randint(2, max(2, len(packed) - 1))]  # truncated stream
    elif r < 0.2:
        packed += rng.choice([b"\x00" * 8, b"garbage", gzip.compress(b"more\n", mtime=0)])
    elif r < 0.25:
        packed = mangle_bytes(rng, packed)
    return packed


# --------------------------------------------------------------------------------------------
# the readers family


def reader_case(rng: random.Random, models: dict) -> Case:
    fmt = rng.choice(["text", "text", "tsv", "csv", "jsonl"])
    ext = {"text": ".txt", "tsv": ".tsv", "csv": ".csv", "jsonl": ".jsonl"}[fmt]
    data = document_file(rng, fmt)
    name = "in" + ext
    compressed = rng.random() < 0.25
    if compressed:
        data = gzipped(rng, data)
        name += ".gz"
    to_file = rng.random() < 0.6
    options: list[str] = []
    if rng.random() < 0.15:
        options += ["--encoding-errors", rng.choice(["replace", "ignore"])]
    command = rng.choice(
        ["split", "split", "split", "normalize", "normalize", "predict"]
        if models.get("logreg")
        else ["split"]
    )
    links = {}
    if command == "predict":
        argv = ["-q", "predict", "model.joblib", name, "-F", "text"]
        links["model.joblib"] = models["logreg"]
        out_format = "text"
    else:
        argv = ["-q", "preprocess", command, name]
        out_format = {"text": "text", "tsv": "tsv", "csv": "tsv", "jsonl": "jsonl"}[fmt]
        if rng.random() < 0.2:
            out_format = rng.choice(["text", "tsv", "jsonl"])
            argv += ["-F", out_format]
    argv += options
    stdin = b""
    if rng.random() < 0.15 and fmt == "text":  # the same data on stdin
        argv[argv.index(name)] = "-"
        stdin, data, name = data, None, "<stdin>"
    if to_file:
        argv += ["-o", "out" + {"text": ".txt", "tsv": ".tsv", "jsonl": ".jsonl"}[out_format]]
    files = {} if data is None else {"in" + ext + (".gz" if compressed else ""): data}
    raw = stdin if data is None else data
    return Case(
        "readers",
        f"{command}:{fmt}{'.gz' if compressed else ''}",
        argv,
        files,
        stdin,
        {
            "input": name,
            "format": fmt,
            "raw": raw,
            "out_format": out_format,
            "output": argv[-1] if to_file else None,
            "errors": options[1] if options else "strict",
        },
        links,
    )


def expected_lines(raw: bytes, fmt: str, errors: str) -> int | None:
    """How many documents the input holds, by the documented contract; None if it is not valid."""
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            return None
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if any(b"\x00" in line for line in lines):
        return None
    try:
        text_lines = [line.decode("utf-8", errors) for line in lines]
    except UnicodeDecodeError:
        return None
    if text_lines and text_lines[0].startswith("\ufeff"):  # a BOM is not part of the first line
        text_lines[0] = text_lines[0][1:]
    if fmt == "text":
        return len(text_lines)
    if fmt == "jsonl":
        return len(text_lines)
    if fmt == "tsv":
        return max(0, len(text_lines) - 1)
    stripped = [t[:-1] if t.endswith("\r") else t for t in text_lines]
    try:
        rows = list(csv.reader(stripped))
    except csv.Error:
        return None
    return max(0, len(rows) - 1)


# --------------------------------------------------------------------------------------------
# the artifacts family


def mutate(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    r = rng.random()
    data = bytearray(data)
    if r < 0.5:
        for _ in range(rng.choice([1, 1, 1, 2, 4, 16])):
            pos = rng.randrange(len(data))
            data[pos] ^= 1 << rng.randrange(8) if rng.random() < 0.5 else rng.randrange(1, 256)
        return "flip", bytes(data)
    if r < 0.8:
        return "truncate", bytes(data[: rng.randrange(len(data))])
    garbage = rng.choice(
        [b"\x00", b"garbage\n", os.urandom(rng.randint(1, 200)), b"\x80\x05N.", bytes(data[:64])]
    )
    return "append", bytes(data) + garbage


def artifact_case(rng: random.Random, bases: dict) -> Case:
    """A damaged copy of one base artifact (or one file of the embed model), and the command that
    reads it; ``bases[kind]`` holds ``path``, ``argv`` (with ``ART`` for the artifact) and the
    original's ``out``."""
    kind = rng.choice(sorted(bases))
    base = bases[kind]
    if os.path.isdir(base["path"]):
        names = sorted(os.listdir(base["path"]))
        target = rng.choice(names)
        files = {f"model/{n}": _read(os.path.join(base["path"], n)) for n in names}
        how, files[f"model/{target}"] = mutate(rng, files[f"model/{target}"])
        art, damaged = "model", f"model/{target}"
    else:
        ext = os.path.splitext(base["path"])[1]
        data = _read(base["path"])
        legacy = rng.random() < 0.3 and data[-81:-65] == b"\n#nlpcli-sha256:"
        if legacy:  # as nlpcli 0.1 wrote it, without the checksum: the loader itself meets the damage
            data = data[:-81]
        how, data = mutate(rng, data)
        how = "legacy-" + how if legacy else how
        art = damaged = "artifact" + ext
        files = {art: data}
    argv = [art if a == "ART" else a for a in base["argv"]]
    for name, path in base.get("inputs", {}).items():
        files[name] = _read(path)
    return Case(
        "artifacts",
        f"{kind}:{how}",
        argv,
        files,
        base.get("stdin", b""),
        {"artifact": art, "damaged": damaged, "baseline": base["out"], "legacy": how.startswith("legacy")},
    )


class _Call:
    """Pickles as a call of ``module.name(*args)``: what a hostile artifact would hold."""

    def __init__(self, module: str, name: str, args: tuple):
        self.module, self.name, self.args = module, name, args

    def __reduce__(self):
        import importlib

        return getattr(importlib.import_module(self.module), self.name), self.args


DANGEROUS = [
    ("os", "system"),
    ("posix", "system"),
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("subprocess", "call"),
    ("subprocess", "check_output"),
    ("builtins", "__import__"),
    ("shutil", "rmtree"),
    ("builtins", "open"),
    ("os", "remove"),
    ("nlpcli.cli", "main"),
    ("numpy", "load"),
    ("joblib", "load"),
    ("sklearn.utils", "_print_elapsed_time"),
]


def crafted_case(rng: random.Random, bases: dict) -> Case:
    """A pickle that asks to run code (touch a marker file) where an artifact is expected."""
    module, name = rng.choice(DANGEROUS)
    marker = "PWNED"
    if name in ("system",):
        args: tuple = (f"touch {marker}",)
    elif name in ("eval", "exec"):
        args = (f"open({marker!r}, 'w').close()",)
    elif name in ("call", "check_output"):
        args = (["touch", marker],)
    else:
        args = (marker,)
    call = _Call(module, name, args)
    manifest = {
        "kind": rng.choice(["logreg", "vectorizer", "mlp", "linreg"]),
        "format": 1,
        "nlpcli_version": "0.1.0",
    }
    shape = rng.random()
    if shape < 0.4:
        obj = {"nlpcli": manifest, "payload": call}
    elif shape < 0.7:
        obj = {"nlpcli": call, "payload": [1, 2]}
    else:
        obj = call
    try:
        data = pickle.dumps(obj, protocol=rng.choice([2, 4, 5]))
    except Exception:  # a module this Python lacks (posix on other systems)
        data = pickle.dumps({"nlpcli": manifest, "payload": None})
    command = rng.choice(
        [
            ["predict", "artifact.joblib", "in.txt"],
            ["vectorize", "inspect", "artifact.joblib"],
            ["vectorize", "transform", "artifact.joblib", "in.txt", "-o", "x.npz"],
        ]
    )
    return Case(
        "artifacts",
        f"crafted:{module}.{name}",
        ["-q", *command],
        {"artifact.joblib": data, "in.txt": "영화 좋다\n".encode()},
        expect={"artifact": "artifact.joblib", "marker": marker, "crafted": True},
    )


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


# --------------------------------------------------------------------------------------------
# the cli family

VALUES = [
    "-1",
    "0",
    "1",
    "2",
    "-0",
    "3.5",
    "1e308",
    "-1e308",
    "99999999999999999999999",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "",
    " ",
    "abc",
    "영화",
    "/nonexistent/dir/file",
    "missing.txt",
    "in.txt",
    "out/",
    ".",
    "-",
    "--",
    "1,2",
    "0:0",
    "1-2",
    "\t",
    "auto",
    "none",
    "cpu",
    "cuda",
    "l2",
    "\x7f",
    "1" * 400,
    "%s",
    "{}",
    "0x10",
    "1_000",
    "True",
]

#: every command: the fixed arguments (files prepared in the folder) and its options
COMMANDS: dict[str, tuple[list[str], list[str]]] = {
    "preprocess": (
        ["preprocess", "split", "in.txt"],
        [
            "--tagger",
            "--keep",
            "--squash",
            "--stopwords",
            "--min-length",
            "--format",
            "--text-column",
            "--text-field",
            "--encoding-errors",
            "--output",
            "--output-format",
            "--jobs",
            "--scheduler",
        ],
    ),
    "vectorize fit": (
        ["vectorize", "fit", "train.tsv", "-o", "v.joblib"],
        [
            "--kind",
            "--ngram",
            "--analyzer",
            "--char-ngram",
            "--min-df",
            "--max-df",
            "--max-features",
            "--weighting",
            "--format",
            "--text-column",
            "--jobs",
        ],
    ),
    "vectorize transform": (
        ["vectorize", "transform", "vec.joblib", "in.txt"],
        [
            "--output",
            "--labels-out",
            "--format",
            "--text-column",
            "--label-column",
            "--encoding-errors",
            "--jobs",
        ],
    ),
    "vectorize inspect": (["vectorize", "inspect", "vec.joblib"], ["--top"]),
    "train": (
        ["train", "train.tsv", "--tagger", "none", "--label-column", "label", "-o", "m.joblib"],
        [
            "--model",
            "--task",
            "--dev-fraction",
            "--min-df",
            "--max-df",
            "--ngram",
            "--char-ngram",
            "--max-features",
            "--weighting",
            "--row-norm",
            "--class-weight",
            "--solver",
            "--max-iter",
            "--alpha",
            "--loss",
            "--hidden-sizes",
            "--activation",
            "--epochs",
            "--batch-size",
            "--seed",
            "--kind",
            "--metrics-out",
            "--text-column",
            "--jobs",
        ],
    ),
    "predict": (
        ["predict", "logreg.joblib", "in.txt"],
        [
            "--top-k",
            "--output",
            "--output-format",
            "--label-column",
            "--metrics-out",
            "--batch-size",
            "--threads",
            "--format",
            "--text-column",
            "--jobs",
        ],
    ),
    "predict rnn": (
        ["predict", "rnn.pt", "in.txt", "--device", "cpu"],
        ["--top-k", "--batch-size", "--threads", "--output-format", "--device"],
    ),
    "embed train": (
        ["embed", "train", "in.txt", "-o", "w2v", "--epochs", "1"],
        [
            "--algo",
            "--arch",
            "--dim",
            "--window",
            "--min-count",
            "--negative",
            "--sample",
            "--alpha",
            "--workers",
            "--seed",
            "--min-n",
            "--max-n",
            "--bucket",
            "--max-vocab",
            "--squash",
            "--min-length",
            "--keep",
            "--format",
            "--text-column",
        ],
    ),
    "embed similar": (["embed", "similar", "w2v.model", "영화"], ["--topn", "--negative"]),
    "embed analogy": (["embed", "analogy", "w2v.model", "영화", "좋다", "정말"], ["--topn"]),
    "embed similarity": (["embed", "similarity", "w2v.model", "영화", "좋다"], []),
    "embed vector": (["embed", "vector", "w2v.model", "영화"], []),
    "embed export": (["embed", "export", "w2v.model", "-o", "vectors.txt"], ["--format", "--limit"]),
    "translate run": (
        ["translate", "run", "tr.pt", "in.txt", "--device", "cpu"],
        [
            "--beam",
            "--n-best",
            "--max-length",
            "--length-penalty",
            "--batch-size",
            "--output",
            "--output-format",
            "--threads",
            "--format",
            "--text-column",
            "--encoding-errors",
        ],
    ),
    "translate evaluate": (
        ["translate", "evaluate", "tr.pt", "pairs.tsv", "--device", "cpu"],
        ["--beam", "--max-length", "--batch-size", "--output"],
    ),
}

#: options whose large values make a legitimately long run; capped for the campaign's sake
SLOW = {
    "--epochs",
    "--max-iter",
    "--dim",
    "--beam",
    "--n-best",
    "--max-length",
    "--bucket",
    "--negative",
    "--window",
    "--hidden-sizes",
    "--max-n",
    "--batch-size",
    "--top",
    "--topn",
    "--limit",
}


def cli_case(rng: random.Random, bases: dict) -> Case:
    name = rng.choice(sorted(COMMANDS))
    fixed, options = COMMANDS[name]
    argv = ["-q", *fixed]
    chosen = rng.sample(options, k=min(len(options), rng.randint(1, 3))) if options else []
    for option in chosen:
        value = rng.choice(VALUES)
        if option in SLOW and _too_big(value):
            value = rng.choice(["0", "-1", "", "nan"])
        argv += [option, value]
    if rng.random() < 0.1:
        argv.insert(rng.randint(1, len(argv)), rng.choice(["--bogus", "-Z", "--", "extra", "--help"]))
    files = {"in.txt": "영화 정말 좋다\n배우 연기 별로\n\n".encode(), "stop.txt": b"a\n"}
    links = {k: v for k, v in bases["files"].items()}
    return Case("cli", name, argv, files, b"", {}, links)


def _too_big(value: str) -> bool:
    try:
        return float(value) > 64
    except ValueError:
        return value.startswith("1" * 3)
