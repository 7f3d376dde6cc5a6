"""Write the command reference in docs/commands/ from the Typer app itself, so it never drifts.

    python3 scripts/gen_docs.py            # rewrite docs/commands/*.md
    python3 scripts/gen_docs.py --check    # exit 1 and list the pages that differ from the app

One page per command and sub-command (``nlpcli-vectorize-fit.md`` for ``nlpcli vectorize fit``),
plus ``nlpcli.md`` for the global options. Each page holds the command's help text, its usage, its
arguments and its options with their defaults, as the app declares them. The rendering reads the
Click objects Typer builds (``typer.main.get_command``), never a terminal: it does not depend on
the terminal width, the environment or the machine.
"""

from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "docs", "commands")
REGENERATE = "python3 scripts/gen_docs.py"
NOTICE = (
    f"<!-- Generated from the nlpcli app by scripts/gen_docs.py; do not edit. Regenerate: {REGENERATE} -->"
)


def _subcommands(command) -> dict:
    return dict(getattr(command, "commands", None) or {})


def _help_text(text: str | None) -> str:
    """The help text as Markdown paragraphs: Click's ``\\b`` (no-rewrap) markers dropped."""
    if not text:
        return ""
    lines = [line.rstrip() for line in text.strip().split("\n") if line.strip() != "\b"]
    return "\n".join(lines).strip()


def _first_paragraph(text: str | None) -> str:
    return " ".join(_help_text(text).split("\n\n")[0].split())


def page_name(path: list[str]) -> str:
    return "-".join(path) + ".md"


def _context(command, path: list[str], parent):
    import typer

    return typer.Context(command, info_name=path[-1], parent=parent, **(command.context_settings or {}))


def render(command, path: list[str], ctx) -> str:
    """One command's page."""
    name = " ".join(path)
    out = [NOTICE, "", f"# `{name}`", ""]
    text = _help_text(command.help)
    if text:
        out += [text, ""]
    pieces = command.collect_usage_pieces(ctx)
    out += ["## Usage", "", "```text", f"{name} {' '.join(pieces)}".rstrip(), "```", ""]

    arguments, options = [], []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        (arguments if param.param_type_name == "argument" else options).append(record)
    for title, records in (("Arguments", arguments), ("Options", options)):
        if not records:
            continue
        out += [f"## {title}", ""]
        for signature, help_text in records:
            line = f"- `{signature}`"
            help_text = " ".join((help_text or "").split())
            if help_text:
                line += f": {help_text}"
            out.append(line)
        out.append("")

    subs = _subcommands(command)
    if subs:
        out += ["## Commands", ""]
        for sub_name in command.list_commands(ctx):
            sub = subs[sub_name]
            summary = _first_paragraph(sub.help)
            link = f"[`{name} {sub_name}`]({page_name(path + [sub_name])})"
            out.append(f"- {link}: {summary}" if summary else f"- {link}")
        out.append("")
    if getattr(command, "epilog", None):
        out += [_help_text(command.epilog), ""]
    if len(path) > 1:
        parent = " ".join(path[:-1])
        out += [
            "---",
            "",
            f"Part of [`{parent}`]({page_name(path[:-1])}). All commands: [docs/commands](README.md).",
            "",
        ]
    return "\n".join(out).rstrip("\n") + "\n"


def pages() -> dict[str, str]:
    """Every page, by file name, rendered from the app as it is now."""
    import typer

    from nlpcli.cli import app

    root = typer.main.get_command(app)
    result: dict[str, str] = {}
    listing: list[tuple[str, str, int]] = []

    def walk(command, path: list[str], parent) -> None:
        ctx = _context(command, path, parent)
        result[page_name(path)] = render(command, path, ctx)
        listing.append((" ".join(path), page_name(path), len(path) - 1))
        for sub_name in command.list_commands(ctx) if _subcommands(command) else []:
            walk(_subcommands(command)[sub_name], path + [sub_name], ctx)

    walk(root, ["nlpcli"], None)
    index = [
        NOTICE,
        "",
        "# Command reference",
        "",
        "One page per command, generated from the app: what `--help` says, with every option "
        "and its default.",
        "",
    ]
    for name, page, depth in listing:
        index.append(f"{'  ' * depth}- [`{name}`]({page})")
    result["README.md"] = "\n".join(index) + "\n"
    return result


def stale(directory: str = OUT_DIR) -> list[str]:
    """Pages that differ from the app, are missing, or belong to no command any more."""
    wanted = pages()
    problems = []
    for name, text in sorted(wanted.items()):
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8") as fh:
                current = fh.read()
        except FileNotFoundError:
            problems.append(f"{name}: missing")
            continue
        if current != text:
            problems.append(f"{name}: out of date")
    if os.path.isdir(directory):
        for name in sorted(os.listdir(directory)):
            if name.endswith(".md") and name not in wanted:
                problems.append(f"{name}: no such command")
    return problems


def write(directory: str = OUT_DIR) -> list[str]:
    wanted = pages()
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".md") and name not in wanted:
            os.remove(os.path.join(directory, name))
    for name, text in wanted.items():
        with open(os.path.join(directory, name), "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    return sorted(wanted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and list the pages that differ from the app",
    )
    parser.add_argument("--out", default=OUT_DIR, help="the directory of the pages (default: docs/commands)")
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    if args.check:
        problems = stale(args.out)
        for problem in problems:
            print(f"{os.path.relpath(os.path.join(args.out, problem))}", file=sys.stderr)
        if problems:
            print(
                f"gen_docs: {len(problems)} page(s) differ from the app; run: {REGENERATE}", file=sys.stderr
            )
            return 1
        print("gen_docs: docs/commands matches the app", file=sys.stderr)
        return 0
    written = write(args.out)
    print(f"gen_docs: wrote {len(written)} pages to {os.path.relpath(args.out)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
