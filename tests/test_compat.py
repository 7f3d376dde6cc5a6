"""Artifacts written by nlpcli 0.1.0 still load and give the answers they gave then."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def _first_lines(path: Path, n: int) -> str:
    with open(path, encoding="utf-8") as f:
        return "".join(f.readline() for _ in range(n))


@pytest.mark.parametrize("model", ["v0.1-logreg.joblib", "v0.1-rnn.pt"])
def test_classifier_from_0_1_predicts_as_it_did(cli, sample, tmp_path, model):
    stem = model.rsplit(".", 1)[0]
    expected = (DATA / f"{stem}.expected.tsv").read_text(encoding="utf-8")
    reviews = tmp_path / "reviews.tsv"
    reviews.write_text(_first_lines(sample / "reviews-test.tsv", 21), encoding="utf-8")
    res = cli("-q", "predict", str(DATA / model), str(reviews))
    assert res.code == 0, res.err
    assert res.out == expected


def test_translator_from_0_1_translates_as_it_did(cli, sample):
    lines = _first_lines(sample / "tatoeba-dev.tsv", 12).splitlines()
    sources = "".join(line.split("\t")[0] + "\n" for line in lines)
    expected = (DATA / "v0.1-translator.expected.txt").read_text(encoding="utf-8")
    res = cli(
        "-q",
        "translate",
        "run",
        str(DATA / "v0.1-translator.pt"),
        "--beam",
        "3",
        "--n-best",
        "2",
        input=sources,
    )
    assert res.code == 0, res.err
    assert res.out == expected
