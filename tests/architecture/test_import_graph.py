"""The import graph of `postcall`: no circles among modules, no function-local imports.

import-linter's contracts (pyproject.toml) keep the layers of docs/design.md apart; they do not
see a circle inside one package.  A circle is how a package stops being readable from the
bottom up (each of its modules needs all the others), so any strongly connected set of modules
fails here, with its members and the imports that close it.  grimp (import-linter's graph
library) counts every import, including those under `if TYPE_CHECKING:` and inside functions.

Function-local imports hide edges from a reader; the only ones allowed are of optional
dependencies and of modules that are expensive to import for commands that do not need them,
listed in LOCAL_IMPORTS_ALLOWED with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

SRC = Path(__file__).resolve().parents[2] / "src" / "postcall"

# module -> why it may import inside functions
LOCAL_IMPORTS_ALLOWED: dict[str, str] = {
    "postcall.cli": "each command loads what only it needs (DBOS takes about 0.5 s to import, FastAPI and the "
    "server more), so `postcall check` and `postcall chat` start fast",
    "postcall.durable.executor": "DBOS is imported when an executor starts, not when the store or the CLI loads",
    "postcall.actions.execute": "the model endpoint (openai SDK) is loaded only for a model action",
    # Known debt, landed while this check was being written: listed so that nothing new comes in.
}

# Known debt: circles that landed while this check was being written (to break, not to add to).
KNOWN_CIRCLES: list[set[str]] = []


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm, iterative; only components of more than one module."""
    modules = sorted(graph.modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph.find_modules_directly_imported_by(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            if successors:
                nxt = successors.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph.find_modules_directly_imported_by(nxt))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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
    return found


def with_package_imports(graph: grimp.ImportGraph) -> grimp.ImportGraph:
    """Importing `a.b.c` runs `a/__init__` and `a/b/__init__` first: add those edges too."""
    for importer in list(graph.modules):
        for imported in list(graph.find_modules_directly_imported_by(importer)):
            parts = imported.split(".")
            for n in range(1, len(parts)):
                parent = ".".join(parts[:n])
                if parent in graph.modules and parent != importer and not importer.startswith(parent + "."):
                    graph.add_import(importer=importer, imported=parent)
    return graph


def test_no_import_circles() -> None:
    graph = with_package_imports(grimp.build_graph("postcall", cache_dir=None))
    circles = [c for c in strongly_connected(graph) if set(c) not in KNOWN_CIRCLES]
    report = []
    for circle in circles:
        members = set(circle)
        edges = sorted(
            f"{a} -> {b}" for a in circle for b in graph.find_modules_directly_imported_by(a) if b in members
        )
        report.append(f"{len(circle)} modules: " + "; ".join(edges))
    assert not circles, "import circles:\n" + "\n".join(report)


def test_the_circle_finder_finds_circles() -> None:
    graph = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c", "p.d"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    graph.add_import(importer="p.c", imported="p.a")
    graph.add_import(importer="p.c", imported="p.d")
    assert strongly_connected(graph) == [["p.a", "p.b", "p.c"]]


def function_local_imports() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.level == 0 and (inner.module or "").startswith("postcall"):
                    found.append(f"{module}:{inner.lineno} from {inner.module}")
                elif isinstance(inner, ast.Import) and any(a.name.startswith("postcall") for a in inner.names):
                    found.append(f"{module}:{inner.lineno} import {', '.join(a.name for a in inner.names)}")
    return found


def test_no_function_local_imports_of_postcall() -> None:
    def allowed(module: str) -> bool:
        return any(module == name or module.startswith(name + ".") for name in LOCAL_IMPORTS_ALLOWED)

    local = [entry for entry in function_local_imports() if not allowed(entry.split(":")[0])]
    assert not local, "imports inside functions (move them to the top, or list the module with its reason):\n" + "\n".join(local)
