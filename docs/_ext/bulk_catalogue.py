"""The ``bulk-catalogue`` directive: the table of ``ZendeskBulkJobOperator``'s actions, written at build time
from ``BULK_ACTIONS`` (:mod:`bulk_catalogue_table`), so the page lists exactly the calls the operator knows."""

from __future__ import annotations

from typing import Any

import bulk_catalogue_table
from bulk_catalogue_table import catalogue_rst
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from airflow_provider_zendesk_jobs.api import bulk_actions


class BulkCatalogue(SphinxDirective):
    """``.. bulk-catalogue::``: the catalogue table and its notes."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        # The page is rebuilt when the catalogue or the table's code changes, not only its own text.
        for source in (bulk_actions.__file__, bulk_catalogue_table.__file__):
            self.env.note_dependency(source)
        container = nodes.container()
        self.state.nested_parse(StringList(catalogue_rst(), source="bulk_actions.BULK_ACTIONS"), 0, container)
        return list(container.children)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("bulk-catalogue", BulkCatalogue)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
