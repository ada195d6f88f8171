"""The modules of bot/ and actions/ import one another without cycles, and none loads a project
module behind the import system's back.

The graph is computed from the source with `ast`, so every import counts: at the top of a module
or inside a function (a lazy import does not hide a cycle), relative ones resolved, and
`from package import module` counted as an import of that module.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, Optional

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "actions")
LOADERS = {"import_module", "__import__"}  # importlib.import_module and the builtin


def module_files() -> dict[str, Path]:
    """Every module of the project's packages by its dotted name (a package by its own name)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _base(module: str, path: Path, node: ast.ImportFrom) -> Optional[str]:
    """The absolute module an `ImportFrom` names (relative imports resolved against `module`)."""
    if node.level == 0:
        return node.module
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    if node.level > 1:
        package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def imports_of(module: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """(imported project module, line) for every import statement anywhere in the module."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _known_prefix(alias.name, known)
                if target:
                    yield target, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, path, node)
            if not base:
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in known:  # `from package import module`
                    yield submodule, node.lineno
                elif base in known:
                    yield base, node.lineno


def _known_prefix(name: str, known: set[str]) -> Optional[str]:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported module: line of the first such import}."""
    files = module_files()
    known = set(files)
    graph: dict[str, dict[str, int]] = {module: {} for module in files}
    for module, path in files.items():
        for target, line in imports_of(module, path, known):
            if target != module:
                graph[module].setdefault(target, line)
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (as a closed path of modules) per strongly connected component (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
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
                found.append(_closed_path(graph, set(component), node))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _closed_path(graph: dict[str, dict[str, int]], component: set[str], start: str) -> list[str]:
    """A shortest path from `start` back to itself inside `component` (breadth first)."""
    paths = {target: [start, target] for target in graph[start] if target in component}
    frontier = list(paths)
    while start not in paths:
        following = []
        for node in frontier:
            for target in graph[node]:
                if target in component and target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    return paths[start]


def describe(path: list[str], graph: dict[str, dict[str, int]]) -> str:
    return (
        " -> ".join(f"{module} (line {graph[module][following]})" for module, following in zip(path, path[1:]))
        + f" -> {path[-1]}"
    )


def test_the_import_graph_sees_lazy_and_relative_imports(tmp_path):
    # The checker itself: an import inside a function and a relative import are edges too.
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def later():\n    from pkg import b\n")
    (package / "b.py").write_text("from . import a\n")
    known = {"pkg", "pkg.a", "pkg.b"}
    graph = {name: {} for name in known}
    for name in ("pkg.a", "pkg.b"):
        path = package / f"{name.split('.')[1]}.py"
        for target, line in imports_of(name, path, known):
            graph[name].setdefault(target, line)
    assert graph["pkg.a"] == {"pkg.b": 2} and graph["pkg.b"] == {"pkg.a": 1}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.a"]]


def test_no_module_of_bot_or_actions_is_part_of_an_import_cycle():
    graph = import_graph()
    assert len(graph) > 50 and graph["bot.case_system.http.app"]  # the walk found the project
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(describe(path, graph) for path in found)


def dynamic_loads(path: Path, label: str) -> Iterator[str]:
    """Where `path` calls importlib.import_module or __import__ with a project module's name (or
    a computed one, which could be anything)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
        if name not in LOADERS:
            continue
        argument = node.args[0] if node.args else None
        literal = argument.value if isinstance(argument, ast.Constant) and isinstance(argument.value, str) else None
        if literal is None or literal.split(".")[0] in PACKAGES:
            yield f"{label}:{node.lineno} {name}({literal or '...'})"


def test_dynamic_loads_are_found(tmp_path):
    source = tmp_path / "loader.py"
    source.write_text(
        "import importlib\n"
        "importlib.import_module('bot.case_system.http.app')\n"
        "importlib.import_module('json')\n"
        "__import__(name)\n"
    )
    assert list(dynamic_loads(source, "loader.py")) == [
        "loader.py:2 import_module(bot.case_system.http.app)",
        "loader.py:4 __import__(...)",
    ]


def test_no_module_loads_a_project_module_by_name():
    offenders = [
        where for path in module_files().values() for where in dynamic_loads(path, str(path.relative_to(REPO_ROOT)))
    ]
    assert not offenders, "import these instead:\n" + "\n".join(offenders)


def test_the_dialogue_and_action_processes_reach_the_case_system_only_through_its_contract():
    # Channels and actions talk to the case system over HTTP (actions/case_system_client.py) or
    # use a small pure module; nothing of its HTTP, domain or store layers (no ORM, no aiohttp
    # server) is loaded into the dialogue or action process.
    graph = import_graph()
    starts = [module for module in graph if module.startswith(("actions", "bot.channels"))]
    reached = set()
    todo = list(starts)
    while todo:
        module = todo.pop()
        if module in reached:
            continue
        reached.add(module)
        todo.extend(graph[module])
    layers = ("bot.case_system.http", "bot.case_system.domain", "bot.case_system.store")
    assert not sorted(module for module in reached if module.startswith(layers))
