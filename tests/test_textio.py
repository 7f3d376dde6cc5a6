"""Readers and writers: formats, columns, encodings, line numbers, atomic output."""

from __future__ import annotations

import gzip
import io
import json
import os

import pytest

from nlpcli.errors import DataError, UsageError
from nlpcli.textio import (
    InputSpec,
    RecordWriter,
    chunked,
    detect_format,
    open_output,
    read_column,
    read_records,
)


def write(tmp_path, name, data: bytes | str):
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return str(p)


def test_detect_format_by_extension_and_override():
    assert detect_format("a.tsv") == "tsv"
    assert detect_format("a.TSV.gz") == "tsv"
    assert detect_format("a.csv") == "csv"
    assert detect_format("a.jsonl") == "jsonl"
    assert detect_format("a.txt") == "text"
    assert detect_format("-") == "text"
    assert detect_format("a.txt", "jsonl") == "jsonl"
    with pytest.raises(UsageError):
        detect_format("a.txt", "xml")


def test_plain_text_keeps_empty_lines_and_numbers(tmp_path):
    path = write(tmp_path, "a.txt", "첫 줄\n\n셋째 줄\r\n")
    records = list(read_records(path))
    assert [r.text for r in records] == ["첫 줄", "", "셋째 줄"]
    assert [r.line for r in records] == [1, 2, 3]
    assert records[0].fields is None


def test_tsv_default_text_column_and_passthrough(sample):
    records = list(read_records(str(sample / "reviews-train.tsv"), InputSpec(label_column="label")))
    assert len(records) == 4000
    first = records[0]
    assert first.text_key == "document"
    assert set(first.fields) == {"id", "document", "label"}
    assert first.label in ("0", "1")
    assert first.line == 2  # the header is line 1


def test_tsv_missing_column_names_the_columns(sample):
    with pytest.raises(DataError, match=r"reviews-train.tsv:1: no column 'review_text'.*id, document, label"):
        list(read_records(str(sample / "reviews-train.tsv"), InputSpec(text_column="review_text")))
    with pytest.raises(DataError, match="no label column 'stars'"):
        list(read_records(str(sample / "reviews-train.tsv"), InputSpec(label_column="stars")))


def test_ragged_row_names_the_line(tmp_path):
    path = write(tmp_path, "r.tsv", "text\tlabel\n좋다\t1\n별로\t0\textra\n")
    with pytest.raises(DataError, match=r"r.tsv:3: ragged row: 3 fields where the header has 2"):
        list(read_records(path))


def test_empty_tsv_is_an_error_but_empty_text_is_not(tmp_path):
    with pytest.raises(DataError, match="empty file"):
        list(read_records(write(tmp_path, "e.tsv", "")))
    assert list(read_records(write(tmp_path, "e.txt", ""))) == []


def test_invalid_utf8_names_file_line_and_byte(tmp_path):
    path = write(tmp_path, "bad.txt", "좋아요\n".encode() + "나빠요\n".encode("cp949"))
    with pytest.raises(DataError, match=r"bad.txt:2: invalid UTF-8 \(byte 0xb3 at column 1\)"):
        list(read_records(path))
    replaced = list(read_records(path, InputSpec(encoding_errors="replace")))
    assert replaced[0].text == "좋아요" and "\ufffd" in replaced[1].text


def test_binary_file_is_refused(tmp_path):
    path = write(tmp_path, "x.bin", b"\x7fELF\x02\x01\x01\x00\x00\x00binary")
    with pytest.raises(DataError, match="binary"):
        list(read_records(path))


def test_gzip_is_read_transparently(tmp_path):
    p = tmp_path / "a.tsv.gz"
    with gzip.open(p, "wt", encoding="utf-8") as fh:
        fh.write("id\ttext\n1\t안녕\n2\t하세요\n")
    assert [r.text for r in read_records(str(p))] == ["안녕", "하세요"]


