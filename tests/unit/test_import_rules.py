"""Imports only go down and never in a circle, and modules stay small: the house rules, read from the source.

The tasks sit on the waiting component, which sits on the hooks and the API.

Read from the source (an AST scan of every module of the package), so a new import that breaks
a rule fails here, wherever it is written: at the top of a module or inside a function.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_zendesk_jobs"
ROOT = "airflow_provider_zendesk_jobs"


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join((ROOT, *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        yield name, ast.parse(path.read_text(), str(path))


def imports(tree: ast.Module) -> Iterator[tuple[str, bool]]:
    """Each module of the package ``tree`` imports, anywhere in it (``TYPE_CHECKING`` blocks too), and
    whether the import runs when the module loads.

    ``from package import module`` imports that module; ``from module import name``, that module.
    """
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function.update(id(inner) for inner in ast.walk(node) if inner is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name == ROOT or name.startswith(ROOT + "."):
                yield module_of(name), id(node) not in in_function


SUBPACKAGES = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}


def area(module: str) -> str:
    """The subpackage a module is in (``sensors``, ``waiting``, ``hooks``...); ``""`` for the top-level modules."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in SUBPACKAGES else ""


ALL = list(modules())

MODULES = {name for name, _ in ALL}


def module_of(target: str) -> str:
    """The module an imported name lives in: the name itself when it is a module, else its parent."""
    return target if target in MODULES else target.rsplit(".", 1)[0]


def test_the_scan_sees_the_package() -> None:
    names = {name for name, _ in ALL}
    assert {f"{ROOT}.sensors.zendesk_jobs", f"{ROOT}.operators.zendesk_jobs", f"{ROOT}.waiting.job_wait"} <= names
    found = {target for name, tree in ALL if name == f"{ROOT}.sensors.zendesk_jobs" for target, _ in imports(tree)}
    assert f"{ROOT}.waiting.job_wait" in found


@pytest.mark.parametrize(("low", "high"), [("sensors", "operators"), ("operators", "sensors")])
def test_the_sensor_and_the_operators_never_import_each_other(low: str, high: str) -> None:
    assert [
        (name, target) for name, tree in ALL if area(name) == low for target, _ in imports(tree) if area(target) == high
    ] == []


def test_tasks_reach_the_trigger_only_through_the_hand_off() -> None:
    """The tasks import of ``triggers/`` only the hand-off, which imports the trigger only when a task defers."""
    tasks = {
        target
        for name, tree in ALL
        if area(name) in {"sensors", "operators"}
        for target, _ in imports(tree)
        if area(target) == "triggers"
    }
    assert tasks <= {f"{ROOT}.triggers.handoff"}
    handoff = [
        (target, at_load)
        for name, tree in ALL
        if name == f"{ROOT}.triggers.handoff"
        for target, at_load in imports(tree)
    ]
    assert [target for target, at_load in handoff if area(target) == "triggers"] == [f"{ROOT}.triggers.zendesk_jobs"]
    assert all(not at_load for target, at_load in handoff if area(target) == "triggers")


#: What each layer may import of the package's areas, lowest first; ``testing/`` (the emulator) sits on top,
#: and nothing of the package imports it.
BELOW = {
    "testing": {"", "api", "hooks", "waiting", "triggers", "sensors", "operators", "bulk", "testing"},
    "hooks": {"", "api", "hooks"},
    "waiting": {"", "api", "hooks", "waiting"},
    "triggers": {"", "api", "hooks", "waiting", "triggers"},
    "sensors": {"", "api", "hooks", "waiting", "triggers", "sensors"},
    "operators": {"", "api", "hooks", "waiting", "triggers", "bulk", "lineage", "operators"},
    "lineage": {"", "api", "lineage"},
    "bulk": {"", "api", "bulk"},
    "api": {"", "api"},
    "": {"", "api"},
}


def test_imports_only_go_down() -> None:
    upward = [
        (name, target)
        for name, tree in ALL
        if area(name) in BELOW
        for target, _ in imports(tree)
        if area(target) not in BELOW[area(name)]
    ]
    assert upward == []


def import_graph() -> dict[str, set[str]]:
    return {name: {target for target, _ in imports(tree)} - {name} for name, tree in ALL}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of two or more modules (Tarjan), each sorted: every one is an import circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_circle_finder_finds_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_anywhere_in_the_package() -> None:
    """A package's ``__init__`` re-exporting its modules is not a circle: its modules import their siblings, not it."""
    assert circles(import_graph()) == []


def test_no_module_imports_the_package_it_sits_in() -> None:
    """Modules import their neighbours directly, never their package's ``__init__``, which may import them."""
    assert [
        (name, target)
        for name, tree in ALL
        for target, _ in imports(tree)
        if name.startswith(target + ".") and target != ROOT
    ] == []


#: No module of the package is longer: a module has one job a reader takes in at once.
MAX_LINES = 400


def test_no_module_of_the_package_is_over_400_lines() -> None:
    sizes = {str(path.relative_to(PACKAGE)): len(path.read_text().splitlines()) for path in PACKAGE.rglob("*.py")}
    assert {name: lines for name, lines in sizes.items() if lines > MAX_LINES} == {}
