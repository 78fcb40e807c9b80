"""``[core] hostname_callable`` of the e2e Celery workers (``deployment.py``): the name each was started under.

Both workers run on one machine, where every process would report the same FQDN; each worker's
task instances carry its own name (``E2E_WORKER_HOSTNAME``, its ``--celery-hostname``) instead,
so the scenario can tell which worker ran which try.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("E2E_WORKER_HOSTNAME") or socket.getfqdn()
