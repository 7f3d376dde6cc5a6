"""The command reference in docs/commands/ is what the app renders now, and the docs' links resolve."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = os.path.join(ROOT, "docs", "commands")


def _gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", os.path.join(ROOT, "scripts", "gen_docs.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_docs = _gen_docs()


def test_every_generated_page_matches_the_app():
    problems = gen_docs.stale()
    assert not problems, (
        "docs/commands differs from the app: "
        + "; ".join(problems)
        + ". Regenerate with: python3 scripts/gen_docs.py"
    )


def test_every_command_has_a_page():
    import typer

    from nlpcli.cli import app

    names = []

    def walk(command, path):
        names.append(" ".join(path))
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, path + [name])

    walk(typer.main.get_command(app), ["nlpcli"])
    assert {"nlpcli embed train", "nlpcli translate run", "nlpcli vectorize fit", "nlpcli train"} <= set(
        names
    )
    for name in names:
        page = os.path.join(COMMANDS, gen_docs.page_name(name.split()))
        assert os.path.isfile(page), name
        with open(page, encoding="utf-8") as fh:
            text = fh.read()
        assert f"# `{name}`" in text


def test_pages_show_options_with_their_defaults():
    page = gen_docs.pages()["nlpcli-vectorize-fit.md"]
    assert "nlpcli vectorize fit [OPTIONS]" in page
    assert re.search(r"- `--kind <count\|tfidf>`: .*\[default: tfidf\]", page)
    assert "- `-h, --help`: Show this message and exit." in page


def test_rendering_does_not_depend_on_the_terminal(tmp_path):
    """Another terminal width and no terminal at all give the same pages."""
    env = dict(os.environ, COLUMNS="37", TERM="dumb", NO_COLOR="1")
    out = tmp_path / "commands"
    subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "gen_docs.py"), "--out", str(out)],
        check=True,
        env=env,
        capture_output=True,
    )
    for name, text in gen_docs.pages().items():
        assert (out / name).read_text(encoding="utf-8") == text, name


def test_check_fails_on_a_stale_page_and_names_the_fix(tmp_path):
    out = tmp_path / "commands"
    script = os.path.join(ROOT, "scripts", "gen_docs.py")
    subprocess.run([sys.executable, script, "--out", str(out)], check=True, capture_output=True)
    assert subprocess.run([sys.executable, script, "--check", "--out", str(out)]).returncode == 0
    page = out / "nlpcli-train.md"
    page.write_text(
        page.read_text(encoding="utf-8").replace("[default: logreg]", "[default: mlp]"), encoding="utf-8"
    )
    (out / "nlpcli-gone.md").write_text("# old\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, script, "--check", "--out", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "nlpcli-train.md: out of date" in done.stderr
    assert "nlpcli-gone.md: no such command" in done.stderr
    assert "python3 scripts/gen_docs.py" in done.stderr


MARKDOWN = (
    ["README.md", "CHANGELOG.md", "bench/RESULTS.md", "bench/README.md"]
    + [
        os.path.join("docs", name)
        for name in sorted(os.listdir(os.path.join(ROOT, "docs")))
        if name.endswith(".md")
    ]
    if os.path.isdir(os.path.join(ROOT, "docs"))
    else []
)


def _anchors(path: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    with open(path, encoding="utf-8") as fh:
        text = re.sub(r"```.*?```", "", fh.read(), flags=re.DOTALL)
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
        anchors.add(slug.replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("name", MARKDOWN)
def test_relative_links_resolve(name):
    path = os.path.join(ROOT, name)
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
        assert os.path.exists(resolved), f"{name}: broken link {target}"
        if anchor and resolved.endswith(".md"):
            assert anchor in _anchors(resolved), f"{name}: no heading for #{anchor} in {file_part or name}"
