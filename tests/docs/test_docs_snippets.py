"""Every Python block of the documentation comes from a file the tests run, so no snippet can drift.

The pages (``docs/*.rst``, and the Markdown files they include) may show Python only through
``literalinclude`` of a region between ``# [START howto_<name>]`` and ``# [END howto_<name>]`` (or a
``:pyobject:``) of an example DAG (``example_dags/``, every file of which the example-DAG tests parse)
or of a test module (``tests/**/test_*.py``, ``tests/**/conftest.py``). Python written into a page
(``.. code-block:: python``, a ``::`` literal block that parses as Python, a fenced ``python`` block in
Markdown) fails here, and so does an include whose file, marker or object is missing, or whose file no
test runs. The README cannot include (GitHub shows it as it is): its one Python block must equal the
region of the example DAG it comes from, and it stays a front page of at most 200 lines.

The checks read the sources without building the site, so they run in ``make test`` without Sphinx.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from airflow_provider_zendesk_jobs.api.bulk_actions import BULK_ACTIONS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
README_MAX_LINES = 200
FIRST_DAG = ROOT / "example_dags" / "example_zendesk_first_dag.py"

PYTHON_LANGUAGES = {"python", "python3", "py", "py3", "pycon", "ipython", "ipython3"}
_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\.\s+(?P<name>[\w:-]+)::\s*(?P<argument>.*)$")
_OPTION = re.compile(r"^\s+:(?P<name>[\w-]+):\s*(?P<value>.*)$")
_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})\s*(?P<info>.*)$")
_MARKER = re.compile(r"^# \[(?P<kind>START|END) (?P<name>howto_\w+)\]$")
_CODE_DIRECTIVES = {"code-block", "code", "sourcecode"}


@dataclass
class Include:
    """One ``literalinclude`` of a page: the file it names and how it cuts the region out."""

    page: Path
    line: int
    target: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return (self.page.parent / self.target).resolve()

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _block_after(lines: list[str], start: int, indent: int) -> tuple[list[str], list[str], int]:
    """The options and the body of a directive or literal block starting below ``lines[start]``."""
    options: list[str] = []
    body: list[str] = []
    index = start + 1
    while index < len(lines) and _OPTION.match(lines[index]) and not body:
        options.append(lines[index])
        index += 1
    while index < len(lines):
        line = lines[index]
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line)
        index += 1
    return options, body, index


def _dedented(body: list[str]) -> str:
    text = list(body)
    while text and not text[0].strip():
        text.pop(0)
    width = min((len(line) - len(line.lstrip()) for line in text if line.strip()), default=0)
    return "\n".join(line[width:] for line in text).strip("\n")


def _is_python(code: str) -> bool:
    """Text Sphinx would highlight as Python: it parses as Python (shell lines, logs and tables do not)."""
    if not code.strip():
        return False
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def rst_problems(page: Path, text: str) -> tuple[list[str], list[Include]]:
    """The Python written into a reStructuredText page, and the page's literalincludes."""
    problems: list[str] = []
    includes: list[Include] = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        where = f"{page.relative_to(ROOT)}:{number + 1}"
        directive = _DIRECTIVE.match(line)
        if directive:
            name, argument = directive["name"], directive["argument"].strip()
            options, body, _ = _block_after(lines, number, len(directive["indent"]))
            if name in _CODE_DIRECTIVES:
                language = argument.lower()
                if language in PYTHON_LANGUAGES or (not language and _is_python(_dedented(body))):
                    problems.append(f"{where}: a Python block written into the page: {line.strip()!r}")
            elif name == "literalinclude":
                parsed = {m["name"]: m["value"].strip() for m in map(_OPTION.match, options) if m}
                includes.append(Include(page, number + 1, argument, parsed))
            continue
        if line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
            _, body, _ = _block_after(lines, number, len(line) - len(line.lstrip()))
            if _is_python(_dedented(body)):
                problems.append(f"{where}: a '::' literal block that is Python")
    return problems, includes


def markdown_problems(page: Path, text: str) -> list[str]:
    """Fenced Python in a Markdown file a page includes (```python, ```{code-block} python)."""
    problems = []
    for number, line in enumerate(text.splitlines()):
        fence = _FENCE.match(line)
        if not fence:
            continue
        words = fence["info"].replace("{code-block}", "").replace("{code}", "").split()
        if words and words[0].lower() in PYTHON_LANGUAGES:
            problems.append(f"{page.relative_to(ROOT)}:{number + 1}: a fenced Python block: {line.strip()!r}")
    return problems


