"""The package stays readable: short functions and no import cycles inside ``nlpcli/``."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "nlpcli"
MAX_BODY_LINES = 80


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first statement after the docstring to the end of the function."""
    body = node.body
    if (
        len(body) > 1
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    return node.end_lineno - body[0].lineno + 1


def function_lengths() -> list[tuple[int, str]]:
    """(body lines, 'module.py:Qualified.name') for every function and method in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = path.relative_to(PACKAGE).as_posix()

        def visit(node: ast.AST, prefix: str, rel: str = rel) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    name = f"{prefix}{child.name}"
                    found.append((_body_lines(child), f"{rel}:{name}"))
                    visit(child, name + ".")
                elif isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}{child.name}.")
                else:
                    visit(child, prefix)

        visit(tree, "")
    return sorted(found, reverse=True)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the nlpcli modules it imports (anywhere in the file, deferred imports included)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".")
                    base = base[: len(base) - node.level + (1 if is_package else 0)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target.startswith("nlpcli"):
                    edges.add(target)
        graph[name] = edges
    return graph


def import_cycles() -> list[list[str]]:
    """Cycles between two or more modules, ignoring a package importing its own submodules."""
    graph = import_graph()
    cycles, state, stack = [], {}, []

    def dfs(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue  # a package and its own submodules
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                dfs(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            dfs(node)
    return cycles


def test_no_function_body_longer_than_the_limit():
    long = [f"{where}: {n} lines" for n, where in function_lengths() if n > MAX_BODY_LINES]
    assert not long, "split these into named steps:\n" + "\n".join(long)


def test_no_import_cycle_inside_the_package():
    assert not import_cycles(), import_cycles()


def test_the_checks_see_a_long_function_and_a_cycle(tmp_path, monkeypatch):
    pkg = tmp_path / "nlpcli"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text('def f():\n    """Doc."""\n' + "    x = 1\n" * 81 + "from nlpcli import b\n")
    (pkg / "b.py").write_text("def g():\n    from nlpcli.a import f\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", pkg)
    assert function_lengths()[0] == (81, "a.py:f")
    assert import_cycles() == [["nlpcli.a", "nlpcli.b", "nlpcli.a"]]


if __name__ == "__main__":
    for n, where in function_lengths()[:10]:
        print(f"{n:5d}  {where}")
    print("cycles:", import_cycles())
