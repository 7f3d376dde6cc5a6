"""``translate run``: stream sentences through a translator to stdout (or a file), batch by batch.

Input: plain text (one sentence a line), or a column of TSV/CSV/JSONL (the usual ``--text-column``
/ ``--text-field``). Output keeps one line per input line: text gives the translation (with
``--n-best N``: N lines ``NUMBER<TAB>SCORE<TAB>TRANSLATION`` per input sentence); TSV/JSONL pass
the input columns through and add ``translation`` and ``score`` (and ``n_best``). Memory stays
flat: records are read, translated and written ``chunk`` at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import chain, islice

from nlpcli import progress
from nlpcli.errors import UsageError
from nlpcli.textio import InputSpec, RecordWriter, chunked, default_output_format, open_output, read_records
from nlpcli.translate.config import PLAIN_LIMIT


@dataclass
class RunOptions:
    beam: int = 5
    n_best: int = 1
    max_length: int = 100
    alpha: float = 1.0
    batch_size: int = 64
    attention_plot: str | None = None
    show_attention: bool = False
    font: str | None = None

    def __post_init__(self):
        if self.beam < 1 or self.n_best < 1 or self.max_length < 1 or self.batch_size < 1:
            raise UsageError("--beam, --n-best, --max-length and --batch-size must be positive")
        if self.n_best > self.beam:
            raise UsageError(f"--n-best {self.n_best} needs --beam {self.n_best} or more")
        if not 0 <= self.alpha <= 10:  # NaN too; length^ALPHA overflows long before 1e308
            raise UsageError("--length-penalty must be between 0 and 10")


class _Notes:
    """Warnings for bad sentences: the first few with file:line, then a count."""

    SHOWN = 5

    def __init__(self):
        self.counts = {"empty": 0, "truncated": 0}

    def add(self, kind: str, record, max_length: int) -> None:
        self.counts[kind] += 1
        if self.counts[kind] <= self.SHOWN:
            if kind == "empty":
                progress.warn(
                    f"{record.source}:{record.line}: no tokens in this line; its translation is empty"
                )
            else:
                progress.warn(
                    f"{record.source}:{record.line}: longer than --max-length {max_length} tokens; "
                    f"translated its first {max_length} tokens only"
                )

    def check(self, record, tr, max_length: int) -> None:
        if tr.empty:
            self.add("empty", record, max_length)
        elif tr.truncated:
            self.add("truncated", record, max_length)

    def summary(self) -> None:
        for kind, n in self.counts.items():
            if n > self.SHOWN:
                what = "empty lines" if kind == "empty" else "lines cut at --max-length"
                progress.warn(f"{n:,} {what} in all")


class _AttentionView:
    """The attention of each best translation, as an image file (``--attention-plot``) and/or on
    the terminal (``--show-attention``, on stderr)."""

    def __init__(self, options: RunOptions):
        self.plot, self.font = options.attention_plot, options.font
        self.console = None
        if options.show_attention:
            from rich.console import Console

            self.console = Console(stderr=True, highlight=False)

    def show(self, number: int, record, tr) -> None:
        best = tr.candidates[0] if tr.candidates else None
        if best is None or best.attention is None:
            return
        if self.plot:
            from nlpcli.translate.show import plot_attention, plot_path

            plot_attention(
                best.attention,
                tr.source_tokens,
                best.tokens,
                plot_path(self.plot, number),
                font=self.font,
                title=f"{record.source}:{record.line}",
            )
        if self.console is not None:
            from nlpcli.translate.show import render_terminal

            self.console.print(f"[bold]{number}[/bold] {record.text}  →  {best.text}")
            self.console.print(render_terminal(best.attention, tr.source_tokens, best.tokens))


def _check_attention(translator, model_path: str, options: RunOptions) -> None:
    """Fail before translating anything when the attention cannot be shown."""
    if options.attention_plot or options.show_attention:
        if not translator.has_attention:
            raise UsageError(f"{model_path}: a model trained with --attention none has no attention to show")
    if options.attention_plot:
        from nlpcli.plotting import find_korean_font

        find_korean_font(options.font)


def _row(tr, fmt: str, n_best: int) -> dict:
    """The columns (JSONL fields) added to an input record."""
    row = {"translation": tr.text, "score": round(tr.score, 4)}
    if n_best > 1:
        row["n_best"] = (
            [{"translation": c.text, "score": round(c.score, 4)} for c in tr.candidates]
            if fmt == "jsonl"
            else " ||| ".join(c.text for c in tr.candidates)
        )
    return row


def _n_best_lines(number: int, tr) -> list[str]:
    """Text output with ``--n-best``: ``NUMBER<TAB>SCORE<TAB>TRANSLATION`` per candidate."""
    return [f"{number}\t{c.score:.4f}\t{c.text}" for c in tr.candidates] or [f"{number}\t0.0000\t"]


def _load(model_path: str, records: Iterator, options: RunOptions, device: str, threads: int | None):
    """The translator for this input -> (translator, the records, none consumed). The file is
    checked and read without torch first; then up to :data:`PLAIN_LIMIT` + 1 records are read:
    if that is all of them (and ``--device`` is not ``cuda``), numpy translates them
    (:mod:`nlpcli.translate.plain`), else the model moves to torch."""
    from nlpcli.translate.tokenizers import prepare_taggers

    prepare_taggers(model_path)  # Kiwi or the JVM starts loading before numpy and the model
    from nlpcli.translate.translator import Translator

    translator = Translator.load_plain(model_path) if device != "cuda" else None
    if translator is None:  # only torch reads the file, or --device cuda
        translator = Translator.load(model_path, device=device, threads=threads)
    _check_attention(translator, model_path, options)
    head = list(islice(records, PLAIN_LIMIT + 1))
    if translator.plain and len(head) > PLAIN_LIMIT:
        translator = translator.on_torch(device=device, threads=threads)
    return translator, chain(head, records)


def run_files(
    model_path: str,
    inputs: Sequence[str],
    spec: InputSpec,
    options: RunOptions,
    *,
    output: str | None = None,
    output_format: str | None = None,
    device: str = "auto",
    threads: int | None = None,
    chunk: int = 512,
) -> int:
    """Translate every record of ``inputs``; returns the number of sentences translated."""
    translator, stream_in = _load(model_path, read_records(list(inputs), spec), options, device, threads)
    fmt = output_format or default_output_format(inputs[0], spec)
    n_best_text = fmt == "text" and options.n_best > 1
    want_att = bool(options.attention_plot or options.show_attention)
    notes, view = _Notes(), _AttentionView(options)
    number = 0
    with open_output(output) as stream:
        writer = RecordWriter(stream, fmt, primary="translation")
        with progress.task("translating", unit="sentences") as bar:
            for records in chunked(stream_in, chunk):
                results = translator.translate(
                    [r.text for r in records],
                    beam=options.beam,
                    n_best=options.n_best,
                    max_length=options.max_length,
                    alpha=options.alpha,
                    batch_size=options.batch_size,
                    keep_attention=want_att,
                )
                rows, lines = [], []
                for record, tr in zip(records, results):
                    number += 1
                    notes.check(record, tr, options.max_length)
                    if n_best_text:
                        lines.extend(_n_best_lines(number, tr))
                    rows.append(_row(tr, fmt, options.n_best))
                    view.show(number, record, tr)
                if n_best_text:
                    if lines:
                        stream.write("\n".join(lines) + "\n")
                        stream.flush()
                else:
                    # keep the source column: the translation is a new column, not a replacement
                    writer.write_many([replace(r, text_key=None) for r in records], rows)
                bar.advance(len(records))
    notes.summary()
    return number


def write_json(path: str, data: dict) -> None:
    with open_output(path) as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
