"""Benchmark: single-call latency of the bundled CSMS against a raw websockets responder, and the harness's own
timing overhead per measured call.

1. One station, one CALL at a time (Heartbeat), ``--calls`` times, against (a) a raw websockets server that
   answers every CALL at once and (b) the bundled CSMS (which validates the request against its 1.6 schema,
   logs the exchange in SQLite and answers). Printed: p50/p95/p99/max of each and the ratio of the medians.
2. The overhead the harness adds to a measured response time: the same responder, measured by a bare loop
   (``perf_counter``; ``send``; ``recv``) and by the station runtime (simulator.station: CallSlot from the
   write of the CALL, the frame parsed, the answer matched, the histogram recorded). The difference of the
   medians is what the harness's measurement adds; the CPU it spends per call outside the timed window
   (model, framing, statistics) is measured apart, without a socket.

    .venv/bin/python bench/latency.py [--calls 3000] [--pin] [--uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from common import print_environment, provision, row, server

from ocppj.frames import encode_call, encode_result, parse_frame
from simulator.model import ChargePoint, StationSpec
from simulator.station import Clock, Station
from simulator.stats import FleetStats
from simulator.transport import CallSlot, LinkSettings, open_link, station_url


async def bare_loop(url: str, calls: int) -> list[float]:
    link = await open_link(LinkSettings(url=station_url(url, "BENCH")))
    samples = []
    try:
        for number in range(calls + 100):
            text = encode_call(str(number), "Heartbeat", {}).raw
            started = time.perf_counter()
            await link.send(text)
            await link.receive()
            if number >= 100:  # warm-up
                samples.append(time.perf_counter() - started)
    finally:
        await link.close()
    return samples


async def station_loop(url: str, calls: int) -> list[float]:
    """The station runtime's own measurement: each Heartbeat enqueued as a scenario's explicit CALL."""
    stats = FleetStats()
    station = Station(StationSpec(station_id="BENCH"), link=LinkSettings(url=station_url(url, "BENCH")),
                      clock=Clock(), observer=stats)  # fmt: skip
    samples: list[float] = []
    original = stats.exchange

    def exchange(station_id: str, action: str, outcome: str, latency_s: float | None) -> None:
        original(station_id, action, outcome, latency_s)
        if action == "Heartbeat" and latency_s is not None:
            samples.append(latency_s)

    stats.exchange = exchange  # type: ignore[method-assign]
    async with asyncio.TaskGroup() as group:
        group.create_task(station.run())
        while station.model.registration != "Accepted":
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # the boot's StatusNotifications
        for _ in range(calls + 100):
            seen = len(samples)
            station.model.enqueue("Heartbeat", {})
            station.wake()
            while len(samples) == seen:
                await asyncio.sleep(0)
        station.stop()
    return samples[100:]


def bookkeeping_cpu_us(calls: int) -> float:
    """CPU per call of what the runtime does besides the socket: next_call, framing, the slot, parsing the
    answer, the statistics, call_result."""
    now = time.time()
    model = ChargePoint(StationSpec(station_id="BENCH"), now=now)
    model.connected(now)
    boot = model.next_call(now)
    assert boot is not None
    model.call_result(boot, {"status": "Accepted", "currentTime": "2026-01-01T00:00:00Z", "interval": 3600}, now)
    while (call := model.next_call(now)) is not None:
        model.call_result(call, {}, now)
    stats, slot = FleetStats(), CallSlot()
    answer = encode_result("x", {"currentTime": "2026-01-01T00:00:00.000Z"}).raw
    started = time.process_time()
    for number in range(calls):
        model.enqueue("Heartbeat", {})
        call = model.next_call(now)
        assert call is not None
        unique_id = str(number)
        encode_call(unique_id, call.action, call.payload)
        slot.start(unique_id, call.action, timeout_s=30)
        frame = parse_frame(answer.replace('"x"', f'"{unique_id}"'))
        latency = slot.answered(frame.unique_id)
        stats.exchange("BENCH", call.action, "CALLRESULT", latency)
        model.call_result(call, frame.payload, now)  # type: ignore[union-attr]
    return (time.process_time() - started) / calls * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--pin", action="store_true", help="server on core 0, client on core 1")
    parser.add_argument("--uvloop", action="store_true", help="run the bundled CSMS on uvloop's event loop")
    args = parser.parse_args()
    print_environment("single-call latency and timing overhead")
    client_core, server_core = (1, 0) if args.pin else (None, None)
    if client_core is not None:
        import os

        os.sched_setaffinity(0, {client_core})
    with server("responder", core=server_core) as responder:
        url = responder.url
        echo = asyncio.run(bare_loop(url, args.calls))
        runtime = asyncio.run(station_loop(url, args.calls))
    with (
        tempfile.TemporaryDirectory() as folder,
        server("csms", core=server_core, db=Path(folder) / "db", uvloop=args.uvloop) as csms_server,
    ):
        provision(csms_server.api_url, ["BENCH"])
        csms = asyncio.run(bare_loop(csms_server.url, args.calls))
    print(row("raw websockets responder", echo))
    print(row("bundled CSMS (validation on)", csms))
    median = sorted(echo)[len(echo) // 2], sorted(csms)[len(csms) // 2]
    print(f"ratio bundled CSMS / raw responder (p50): {median[1] / median[0]:.1f}x")
    print(row("responder, measured by the runtime", runtime))
    overhead = sorted(runtime)[len(runtime) // 2] - median[0]
    print(f"timing overhead per measured call (p50 runtime - p50 bare loop): {overhead * 1e6:.1f} µs")
    print(f"bookkeeping CPU per call outside the timed window: {bookkeeping_cpu_us(20000):.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
