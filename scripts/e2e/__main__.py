"""``python -m scripts.e2e``: start the deployment, run the scenarios side by side, stop everything, summarise."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import scripts.e2e
from scripts.e2e.config import DEFAULT_PG_URL, ROOT
from scripts.e2e.deployment import start_deployment
from scripts.e2e.harness import E2EError, E2ERun, Interrupted, Result
from scripts.e2e.runner import run_all
from scripts.e2e.scenarios import SCENARIOS
from scripts.e2e.summary import summarise


def celery_plan(only: Sequence[str], redis_url: str) -> tuple[str | None, str | None]:
    """``(the Redis URL the celery scenario runs with, or None; the line that says it is skipped, or None)``.

    Without Redis the other scenarios still run; only ``--only celery`` makes a missing Redis an error.
    """
    wanted = not only or "celery" in only
    if not wanted:
        return None, None
    if redis_url:
        return redis_url, None
    if only:
        raise E2EError("--only celery needs Redis, the Celery broker: set E2E_REDIS_URL (see the README)")
    return None, "- skipping 10. celery: no E2E_REDIS_URL (Redis, the Celery broker; see the README's make e2e)"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    doc = scripts.e2e.__doc__ or ""
    parser = argparse.ArgumentParser(prog="python -m scripts.e2e", description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--airflow-home", type=Path, default=ROOT / ".airflow_home_e2e")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default=os.environ.get("E2E_DB") or "sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("E2E_PG_URL") or DEFAULT_PG_URL)
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("E2E_REDIS_URL") or "",
        help="Redis for the celery scenario's broker (E2E_REDIS_URL); without it that scenario is skipped",
    )
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds the whole run may take")
    names = [s.name for s in SCENARIOS]
    parser.add_argument("--only", nargs="*", default=[], choices=names, help="run only these scenarios")
    args = parser.parse_args(argv)
    args.airflow_home = args.airflow_home.resolve()
    try:
        args.celery_redis, args.skipped = celery_plan(args.only, args.redis_url)
    except E2EError as exc:
        parser.error(str(exc))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    run = E2ERun(args.airflow_home, args.deadline)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        run.stop()
        raise Interrupted(f"signal {signum}")

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    print(f"Zendesk jobs e2e: a real Airflow deployment on {args.db}, against the built-in emulator")
    if args.skipped:
        print(args.skipped, flush=True)
    results: list[Result] = []
    code = 1
    try:
        dep = start_deployment(run, args.db, args.pg_url, args.celery_redis)
        chosen = [s for s in SCENARIOS if (not args.only or s.name in args.only)]
        chosen = [s for s in chosen if s.name != "celery" or args.celery_redis]
        print(f"- running {len(chosen)} scenarios side by side", flush=True)
        run_all(dep, chosen, results)
        code = 0 if results and all(r.passed for r in results) else 1
    except E2EError as exc:
        print(f"\nThe e2e run FAILED: {exc}", file=sys.stderr)
    except (Interrupted, KeyboardInterrupt) as exc:
        print(f"\nThe e2e run was interrupted ({exc}).", file=sys.stderr)
        code = 130
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)  # the cleanup itself is not interrupted
        run.stop_all()
        summarise(results, args.db, run.elapsed(), args.airflow_home)
    return code


if __name__ == "__main__":
    sys.exit(main())
