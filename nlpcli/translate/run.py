"""``translate run``: stream sentences through a translator to stdout (or a file), batch by batch.

Input: plain text (one sentence a line), or a column of TSV/CSV/JSONL (the usual ``--text-column``
/ ``--text-field``). Output keeps one line per input line: text gives the translation (with
``--n-best N``: N lines ``NUMBER<TAB>SCORE<TAB>TRANSLATION`` per input sentence); TSV/JSONL pass
the input columns through and add ``translation`` and ``score`` (and ``n_best``). Memory stays
flat: records are read, translated and written ``chunk`` at a time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Sequence

from nlpcli import progress
from nlpcli.errors import UsageError
from nlpcli.textio import InputSpec, RecordWriter, chunked, default_output_format, open_output, read_records


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
                progress.warn(f"{record.source}:{record.line}: no tokens in this line; its translation is empty")
            else:
                progress.warn(f"{record.source}:{record.line}: longer than --max-length {max_length} tokens; "
                              f"translated its first {max_length} tokens only")

    def summary(self) -> None:
        for kind, n in self.counts.items():
            if n > self.SHOWN:
                what = "empty lines" if kind == "empty" else "lines cut at --max-length"
                progress.warn(f"{n:,} {what} in all")


def run_files(model_path: str, inputs: Sequence[str], spec: InputSpec, options: RunOptions, *,
              output: str | None = None, output_format: str | None = None, device: str = "auto",
              threads: int | None = None, chunk: int = 512) -> int:
    """Translate every record of ``inputs``; returns the number of sentences translated."""
    from nlpcli.translate.translator import Translator

    translator = Translator.load(model_path, device=device, threads=threads)
    if options.attention_plot or options.show_attention:
        if not translator.has_attention:
            raise UsageError(f"{model_path}: a model trained with --attention none has no attention to show")
    if options.attention_plot:
        from nlpcli.plotting import find_korean_font

        find_korean_font(options.font)  # fail before translating anything
    fmt = output_format or default_output_format(inputs[0], spec)
    want_att = bool(options.attention_plot or options.show_attention)
    notes = _Notes()
    number = 0
    console = None
    if options.show_attention:
        from rich.console import Console

        console = Console(stderr=True, highlight=False)
    with open_output(output) as stream:
        writer = RecordWriter(stream, fmt, primary="translation")
        with progress.task("translating", unit="sentences") as bar:
            for records in chunked(read_records(list(inputs), spec), chunk):
                results = translator.translate([r.text for r in records], beam=options.beam,
                                               n_best=options.n_best, max_length=options.max_length,
                                               alpha=options.alpha, batch_size=options.batch_size,
                                               keep_attention=want_att)
                rows = []
                lines = []
                for record, tr in zip(records, results):
                    number += 1
                    if tr.empty:
                        notes.add("empty", record, options.max_length)
                    elif tr.truncated:
                        notes.add("truncated", record, options.max_length)
                    if fmt == "text" and options.n_best > 1:
                        lines.extend([f"{number}\t{c.score:.4f}\t{c.text}" for c in tr.candidates]
                                     or [f"{number}\t0.0000\t"])
                    row = {"translation": tr.text, "score": round(tr.score, 4)}
                    if options.n_best > 1:
                        row["n_best"] = ([{"translation": c.text, "score": round(c.score, 4)} for c in tr.candidates]
                                         if fmt == "jsonl" else " ||| ".join(c.text for c in tr.candidates))
                    rows.append(row)
                    best = tr.candidates[0] if tr.candidates else None
                    if best is not None and best.attention is not None:
                        if options.attention_plot:
                            from nlpcli.translate.show import plot_attention, plot_path

                            plot_attention(best.attention, tr.source_tokens, best.tokens,
                                           plot_path(options.attention_plot, number), font=options.font,
                                           title=f"{record.source}:{record.line}")
                        if console is not None:
                            from nlpcli.translate.show import render_terminal

                            console.print(f"[bold]{number}[/bold] {record.text}  →  {best.text}")
                            console.print(render_terminal(best.attention, tr.source_tokens, best.tokens))
                if fmt == "text" and options.n_best > 1:
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
