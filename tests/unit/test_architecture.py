"""The packages import each other only as docs/design.md draws it, with no cycle.

Read from the source with `ast`; nothing is imported. The graph:
`schemas` <- `commands` <- `streams`; `schemas` <- `infra` <- `projections` <- `api`;
`streams` also reads `projections` and `infra`; `web` (the pages) reads only `infra`
and speaks to the rest through the public API; `ops` (and the tests and benchmarks)
sit on top and nothing imports them. The deciders and the sagas' pure reactions
import no adapter and no client library.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = ("schemas", "commands", "infra", "projections", "api", "streams", "web", "ops")
MAY_IMPORT = {
    "schemas": set(),
    "commands": {"schemas"},
    "infra": {"schemas"},
    "projections": {"schemas", "infra"},
    "api": {"schemas", "infra", "projections"},
    "streams": {"schemas", "commands", "infra", "projections"},
    # The web pages are a client of the public API, like any other client.
    "web": {"infra"},
    "ops": set(OURS),
}
# Pure code: decisions and reactions, no I/O. Only these outside libraries.
PURE = ("commands", "streams/checkout_saga.py")
PURE_MAY_IMPORT = {"pydantic", "hypothesis", "pyrsistent"}
STDLIB_IO = {"socket", "subprocess", "asyncio", "sqlite3", "http.client", "urllib.request"}


def modules() -> dict[str, Path]:
    found = {}
    for package in OURS:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


@cache
def imports_of(path: Path) -> tuple[str, ...]:
    """Every module name `path` imports, at any depth of the file (lazy imports count)."""
    tree = ast.parse(path.read_text(), str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return tuple(names)


def internal_imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ours that `name` imports (a `from x import y` of a module counts y)."""
    return {imported for imported in imports_of(path)
            if imported in known and imported != name}


def test_no_import_runs_against_the_graph() -> None:
    known = modules()
    wrong = []
    for name, path in known.items():
        package = name.split(".")[0]
        for imported in sorted(internal_imports(name, path, known)):
            target = imported.split(".")[0]
            if target != package and target not in MAY_IMPORT[package]:
                wrong.append(f"{name} imports {imported}")
    assert wrong == []


def test_no_module_imports_itself_round_a_cycle() -> None:
    known = modules()
    graph = {name: internal_imports(name, path, known) for name, path in known.items()}
    # A package's __init__ importing its own modules is not a cycle of theirs.
    for name in graph:
        graph[name] = {m for m in graph[name] if not (known[m].name == "__init__.py"
                                                      and name.startswith(m + "."))}
    cycles = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [node, nxt]))
            elif nxt not in state:
                visit(nxt, path + [node] if node not in path else path)
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert cycles == []


def test_packages_form_no_cycle() -> None:
    known = modules()
    edges = {(name.split(".")[0], imported.split(".")[0])
             for name, path in known.items()
             for imported in internal_imports(name, path, known)}
    backwards = sorted(f"{a} <-> {b}" for a, b in edges if a < b and (b, a) in edges)
    assert backwards == []


def test_pure_code_imports_no_adapter_or_client() -> None:
    wrong = []
    for target in PURE:
        paths = [ROOT / target] if target.endswith(".py") else (ROOT / target).rglob("*.py")
        for path in paths:
            for imported in imports_of(path):
                top = imported.split(".")[0]
                if top in OURS and top not in ("schemas", "commands"):
                    wrong.append(f"{path.relative_to(ROOT)} imports {imported}")
                elif top not in OURS and top not in PURE_MAY_IMPORT and (
                        imported in STDLIB_IO or top in STDLIB_IO or not _stdlib(top)):
                    wrong.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert wrong == []


def _stdlib(name: str) -> bool:
    import sys

    return name in sys.stdlib_module_names or name == "__future__"


def test_the_graph_is_what_design_md_says() -> None:
    design = (ROOT / "docs" / "design.md").read_text()
    for package, allowed in MAY_IMPORT.items():
        row = next((line for line in design.splitlines()
                    if line.startswith(f"| `{package}/` |")), None)
        assert row is not None, f"docs/design.md has no row for {package}/"
        stated = row.rsplit("|", 2)[1]
        if package == "ops":
            assert "everything" in stated
        else:
            assert {p for p in OURS if f"`{p}`" in stated} == allowed, row


def test_the_readme_layout_names_every_folder_and_only_those() -> None:
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    layout = layout[:layout.index("\n## ")]
    named = {line.split("`")[1].rstrip("/") for line in layout.splitlines()
             if line.startswith("| `")}
    folders = {path.name for path in ROOT.iterdir() if path.is_dir()
               and ((path / "__init__.py").exists() or path.name in ("tests", "bench"))}
    assert named == folders
