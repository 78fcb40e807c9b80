"""docs/RELIABILITY.md names, for each fault, the tests that show how the provider behaves: each must exist.

Test ids are read from the test modules' source (``ast``), not by importing or collecting them; a cited
parametrised id (``test_x[sync-5xx]``) counts by its base name.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "RELIABILITY.md"
CITATION = re.compile(r"\b(tests/[\w/]+\.py)(?:::([\w:]+))?")


def ids_in(module: Path) -> set[str]:
    """``test_x`` and ``TestY::test_x`` for every test function of the module, at any nesting of classes."""
    ids: set[str] = set()

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
                ids.add(prefix + node.name)
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                visit(node.body, f"{prefix}{node.name}::")

    visit(ast.parse(module.read_text(), str(module)).body, "")
    return ids


def citations(text: str) -> list[tuple[str, str | None]]:
    return [(match.group(1), match.group(2)) for match in CITATION.finditer(text)]


def test_every_test_the_reliability_note_cites_exists() -> None:
    cited = citations(DOC.read_text())
    assert len(cited) > 50  # the pattern still finds the note's citations
    ids = {path: ids_in(ROOT / path) for path, _ in cited if (ROOT / path).is_file()}  # each module read once
    missing = [
        f"{path}::{test}" if test else path
        for path, test in cited
        if path not in ids or (test is not None and test not in ids[path])
    ]
    assert missing == [], f"docs/RELIABILITY.md cites tests that do not exist: {sorted(set(missing))}"


def test_a_parametrised_citation_counts_by_its_base_name_and_a_class_by_its_path(tmp_path: Path) -> None:
    module = tmp_path / "test_m.py"
    module.write_text("def test_a():\n    pass\n\nclass TestB:\n    async def test_c(self):\n        pass\n")
    assert ids_in(module) == {"test_a", "TestB::test_c"}
    text = "see tests/x/test_m.py::test_a[sync-5xx]<br>tests/x/test_m.py::TestB::test_c and tests/x/test_n.py"
    assert citations(text) == [
        ("tests/x/test_m.py", "test_a"),
        ("tests/x/test_m.py", "TestB::test_c"),
        ("tests/x/test_n.py", None),
    ]
