"""The core package's dependencies point one way: no import cycle, and no UI library.

The graph is read from the source (every ``import`` statement, also those inside functions,
since a deferred import is still a dependency), so a cycle hidden behind a lazy import fails
here too.  The second test imports every module for real and looks at ``sys.modules``.
"""

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import pytest

import deep_emotion

PACKAGE = Path(deep_emotion.__file__).resolve().parent
UI = ("streamlit", "plotly", "dashboard")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(tree: ast.AST, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """Dotted names of what ``tree`` imports, relative imports resolved against ``module``.

    ``from pkg import sub`` names ``pkg.sub`` alone when ``sub`` is one of ``modules``: Python
    runs ``pkg/__init__`` first, but that is the package's business, not a dependency the
    importer chose; ``from pkg import name`` names ``pkg``.
    """
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: None if is_package else -1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                      for a in node.names}
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the ``deep_emotion`` modules and the UI packages it imports."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for module, path in files.items():
        names = _imported(ast.parse(path.read_text()), module, path.name == "__init__.py",
                          set(files))
        graph[module] = {n for n in names if (n in files and n != module)
                         or n.split(".")[0] in UI}
    return graph


def test_the_import_graph_of_the_core_package_has_no_cycle():
    graph = {m: {d for d in deps if d.startswith("deep_emotion")} for m, deps in import_graph().items()}
    assert "deep_emotion.model" in graph and "deep_emotion.checkpoints" in graph
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as e:
        pytest.fail(f"import cycle: {' -> '.join(e.args[1])}")


def test_the_network_does_not_depend_on_the_checkpoint_code():
    assert "deep_emotion.checkpoints" not in import_graph()["deep_emotion.model"]


def test_no_core_module_names_a_ui_library_or_the_dashboard():
    offenders = {m: sorted(d for d in deps if d.split(".")[0] in UI)
                 for m, deps in import_graph().items()}
    assert {m: d for m, d in offenders.items() if d} == {}


def test_importing_every_core_module_loads_no_ui_library():
    code = ("import sys, pkgutil, importlib, deep_emotion;"
            "[importlib.import_module(m.name) for m in pkgutil.walk_packages("
            "deep_emotion.__path__, 'deep_emotion.') if not m.name.endswith('__main__')];"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {UI!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
