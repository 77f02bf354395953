"""The house rules of docs/layout.md, read from the code itself: no file-level import circle,
the ground (core/) loads no stage or shell, no stage imports the shell, the stage packages
depend on each other in one direction, modules stay small, and every package is shipped."""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GROUND = ("core",)
STAGES = ("ingest", "enrich", "stories", "search", "alerts")
SHELL = ("api", "newswatch", "web")
PACKAGES = GROUND + STAGES + SHELL
MAX_LINES = 500
SKIP = ("core/migrations/versions/",)  # generated-style Alembic revisions


@dataclass(frozen=True)
class Edge:
    source: str  # importing module
    target: str  # imported module (one of ours)
    line: int
    type_only: bool  # inside ``if TYPE_CHECKING:``


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(SKIP):
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module of ours that ``name`` (a module, or a module plus an attribute) is in."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _edges(module: str, path: Path) -> list[Edge]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    edges: list[Edge] = []

    def visit(node: ast.AST, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for item in child.body:
                    visit_one(item, True)
                for item in child.orelse:
                    visit_one(item, type_only)
            else:
                visit_one(child, type_only)

    def visit_one(node: ast.AST, type_only: bool) -> None:
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" for alias in node.names] or [base]
            targets = [t if _resolve(t) != module else base for t in targets]
        for target in targets:
            resolved = _resolve(target)
            if resolved and resolved != module:
                edges.append(Edge(module, resolved, getattr(node, "lineno", 0), type_only))
        visit(node, type_only)

    visit(tree, False)
    return edges


EDGES = [edge for module, path in MODULES.items() for edge in _edges(module, path)]


def _top(module: str) -> str:
    return module.split(".")[0]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def test_the_reader_sees_every_package_and_resolves_imports() -> None:
    assert {_top(m) for m in MODULES} == set(PACKAGES)
    assert len(MODULES) > 60
    # the reader really sees imports of every kind (a broken reader would pass every rule)
    assert Edge("stories.stage", "stories.duplicates", 0, False) in {
        Edge(e.source, e.target, 0, e.type_only) for e in EDGES
    }
    assert any(e.type_only for e in EDGES)


def test_no_two_files_import_each_other_even_through_others() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for edge in EDGES:  # type-only imports count too: they are a dependency of the design
        graph[edge.source].add(edge.target)
    assert _cycles(graph) == [], "import circles between files"


def test_the_ground_loads_no_stage_and_no_shell() -> None:
    wrong = [e for e in EDGES if _top(e.source) in GROUND and _top(e.target) not in GROUND
             and not e.type_only]
    assert wrong == []
    # type-only names of the resources the runtime carries, and nowhere else in the ground
    type_only = {e.source for e in EDGES if _top(e.source) in GROUND and _top(e.target) not in GROUND}
    assert type_only <= {"core.runtime"}


def test_no_stage_imports_the_shell() -> None:
    wrong = [e for e in EDGES if _top(e.source) in STAGES and _top(e.target) in SHELL]
    assert wrong == []


def test_stage_packages_depend_on_each_other_in_one_direction() -> None:
    graph: dict[str, set[str]] = {s: set() for s in STAGES}
    for edge in EDGES:
        source, target = _top(edge.source), _top(edge.target)
        if source in STAGES and target in STAGES and source != target:
            graph[source].add(target)
    assert _cycles(graph) == [], f"stage packages import each other: {graph}"


def _allowed_large() -> dict[str, str]:
    """Modules docs/layout.md allows above MAX_LINES, with the reason it gives."""
    text = (ROOT / "docs" / "layout.md").read_text(encoding="utf-8")
    section = text.split("## Modules above 500 lines", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^- `([^`]+)` \(\d[\d,]* lines\): (.+)$", section, re.M))


def _our_python_files() -> list[Path]:
    files = [p for p in MODULES.values()]
    for folder in ("tests", "bench", "eval", "dags", "scripts"):
        files += sorted((ROOT / folder).rglob("*.py"))
    return files


def test_no_module_is_above_500_lines_unless_the_layout_says_why() -> None:
    allowed = _allowed_large()
    too_long = {}
    for path in _our_python_files():
        rel = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES and rel not in allowed:
            too_long[rel] = lines
    assert too_long == {}, "split these, or say in docs/layout.md why they must be long"
    for rel in allowed:  # no stale exceptions
        path = ROOT / rel
        assert path.exists(), f"docs/layout.md names {rel}, which does not exist"
        assert len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES, rel


def test_product_packages_have_no_exception_to_the_size_rule() -> None:
    assert not [rel for rel in _allowed_large() if rel.split("/")[0] in PACKAGES]


@pytest.mark.parametrize("dockerfile", ["newswatch.Dockerfile", "airflow.Dockerfile"])
def test_every_package_is_installed_shipped_and_type_checked(dockerfile: str) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(p.rstrip("*") for p in include) == sorted(PACKAGES)
    assert set(PACKAGES) <= set(project["tool"]["mypy"]["files"])
    copied = (ROOT / "deploy" / dockerfile).read_text(encoding="utf-8")
    ignore = (ROOT / "deploy" / f"{dockerfile}.dockerignore").read_text(encoding="utf-8")
    for package in PACKAGES:
        assert re.search(rf"^COPY .*\b{package} \S*{package}$", copied, re.M), (dockerfile, package)
        assert f"\n!{package}\n" in ignore, (dockerfile, package)


def test_the_layout_page_and_the_readme_name_every_package() -> None:
    layout = (ROOT / "docs" / "layout.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for package in PACKAGES:
        assert f"`{package}/`" in layout, package
        assert f"| `{package}/` |" in readme, package
