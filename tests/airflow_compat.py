"""The Airflow names the tests use, from where each supported Airflow 3 release keeps them.

The provider itself imports through ``airflow.providers.common.compat``; the tests also reach
Airflow's exceptions and internals that common-compat does not carry, and that moved between
minors. Each import here says which releases keep the name where.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from airflow.providers.common.compat.sdk import TaskDeferred, redact
from structlog.exceptions import DropEvent
from structlog.testing import LogCapture

from airflow_provider_zendesk_jobs.version_compat import AIRFLOW_V_3_1_PLUS, AIRFLOW_V_3_2_PLUS, AIRFLOW_V_3_3_PLUS

try:  # Airflow 3.2+: the task SDK's own
    from airflow.sdk.exceptions import AirflowRescheduleException, AirflowTaskTerminated
except ImportError:  # Airflow 3.0 and 3.1 keep them in core
    from airflow.exceptions import AirflowRescheduleException, AirflowTaskTerminated  # type: ignore[no-redef]

try:  # Airflow 3.2+
    from airflow.sdk.serde import deserialize, serialize
except ImportError:  # Airflow 3.0 and 3.1
    from airflow.serialization.serde import deserialize, serialize  # type: ignore[no-redef]


def DagBag(**kwargs: Any) -> Any:
    """Airflow's ``DagBag``, imported when a test needs it (it pulls in the models)."""
    try:  # Airflow 3.2+
        from airflow.dag_processing.dagbag import DagBag as dagbag
    except ImportError:  # Airflow 3.0 and 3.1
        from airflow.models.dagbag import DagBag as dagbag
    return dagbag(**kwargs)


def ProvidersManager() -> Any:
    """The providers manager that lists the installed hooks, as ``airflow providers hooks`` reads them."""
    if AIRFLOW_V_3_2_PLUS:  # the task SDK's; core's ``ProvidersManager.hooks`` is deprecated there
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        return ProvidersManagerTaskRuntime()
    from airflow.providers_manager import ProvidersManager as manager  # Airflow 3.0 and 3.1

    return manager()


def register_dag(dag: Any) -> None:
    """Write ``dag`` to the metadata database as the DAG processor does after parsing its file.

    ``dag.test()`` then runs it as a scheduler would. Airflow 3.0 writes the scheduler's DAG class;
    3.1 took the lazily deserialized form (``LazyDeserializedDAG.from_dag``) and a parse duration.
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.collection import update_dag_parsing_results_in_db
    from airflow.utils.session import create_session

    with create_session() as session:
        DagBundlesManager().sync_bundles_to_db(session=session)
    with create_session() as session:
        from airflow.serialization.serialized_objects import LazyDeserializedDAG, SerializedDAG

        if AIRFLOW_V_3_1_PLUS:
            parsed = [LazyDeserializedDAG.from_dag(dag)]
            update_dag_parsing_results_in_db("dags-folder", None, parsed, {}, None, set(), session=session)
        else:  # the scheduler's DAG class, no from_dag() and no parse duration yet
            parsed = [SerializedDAG.deserialize_dag(SerializedDAG.serialize_dag(dag))]
            update_dag_parsing_results_in_db("dags-folder", None, parsed, {}, set(), session=session)


#: Where the provider's task and trigger loggers live, under either of Airflow's logger trees.
_OUR_LOGGERS = "airflow_provider_zendesk_jobs"


class _EventList(logging.Handler):
    """Stdlib log records of this provider's loggers, in structlog's captured form."""

    def __init__(self, into: list[dict[str, Any]]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        # Only ``self.log`` of a task or trigger (named module.ClassName): module loggers stay stdlib
        # loggers on every Airflow, and capture_logs() does not see them there either.
        if _OUR_LOGGERS in record.name and record.name.rsplit(".", 1)[-1][:1].isupper():
            entry = {"event": record.getMessage(), "log_level": record.levelname.lower(), "logger": record.name}
            self.into.append(entry)


#: Airflow 3.1's Connection.get_uri() warns on each read of a connection type with '_'
#: (``zendesk_jobs``): Airflow's line, not the provider's, so the captures leave it out.
_AIRFLOW_URI_WARNING = "Connection schemes (type: "


class _ProviderEvents(LogCapture):
    def __call__(self, logger: Any, method_name: str, event_dict: Any) -> Any:
        if str(event_dict.get("event", "")).startswith(_AIRFLOW_URI_WARNING):
            raise DropEvent
        return super().__call__(logger, method_name, event_dict)


@contextmanager
def _capture_structlog() -> Iterator[list[dict[str, Any]]]:
    """structlog's ``capture_logs()``, less Airflow's own connection-URI warning."""
    capture = _ProviderEvents()
    processors = structlog.get_config()["processors"]
    previous = processors.copy()
    try:
        processors.clear()
        processors.append(capture)
        structlog.configure(processors=processors)
        yield capture.entries  # type: ignore[misc]
    finally:
        processors.clear()
        processors.extend(previous)
        structlog.configure(processors=processors)


@contextmanager
def capture_airflow_logs() -> Iterator[list[dict[str, Any]]]:
    """What the provider's operators, sensors and triggers log, as structlog's ``capture_logs`` shows it.

    From Airflow 3.1 on, ``self.log`` of a task or trigger is a structlog logger; on Airflow 3.0 it
    is a stdlib ``logging.Logger``, whose records are collected here in the same form.
    """
    with _capture_structlog() as events:
        if AIRFLOW_V_3_1_PLUS:
            yield events
            return
        handler = _EventList(events)
        root = logging.getLogger()
        previous = root.level
        root.addHandler(handler)
        root.setLevel(min(previous, logging.INFO) if previous else logging.INFO)
        try:
            yield events
        finally:
            root.removeHandler(handler)
            root.setLevel(previous)


__all__ = [
    "AIRFLOW_V_3_1_PLUS",
    "AIRFLOW_V_3_2_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "AirflowRescheduleException",
    "AirflowTaskTerminated",
    "DagBag",
    "ProvidersManager",
    "TaskDeferred",
    "capture_airflow_logs",
    "deserialize",
    "redact",
    "register_dag",
    "serialize",
]


def stored_trigger_kwargs_text(kwargs: dict[str, Any]) -> str:
    """A trigger row's kwargs as this Airflow writes them (unencrypted, which every release reads too).

    Airflow 3.2 moved the rows from ``BaseSerialization`` to the task SDK's ``serde``.
    """
    import json

    if AIRFLOW_V_3_2_PLUS:
        return json.dumps(serialize(kwargs))
    from airflow.serialization.serialized_objects import BaseSerialization

    return json.dumps(BaseSerialization.serialize(kwargs))


def trigger_kwargs_as_the_triggerer_reads(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A trigger's kwargs after the round trip through its database row, as the triggerer rebuilds it."""
    from airflow.models.trigger import Trigger

    decoded: dict[str, Any] = Trigger._decrypt_kwargs(stored_trigger_kwargs_text(kwargs))
    if AIRFLOW_V_3_2_PLUS:  # 3.2 decodes each value once more when it builds the trigger
        from airflow.serialization.decoders import smart_decode_trigger_kwargs

        return {key: smart_decode_trigger_kwargs(value) for key, value in decoded.items()}
    return decoded


try:  # Airflow 3.2+
    from airflow.executors.workloads.trigger import RunTrigger
except ImportError:  # Airflow 3.0 and 3.1
    from airflow.executors.workloads import RunTrigger  # type: ignore[no-redef,attr-defined]  # noqa: F401
