"""Benchmark: throughput of the bundled CSMS on one core, with its schema validation on (it always is).

The bundled CSMS runs in its own process pinned to core 0; ``--stations`` connections on core 1 each keep one
CALL in flight (OCPP-J 1.6 §4.1.1: as a charger would) for ``--seconds``. Printed per action: answered CALLs per
second, and the client's CPU share (a client near 100 % would be measuring itself, not the CSMS).

    .venv/bin/python bench/csms_throughput.py [--stations 50] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from common import pin, print_environment, provision, server

from ocppj.frames import encode_call
from simulator.transport import LinkSettings, open_link, station_url

PAYLOADS = {
    "Heartbeat": {},
    "StatusNotification": {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
    "MeterValues": {
        "connectorId": 1,
        "meterValue": [{"timestamp": "2026-01-01T00:00:00.000Z", "sampledValue": [{"value": "1234"}]}],
    },
}


async def hammer(url: str, station_id: str, action: str, until: float) -> int:
    link = await open_link(LinkSettings(url=station_url(url, station_id)))
    boot = {"chargePointVendor": "bench", "chargePointModel": "bench"}
    await link.send(encode_call("0", "BootNotification", boot).raw)
    await link.receive()
    answered = 0
    try:
        while time.monotonic() < until:
            await link.send(encode_call(str(answered + 1), action, PAYLOADS[action]).raw)
            if await link.receive() is None:
                break
            answered += 1
    finally:
        await link.close()
    return answered


async def run(url: str, stations: int, action: str, seconds: float) -> tuple[float, float]:
    until = time.monotonic() + seconds
    cpu0, wall0 = time.process_time(), time.monotonic()
    counts = await asyncio.gather(*(hammer(url, f"TP{n:04d}", action, until) for n in range(stations)))
    wall = time.monotonic() - wall0
    return sum(counts) / wall, (time.process_time() - cpu0) / wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    print_environment("bundled CSMS throughput on one core")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    pin(1 if cores > 1 else None)
    with tempfile.TemporaryDirectory() as folder, server("csms", core=0, db=Path(folder) / "t.sqlite3") as url:
        provision(url.replace("ws://", "http://").rsplit("/ocpp", 1)[0], [f"TP{n:04d}" for n in range(args.stations)])
        for action in PAYLOADS:
            rate, client_cpu = asyncio.run(run(url, args.stations, action, args.seconds))
            print(
                f"{action:20} {rate:8.0f} CALLs/s answered by the CSMS on one core "
                f"({args.stations} stations, one CALL in flight each; client CPU {client_cpu:.0%} of core 1)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
