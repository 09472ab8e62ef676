"""The house's import rules, read from the source (ast), so a change that breaks one fails here:

- no import cycle between the project's own modules, counting imports inside functions;
- data flows one way: a `services` or `selectors` module never imports a view or serializer module;
- an import inside a function says why, in a comment on its line or just above it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = {".venv", ".git", "tests", "migrations", "bench", "node_modules", "__pycache__"}
VIEW_OR_SERIALIZER = ("views", "serializers", "pages")
# The HTTP layer: what reads requests and writes answers. Everything else (models, services, selectors,
# the recurrence and scheduling engines, the feed, the cache ...) is the domain and never imports it.
HTTP_LAYER = (
    *VIEW_OR_SERIALIZER,
    "request_options",  # what a request asks for
    "operations",  # POST /api/transactions runs each operation as its endpoint would
    "urls",
    "routing",
    "consumers",
    "admin",
    "filters",
    "schema",
    "schema_view",
    "middleware",
    "asgi",
    "wsgi",
)


def project_modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if any(part in SKIPPED or part.startswith(".") for part in parts[:-1]):
            continue
        name = ".".join(parts)[:-3]
        found[name.removesuffix(".__init__")] = path
    return found


MODULES = project_modules()


def _package(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imported(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The project modules an import statement names (a `from x import y` names x.y when y is a module)."""
    if isinstance(node, ast.Import):
        candidates = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = _package(module, path)
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
    names = set()
    for candidate in candidates:
        # The deepest project module the name falls in (x.y.Z → x.y).
        while candidate and candidate not in MODULES:
            candidate = candidate.rpartition(".")[0]
        if candidate and candidate != module:
            names.add(candidate)
    return names


def import_graph() -> tuple[dict[str, set[str]], list[tuple[str, int]]]:
    """Module → the project modules it imports (anywhere in it); and the in-function imports without a why."""
    graph: dict[str, set[str]] = {}
    unexplained = []
    for module, path in MODULES.items():
        source = path.read_text()
        lines = source.splitlines()
        tree = ast.parse(source)
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)) and not _explained(lines, inner.lineno):
                        unexplained.append((f"{path.relative_to(ROOT)}", inner.lineno))
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges |= imported(module, path, node)
        graph[module] = edges
    return graph, sorted(set(unexplained))


def _explained(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line, or just above it (or above the group of imports it belongs to)."""
    if "#" in lines[lineno - 1]:
        return True
    above = lineno - 2
    while above >= 0 and (lines[above].strip().startswith(("import ", "from ")) or not lines[above].strip()):
        above -= 1
    return above >= 0 and lines[above].strip().startswith("#")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each a cycle or several."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _kind(module: str) -> str:
    return module.rpartition(".")[2]


GRAPH, UNEXPLAINED = import_graph()


def test_the_graph_is_read():
    # The graph really is the project's: a few edges everyone relies on are in it.
    assert "events.services" in GRAPH["events.views"]
    assert "events.models" in GRAPH["events.services"]
    assert len(GRAPH) > 50


def test_no_import_cycles():
    assert cycles(GRAPH) == []


def test_services_and_selectors_never_import_views_or_serializers():
    backwards = [
        (module, target)
        for module, targets in GRAPH.items()
        if _kind(module) in ("services", "selectors")
        for target in targets
        if _kind(target) in VIEW_OR_SERIALIZER
    ]
    assert backwards == []


def _http(module: str) -> bool:
    kind = _kind(module)
    return kind in HTTP_LAYER or kind.endswith("_views") or ".management." in module or module.startswith("config.")


def test_the_domain_never_imports_the_http_layer():
    backwards = [
        (module, target)
        for module, targets in GRAPH.items()
        if not _http(module)
        for target in targets
        if _http(target) and _kind(target) not in ("schema", "filters")
    ]
    assert backwards == []


def test_models_never_import_services():
    backwards = [
        (module, target)
        for module, targets in GRAPH.items()
        if _kind(module) == "models"
        for target in targets
        if _kind(target) in ("services", "selectors", *VIEW_OR_SERIALIZER)
    ]
    assert backwards == []


def test_imports_inside_functions_say_why():
    assert UNEXPLAINED == []


def test_the_checks_catch_what_they_are_for():
    # The checks themselves, on a made-up graph: a cycle through three modules is found.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert not _explained(["x = 1", "    import os"], 2)
    assert _explained(["    # the app registry is not ready at import time", "    import os"], 2)
    assert _explained(["    # why", "    import os", "", "    import re"], 4)
    assert not _explained(["    x = 1", "    import os", "    import re"], 3)
