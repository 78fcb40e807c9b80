"""Reading the task logs Airflow wrote under the deployment's ``logs/`` folder (worker and triggerer parts)."""

from __future__ import annotations

import re
from pathlib import Path

#: What Airflow's triggerer logs (in the task's trigger log) each time a trigger fires an event.
FIRED = '"event":"Trigger fired event"'
#: What Airflow's task runner logs each time a task instance starts on a worker.
STARTED = '"event":"::group::Pre Execute"'


def task_log_text(home: Path, dag_id: str, run_id: str, task_id: str, map_index: int = -1, part: str = "all") -> str:
    """What Airflow wrote for one task instance, every try: ``part`` is "worker" (the task's own runs),
    "trigger" (what each triggerer wrote for it, ``attempt=N.log.trigger.<job>.log``) or "all"."""
    folder = home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    if map_index >= 0:
        folder = folder / f"map_index={map_index}"
    pattern = {"worker": "attempt=*.log", "trigger": "attempt=*.log.trigger.*", "all": "attempt=*.log*"}[part]
    if not folder.is_dir():
        return ""
    paths = sorted(folder.glob(pattern))
    if part == "worker":  # "attempt=*.log" also matches a triggerer's "attempt=1.log.trigger.N.log"
        paths = [path for path in paths if ".trigger." not in path.name]
    return "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in paths)


def progress_lines(log_text: str, job_id: str) -> list[str]:
    """The trigger's progress lines for one job (``<id>: working 1/3``...)."""
    return re.findall(re.escape(job_id) + r": (?:queued|working|completed)[^\"\n]*", log_text)


def last_error(log_text: str) -> str:
    """The last message about Zendesk, a retry or a 503 in a task's log, for the summary."""
    messages = re.findall(r"\"event\": ?\"([^\"]*(?:Zendesk|retry|budget|503)[^\"]*)\"", log_text)
    return messages[-1][:240] if messages else "(no message found in the task log)"