def pages() -> list[Path]:
    skip = {"_build", "_ext", "_static"}
    return sorted(path for path in DOCS.rglob("*.rst") if not skip & set(path.relative_to(DOCS).parts))


def included_markdown(page: Path, text: str) -> list[Path]:
    """The Markdown files a page includes whole (``.. include:: X.md`` with the MyST parser)."""
    found = re.findall(r"^\.\.\s+include::\s*(\S+\.md)\s*$", text, flags=re.MULTILINE)
    return [(page.parent / name).resolve() for name in found]


def is_run_by_the_tests(path: Path) -> bool:
    """A test module or conftest under tests/, or an example DAG (the example-DAG tests parse every one)."""
    try:
        relative = path.relative_to(ROOT)
    except ValueError:
        return False
    if relative.parts[0] == "tests":
        return path.name == "conftest.py" or (path.name.startswith("test_") and path.suffix == ".py")
    return relative.parts[0] == "example_dags" and len(relative.parts) == 2 and path.suffix == ".py"


def marked_region(source: str, name: str) -> str | None:
    """The lines between ``# [START name]`` and ``# [END name]``, or None unless each is there exactly once."""
    lines = source.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == f"# [START {name}]"]
    ends = [i for i, line in enumerate(lines) if line.strip() == f"# [END {name}]"]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        return None
    return "\n".join(lines[starts[0] + 1 : ends[0]])


