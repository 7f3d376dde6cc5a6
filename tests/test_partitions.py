"""Byte-range partitions read by workers give the records of the whole inputs."""

from __future__ import annotations

import gzip
import os
import shutil

import pytest
from conftest import SAMPLE
from hypothesis import given
from hypothesis import strategies as st

from nlpcli import partitions
from nlpcli.errors import DataError, UsageError
from nlpcli.textio import InputSpec, read_records

SIZES = (1, 3, 64, 1000, 50_000, 10**9)


def _key(record, with_line: bool):
    return (record.text, record.fields, record.label, record.text_key, record.source) + (
        (record.line,) if with_line else ()
    )


def assert_same_records(paths, spec, target):
    plan = partitions.plan(paths, spec, target)
    assert [p.index for p in plan] == list(range(len(plan)))
    got = [(p, r) for p in plan for r in partitions.read_records(p, spec)]
    want = list(read_records([os.path.abspath(p) for p in paths], spec))
    assert len(got) == len(want)
    for (part, g), w in zip(got, want):
        assert _key(g, part.start == 0) == _key(w, part.start == 0)
        if part.start > 0:
            assert g.line == 0  # unknown in the middle of a file
    return plan


@pytest.mark.parametrize("target", SIZES)
def test_tsv_with_header(target):
    spec = InputSpec(label_column="label")
    plan = assert_same_records([str(SAMPLE / "reviews-test.tsv")], spec, target)
    size = os.path.getsize(SAMPLE / "reviews-test.tsv")
    assert len(plan) == max(1, -(-size // target))
    assert plan[-1].end is None and all(p.end == q.start for p, q in zip(plan, plan[1:]))


@pytest.mark.parametrize("target", SIZES[1:4])
def test_several_inputs_in_order(tmp_path, target):
    plain = tmp_path / "plain.txt"
    plain.write_text("하나\n둘\n\n셋", encoding="utf-8")
    paths = [str(SAMPLE / "ratings-test.tsv"), str(plain), str(SAMPLE / "reviews-unlabeled.txt.gz")]
    plan = assert_same_records(paths[:2], InputSpec(), target)
    assert {p.path for p in plan} == {os.path.abspath(p) for p in paths[:2]}
    plan = partitions.plan(paths, InputSpec(), target)
    gz = [p for p in plan if p.path.endswith(".gz")]
    assert len(gz) == 1 and (gz[0].start, gz[0].end) == (0, None)  # gzip: one partition
    texts = [r.text for p in plan if p.path.endswith(".gz") for r in partitions.read_records(p, InputSpec())]
    assert texts == [r.text for r in read_records([str(SAMPLE / "reviews-unlabeled.txt.gz")])]


@pytest.mark.parametrize("target", (1, 2, 3, 5, 7, 11))
def test_crlf_bom_no_final_newline_and_multibyte_boundaries(tmp_path, target):
    # every byte offset of these multi-byte characters is a partition boundary for some target
    path = tmp_path / "mixed.tsv"
    path.write_bytes("\ufeffid\ttext\r\n1\t가나다\r\n2\t\r\n\r\n3\t😀 é\r\n4\t끝".encode())
    assert_same_records([str(path)], InputSpec(), target)
    plain = tmp_path / "plain.txt"
    plain.write_bytes("\ufeff한\n\n글\r\n𝄞x\n마지막".encode())
    assert_same_records([str(plain)], InputSpec(), target)


@pytest.mark.parametrize("target", (1, 9, 40))
def test_jsonl(tmp_path, target):
    path = tmp_path / "docs.jsonl"
    path.write_text(
        '{"text": "첫 문서", "label": 1}\n\n{"text": "둘째", "label": "0"}\n{"text": null, "label": 2}\n',
        encoding="utf-8",
    )
    assert_same_records([str(path)], InputSpec(label_column="label"), target)


def test_csv_and_gzip_are_one_partition_each(tmp_path):
    csv_path = tmp_path / "quoted.csv"
    csv_path.write_text('text,label\n"two\nlines",1\nplain,0\n', encoding="utf-8")
    gz_path = tmp_path / "big.txt.gz"
    with gzip.open(gz_path, "wt", encoding="utf-8") as fh:
        fh.write("가\n나\n" * 500)
    plan = partitions.plan([str(csv_path), str(gz_path)], InputSpec(), 4)
    assert [(p.start, p.end) for p in plan] == [(0, None), (0, None)]
    assert_same_records([str(csv_path)], InputSpec(), 4)


def test_fsspec_url_reads_like_the_path(tmp_path):
    local = tmp_path / "reviews.tsv"
    shutil.copy(SAMPLE / "reviews-test.tsv", local)
    spec = InputSpec(label_column="label")
    plan = partitions.plan([f"file://{local}"], spec, 20_000)
    assert len(plan) == 5 and all(p.path == f"file://{local}" for p in plan)
    got = [(r.text, r.label) for p in plan for r in partitions.read_records(p, spec)]
    assert got == [(r.text, r.label) for r in read_records([str(local)], spec)]


@given(
    lines=st.lists(st.text(alphabet=st.sampled_from("a가😀\r\t é"), max_size=6), max_size=12),
    final_newline=st.booleans(),
    target=st.integers(1, 40),
)
def test_any_text_any_cut(tmp_path_factory, lines, final_newline, target):
    path = tmp_path_factory.mktemp("cut") / "doc.txt"
    data = "\n".join(lines) + ("\n" if final_newline and lines else "")
    path.write_bytes(data.encode())
    assert_same_records([str(path)], InputSpec(), target)


def test_unreadable_inputs_are_one_error_naming_them(tmp_path):
    missing = tmp_path / "missing.tsv"
    with pytest.raises(DataError, match=f"{missing}: no such file"):
        partitions.plan([str(SAMPLE / "reviews-test.tsv"), str(missing)], InputSpec())
    with pytest.raises(DataError, match=f"{tmp_path}: is a directory"):
        partitions.plan([str(tmp_path)], InputSpec())
    with pytest.raises(UsageError, match="stdin"):
        partitions.plan(["-"], InputSpec())
    with pytest.raises(DataError, match="no such file; check the path"):
        partitions.plan([f"file://{missing}"], InputSpec())
    # planned, then gone before a worker reads it
    path = tmp_path / "gone.txt"
    path.write_text("a\nb\n" * 100, encoding="utf-8")
    plan = partitions.plan([str(path)], InputSpec(), 50)
    path.unlink()
    for part in (plan[0], plan[2]):
        with pytest.raises(DataError, match=f"{path}: no such file"):
            list(partitions.read_records(part, InputSpec()))


def test_errors_name_the_line_or_the_byte_offset(tmp_path):
    path = tmp_path / "ragged.tsv"
    good = "".join(f"{i}\t문서 {i}\n" for i in range(100))
    path.write_text("id\ttext\n" + good + "bad\trow\textra\n" + good, encoding="utf-8")
    offset = len(("id\ttext\n" + good).encode())
    with pytest.raises(DataError, match=f"{path}:102: ragged row"):
        list(read_records([str(path)]))
    plan = partitions.plan([str(path)], InputSpec(), 200)
    bad = next(p for p in plan if p.start <= offset < (p.end or 1 << 60))
    assert bad.start > 0
    with pytest.raises(DataError, match=f"^{path}: the line at byte {offset}: ragged row: 3 fields"):
        list(partitions.read_records(bad, InputSpec()))
    first = partitions.plan([str(path)], InputSpec(), offset + 10)[0]
    with pytest.raises(DataError, match=f"{path}:102: ragged row"):
        list(partitions.read_records(first, InputSpec()))
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"ok\n" * 30 + b"\xff\xfe\n")
    last = partitions.plan([str(binary)], InputSpec(), 40)[-1]
    with pytest.raises(DataError, match=f"{binary}: the line at byte 90: invalid UTF-8"):
        list(partitions.read_records(last, InputSpec()))