def test_truncated_gzip_is_a_data_error(tmp_path):
    p = tmp_path / "a.txt.gz"
    text = "".join(f"리뷰 {i * 7919 % 10007} 번째 줄\n" for i in range(5000)).encode()
    data = gzip.compress(text)
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="corrupt or truncated gzip"):
        list(read_records(str(p)))


def test_csv_quoted_fields(tmp_path):
    path = write(tmp_path, "a.csv", 'text,label\n"쉼표, 있는 문장",1\n그냥,0\n')
    records = list(read_records(path, InputSpec(label_column="label")))
    assert [(r.text, r.label, r.line) for r in records] == [("쉼표, 있는 문장", "1", 2), ("그냥", "0", 3)]


def test_jsonl_fields_and_errors(tmp_path):
    path = write(tmp_path, "a.jsonl", '{"text": "좋아", "label": 1}\n{"text": "별로", "label": 0}\n')
    records = list(read_records(path, InputSpec(label_column="label")))
    assert [(r.text, r.label) for r in records] == [("좋아", "1"), ("별로", "0")]
    bad = write(tmp_path, "b.jsonl", '{"text": "좋아"}\n{"text": \n')
    with pytest.raises(DataError, match=r"b.jsonl:2: invalid JSON"):
        list(read_records(bad))
    missing = write(tmp_path, "c.jsonl", '{"body": "좋아"}\n')
    with pytest.raises(DataError, match="no field 'text'"):
        list(read_records(missing))


def test_label_column_on_plain_text_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError):
        list(read_records(write(tmp_path, "a.txt", "x\n"), InputSpec(label_column="label")))


