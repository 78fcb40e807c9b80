"""The scenarios, one module each, in the order of the summary: each a function of the deployment and its result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scripts.e2e.deployment import Deployment
from scripts.e2e.harness import Result
from scripts.e2e.scenarios.bulk import bulk
from scripts.e2e.scenarios.celery import celery
from scripts.e2e.scenarios.events import events
from scripts.e2e.scenarios.gate import gate
from scripts.e2e.scenarios.many import many
from scripts.e2e.scenarios.outage import outage
from scripts.e2e.scenarios.poison_row import poison_row
from scripts.e2e.scenarios.restart import restart
from scripts.e2e.scenarios.start_in_triggerer import start_in_triggerer
from scripts.e2e.scenarios.two_triggerers import two_triggerers


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    body: Callable[[Deployment, Result], None]


SCENARIOS = (
    Scenario("gate", "1. example gate DAG", gate),
    Scenario("many", "2. 30 deferred sensors", many),
    Scenario("restart", "3. kill -9 of the triggerer", restart),
    Scenario("two_triggerers", "4. two triggerers", two_triggerers),
    Scenario("outage", "5. 2-minute 503 outage", outage),
    Scenario("poison_row", "6. poison trigger row", poison_row),
    Scenario("events", "7. a killed job starts a DAG", events),
    Scenario("bulk", "8. bulk import, killed worker", bulk),
    Scenario("start_in_triggerer", "9. 30 waits started in the triggerer, and not", start_in_triggerer),
    Scenario("celery", "10. Celery worker killed mid-import", celery),
)
