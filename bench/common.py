"""What the benchmarks share: the machine and versions they print, servers in their own processes (the bundled
CSMS, or a raw websockets responder that answers every CALL at once), and percentiles.

Servers run in processes of their own, so that a figure never mixes the server's CPU with the client's; with
``--pin`` each side is pinned to its own core (``os.sched_setaffinity``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import resource
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.load import environment  # noqa: E402

RESPONDER = r"""
import asyncio, json, sys
from websockets.asyncio.server import serve
ANSWERS = {
    "BootNotification": {"status": "Accepted", "currentTime": "2026-01-01T00:00:00.000Z", "interval": 3600},
    "Heartbeat": {"currentTime": "2026-01-01T00:00:00.000Z"},
}
async def answer(ws):
    async for text in ws:
        frame = json.loads(text)
        if frame[0] == 2:
            await ws.send(json.dumps([3, frame[1], ANSWERS.get(frame[2], {})]))
async def main():
    async with serve(answer, "127.0.0.1", 0, subprotocols=["ocpp1.6"], ping_interval=None, compression=None,
                     max_queue=4, backlog=4096) as server:
        print(f"listening ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/ocpp", flush=True)
        await asyncio.Future()
asyncio.run(main())
"""


def print_environment(title: str) -> None:
    print(f"== {title}")
    print("environment:", ", ".join(f"{k}={v}" for k, v in environment().items()))
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))


def raise_file_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def pin(core: int | None) -> None:
    if core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})


def _wait_for_url(process: subprocess.Popen[str], pattern: str) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        match = re.search(pattern, line)
        if match:
            return match.group(1)
    raise RuntimeError("the server did not start")


API_TOKEN = secrets.token_urlsafe(16)  # the bundled CSMS's API token for this benchmark run


@dataclass(frozen=True)
class Served:
    url: str  # ws://.../ocpp
    pid: int

    @property
    def api_url(self) -> str:
        return self.url.replace("ws://", "http://").rsplit("/ocpp", 1)[0]

    def cpu_s(self) -> float:
        """CPU time the server process has used so far (user + system, every thread)."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(kind: str, *, core: int | None = None, db: Path | None = None, uvloop: bool = False) -> Iterator[Served]:
    """``kind`` "csms" (the bundled CSMS, lenient mode; ``uvloop``: on uvloop's event loop) or "responder";
    yields its URL and process id."""

    def preexec() -> None:
        raise_file_limit()
        pin(core)

    if uvloop and importlib.util.find_spec("uvloop") is None:
        raise SystemExit("error: --uvloop needs uvloop, which ocpp-harness does not install: pip install uvloop")
    if kind == "csms":
        assert db is not None
        run = "import sys, uvloop; uvloop.install(); " if uvloop else "import sys; "
        run += "from harness.cli import main; sys.exit(main())"
        command = [sys.executable, "-c", run, "csms", "--port", "0", "--db", str(db)]
        pattern = r"CSMS listening on (ws://\S+)"
    else:
        command = [sys.executable, "-c", RESPONDER]
        pattern = r"listening (ws://\S+)"
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=preexec,
        cwd=ROOT,
        env={**os.environ, "OCPP_HARNESS_CSMS_TOKEN": API_TOKEN},
    )
    try:
        yield Served(_wait_for_url(process, pattern), process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _post(url: str, body: object) -> None:
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {API_TOKEN}")
    urllib.request.urlopen(request, timeout=10).close()


def provision(api_url: str, station_ids: Sequence[str], *, id_tags: Sequence[str] = ()) -> None:
    """Stations, and Accepted tokens."""
    for station_id in station_ids:
        _post(f"{api_url}/api/stations", {"id": station_id})
    for id_tag in id_tags:
        _post(f"{api_url}/api/tokens", {"id_tag": id_tag, "status": "Accepted"})


def percentile(ordered: Sequence[float], percent: float) -> float:
    """Nearest rank (as harness.timing)."""
    rank = max(1, -(-int(percent * len(ordered)) // 100))
    return ordered[min(len(ordered), rank) - 1]


def row(name: str, samples_s: Sequence[float]) -> str:
    ordered = sorted(samples_s)
    cells = [percentile(ordered, p) * 1e6 for p in (50, 95, 99)] + [ordered[-1] * 1e6]
    return f"{name:34} n={len(ordered):6d}  " + "  ".join(
        f"{label} {value:9.1f} µs" for label, value in zip(("p50", "p95", "p99", "max"), cells, strict=True)
    )


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