def _has_object(source: str, dotted: str) -> bool:
    body: list[ast.stmt] = ast.parse(source).body
    for part in dotted.split("."):
        found = [n for n in body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
        match = next((n for n in found if n.name == part), None)
        if match is None:
            return False
        body = match.body
    return True


def include_problems(include: Include) -> list[str]:
    """What is wrong with one literalinclude: a missing file, marker or object, or a file no test runs."""
    path, where = include.path, include.where
    if not path.is_file():
        return [f"{where}: {include.target} does not exist"]
    if path.suffix != ".py":
        return []
    problems = []
    if not is_run_by_the_tests(path):
        problems.append(
            f"{where}: {include.target} is run by no test: include from example_dags/ or a tests/**/test_*.py module"
        )
    source = path.read_text(encoding="utf-8")
    start, end = include.options.get("start-after"), include.options.get("end-before")
    if "pyobject" in include.options:
        if not _has_object(source, include.options["pyobject"]):
            problems.append(f"{where}: {include.target} has no {include.options['pyobject']!r}")
    elif start is None or end is None:
        problems.append(f"{where}: include a marked region (:start-after: / :end-before:) or a :pyobject:")
    else:
        opening, closing = _MARKER.match(start.strip()), _MARKER.match(end.strip())
        if not (opening and closing and opening["kind"] == "START" and closing["kind"] == "END"):
            problems.append(f"{where}: the markers must read '# [START howto_<name>]' and '# [END howto_<name>]'")
        elif opening["name"] != closing["name"]:
            problems.append(f"{where}: starts at {opening['name']} but ends at {closing['name']}")
        elif (region := marked_region(source, opening["name"])) is None:
            problems.append(f"{where}: {include.target} has no single region {opening['name']}")
        elif any(_MARKER.match(line.strip()) for line in region.splitlines()):
            problems.append(f"{where}: region {opening['name']} holds other markers, which the page would show")
    if "lines" in include.options:
        problems.append(f"{where}: :lines: drifts when the file changes; use the markers")
    return problems


def all_problems() -> tuple[list[str], list[Include]]:
    problems: list[str] = []
    includes: list[Include] = []
    for page in pages():
        text = page.read_text(encoding="utf-8")
        found, page_includes = rst_problems(page, text)
        problems += found
        includes += page_includes
        for markdown in included_markdown(page, text):
            problems += markdown_problems(markdown, markdown.read_text(encoding="utf-8"))
    for include in includes:
        problems += include_problems(include)
    return problems, includes


# -- the pages --------------------------------------------------------------------------------------
def test_no_page_has_python_that_is_not_included_from_a_tested_file() -> None:
    problems, includes = all_problems()
    assert problems == []
    assert len(includes) >= 16  # the README's sixteen blocks moved into tested files, and more


def test_every_howto_region_in_a_tested_file_is_shown_by_a_page() -> None:
    """A region no page includes is a snippet someone keeps in step for nothing."""
    _, includes = all_problems()
    shown = set()
    for include in includes:
        marker = _MARKER.match(include.options.get("start-after", "").strip())
        if marker:
            shown.add((include.path, marker["name"]))
    marked = set()
    for path in [*ROOT.glob("example_dags/*.py"), *ROOT.glob("tests/**/*.py")]:
        if path.resolve() == Path(__file__).resolve():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            marker = _MARKER.match(line.strip())
            if marker and marker["kind"] == "START":
                marked.add((path.resolve(), marker["name"]))
    assert sorted(f"{path.relative_to(ROOT)}: {name}" for path, name in marked - shown) == []


# -- the check itself, on pages written to break it -------------------------------------------------
def _check(text: str, name: str = "broken.rst") -> list[str]:
    page = DOCS / name
    problems, includes = rst_problems(page, text)
    return problems + [p for include in includes for p in include_problems(include)]


@pytest.mark.parametrize(
    "text",
    [
        ".. code-block:: python\n\n   print('written into the page')\n",
        "Some text::\n\n   from airflow.sdk import dag\n\n   dag()\n",
        ".. code-block::\n\n   x = {'a': 1}\n",
        "- a list item:\n\n  .. code-block:: py\n\n     import os\n",
    ],
)
def test_python_written_into_a_page_is_caught(text: str) -> None:
    assert len(_check(text)) == 1


def test_shell_text_and_logs_in_literal_blocks_pass() -> None:
    text = (
        "Run::\n\n   make docs\n\nIt logs::\n\n   1,800 of 5,000 records (36%): 1,795 done\n\n"
        ".. code-block:: bash\n\n   export A=1\n"
    )
    assert _check(text) == []


@pytest.mark.parametrize(
    ("include", "says"),
    [
        (".. literalinclude:: ../example_dags/no_such_file.py", "does not exist"),
        (
            ".. literalinclude:: ../example_dags/example_zendesk_first_dag.py\n"
            "   :start-after: # [START howto_no_such_region]\n   :end-before: # [END howto_no_such_region]",
            "has no single region howto_no_such_region",
        ),
        (
            ".. literalinclude:: ../scripts/demo.py\n   :pyobject: main",
            "is run by no test",
        ),
        (".. literalinclude:: ../example_dags/example_zendesk_first_dag.py", "include a marked region"),
        (
            ".. literalinclude:: ../example_dags/example_zendesk_first_dag.py\n   :pyobject: no_such_function",
            "has no 'no_such_function'",
        ),
        (
            ".. literalinclude:: ../example_dags/example_zendesk_first_dag.py\n"
            "   :start-after: # [START howto_first_dag]\n   :end-before: # [END howto_gate_pipeline]",
            "ends at howto_gate_pipeline",
        ),
    ],
)
def test_an_include_of_a_missing_or_untested_snippet_is_caught(include: str, says: str) -> None:
    problems = _check(include + "\n")
    assert problems and says in problems[0], problems


def test_fenced_python_in_included_markdown_is_caught() -> None:
    text = "# Notes\n\n```python\nimport os\n```\n\n```bash\nmake docs\n```\n"
    assert len(markdown_problems(DOCS / "notes.md", text)) == 1


# -- the README ---------------------------------------------------------------------------------------
def test_the_readme_is_a_front_page_whose_one_python_block_is_the_first_example_dag() -> None:
    readme = README.read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= README_MAX_LINES
    blocks = re.findall(r"^```(\w*)\n(.*?)^```$", readme, flags=re.MULTILINE | re.DOTALL)
    python = [body.rstrip("\n") for language, body in blocks if language.lower() in PYTHON_LANGUAGES]
    region = marked_region(FIRST_DAG.read_text(encoding="utf-8"), "howto_first_dag")
    assert python == [region]


def test_the_readme_links_into_the_docs_pages_that_exist() -> None:
    readme = README.read_text(encoding="utf-8")
    linked = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert linked, "the README links into the docs"
    assert [link for link in linked if not (ROOT / link).is_file()] == []


# -- the bulk catalogue's table ---------------------------------------------------------------------
def test_the_bulk_page_shows_the_catalogue_written_from_every_action_with_its_reference_page() -> None:
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        from bulk_catalogue_table import catalogue_rst
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    table = "\n".join(catalogue_rst())
    for action in BULK_ACTIONS.values():
        assert f"   * - ``{action.name}``\n\n       `reference <{action.source}>`__\n" in table, action.name
        assert action.method in table and action.path in table
        if action.unstated:
            assert f"- ``{action.name}``: {action.unstated}." in table
    assert re.search(r"^\.\. bulk-catalogue::$", (DOCS / "bulk.rst").read_text(encoding="utf-8"), re.MULTILINE)
