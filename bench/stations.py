"""Benchmark: how many connected, idle stations one simulator process holds, and the memory each costs.

``--stations N`` stations per process (simulator.fleet, no drivers) connect to raw websockets responders (one
responder process per simulator process: a process may hold at most RLIMIT_NOFILE sockets) and boot; once every
station is registered and its boot report answered, the resident memory of the process is read again. Printed:
stations connected, RSS before and after, and the RSS per connected idle station. ``--processes 2`` runs two
such processes side by side (the whole machine).

    .venv/bin/python bench/stations.py --stations 10000 [--processes 2]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import sys
import time
from contextlib import ExitStack

from common import print_environment, raise_file_limit, rss_bytes, server

from simulator.fleet import Fleet, FleetSettings


async def hold(url: str, stations: int, first: int, ramp_s: float) -> dict[str, float]:
    gc.collect()
    before = rss_bytes()
    fleet = Fleet(FleetSettings(endpoint_url=url, stations=stations, first_index=first, ramp_s=ramp_s))
    started = time.monotonic()
    run = asyncio.create_task(fleet.run())
    while sum(1 for s in fleet.stations if s.model.registration == "Accepted" and not s.model.queued()) < stations:
        if time.monotonic() - started > 600:
            break
        await asyncio.sleep(0.5)
    connected_s = time.monotonic() - started
    await asyncio.sleep(2)
    gc.collect()
    after = rss_bytes()
    connected = sum(1 for s in fleet.stations if s.state == "connected")
    fleet.stop()
    await run
    return {"connected": connected, "before": before, "after": after, "connected_s": connected_s}


def child(url: str, stations: int, first: int, ramp_s: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    raise_file_limit()
    out.put(asyncio.run(hold(url, stations, first, ramp_s)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=10000, help="per process")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--ramp", type=float, default=20.0)
    args = parser.parse_args()
    print_environment("connected idle stations per simulator process")
    print(f"file descriptors per process: {raise_file_limit()}")
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    with ExitStack() as stack:
        urls = [stack.enter_context(server("responder")).url for _ in range(args.processes)]
        children = [
            context.Process(target=child, args=(url, args.stations, number * args.stations, args.ramp, out))
            for number, url in enumerate(urls)
        ]
        for process in children:
            process.start()
        results = [out.get() for _ in children]
        for process in children:
            process.join()
    total = 0
    for number, result in enumerate(results, start=1):
        per_station = (result["after"] - result["before"]) / max(1, result["connected"])
        total += int(result["connected"])
        print(
            f"process {number}: {int(result['connected'])} stations connected and booted in "
            f"{result['connected_s']:.1f} s; RSS {result['before'] / 2**20:.1f} -> {result['after'] / 2**20:.1f} MiB; "
            f"{per_station / 1024:.1f} KiB per connected idle station"
        )
    print(f"total: {total} connected idle stations on this machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
