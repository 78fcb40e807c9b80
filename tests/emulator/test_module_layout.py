"""The emulator's modules stay small and import in one direction: no circle, even under ``TYPE_CHECKING``.

Read from the source, so an import written anywhere in a module counts: at the top, inside a
function, or in an ``if TYPE_CHECKING:`` block (a circle a type checker sees is still a circle a
reader has to untangle).
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTING = Path(__file__).resolve().parents[2] / "airflow_provider_zendesk_jobs" / "testing"
PREFIX = "airflow_provider_zendesk_jobs.testing"
MAX_LINES = 400


def module_name(path: Path) -> str:
    return PREFIX if path.stem == "__init__" else f"{PREFIX}.{path.stem}"


def imports_of(path: Path) -> set[str]:
    """The modules of ``testing/`` this module imports (``from testing import X`` counts as the package)."""
    found: set[str] = set()
    known = {module_name(p) for p in TESTING.glob("*.py")}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


GRAPH = {module_name(path): imports_of(path) for path in sorted(TESTING.glob("*.py"))}


def test_no_module_of_the_emulator_is_over_400_lines() -> None:
    sizes = {path.name: len(path.read_text().splitlines()) for path in TESTING.glob("*.py")}
    assert {name: lines for name, lines in sizes.items() if lines > MAX_LINES} == {}


def test_the_scan_sees_the_imports() -> None:
    assert f"{PREFIX}.emulator_control" in GRAPH[f"{PREFIX}.control"]
    assert f"{PREFIX}.control" in GRAPH[f"{PREFIX}.emulator"]


def test_no_import_circle_in_the_emulator() -> None:
    """Every module's imports, followed through, never lead back to it (the package ``__init__`` aside)."""
    circles = []
    for start in GRAPH:
        if start == PREFIX:
            continue
        seen: set[str] = set()
        stack = [target for target in GRAPH[start] if target != PREFIX]
        while stack:
            current = stack.pop()
            if current == start:
                circles.append(start)
                break
            if current in seen:
                continue
            seen.add(current)
            stack.extend(target for target in GRAPH.get(current, ()) if target != PREFIX)
    assert circles == []


def test_no_module_imports_the_package_that_imports_it() -> None:
    """Modules import their neighbours directly, never ``testing/__init__``, which imports them all."""
    assert [name for name, targets in GRAPH.items() if name != PREFIX and PREFIX in targets] == []
