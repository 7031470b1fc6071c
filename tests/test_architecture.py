"""The package's imports point one way: down the layers, never up or sideways, and no module import cycle.

Every import in ``plugins/feedback_ops`` counts: top-level, function-local (the stages import lazily) and
``TYPE_CHECKING`` ones. ``LAYERS`` below is the contract, low to high; a module may import its own component
and any component of a lower layer, nothing else. Components in one layer are independent of each other.

    0  config            settings and paths; the package's own ``__init__``
    1  warehouse         the Warehouse protocol, DuckDB / Databricks, schema, SQL dialect
       throttle          client-side pacing of model calls (enrichment, embeddings, search all use it)
    2  embed             embedders and the rows of ``enrichment.embeddings`` (unit ids, text hashes)
       ingest            landing, parsing, bronze load, sample data and the load generator
    3  enrich            redaction, the backends, their versions, the runners and their claims
       synthetic         the load generator and the sample data's text (writes files ingest parses)
    4  search            index, sync, units, ask, emerging themes, reindex
       quality           Great Expectations suites, gates, gate frames
       transform         dbt: the runner, its vars, the Spark check
       evaluation        the golden set, metrics, baselines, reports
    5  review            the review queue and decisions (reads evaluation's golden set)
       alerts            spikes, routing, delivery, lifecycle, pipeline health
    6  report            insights report and people summaries (reads alerts, quality, search)
       ops               retention, grants, prewarm, operator actions on parked files (with their incidents)
    7  pipeline          the stages the DAG tasks call
    8  lanes             urgent, batch, batch API, triggers (run pipeline stages with their own selection)
    9  *.terminal        the CLI's subcommands per package
       enrich.train      ``python -m feedback_ops.enrich.train``: trains on data that excludes the golden set
   10  cli               the ``feedback-ops`` command
       dag_defaults      what the DAG files share (default_args with the failure alert)

The checker itself is tested on a small synthetic package, so that it can fail.
"""

from __future__ import annotations

import ast
from fnmatch import fnmatch
from pathlib import Path

from feedback_ops.config import PROJECT_ROOT

PACKAGE_DIR = PROJECT_ROOT / "plugins" / "feedback_ops"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("__init__", "config", "console"),
    ("warehouse", "throttle"),
    ("embed", "ingest"),
    ("enrich", "synthetic"),
    ("search", "quality", "transform", "evaluation"),
    ("review", "alerts"),
    ("report", "ops"),
    ("pipeline",),
    ("lanes",),
    ("*.terminal", "enrich.train"),
    ("cli", "dag_defaults"),
)
"""Low to high. A component is a module or package under the package root (``__init__`` is the root's own
module); a pattern with ``*`` matches module names. A module belongs to the most specific component matching
it (``enrich.train`` before ``enrich``)."""


