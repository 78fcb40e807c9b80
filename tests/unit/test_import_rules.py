"""Imports only go down: the tasks sit on the waiting component, which sits on the hooks and the API.

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
    """Each module of the package ``tree`` imports, and whether the import runs when the module loads."""
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function.update(id(inner) for inner in ast.walk(node) if inner is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name == ROOT or name.startswith(ROOT + "."):
                yield name, id(node) not in in_function


SUBPACKAGES = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}


def area(module: str) -> str:
    """The subpackage a module is in (``sensors``, ``waiting``, ``hooks``...); ``""`` for the top-level modules."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in SUBPACKAGES else ""


ALL = list(modules())


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
        target.rsplit(".", 1)[0] if target.count(".") > 2 else target
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
    assert [target for target, at_load in handoff if area(target) == "triggers"] == [
        f"{ROOT}.triggers.zendesk_jobs",
        f"{ROOT}.triggers.zendesk_jobs.ZendeskJobStatusTrigger",
    ]
    assert all(not at_load for target, at_load in handoff if area(target) == "triggers")


#: What each layer may import of the package's areas, lowest first (``testing/`` stands apart).
BELOW = {
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
