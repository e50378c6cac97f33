"""``ocpp-harness load``: a fleet against any CSMS, one process per core, with a progress line, a summary, and
a reconciliation of the transactions at the end.

The parent process runs no station: it provisions the stations and tokens when the CSMS offers the bundled
CSMS's API (``POST /api/stations``, ``POST /api/tokens``), starts one child per process with a slice of the fleet
(station indexes, seeds and token ids do not depend on the split), merges their progress into one line per
second and their statistics at the end, then checks every transaction a station had acknowledged against
``GET /api/transactions``: each StartTransaction the CSMS answered must be there, and each answered
StopTransaction must show as stopped. Ctrl-C stops the fleet cleanly (every process gets the signal).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import platform
import queue
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from simulator.fleet import Fleet, FleetSettings, Progress
from simulator.stats import FleetStats, LatencyHistogram, ProcessLoad

_API_CONCURRENCY = 16
# The bearer token of the bundled CSMS's API: the variable the bundled CSMS itself reads (csms.access).
API_TOKEN_ENV = "OCPP_HARNESS_CSMS_TOKEN"
_SATURATED_CPU_SHARE = 0.9  # a generator process above this is too busy to measure a CSMS faithfully
_SATURATED_LAG_S = 0.010


def environment() -> dict[str, str]:
    """Machine, Python and package versions: printed with every figure."""
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": str(os.cpu_count()),
    }
    for package in ("ocpp-harness", "websockets", "aiohttp", "locust"):
        try:
            info[package] = version(package)
        except PackageNotFoundError:
            info[package] = "not installed"
    return info


def default_api_url(endpoint_url: str) -> str:
    """``ws://host:port/...`` -> ``http://host:port`` (``wss`` -> ``https``): where the bundled CSMS serves its API."""
    parts = urlsplit(endpoint_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return f"{scheme}://{parts.netloc}"


@dataclass(frozen=True)
class CsmsApi:
    """An API like the bundled CSMS's at ``url``, for provisioning and reconciliation; ``token``: its bearer token
    (``Authorization: Bearer``), None to send none."""

    url: str
    token: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.token is None else {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True, kw_only=True)
class LoadSettings:
    fleet: FleetSettings
    duration_s: float
    processes: int = 1
    api: CsmsApi | None = None


@dataclass
class Reconciliation:
    """Acknowledged transactions checked against the CSMS's own record."""

    checked: bool
    detail: str
    acknowledged: int = 0
    acknowledged_stopped: int = 0
    missing: list[tuple[str, int]] = field(default_factory=list)
    not_stopped: list[tuple[str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.checked or (not self.missing and not self.not_stopped)

    def as_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "detail": self.detail,
            "acknowledged": self.acknowledged,
            "acknowledged_stopped": self.acknowledged_stopped,
            "missing": len(self.missing),
            "missing_examples": [list(item) for item in self.missing[:20]],
            "not_stopped": len(self.not_stopped),
            "not_stopped_examples": [list(item) for item in self.not_stopped[:20]],
            "ok": self.ok,
        }


@dataclass
class LoadResult:
    settings: LoadSettings
    stats: FleetStats
    reconciliation: Reconciliation
    wall_s: float
    environment: dict[str, str]
    notes: list[str] = field(default_factory=list)

    def saturated(self) -> list[str]:
        """Why the generator's own timing may be in the latencies, if it may."""
        reasons = []
        for number, process in enumerate(self.stats.processes, start=1):
            if process.cpu_share > _SATURATED_CPU_SHARE:
                reasons.append(f"process {number} used {process.cpu_share:.0%} of a core")
            if process.lag.count and process.lag.percentile_s(99) > _SATURATED_LAG_S:
                reasons.append(
                    f"process {number}'s event loop ran {process.lag.percentile_s(99) * 1000:.1f} ms late (p99)"
                )
        return reasons

    def as_json(self) -> dict[str, Any]:
        fleet = self.settings.fleet
        stats = self.stats
        return {
            "settings": {
                "url": fleet.endpoint_url,
                "stations": fleet.stations,
                "connectors": fleet.connectors,
                "duration_s": self.settings.duration_s,
                "ramp_s": fleet.ramp_s,
                "seed": fleet.seed,
                "processes": self.settings.processes,
                "api_url": None if self.settings.api is None else self.settings.api.url,
                "behaviour": None if fleet.behaviour is None else vars(fleet.behaviour),
                "config": dict(fleet.config),
                "response_timeout_s": fleet.runtime.response_timeout_s,
            },
            "environment": self.environment,
            "wall_s": round(self.wall_s, 3),
            "calls": stats.calls(),
            "latency": {
                "all": stats.overall().summary(),
                **{action: histogram.summary() for action, histogram in sorted(stats.latency.items())},
            },
            "histograms": {action: histogram.as_json() for action, histogram in sorted(stats.latency.items())},
            "outcomes": stats.outcomes,
            "errors": stats.errors(),
            "connections": stats.connections,
            "csms_calls": stats.csms_calls,
            "undelivered": stats.undelivered,
            "generator": [
                {
                    "cpu_s": round(p.cpu_s, 3),
                    "wall_s": round(p.wall_s, 3),
                    "cpu_share": round(p.cpu_share, 3),
                    "loop_lag": p.lag.summary(),
                }
                for p in stats.processes
            ],
            "generator_saturated": self.saturated(),
            "reconciliation": self.reconciliation.as_json(),
            "notes": self.notes,
        }


# ------------------------------------------------------------------ the bundled CSMS's API


async def api_problem(api: CsmsApi) -> str | None:
    """Why ``api`` cannot be used as the bundled CSMS's (None: it answers ``GET /api/settings`` as that one does);
    a refused token says so, since the fix is the user's."""
    try:
        async with (
            aiohttp.ClientSession(headers=api.headers) as session,
            session.get(f"{api.url}/api/settings", timeout=aiohttp.ClientTimeout(total=5)) as response,
        ):
            if response.status == 401:
                given = "its token was refused" if api.token else "it needs a token"
                return f"{api.url} answered HTTP 401: {given} (--api-token, or {API_TOKEN_ENV})"
            if response.status == 200 and isinstance(await response.json(), dict):
                return None
            return f"{api.url} offers no bundled-CSMS API (GET /api/settings: HTTP {response.status})"
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return f"{api.url} offers no bundled-CSMS API ({type(exc).__name__})"


async def _post_all(api: CsmsApi, path: str, bodies: Iterable[dict[str, Any]]) -> list[str]:
    """POST every body, a few at a time; the problems, if any."""
    problems: list[str] = []
    limit = asyncio.Semaphore(_API_CONCURRENCY)

    async def post(session: aiohttp.ClientSession, body: dict[str, Any]) -> None:
        async with limit, session.post(f"{api.url}{path}", json=body) as response:
            if response.status >= 300:
                problems.append(f"POST {path} {body}: HTTP {response.status} {await response.text()}")

    async with aiohttp.ClientSession(headers=api.headers) as session, asyncio.TaskGroup() as group:
        for body in bodies:
            group.create_task(post(session, body))
    return problems


async def provision(api: CsmsApi, fleet: FleetSettings) -> list[str]:
    """The fleet's stations and their tokens (Accepted), and the Basic auth password when there is one."""
    stations = [{"id": fleet.station_id(index)} for index in fleet.indexes()]
    tokens = [
        {"id_tag": fleet.token_id(index, connector), "status": "Accepted"}
        for index in fleet.indexes()
        for connector in range(1, fleet.connectors + 1)
    ]
    problems = await _post_all(api, "/api/stations", stations)
    problems += await _post_all(api, "/api/tokens", tokens)
    if fleet.password is not None:
        passwords = [{"station_id": s["id"], "password": fleet.password} for s in stations]
        problems += await _post_all(api, "/api/octt/set-basic-auth-password", passwords)
    return problems


async def reconcile(api: CsmsApi, acknowledged: dict[tuple[str, int], bool]) -> Reconciliation:
    try:
        async with (
            aiohttp.ClientSession(headers=api.headers) as session,
            session.get(f"{api.url}/api/transactions") as response,
        ):
            if response.status != 200:
                return Reconciliation(False, f"GET /api/transactions answered HTTP {response.status}")
            recorded = await response.json()
    except (aiohttp.ClientError, ValueError) as exc:
        return Reconciliation(False, f"GET /api/transactions failed: {exc}")
    known = {(tx["station_id"], tx["id"]): tx.get("stopped_at") is not None for tx in recorded}
    missing = sorted(key for key in acknowledged if key not in known)
    not_stopped = sorted(key for key, stopped in acknowledged.items() if stopped and known.get(key) is False)
    return Reconciliation(
        True,
        f"{len(acknowledged)} acknowledged transactions checked against {len(known)} recorded by the CSMS",
        acknowledged=len(acknowledged),
        acknowledged_stopped=sum(acknowledged.values()),
        missing=missing,
        not_stopped=not_stopped,
    )


# ------------------------------------------------------------------ running the fleet


@dataclass
class FleetProgress:
    """The progress of the whole fleet: the last snapshot of every process, merged."""

    elapsed_s: float = 0.0
    stations: int = 0
    started: int = 0
    connected: int = 0
    calls: int = 0
    errors: int = 0
    rate_per_s: float = 0.0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    lag_p99_s: float = 0.0
    cpu_shares: list[float] = field(default_factory=list)

    def line(self) -> str:
        p95 = f"{self.latency.percentile_s(95) * 1000:.1f} ms" if self.latency.count else "-"
        cpu = "/".join(f"{share:.0%}" for share in self.cpu_shares)
        return (
            f"{self.elapsed_s:5.0f} s  stations {self.connected}/{self.started}/{self.stations} connected/started/all"
            f"  calls {self.calls} ({self.rate_per_s:.0f}/s)  p95 {p95}  errors {self.errors}"
            f"  generator CPU {cpu} loop lag p99 {self.lag_p99_s * 1000:.1f} ms"
        )


def _merge(total: int, snapshots: dict[int, Progress]) -> FleetProgress:
    merged = FleetProgress(stations=total)
    for snapshot in snapshots.values():
        merged.elapsed_s = max(merged.elapsed_s, snapshot.elapsed_s)
        merged.started += snapshot.started
        merged.connected += snapshot.connected
        merged.calls += snapshot.calls
        merged.errors += snapshot.errors
        merged.rate_per_s += snapshot.interval_calls / snapshot.interval_s if snapshot.interval_s else 0.0
        merged.latency.merge(snapshot.interval_latency)
        if snapshot.interval_lag.count:
            merged.lag_p99_s = max(merged.lag_p99_s, snapshot.interval_lag.percentile_s(99))
        merged.cpu_shares.append(snapshot.interval_cpu_share)
    return merged


async def _run_fleet(
    fleet_settings: FleetSettings, duration_s: float, on_progress: Callable[[Progress], None]
) -> FleetStats:
    fleet = Fleet(fleet_settings)
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread, or not POSIX
        loop.add_signal_handler(signal.SIGINT, fleet.stop)
        loop.add_signal_handler(signal.SIGTERM, fleet.stop)
    return await fleet.run(duration_s=duration_s, on_progress=on_progress)


def _child(fleet_settings: FleetSettings, duration_s: float, number: int, out: Any) -> None:
    """One generator process: runs its slice and reports progress, then its statistics."""
    try:
        stats = asyncio.run(
            _run_fleet(fleet_settings, duration_s, lambda progress: out.put(("progress", number, progress)))
        )
    except BaseException as exc:  # reported to the parent, which says so
        out.put(("failed", number, f"{type(exc).__name__}: {exc}"))
        raise
    out.put(("done", number, stats))


def split(total: int, parts: int) -> list[tuple[int, int]]:
    """(first index, count) of each of ``parts`` slices of ``total`` stations, as even as can be."""
    parts = max(1, min(parts, total))
    size, extra = divmod(total, parts)
    slices, first = [], 0
    for number in range(parts):
        count = size + (1 if number < extra else 0)
        slices.append((first, count))
        first += count
    return slices


def run_load(settings: LoadSettings, *, on_progress: Callable[[FleetProgress], None]) -> LoadResult:
    """Provision, run the fleet over ``settings.processes`` processes, merge, reconcile."""
    fleet = settings.fleet
    notes: list[str] = []
    api = settings.api
    problem = None if api is None else asyncio.run(api_problem(api))
    if problem is not None:
        notes.append(f"{problem}: stations not provisioned, transactions not reconciled")
        api = None
    if api is not None:
        problems = asyncio.run(provision(api, fleet))
        if problems:
            notes.append(f"provisioning: {len(problems)} problem(s), the first: {problems[0]}")
    started = time.monotonic()
    stats = FleetStats()
    slices = split(fleet.stations, settings.processes)
    base = fleet.first_index
    if len(slices) == 1:
        snapshots: dict[int, Progress] = {}

        def single(progress: Progress) -> None:
            snapshots[0] = progress
            on_progress(_merge(fleet.stations, snapshots))

        stats.merge(asyncio.run(_run_fleet(fleet, settings.duration_s, single)))
    else:
        stats.merge(_run_processes(settings, slices, base, on_progress, notes))
    wall_s = time.monotonic() - started
    if api is None:
        reconciliation = Reconciliation(False, "not checked: no usable API like the bundled CSMS's")
    else:
        reconciliation = asyncio.run(reconcile(api, stats.transactions))
    return LoadResult(settings, stats, reconciliation, wall_s, environment(), notes)


def _run_processes(
    settings: LoadSettings,
    slices: list[tuple[int, int]],
    base: int,
    on_progress: Callable[[FleetProgress], None],
    notes: list[str],
) -> FleetStats:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    children = [
        context.Process(
            target=_child,
            args=(settings.fleet.sliced(base + first, count), settings.duration_s, number, out),
            name=f"ocpp-harness-load-{number}",
        )
        for number, (first, count) in enumerate(slices)
    ]
    for child in children:
        child.start()
    stats = FleetStats()
    snapshots: dict[int, Progress] = {}
    pending = set(range(len(children)))
    while pending:
        try:
            kind, number, payload = out.get(timeout=1.0)
        except queue.Empty:
            for number, child in enumerate(children):
                if number in pending and not child.is_alive():
                    pending.discard(number)
                    notes.append(f"process {number} ended without its statistics (exit code {child.exitcode})")
            continue
        except KeyboardInterrupt:
            continue  # the children got the signal too and are stopping cleanly: wait for their statistics
        if kind == "progress":
            snapshots[number] = payload
            if len(snapshots) == len(children) or number == 0:
                on_progress(_merge(settings.fleet.stations, snapshots))
        elif kind == "done":
            pending.discard(number)
            stats.merge(payload)
        else:
            pending.discard(number)
            notes.append(f"process {number} failed: {payload}")
    for child in children:
        child.join(timeout=30)
    return stats


def summary(result: LoadResult) -> str:
    """The summary printed at the end: per action, then errors, generator, reconciliation."""
    stats = result.stats
    lines = [
        f"load: {result.settings.fleet.stations} stations x {result.settings.fleet.connectors} connectors against "
        f"{result.settings.fleet.endpoint_url}, {result.wall_s:.1f} s, {stats.calls()} CALLs, "
        f"{len(stats.processes)} generator process(es)",
        "",
        f"{'response time (ms)':22} {'n':>8} {'min':>8} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}",
    ]
    rows = [("all", stats.overall()), *sorted(stats.latency.items())]
    for name, histogram in rows:
        if not histogram.count:
            continue
        cells = [histogram.min_s, *(histogram.percentile_s(p) for p in (50, 95, 99)), histogram.max_s]
        lines.append(f"{name:22} {histogram.count:8d} " + " ".join(f"{1000 * c:8.2f}" for c in cells))
    errors = stats.errors()
    lines.append("")
    lines.append("errors: " + (", ".join(f"{k} {v}" for k, v in sorted(errors.items())) if errors else "none"))
    failed = {k: v for k, v in stats.connections.items() if k.startswith("failed")}
    lines.append(
        f"connections: {stats.connections.get('opened', 0)} opened, "
        f"{stats.connections.get('closed by the CSMS', 0)} closed by the CSMS"
        + ("".join(f", {k} {v}" for k, v in sorted(failed.items())))
    )
    if stats.undelivered:
        lines.append("undelivered at the stop: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.undelivered.items())))
    for number, process in enumerate(stats.processes, start=1):
        lag = process.lag
        lag_text = (
            f"p50 {lag.percentile_s(50) * 1000:.2f} ms, p99 {lag.percentile_s(99) * 1000:.2f} ms, max "
            f"{lag.max_s * 1000:.1f} ms"
            if lag.count
            else "-"
        )
        lines.append(f"generator process {number}: CPU {process.cpu_share:.0%} of a core, loop lag {lag_text}")
    for reason in result.saturated():
        lines.append(f"warning: the generator was saturated ({reason}): latencies include its own delays")
    rec = result.reconciliation
    if rec.checked:
        verdict = "ok" if rec.ok else "MISMATCH"
        lines.append(
            f"reconciliation {verdict}: {rec.detail}; {len(rec.missing)} missing, {len(rec.not_stopped)} stopped "
            "by the stations but open in the CSMS"
        )
        lines.extend(f"  missing: station {s} transaction {t}" for s, t in rec.missing[:10])
    else:
        lines.append(f"reconciliation: {rec.detail}")
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)


__all__ = ["LoadResult", "LoadSettings", "ProcessLoad", "run_load", "summary"]
