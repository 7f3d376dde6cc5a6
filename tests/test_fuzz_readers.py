"""Property tests of the readers: generated text, TSV, CSV and JSONL, gzipped or not.

The contract: every input either reads as one document per line (per row for TSV/CSV, after the
header) or raises one :class:`DataError` that names the file. The examples below the strategies
are inputs that once broke it (found by ``bench/fuzz.py``) and stay as regression cases.
"""

from __future__ import annotations

import csv
import gzip
import io
import json

from hypothesis import example, given
from hypothesis import strategies as st

from nlpcli.errors import DataError, UsageError
from nlpcli.textio import InputSpec, RecordWriter, read_column, read_records

ODD = st.sampled_from(
    [
        "\x00",
        "\ufeff",
        "\r",
        "\u2028",
        "\x85",
        "\x1c",
        "\t",
        ",",
        '"',
        "\\",
        "\udc80",
        "\ud800",
        "영화",
        "ㅋ",
        " ",
        "",
        "\U0001f600",
        "{",
        "}",
    ]
)
TEXT = st.lists(st.one_of(ODD, st.text(max_size=8)), max_size=6).map("".join)


def encoded(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def documents(data: bytes, fmt: str) -> int | None:
    """The number of documents by the contract, or None when the input is not valid."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except Exception:
            return None
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    if any(b"\x00" in line for line in lines):
        return None
    try:
        text = [line.decode("utf-8") for line in lines]
    except UnicodeDecodeError:
        return None
    if text and text[0].startswith("\ufeff"):  # a BOM is not part of the first line
        text[0] = text[0][1:]
    if fmt in ("text", "jsonl"):
        return len(text)
    if fmt == "tsv":
        return max(0, len(text) - 1)
    try:
        return max(0, len(list(csv.reader([t.removesuffix("\r") for t in text]))) - 1)
    except csv.Error:
        return None


def check(tmp_path, name: str, data: bytes, fmt: str, spec: InputSpec | None = None) -> list:
    path = tmp_path / name
    path.write_bytes(data)
    try:
        records = list(read_records(str(path), spec or InputSpec()))
    except (DataError, UsageError) as exc:
        assert name in str(exc), exc
        return []
    want = documents(data, fmt)
    assert want is not None, "an input that breaks the format was read"
    assert len(records) == want
    # every record can be written back as UTF-8, one line each
    out = io.StringIO()
    RecordWriter(out, {"tsv": "tsv", "csv": "tsv", "jsonl": "jsonl"}.get(fmt, "text")).write_many(
        records, [{"text": r.text} for r in records]
    )
    out.getvalue().encode("utf-8")
    body = out.getvalue().count("\n")
    assert body == len(records) + (1 if fmt in ("tsv", "csv") and records else 0)
    return records


@given(lines=st.lists(TEXT, max_size=8), newline=st.sampled_from(["\n", "\r\n"]), gz=st.booleans())
@example(lines=["a\u2028b", "\x85", "\x1c"], newline="\n", gz=False)
@example(lines=["\ufeffx", ""], newline="\r\n", gz=True)
def test_plain_text(tmp_path_factory, lines, newline, gz):
    data = encoded(newline.join(line.replace("\n", " ") for line in lines) + (newline if lines else ""))
    check(
        tmp_path_factory.mktemp("t"),
        "in.txt" + (".gz" if gz else ""),
        gzip.compress(data) if gz else data,
        "text",
    )


@given(
    header=st.lists(st.sampled_from(["text", "label", "", "text", "x", " text "]), min_size=1, max_size=4),
    rows=st.lists(st.lists(TEXT.map(lambda t: t.replace("\n", " ")), max_size=5), max_size=6),
)
@example(header=["text", "text"], rows=[["a", "b"]])
@example(header=["", ""], rows=[[]])
def test_tsv(tmp_path_factory, header, rows):
    data = encoded("\n".join(["\t".join(header), *("\t".join(r) for r in rows)]) + "\n")
    check(tmp_path_factory.mktemp("t"), "in.tsv", data, "tsv")


@given(
    header=st.lists(st.sampled_from(["text", "label", "", "a,b"]), min_size=1, max_size=3),
    rows=st.lists(st.lists(TEXT, max_size=4), max_size=5),
)
@example(header=["text"], rows=[[], ["a"]])  # an empty line: an empty document, as in TSV
def test_csv(tmp_path_factory, header, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    check(tmp_path_factory.mktemp("t"), "in.csv", encoded(out.getvalue()), "csv")


JSON_VALUES = st.one_of(TEXT, st.none(), st.integers(), st.lists(st.integers(), max_size=2))


@given(
    objects=st.lists(
        st.one_of(
            st.dictionaries(st.sampled_from(["text", "label", "x"]), JSON_VALUES, max_size=3),
            st.sampled_from(["", "[1]", "{", "null", '"s"']),
        ),
        max_size=6,
    ),
    ascii_only=st.booleans(),
)
@example(objects=[{"text": "a\ud800b"}], ascii_only=True)  # half a surrogate pair, as a \u escape
@example(objects=[{"text": "x", "label": "\udc80"}], ascii_only=True)
def test_jsonl(tmp_path_factory, objects, ascii_only):
    lines = [o if isinstance(o, str) else json.dumps(o, ensure_ascii=ascii_only) for o in objects]
    data = encoded("\n".join(lines) + ("\n" if lines else ""))
    check(tmp_path_factory.mktemp("t"), "in.jsonl", data, "jsonl")


def test_lone_surrogate_in_jsonl_is_an_error_or_replaced(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "a\\ud800b"}\n{"text": "\\ud83d\\ude00"}\n', encoding="utf-8")
    try:
        list(read_records(str(path)))
    except DataError as exc:
        assert "in.jsonl:1:" in str(exc) and "surrogate" in str(exc)
    else:
        raise AssertionError("a lone surrogate was read")
    records = list(read_records(str(path), InputSpec(encoding_errors="replace")))
    assert [r.text for r in records] == ["a\ufffdb", "\U0001f600"]


@given(data=st.binary(max_size=300), cut=st.integers(min_value=1, max_value=400))
@example(data=b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(40)), cut=400)  # a bad deflate stream
def test_random_and_truncated_gzip_bytes(tmp_path_factory, data, cut):
    tmp = tmp_path_factory.mktemp("g")
    check(tmp, "raw.txt", data, "text")
    packed = gzip.compress(data)[:cut]
    check(tmp, "cut.txt.gz", packed, "text")
    path = tmp / "cut.txt.gz"
    try:
        texts, _ = read_column([str(path)])
    except DataError as exc:
        assert "cut.txt.gz" in str(exc)
    else:
        assert documents(packed, "text") == len(texts)


def test_bom_before_a_quote_that_opens_a_csv_field(tmp_path):
    """The BOM is dropped before parsing, so the quote opens a field that runs to the end: a header
    and no rows (the campaign's reference once counted the BOM as text and expected a row)."""
    data = gzip.compress('\ufeff"textG\n"연기정말연기I\n'.encode())
    assert check(tmp_path, "in.csv.gz", data, "csv") == []