def test_chunked():
    assert list(chunked(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunked([], 3)) == []


def test_writer_passthrough_tsv_and_jsonl(sample):
    records = list(read_records(str(sample / "reviews-test.tsv")))[:2]
    buf = io.StringIO()
    RecordWriter(buf, "tsv").write_many(records, [{"text": "a\tb"}, {"text": "c"}])
    lines = buf.getvalue().splitlines()
    assert lines[0] == "id\tdocument\tlabel"
    assert lines[1].split("\t") == [records[0].fields["id"], "a b", records[0].fields["label"]]
    buf = io.StringIO()
    RecordWriter(buf, "jsonl").write_many(records, [{"text": "x", "extra": 1}, {"text": "y", "extra": 2}])
    rows = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert rows[0]["document"] == "x" and rows[0]["extra"] == 1 and rows[0]["id"] == records[0].fields["id"]


def test_atomic_output_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with open_output(str(target)) as fh:
            fh.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.txt"]
    with open_output(str(target)) as fh:
        fh.write("new\n")
    assert target.read_text() == "new\n"


def _column_and_errors(paths, spec, want_labels):
    """What read_column gives, and what read_records gives, each as (value, error message)."""

    def run(fn):
        try:
            return fn(), None
        except (DataError, UsageError) as exc:
            return None, str(exc)

    def by_records():
        records = list(read_records(paths, spec))
        return [r.text for r in records], ([r.label for r in records] if want_labels else None)

    return run(lambda: read_column(paths, spec, want_labels)), run(by_records)


@pytest.mark.parametrize(
    "name,data",
    [
        ("a.tsv", "id\tdocument\tlabel\n1\t좋 다\t1\n\n3\t별로\t0\n"),
        ("crlf.tsv", "\ufeffdocument\tlabel\r\n좋다\t1\r\n별로 다\t0\r\n"),
        ("nofinal.txt", "하나\n\n셋 넷"),
        ("cr.txt", "a\rb\nc\r\n"),
        ("ragged.tsv", "text\tlabel\n좋다\t1\n별로\t0\textra\n"),
        ("bad.txt", "좋아요\n".encode() + "x나빠요\n".encode("cp949")),
        ("bad.tsv", "text\tlabel\n좋다\t1\n".encode() + "x\t나\t빠\n".encode("cp949")),
        ("nul.txt", b"ok\nstill ok\n\x7fELF\x00\x00"),
        ("empty.tsv", ""),
        ("empty.txt", ""),
    ],
)
def test_read_column_matches_read_records(tmp_path, name, data):
    """The whole-file column reader (vectorize/train fitting) gives the same documents, and the
    same errors, file, line and column included, as the streaming reader."""
    path = write(tmp_path, name, data)
    for spec in (InputSpec(), InputSpec(encoding_errors="replace")):
        fast, slow = _column_and_errors([path], spec, want_labels=False)
        assert fast == slow
    if name.endswith(".tsv"):
        fast, slow = _column_and_errors([path], InputSpec(label_column="label"), want_labels=True)
        if name == "a.tsv":  # the empty line is a document without a label: refused, with its line
            assert slow[0][1] == ["1", "", "0"]
            assert fast[0] is None and "a.tsv:3: empty label in column 'label'" in fast[1]
        else:
            assert fast == slow


def test_read_column_labels_gzip_and_several_files(tmp_path):
    p = tmp_path / "b.tsv.gz"
    with gzip.open(p, "wt", encoding="utf-8") as fh:
        fh.write("text\tlabel\n안녕\t1\n하세요\t0\n")
    a = write(tmp_path, "a.tsv", "label\ttext\n1\t좋다\n")
    j = write(tmp_path, "c.jsonl", '{"text": "별로", "label": 0}\n')
    texts, labels = read_column([a, str(p), j], InputSpec(label_column="label"), want_labels=True)
    assert texts == ["좋다", "안녕", "하세요", "별로"] and labels == ["1", "1", "0", "0"]
    with pytest.raises(DataError, match=r"a.tsv: no label column"):
        read_column([a], InputSpec(), want_labels=True)
    empty = write(tmp_path, "e.tsv", "text\tlabel\n좋다\t1\n별로\t\n")
    with pytest.raises(DataError, match=r"e.tsv:3: empty label in column 'label'"):
        read_column([empty], InputSpec(label_column="label"), want_labels=True)


def test_corrupt_deflate_data_is_a_data_error(tmp_path):
    """A valid gzip header over a broken deflate stream raised zlib.error (shown as an unexpected
    error) before; found by bench/fuzz.py."""
    p = tmp_path / "a.txt.gz"
    data = bytearray(gzip.compress("".join(f"줄 {i}\n" for i in range(2000)).encode()))
    data[12] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"a.txt.gz: corrupt or truncated gzip"):
        list(read_records(str(p)))
    with pytest.raises(DataError, match=r"a.txt.gz: corrupt or truncated gzip"):
        read_column([str(p)])


def test_empty_csv_line_is_an_empty_document(tmp_path):
    path = write(tmp_path, "a.csv", "text,label\n좋다,1\n\n별로,0\n")
    records = list(read_records(path))
    assert [(r.text, r.line) for r in records] == [("좋다", 2), ("", 3), ("별로", 4)]


def test_output_that_cannot_be_created_is_a_data_error(tmp_path):
    """A name too long for the file system and a directory in the way: once OSErrors."""
    with pytest.raises(DataError, match="cannot write here"):
        with open_output(str(tmp_path / ("x" * 300))) as fh:
            fh.write("a\n")
    (tmp_path / "d").mkdir()
    with pytest.raises(DataError, match="d: is a directory; give a file name"):
        with open_output(str(tmp_path / "d")) as fh:
            fh.write("a\n")
    assert sorted(os.listdir(tmp_path)) == ["d"] and os.listdir(tmp_path / "d") == []


def test_stdout_text_is_utf8_whatever_the_stream_encoding(monkeypatch):
    import sys

    from nlpcli import textio

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    monkeypatch.setattr(sys, "stdout", stream)
    textio.utf8_stdio()
    with open_output(None) as out:
        out.write("영화\n")
    sys.stdout.flush()
    assert raw.getvalue() == "영화\n".encode()
