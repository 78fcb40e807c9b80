"""The table of ``ZendeskBulkJobOperator``'s catalogue, as reStructuredText, from ``BULK_ACTIONS``.

No Sphinx inside: the ``bulk-catalogue`` directive writes these lines into the bulk operator's page,
and the tests read them without building the site.
"""

from __future__ import annotations

from airflow_provider_zendesk_jobs.api.bulk_actions import BULK_ACTIONS, EXTERNAL_IDS, IDS, OBJECTS, BulkAction

RECORDS = {OBJECTS: "objects", IDS: "ids", EXTERNAL_IDS: "external ids", "record_ids": "record ids (text)"}


def call_text(action: BulkAction) -> tuple[str, str]:
    """The request one chunk becomes, as reStructuredText: method and path, then where the records go."""
    if action.job_action is not None:
        body = f'``{{"job": {{"action": "{action.job_action}", "items": [...]}}}}``'
    elif action.payload_key is not None:
        body = f'``{{"{action.payload_key}": [...]}}``'
    elif action.change_key is not None:
        body = f'``?{action.records}=...`` and ``{{"{action.change_key}": change}}``'
    else:
        body = f"``?{action.records}=...``"
    return f"``{action.method} {action.path}``", body


def matched_text(action: BulkAction) -> str:
    """How a result item points back to its record."""
    if action.object_result:
        return 'one ``{"success": ...}`` for the whole call'
    if action.count_settles:
        return "Zendesk's own ``id`` only (see below)"
    return ", ".join(f"``{field}``" for field in action.match_by)


def catalogue_rows() -> list[tuple[tuple[str, str], tuple[str, str], str, str, str]]:
    """One row per action: action and its reference page, call and body, records, matched by, XCom list."""
    return [
        (
            (f"``{action.name}``", f"`reference <{action.source}>`__"),
            call_text(action),
            RECORDS[action.records],
            matched_text(action),
            " and ".join(f"``{key}``" for key in action.result_keys),
        )
        for action in BULK_ACTIONS.values()
    ]


def unstated_notes() -> list[tuple[str, str]]:
    """The actions whose reference page leaves a limit, a body key or an item shape unstated, and what is used."""
    return [(action.name, action.unstated) for action in BULK_ACTIONS.values() if action.unstated]


def catalogue_rst() -> list[str]:
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 30 37 10 12 11",
        "   :class: catalogue",
        "",
        "   * - action",
        "     - call",
        "     - records",
        "     - item matched by",
        "     - XCom list",
    ]
    for (name, reference), (call, body), *rest in catalogue_rows():
        lines += [f"   * - {name}", "", f"       {reference}", f"     - {call}", "", f"       {body}"]
        lines.extend(f"     - {cell}" for cell in rest)
    lines += ["", "Where Zendesk's reference leaves something unstated, the documented neighbour's is used:", ""]
    lines += [f"- ``{name}``: {text}." for name, text in unstated_notes()]
    return lines
