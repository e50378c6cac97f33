"""Benchmark: throughput of the bundled CSMS on one core, with its schema validation on (it always is), and its
latency at half that load.

The bundled CSMS runs in its own process pinned to core 0; ``--stations`` connections on core 1 each keep one
CALL in flight (OCPP-J 1.6 §4.1.1: as a charger would) for ``--seconds``. Per workload: answered CALLs per second
at saturation, the CSMS's CPU per CALL (its process's CPU time over the CALLs answered: the figure that does not
depend on what else the machine runs), the client's CPU share (a client near 100 % would be measuring itself, not
the CSMS), then the same stations paced to half the saturated rate, each CALL sent at its scheduled time, with the
response-time percentiles at that load. Workloads: Heartbeat, StatusNotification, MeterValues (no transaction),
Authorize (a known tag), and charging sessions (StartTransaction, two MeterValues of the transaction,
StopTransaction: each a durable commit, fsynced before it is answered).

    .venv/bin/python bench/csms_throughput.py [--stations 50] [--seconds 10] [--uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

from common import Served, percentile, pin, print_environment, provision, server

from ocppj.frames import encode_call, parse_frame
from simulator.transport import Link, LinkSettings, open_link, station_url

STAMP = "2026-01-01T00:00:00.000Z"
SIMPLE: dict[str, dict[str, Any]] = {
    "Heartbeat": {},
    "StatusNotification": {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
    "MeterValues": {"connectorId": 1, "meterValue": [{"timestamp": STAMP, "sampledValue": [{"value": "1234"}]}]},
}
WORKLOADS = [*SIMPLE, "Authorize", "sessions"]


def calls(workload: str, station: int) -> Generator[tuple[str, dict[str, Any]], dict[str, Any], None]:
    """The endless (action, payload) sequence of one station; each answer's payload is sent back into it."""
    if workload in SIMPLE:
        while True:
            yield workload, SIMPLE[workload]
    id_tag = f"B{station:04d}"
    while workload == "Authorize":
        yield "Authorize", {"idTag": id_tag}
    for session in itertools.count():
        meter = session * 100
        answer = yield "StartTransaction", {"connectorId": 1, "idTag": id_tag, "meterStart": meter, "timestamp": STAMP}
        transaction_id = answer.get("transactionId", 0)
        for value in (meter + 10, meter + 20):
            sample = {"timestamp": STAMP, "sampledValue": [{"value": str(value)}]}
            yield "MeterValues", {"connectorId": 1, "transactionId": transaction_id, "meterValue": [sample]}
        stop = {"transactionId": transaction_id, "meterStop": meter + 30, "timestamp": STAMP, "reason": "Local"}
        yield "StopTransaction", {**stop, "idTag": id_tag}


async def station(
    url: str, number: int, workload: str, until: float, interval_s: float | None, samples: list[float]
) -> int:
    """One station: a CALL, wait for its answer, the next one (at its scheduled time when paced)."""
    link: Link = await open_link(LinkSettings(url=station_url(url, f"TP{number:04d}")))
    boot = {"chargePointVendor": "bench", "chargePointModel": "bench"}
    await link.send(encode_call("0", "BootNotification", boot).raw)
    await link.receive()
    answered = 0
    sequence = calls(workload, number)
    action, payload = next(sequence)
    loop = asyncio.get_running_loop()
    due = loop.time() + (0 if interval_s is None else interval_s * number / 50 % interval_s)
    try:
        while time.monotonic() < until:
            if interval_s is not None:
                await asyncio.sleep(max(0.0, due - loop.time()))
                due += interval_s
            started = time.perf_counter()
            await link.send(encode_call(str(answered + 1), action, payload).raw)
            text = await link.receive()
            if text is None:
                break
            samples.append(time.perf_counter() - started)
            answered += 1
            action, payload = sequence.send(getattr(parse_frame(text), "payload", {}))
    finally:
        await link.close()
    return answered


async def run(
    url: str, stations: int, workload: str, seconds: float, rate: float | None = None
) -> tuple[float, float, list[float]]:
    """Answered CALLs/s, the client's CPU share and the response times; ``rate`` paces the fleet (CALLs/s)."""
    until = time.monotonic() + seconds
    interval_s = None if rate is None else stations / rate
    samples: list[float] = []
    cpu0, wall0 = time.process_time(), time.monotonic()
    counts = await asyncio.gather(*(station(url, n, workload, until, interval_s, samples) for n in range(stations)))
    wall = time.monotonic() - wall0
    return sum(counts) / wall, (time.process_time() - cpu0) / wall, sorted(samples)


def figures(samples: list[float]) -> str:
    return "  ".join(f"p{p} {percentile(samples, p) * 1e3:6.2f} ms" for p in (50, 99))


def measure(csms: Served, args: argparse.Namespace, workload: str) -> None:
    cpu0 = csms.cpu_s()
    rate, client_cpu, samples = asyncio.run(run(csms.url, args.stations, workload, args.seconds))
    cpu_per_call_us = (csms.cpu_s() - cpu0) / max(1, len(samples)) * 1e6
    print(
        f"{workload:20} {rate:8.0f} CALLs/s answered on one core; CSMS CPU {cpu_per_call_us:5.0f} µs per CALL; "
        f"{figures(samples)} ({args.stations} stations, one CALL in flight each; client CPU {client_cpu:.0%})"
    )
    half, _, paced = asyncio.run(run(csms.url, args.stations, workload, args.seconds, rate=rate / 2))
    print(f"{'':20} {half:8.0f} CALLs/s paced to half that load:  {figures(paced)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help=f"comma-separated, of {WORKLOADS}")
    parser.add_argument("--uvloop", action="store_true", help="run the CSMS on uvloop's event loop")
    args = parser.parse_args()
    print_environment("bundled CSMS throughput on one core")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    pin(1 if cores > 1 else None)
    with (
        tempfile.TemporaryDirectory() as folder,
        server("csms", core=0, db=Path(folder) / "t.sqlite3", uvloop=args.uvloop) as csms,
    ):
        numbers = range(args.stations)
        provision(csms.api_url, [f"TP{n:04d}" for n in numbers], id_tags=[f"B{n:04d}" for n in numbers])
        for workload in args.workloads.split(","):
            measure(csms, args, workload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
