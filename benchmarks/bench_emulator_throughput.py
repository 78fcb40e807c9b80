"""Show-one requests per second the emulator serves, against a bare ``http.server`` baseline.

Starts the emulator on a manual clock with 100 jobs, then polls them round-robin with
``GET /api/v2/job_statuses/{id}`` over keep-alive connections (``http.client``, one connection
per client thread) for a few seconds: with one client and with two on completed jobs, and with
one client on jobs still working (their answer changes with the clock, so it is not cached). The baseline is a
minimal ``BaseHTTPRequestHandler`` answering a fixed JSON body over HTTP/1.1 keep-alive, measured
the same way in the same run, so the ratio shows what the emulator's own work costs. Clients and
server share one process (as in a pytest run that uses the fixture).

Question 1 runs on the emulator's manual clock, so its counts and latencies do not depend on
how fast the emulator answers; its ceiling only sets how long a run takes. The headroom is
the ceiling over the heaviest load of question 1 played in real time: 1,000 waits polling
show-one on their own every 5 s, 200 requests per second.

    python benchmarks/bench_emulator_throughput.py [--seconds 3] [--waits 1000] [--interval 5] [--summary FILE]

Exits 1 when a run serves fewer show-one answers per second than that load needs.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench_support import write_summary

from airflow_provider_zendesk_jobs.testing import ManualClock, ZendeskEmulator

FIXED_BODY = json.dumps(
    {
        "job_status": {
            "id": "V3-" + "0" * 32,
            "url": "http://127.0.0.1/api/v2/job_statuses/V3-00000000000000000000000000000000.json",
            "status": "completed",
            "job_type": "Bulk Create Ticket",
            "total": 10,
            "progress": 10,
            "message": "Completed at 2023-11-14 22:13:22 +0000",
            "results": [{"index": i, "id": 1000 + i} for i in range(10)],
        }
    }
).encode()


class BareHandler(BaseHTTPRequestHandler):
    """The least a standard-library JSON server can do per request."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(FIXED_BODY)))
        self.end_headers()
        self.wfile.write(FIXED_BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


def measure(host: str, port: int, paths: Sequence[str], headers: dict[str, str], seconds: float, clients: int) -> float:
    """Requests per second over ``clients`` keep-alive connections, each in its own thread."""
    counts = [0] * clients
    start_gate = threading.Barrier(clients + 1)
    stop_at: list[float] = [0.0]

    def client(slot: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        done = 0
        start_gate.wait()
        deadline = stop_at[0]
        i = slot
        while time.perf_counter() < deadline:
            conn.request("GET", paths[i % len(paths)], headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"unexpected status {response.status}")
            done += 1
            i += 1
        counts[slot] = done
        conn.close()

    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start_gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return sum(counts) / elapsed


def with_baseline(run: Callable[[str, int], float]) -> float:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BareHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        return run("127.0.0.1", server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--waits", type=int, default=1000, help="waits of the heaviest load in question 1")
    parser.add_argument("--interval", type=float, default=5.0, help="their poll interval, seconds")
    parser.add_argument("--summary", help="write the headline figures to this JSON file")
    args = parser.parse_args(argv)
    needed = args.waits / args.interval

    rows: list[tuple[str, float, float]] = []
    baselines = {
        clients: with_baseline(lambda host, port, c=clients: measure(host, port, ["/"], {}, args.seconds, c))
        for clients in (1, 2)
    }
    for clients, finished in ((1, True), (2, True), (1, False)):
        with ZendeskEmulator(clock=ManualClock()) as emu:
            job_ids = [emu.create_job("tickets_create", count=10) for _ in range(100)]
            # finished jobs are answered from an encoded cache; working ones are encoded per request
            emu.advance(100.0 if finished else 1.5)
            token = base64.b64encode(b"demo@example.com/token:demo-token").decode()
            headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
            paths = [f"/api/v2/job_statuses/{job_id}.json" for job_id in job_ids]
            port = int(emu.url.rsplit(":", 1)[1])
            rate = measure("127.0.0.1", port, paths, headers, args.seconds, clients)
            if emu.request_count("/api/v2/job_statuses/") < 1:
                raise RuntimeError("the emulator's request log saw nothing")
        state = "completed" if finished else "working"
        label = f"{clients} keep-alive client{'s' if clients > 1 else ''}, {state} jobs"
        rows.append((label, rate, baselines[clients]))

    print(
        f"{args.seconds:g} s per run; the load to carry: {args.waits:,} waits / {args.interval:g} s "
        f"= {needed:,.0f} requests/s.\n"
    )
    print("| run | emulator show-one req/s | bare http.server req/s | emulator / bare | headroom over the load |")
    print("|---|---:|---:|---:|---:|")
    for label, rate, baseline in rows:
        print(f"| {label} | {rate:,.0f} | {baseline:,.0f} | {rate / baseline:.2f} | {rate / needed:.1f}x |")
    single = rows[0][1]
    slowest = min(rate for _, rate, _ in rows)
    met = slowest >= needed
    print(
        f"\n- One keep-alive client got **{single / needed:.1f}x** the show-one answers per second that "
        f"{args.waits:,} waits polling alone every {args.interval:g} s need in real time (lowest of the runs: "
        f"{slowest / needed:.1f}x; {'met' if met else 'MISSED'})."
    )
    figure = f"{single / needed:.1f}x the request rate of {args.waits:,} waits polling alone every {args.interval:g} s"
    write_summary(args.summary, figure=figure, target=">= 1x", met=met)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