def module_files(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package under ``package_dir``."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imported_names(module: str, path: Path) -> set[str]:
    """Every dotted name ``module`` imports (``from a import b`` gives ``a.b``; relative imports resolved)."""
    names: set[str] = set()
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _owning_module(name: str, modules: dict[str, Path]) -> str | None:
    """The longest module name that ``name`` starts with (``a.b.func`` -> ``a.b``), or None outside."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, from every import statement in it (function-local too)."""
    modules = module_files(package_dir)
    graph = {}
    for module, path in modules.items():
        targets = {_owning_module(name, modules) for name in _imported_names(module, path)}
        graph[module] = {target for target in targets if target and target != module}
    return graph


def component_of(module: str, root: str, layers: tuple[tuple[str, ...], ...]) -> tuple[int, str] | None:
    """(layer index, component) of ``module``: the most specific component matching it, or None."""
    relative = module[len(root) + 1 :] if module != root else "__init__"
    matches = [
        (pattern.count("."), index, pattern)
        for index, layer in enumerate(layers)
        for pattern in layer
        if fnmatch(relative, pattern) or fnmatch(relative, f"{pattern}.*")
    ]
    if not matches:
        return None
    _, index, pattern = max(matches)
    return index, pattern


def unassigned_modules(
    graph: dict[str, set[str]], root: str, layers: tuple[tuple[str, ...], ...]
) -> list[str]:
    """Modules no component of ``layers`` covers."""
    return sorted(module for module in graph if component_of(module, root, layers) is None)


def forbidden_imports(
    graph: dict[str, set[str]], root: str, layers: tuple[tuple[str, ...], ...]
) -> list[str]:
    """Imports of a higher layer's module, or of another component of the same layer, as ``a -> b``."""
    found = []
    for module, targets in sorted(graph.items()):
        source = component_of(module, root, layers)
        for target in sorted(targets):
            imported = component_of(target, root, layers)
            if source is None or imported is None or imported[1] == source[1]:
                continue
            if imported[0] >= source[0]:
                found.append(f"{module} -> {target} ({source[1]} -> {imported[1]})")
    return found


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other (directly or around a loop), each sorted."""
    reach = {node: _reachable(graph, node) for node in graph}
    groups = {
        frozenset({node} | {other for other in reach[node] if node in reach.get(other, ())}) for node in graph
    }
    return sorted(sorted(group) for group in groups if len(group) > 1)


# --- the package ----------------------------------------------------------------------------------------------


def test_every_module_belongs_to_a_layer():
    graph = import_graph(PACKAGE_DIR)
    assert len(graph) > 100, "the walk found the package's modules"
    assert unassigned_modules(graph, "feedback_ops", LAYERS) == []


def test_imports_only_point_down_the_layers():
    graph = import_graph(PACKAGE_DIR)
    assert sum(len(targets) for targets in graph.values()) > 300, "the walk found the package's imports"
    assert forbidden_imports(graph, "feedback_ops", LAYERS) == []


def test_no_module_import_cycle():
    assert import_cycles(import_graph(PACKAGE_DIR)) == []


# --- the checker, on a synthetic package ----------------------------------------------------------------------

SYNTHETIC = {
    "__init__.py": "",
    "low/__init__.py": "",
    "low/a.py": "def f():\n    from pkg.high.b import thing\n    return thing\n",
    "high/__init__.py": "",
    "high/b.py": "import pkg.low\n\nfrom .c import other\n\nthing = 1\n",
    "high/c.py": (
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from pkg.high import b\n\nother = 2\n"
    ),
    "side.py": "from pkg import high\n",
    "stray.py": "from pkg.low import a\n",
}
SYNTHETIC_LAYERS = (("__init__",), ("low",), ("high", "side"))


def synthetic_package(tmp_path: Path) -> Path:
    package = tmp_path / "pkg"
    for name, text in SYNTHETIC.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    return package


def test_the_checker_reads_every_kind_of_import(tmp_path):
    graph = import_graph(synthetic_package(tmp_path))
    assert graph["pkg.low.a"] == {"pkg.high.b"}, "a function-local import counts"
    assert graph["pkg.high.b"] == {"pkg.low", "pkg.high.c"}, "absolute and relative imports"
    assert graph["pkg.high.c"] == {"pkg.high.b"}, "a TYPE_CHECKING import counts"
    assert graph["pkg.side"] == {"pkg.high"}


def test_the_checker_finds_upward_and_sideways_imports_and_unassigned_modules(tmp_path):
    graph = import_graph(synthetic_package(tmp_path))
    assert forbidden_imports(graph, "pkg", SYNTHETIC_LAYERS) == [
        "pkg.low.a -> pkg.high.b (low -> high)",
        "pkg.side -> pkg.high (side -> high)",
    ]
    assert unassigned_modules(graph, "pkg", SYNTHETIC_LAYERS) == ["pkg.stray"]
    assert component_of("pkg.high.b", "pkg", (*SYNTHETIC_LAYERS, ("high.b",))) == (3, "high.b")


def test_the_checker_finds_module_cycles(tmp_path):
    graph = import_graph(synthetic_package(tmp_path))
    assert import_cycles(graph) == [["pkg.high.b", "pkg.high.c"]]
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
