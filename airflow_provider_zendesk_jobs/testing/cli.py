"""``zendesk-jobs-emulator``: run the emulator from a shell, for demos and scripts.

It prints where it listens, the demo credentials and a ready ``export AIRFLOW_CONN_...`` line,
then serves until Ctrl-C or SIGTERM (exit status 0 either way). ``--url-file`` writes the URL
once the port is bound, so a script can start it with ``--port 0`` and wait for the file:
:class:`~airflow_provider_zendesk_jobs.testing.RemoteEmulator` ``.start()`` does that, and then
drives it over ``/__emulator__/``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from airflow_provider_zendesk_jobs.testing.clock import Clock, ManualClock, ScaledClock
from airflow_provider_zendesk_jobs.testing.credentials import DEFAULT_CREDENTIALS
from airflow_provider_zendesk_jobs.testing.emulator import ZendeskEmulator

CONN_ENV_VAR = "AIRFLOW_CONN_ZENDESK_DEFAULT"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zendesk-jobs-emulator",
        description="A local Zendesk server for background job statuses (bulk calls, job statuses, OAuth tokens).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one (default: 8765)")
    clock = parser.add_mutually_exclusive_group()
    clock.add_argument("--speed", type=float, default=20.0, help="clock speed: emulated seconds per real second")
    clock.add_argument(
        "--manual-clock", action="store_true", help="time stands still until POST /__emulator__/clock/advance"
    )
    creds = DEFAULT_CREDENTIALS
    parser.add_argument("--email", default=creds.email)
    parser.add_argument("--api-token", default=creds.api_token)
    parser.add_argument("--oauth-token", default=creds.oauth_token)
    parser.add_argument("--client-id", default=creds.client_id)
    parser.add_argument("--client-secret", default=creds.client_secret)
    parser.add_argument("--queued-seconds", type=float, default=1.0, help="clock seconds a job stays queued")
    parser.add_argument("--seconds-per-item", type=float, default=0.1, help="clock seconds of work per record")
    parser.add_argument(
        "--not-visible-seconds", type=float, default=0.0, help="a new job answers 404 for this many clock seconds"
    )
    parser.add_argument("--retention-seconds", type=float, default=86_400.0, help="clock seconds a job stays readable")
    parser.add_argument("--listed-jobs", type=int, default=100, help="how many of the newest jobs the list shows")
    parser.add_argument(
        "--max-active-jobs",
        type=int,
        default=30,
        help="jobs queued or working at once, Zendesk's job limit; one more bulk call answers 429 TooManyJobs",
    )
    parser.add_argument(
        "--no-bulk-user-imports",
        dest="bulk_user_imports",
        action="store_false",
        help="users/create_many and create_or_update_many answer 403, as when the account owner has not "
        "switched bulk user imports on",
    )
    parser.add_argument("--rate-limit", type=int, default=None, help="requests per clock minute (default: none)")
    parser.add_argument("--seed", type=int, default=0, help="seed for job ids and fault fractions")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--url-file", type=Path, default=None, help="write the URL to this file once listening")
    return parser


def banner(emu: ZendeskEmulator, clock_text: str) -> str:
    creds = emu.credentials
    lines = [
        f"Zendesk jobs emulator listening on {emu.url} ({clock_text})",
        f"  email          {creds.email}",
        f"  API token      {creds.api_token}",
        f"  OAuth token    {creds.oauth_token}",
        f"  client id      {creds.client_id}",
        f"  client secret  {creds.client_secret}",
        f"  control        {emu.url}/__emulator__",
        "",
        "Point Airflow at it (API token):",
        f"export {CONN_ENV_VAR}={shlex.quote(emu.connection_extra_json('token'))}",
        "# or with OAuth client credentials:",
        f"# export {CONN_ENV_VAR}={shlex.quote(emu.connection_extra_json('client_credentials'))}",
        "",
        "Ctrl-C stops it.",
    ]
    return "\n".join(lines)


def _write_url_file(path: Path, url: str) -> None:
    """Write atomically, so a script polling for the file never reads half a URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(url + "\n", encoding="utf-8")
    os.replace(partial, path)


def _build(args: argparse.Namespace, clock: Clock) -> ZendeskEmulator:
    emu = ZendeskEmulator(
        host=args.host,
        port=args.port,
        clock=clock,
        email=args.email,
        api_token=args.api_token,
        oauth_token=args.oauth_token,
        client_id=args.client_id,
        client_secret=args.client_secret,
        queued_seconds=args.queued_seconds,
        seconds_per_item=args.seconds_per_item,
        not_visible_seconds=args.not_visible_seconds,
        retention_seconds=args.retention_seconds,
        listed_jobs=args.listed_jobs,
        max_active_jobs=args.max_active_jobs,
        bulk_user_imports=args.bulk_user_imports,
        seed=args.seed,
        verbose=args.verbose,
    )
    if args.rate_limit is not None:
        emu.set_rate_limit(args.rate_limit)
    return emu


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, stop: threading.Event | None = None) -> int:
    """Run until Ctrl-C, SIGTERM or (for embedding and tests) ``stop`` being set."""
    args = build_parser().parse_args(argv)
    stream = out if out is not None else sys.stdout
    clock: Clock
    if args.manual_clock:
        clock, clock_text = ManualClock(), "manual clock"
    else:
        if not args.speed > 0:
            print("zendesk-jobs-emulator: --speed must be positive", file=sys.stderr)
            return 2
        clock, clock_text = ScaledClock(speed=args.speed), f"clock speed x{args.speed:g}"
    try:
        emu = _build(args, clock)
    except ValueError as exc:
        print(f"zendesk-jobs-emulator: {exc}", file=sys.stderr)
        return 2
    try:
        emu.start()
    except OSError as exc:
        print(f"zendesk-jobs-emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    stop = stop if stop is not None else threading.Event()
    previous = _install_stop_handlers(stop)
    try:
        print(banner(emu, clock_text), file=stream, flush=True)
        if args.url_file is not None:
            _write_url_file(args.url_file, emu.url)
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
        _restore_handlers(previous)
        print("Zendesk jobs emulator stopped.", file=stream, flush=True)
    return 0


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _install_stop_handlers(stop: threading.Event) -> dict[int, Any]:
    """Ctrl-C and SIGTERM set ``stop``; SIGINT explicitly, as it may be ignored when run in the background."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    return {signum: signal.signal(signum, on_signal) for signum in _STOP_SIGNALS}


def _restore_handlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        if handler is not None:  # None: installed outside Python, cannot be put back
            signal.signal(signum, handler)


if __name__ == "__main__":
    raise SystemExit(main())
