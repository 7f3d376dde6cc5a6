"""Running queries one at a time or in batches (stdin, one query a line), and writing the answers.

One query given on the command line: ``word<TAB>score`` lines, and an unknown word is an error
(exit 1). Queries from stdin: ``query<TAB>word<TAB>score`` lines, an unknown word is reported on
stderr and the batch goes on (exit 1 at the end). ``--json``: one JSON object per query.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import IO

from nlpcli import progress
from nlpcli.embed.index import Hit, UnknownWordError, WordIndex
from nlpcli.errors import NlpcliError, UsageError


def stdin_queries(stream: IO[str] | None = None) -> Iterator[list[str]]:
    stream = stream or sys.stdin
    for line in stream:
        words = line.split()
        if words:
            yield words


def _hits_json(hits: list[Hit]) -> list[dict]:
    return [{"word": h.word, "score": round(h.score, 7)} for h in hits]


class Runner:
    """Answers queries and writes them to ``out``; ``failed`` counts the queries it could not answer."""

    def __init__(self, out: IO[str], as_json: bool = False, batch: bool = False):
        self.out, self.as_json, self.batch = out, as_json, batch
        self.failed = 0

    def _error(self, query: list[str], exc: NlpcliError) -> None:
        if not self.batch:
            raise exc
        self.failed += 1
        progress.warn(str(exc))
        if self.as_json:
            self.out.write(json.dumps({"query": query, "error": str(exc)}, ensure_ascii=False) + "\n")

    def _each(
        self,
        queries: Iterable[list[str]],
        answer: Callable[[list[str]], object],
        as_json: Callable[[object], dict],
        as_text: Callable[[object, str], str],
    ) -> None:
        """Answer each query; an unknown word is reported and the batch goes on."""
        for query in queries:
            try:
                result = answer(query)
            except UnknownWordError as exc:
                self._error(query, exc)
                continue
            if self.as_json:
                self.out.write(json.dumps({"query": query, **as_json(result)}, ensure_ascii=False) + "\n")
            else:
                self.out.write(as_text(result, " ".join(query) + "\t" if self.batch else ""))
            self.out.flush()

    def hits(self, queries: Iterable[list[str]], answer: Callable[[list[str]], list[Hit]]) -> None:
        self._each(
            queries,
            answer,
            lambda hits: {"results": _hits_json(hits)},
            lambda hits, prefix: "".join(f"{prefix}{h.word}\t{h.score:.6f}\n" for h in hits),
        )

    def values(
        self,
        queries: Iterable[list[str]],
        answer: Callable[[list[str]], object],
        key: str,
        fmt: Callable[[object], str],
    ) -> None:
        self._each(
            queries,
            answer,
            lambda value: {key: value.tolist() if hasattr(value, "tolist") else value},
            lambda value, prefix: f"{prefix}{fmt(value)}\n",
        )


_WANTED = {
    1: "one word (pipe several, one a line, on stdin)",
    2: "two words W1 W2",
    3: "three words A B C (A is to B as C is to ?)",
}


def need(query: list[str], n: int, what: str) -> list[str]:
    """The query's words if there are ``n`` of them; else a usage error (the one check for
    command-line words and stdin lines alike)."""
    if len(query) != n:
        raise UsageError(f"{what} takes {_WANTED[n]}, got {len(query)}: {' '.join(query)!r}")
    return query


def run(
    kind: str,
    model: str,
    words: list[str] | None,
    out: IO[str],
    *,
    topn: int = 10,
    negative: list[str] | None = None,
    as_json: bool = False,
    stdin: IO[str] | None = None,
) -> int:
    """``similar | analogy | similarity | vector``: returns the number of queries that failed."""
    index = WordIndex(model)
    batch = not words
    queries = stdin_queries(stdin) if batch else [list(words)]
    runner = Runner(out, as_json, batch)
    negative = list(negative or [])
    if kind == "similar":
        runner.hits(queries, lambda q: index.similar(q, negative, topn))
    elif kind == "analogy":
        runner.hits(queries, lambda q: index.analogy(*need(q, 3, "analogy"), topn=topn))
    elif kind == "similarity":
        runner.values(
            queries, lambda q: index.similarity(*need(q, 2, "similarity")), "similarity", lambda v: f"{v:.6f}"
        )
    elif kind == "vector":
        runner.values(
            queries,
            lambda q: index.raw_vector(need(q, 1, "vector")[0]),
            "vector",
            lambda v: " ".join(f"{x:.8g}" for x in v),
        )
    else:  # pragma: no cover - the CLI passes only the kinds above
        raise UsageError(f"unknown query {kind!r}")
    return runner.failed
