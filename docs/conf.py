"""Sphinx configuration of the provider's documentation: ``make docs`` builds it with warnings as errors."""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))

project = "airflow-provider-zendesk-jobs"
author = "airflow-provider-zendesk-jobs contributors"
copyright = "the airflow-provider-zendesk-jobs contributors"

extensions = [
    "sphinx.ext.autodoc",
    "myst_parser",
    "bulk_catalogue",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "RELIABILITY.md"]
# Each page is reStructuredText; Markdown is only the existing files the pages include.
myst_heading_anchors = 3

html_theme = "furo"
html_title = "airflow-provider-zendesk-jobs"
html_static_path = ["_static"]
html_css_files = ["tables.css"]

# Headings name the class, not its whole import path (the section says the module).
add_module_names = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_mock_imports: list[str] = []

# -n checks every cross-reference. The pages build without network, so the inventories of Airflow,
# Python and the HTTP libraries are not fetched: references into those packages are not checked,
# while every reference into this provider still is.
nitpicky = True
nitpick_ignore_regex = [
    # The reference documents the public modules; their docstrings also name internals (the API core, the
    # bulk engine, the waiting rules, the poller, the emulator's parts), which are left out on purpose.
    (r"py:.*", r"airflow_provider_zendesk_jobs\.(api|bulk|waiting|job_ids|finite_numbers|version_compat)(\..*)?"),
    (r"py:.*", r"airflow_provider_zendesk_jobs\.(hooks\.base|operators\.bulk_wait)(\..*)?"),
    (r"py:.*", r"airflow_provider_zendesk_jobs\.triggers\.(arguments|poller|registry|messages|handoff)(\..*)?"),
    (r"py:.*", r"airflow_provider_zendesk_jobs\.testing\.[a-z_]+(\..*)?"),
    # Relative names in those docstrings (a sibling module, a method of the class being described).
    (r"py:(mod|meth)", r"(poller|events|arguments|job_kinds|serialize|render_template_fields)"),
    (r"py:class", r"(JobLister|Logger|XComArg|timedelta|BaseOperator|TaskInstanceKey|EmulatorProcess)"),
    (r"py:class", r"(ZendeskInvalidInputError|ZendeskResponseError|ZendeskJobStatusHook)"),
    (r"py:.*", r"(airflow|requests|httpx|urllib3|pendulum|sqlalchemy|jinja2|datetime|collections|typing|asyncio|"
     r"pathlib|enum|abc|types|os|logging|threading|concurrent|contextlib|http|json|re|socket|_?io|builtins)(\..*)?"),
    (r"py:.*", r"(Any|Callable|Awaitable|Iterator|AsyncIterator|Iterable|Mapping|Sequence|Context|Self|"
     r"Literal|TypeVar|Protocol|NoneType|T|ellipsis)"),
]
