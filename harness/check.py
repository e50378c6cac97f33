"""``ocpp-harness check``: a pre-flight of a target file, in seconds, before a run can blame anyone.

It reaches every endpoint (TCP, then the websocket handshake with the ``ocpp1.6`` subprotocol and the station's
Basic credentials, OCPP-J 1.6 §3.1-3.2, whitepaper A00.FR.202), boots each station (BootNotification, OCPP 1.6
§4.2), and tries every driver request with harmless values: the provisioning a run would do, a token the run does
not use (created, and read back where the target has ``read_token``), a GetConfiguration trigger to a connected
station (OCPP 1.6 §5.8, read-only), the AQ-1 boot answer and its reset to Accepted, and the case hooks. Each item
gets a verdict line with the HTTP exchange (secrets masked). The station side is the engine and the websocket
loop of a run, replaying a probe scenario built here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from harness.config import Target
from harness.drivers import Driver, DriverDefaults, DriverOutcome, make_driver
from harness.drivers.http import HttpDriver
from harness.runner import station_url
from harness.scenario.model import Configure, Exchange, ExpectCall, Location, Scenario, Trigger
from harness.session import Case, replay_case

CHECK_WAIT_S = 10.0  # the longest the check waits for anything, so a broken target is reported in seconds
EXIT_OK, EXIT_FAILED, EXIT_UNREACHABLE = 0, 1, 3
_TRIGGER_ANSWERED = "check: trigger answered"  # the probe's last step: wait for the API's answer to the trigger
_PASS_ANSWER_CHARS = 80
_HERE = Location("<ocpp-harness check>", 1, 1)


@dataclass(frozen=True)
class Item:
    verdict: Literal["PASS", "FAIL", "SKIP"]
    name: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.verdict:<4}  {self.name}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class CheckResult:
    items: tuple[Item, ...]
    unreachable: bool
    duration_s: float

    @property
    def exit_code(self) -> int:
        if self.unreachable:
            return EXIT_UNREACHABLE
        return EXIT_FAILED if any(item.verdict == "FAIL" for item in self.items) else EXIT_OK

    def summary(self) -> str:
        counts = {verdict: sum(item.verdict == verdict for item in self.items) for verdict in ("PASS", "FAIL", "SKIP")}
        verdict = "unreachable" if self.unreachable else ("FAILED" if counts["FAIL"] else "ok")
        return (
            f"check {verdict}: {counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped "
            f"in {self.duration_s:.2f} s"
        )


async def tcp_probe(url: str, timeout_s: float) -> str | None:
    """None when ``url``'s host accepts a TCP connection, else why not (one line)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme in ("wss", "https") else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port), timeout_s)
    except (OSError, TimeoutError) as exc:
        return f"{exc.__class__.__name__} {exc}".strip()
    writer.close()
    return None


async def http_probe(url: str, timeout_s: float) -> str | None:
    """None when ``url``'s server answers a plain HTTP request with an HTTP status line within ``timeout_s``, else
    why not (one line): a socket that is accepted but never answered, or answered with something that is not
    HTTP, is no CSMS the harness can reach (RFC 6455 §4.1: the handshake is HTTP). wss:// is left to the TLS
    checks; the path is the endpoint's own, without a station id, so no station connection is touched."""
    parts = urlsplit(url)
    if parts.scheme != "ws":
        return None
    port = parts.port or 80
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(parts.hostname, port)
            try:
                host = f"{parts.hostname}:{port}"
                writer.write(f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
                await writer.drain()
                status_line = await reader.readline()
            finally:
                writer.close()
    except TimeoutError:
        return f"it accepted the connection but sent no HTTP answer within {timeout_s:g} s"
    except OSError as exc:
        return f"{exc.__class__.__name__} {exc}".strip()
    if not status_line.startswith(b"HTTP/1."):
        return f"it answered something that is not HTTP: {status_line[:40]!r}"
    return None


def bounded(target: Target) -> Target:
    """The target with every wait capped at :data:`CHECK_WAIT_S`."""
    timeouts = target.timeouts
    return replace(
        target,
        timeouts=replace(
            timeouts,
            response_s=min(timeouts.response_s, CHECK_WAIT_S),
            step_s=min(timeouts.step_s, CHECK_WAIT_S),
            connect_s=min(timeouts.connect_s, CHECK_WAIT_S),
        ),
        driver=replace(target.driver, timeout_s=min(target.driver.timeout_s, CHECK_WAIT_S)),
    )


def _outcome_item(name: str, outcome: DriverOutcome) -> Item:
    """A request's verdict line: the exchange, with the answer cut short when it passed."""
    if outcome.ok and len(outcome.answer) > _PASS_ANSWER_CHARS:
        outcome = replace(outcome, answer=outcome.answer[:_PASS_ANSWER_CHARS] + "…")
    detail = outcome.exchange or outcome.detail
    if outcome.exchange and outcome.detail:
        detail += f" ({outcome.detail})"
    return Item("PASS" if outcome.ok else "FAIL", name, detail)


class _Recorder(DriverDefaults):
    """The target's driver as the probe replay sees it: it keeps the trigger's outcome, and the probe's last
    step waits for it, so the station stays connected until the API has answered (an API may answer only once
    the station has)."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.outcome: DriverOutcome | None = None
        self._answered = asyncio.Event()

    async def trigger(self, *, station_id: str, action: str, payload: dict[str, Any]) -> DriverOutcome:
        try:
            self.outcome = await self.driver.trigger(station_id=station_id, action=action, payload=payload)
        except Exception as exc:
            self.outcome = DriverOutcome(False, f"{type(exc).__name__}: {exc}", request=f"trigger {action}")
        finally:
            self._answered.set()
        return self.outcome

    async def configure(self, *, station_id: str, operation: str, payload: dict[str, Any]) -> DriverOutcome:
        await self._answered.wait()
        return DriverOutcome(True, request=operation)

    async def provision(self, target: Target) -> None:
        return None


def _probe(role: str, *, trigger: bool) -> Scenario:
    steps: list[Any] = [
        Exchange(location=_HERE, action="BootNotification", capture={"boot_status": "response.status"}),
    ]
    if trigger:
        steps += [
            Trigger(location=_HERE, action="GetConfiguration", payload={"key": ["HeartbeatInterval"]}),
            ExpectCall(location=_HERE, action="GetConfiguration"),
            Configure(location=_HERE, operation=_TRIGGER_ANSWERED),
        ]
    return Scenario(id="CHECK", title="pre-flight", profile="Core", path=_HERE.path, steps=tuple(steps), station=role)


class _Check:
    def __init__(self, target: Target, say: Callable[[Item], None]) -> None:
        self.target = target
        self.say = say
        self.items: list[Item] = []

    def add(self, item: Item) -> Item:
        self.items.append(item)
        self.say(item)
        return item

    async def reach(self) -> bool:
        """TCP to every websocket endpoint the stations use and to the API: False when one is unreachable."""
        target = self.target
        urls = {target.endpoint(station).ws_url: None for station in target.stations.values()}
        api = target.driver.base_url or target.endpoint(target.station("default")).api_url
        if target.driver.kind != "manual" and api:
            urls[api] = None
        ok = True
        for url in urls:
            reason = await tcp_probe(url, target.timeouts.connect_s)
            self.add(Item("FAIL" if reason else "PASS", f"reach {url}", reason or "TCP connection accepted"))
            ok = ok and reason is None
        return ok

    async def request(self, driver: HttpDriver, name: str, values: Mapping[str, Any], label: str = "") -> None:
        self.add(_outcome_item(label or name, await driver.request(name, values)))

    async def provisioning(self, driver: Driver) -> None:
        """What a run with ``provision: true`` does first, with the target's own values."""
        target = self.target
        if not target.provision:
            self.add(Item("SKIP", "provisioning", "provision: false (the CSMS must already know stations and tokens)"))
            return
        if not isinstance(driver, HttpDriver):
            try:
                await driver.provision(target)
            except Exception as exc:
                self.add(Item("FAIL", "provision", f"{type(exc).__name__}: {exc}"))
            else:
                self.add(Item("PASS", "provision", "the driver's provision() returned"))
            return
        for station in target.stations.values():
            if "create_station" in driver.requests:
                values = {"station_id": station.id, "connectors": station.connectors}
                await self.request(driver, "create_station", values, f"create_station {station.id}")
            if station.basic_auth_password:
                values = {"station_id": station.id, "password": station.basic_auth_password}
                await self.request(driver, "set_basic_auth_password", values, f"set_basic_auth_password {station.id}")
            if station.security_profile > 0 and "security_profile" in driver.requests:
                values = {"station_id": station.id, "operation": "provision"}
                values["payload"] = {"security_profile": station.security_profile}
                await self.request(driver, "security_profile", values, f"security_profile {station.id}")

    async def station(self, role: str, driver: Driver, *, trigger: bool) -> None:
        """Handshake and boot (and for the default station, the GetConfiguration trigger) in one connection."""
        target = self.target
        station = target.station(role)
        url = station_url(target.endpoint(station), station)
        recorder = _Recorder(driver)
        engine = await replay_case(target, Case(_probe(role, trigger=trigger)), driver=recorder, on_record=_ignore)
        outcome = engine.outcome
        assert outcome is not None, "replay returns only when the engine has an outcome"
        opened = [r.text for r in engine.records if r.direction == "*" and r.text.startswith("connected to ")]
        if not opened or not opened[0].endswith("(subprotocol 'ocpp1.6')"):
            self.add(Item("FAIL", f"websocket {station.id}", outcome.message or url))
            return
        passed = {record.index for record in engine.step_records if record.status == "passed"}
        auth = f", Basic auth as {station.id}" if station.security_profile in (1, 2) else ""
        self.add(Item("PASS", f"websocket {station.id}", f"{url}, subprotocol ocpp1.6{auth}"))
        if 1 not in passed:
            self.add(Item("FAIL", f"boot {station.id}", outcome.message or "no BootNotification.conf"))
            return
        status = engine.variables.get("boot_status")
        self.add(Item("PASS", f"boot {station.id}", f"BootNotification.conf status {status}"))
        if not trigger:
            return
        answered = recorder.outcome or DriverOutcome(False, outcome.message or "the driver did not answer")
        self.add(_outcome_item("trigger GetConfiguration", answered))
        if not answered.ok:
            return
        if 3 in passed:
            self.add(Item("PASS", "GetConfiguration reached the station", f"the CSMS sent it to {station.id}"))
        else:
            self.add(Item("FAIL", "GetConfiguration reached the station", outcome.message or ""))

    async def tokens(self, driver: HttpDriver) -> None:
        target = self.target
        if not target.provision:
            return
        id_tag = _unused_token(target)
        values = driver.token_values(id_tag, "Accepted", token_type="central")
        await self.request(driver, "create_token", values, f"create_token {id_tag}")
        if "read_token" in driver.requests:
            await self.request(driver, "read_token", values, f"read_token {id_tag}")
        else:
            self.add(Item("SKIP", "read_token", "no driver.requests.read_token (optional: reads a token back)"))

    async def boot_answer(self, driver: Driver) -> None:
        """AQ-1's configure operation, then its reset, on the station the AQ-1 scenarios use."""
        target = self.target
        if "AQ-1" not in target.additional_questions:
            self.add(Item("SKIP", "boot_answer", "the target does not declare AQ-1"))
            return
        station = target.stations.get("boot") or target.station("default")
        for label, payload in (
            ("boot_answer", {"status": "Pending", "interval_s": 10, "accept_after_boots": 1}),
            ("boot_answer reset", {"status": "Accepted"}),
        ):
            try:
                outcome = await driver.configure(station_id=station.id, operation="boot_answer", payload=payload)
            except Exception as exc:
                outcome = DriverOutcome(False, f"{type(exc).__name__}: {exc}")
            self.add(_outcome_item(f"{label} {station.id}", outcome))

    def coverage(self, driver: HttpDriver, scenarios: Iterable[Scenario]) -> None:
        """Every trigger and configure operation the run would ask for, cleanups included, has a request (a route,
        the fallback trigger, or a named request), so none of them becomes an ERROR (or a cleanup left undone) for
        a missing template."""
        target = self.target
        steps = [
            step
            for scenario in scenarios
            if scenario.profile in target.profiles
            and scenario.additional_question in (None, *target.additional_questions)
            for step in (*scenario.steps, *scenario.cleanup)
        ]
        actions = sorted({step.action for step in steps if isinstance(step, Trigger)})
        operations = sorted({step.operation for step in steps if isinstance(step, Configure)})
        missing = [a for a in actions if a not in driver.routes and "trigger" not in driver.requests]
        missing += [o for o in operations if o not in driver.requests]
        if missing:
            keys = ", ".join(f"driver.routes.{m}" if m in actions else f"driver.requests.{m}" for m in missing)
            self.add(Item("FAIL", "requests for the scenarios", f"none for {', '.join(missing)}: add {keys}"))
        else:
            used = ", ".join([*actions, *operations]) or "none"
            self.add(Item("PASS", "requests for the scenarios", f"every one they make has a template ({used})"))

    async def hooks(self, driver: HttpDriver) -> None:
        role = "default"
        values = {"case_id": "CHECK", "scenario_id": "CHECK", "station_id": self.target.station(role).id}
        for name, extra in (("before_case", {}), ("after_case", {"verdict": "PASS"})):
            if name in driver.requests:
                await self.request(driver, name, {**values, **extra})


def _ignore(record: Any) -> None:
    return None


def _unused_token(target: Target) -> str:
    """An idTag no scenario uses: the invalid token with a prefix (at most 20 characters, CiString20Type)."""
    used = {target.invalid_token, target.parent_id_tag}
    used |= {v for t in target.tokens.values() for v in (t.valid, t.blocked, t.expired, t.invalid)}
    for prefix in ("CHECK-", "CHK-", "C-"):
        candidate = (prefix + target.invalid_token)[:20]
        if candidate not in used:
            return candidate
    return "OCPP-HARNESS-CHECK"


async def run_check(target: Target, scenarios: Iterable[Scenario], *, say: Callable[[Item], None]) -> CheckResult:
    """Every item of the pre-flight for a run of ``scenarios``, said as it is decided; stops after the
    reachability items when an endpoint is unreachable."""
    started = time.monotonic()
    target = bounded(target)
    check = _Check(target, say)
    if not await check.reach():
        return CheckResult(tuple(check.items), True, time.monotonic() - started)
    driver = make_driver(target)
    manual = target.driver.kind == "manual"
    try:
        if isinstance(driver, HttpDriver):
            check.coverage(driver, scenarios)
        if manual:
            check.add(Item("SKIP", "driver requests", "driver manual: an operator makes the CSMS act"))
        else:
            await check.provisioning(driver)
        for role in sorted(target.stations, key=lambda role: role != "default"):
            await check.station(role, driver, trigger=role == "default" and not manual)
        if isinstance(driver, HttpDriver):
            await check.tokens(driver)
        if not manual:
            await check.boot_answer(driver)
        if isinstance(driver, HttpDriver):
            await check.hooks(driver)
    finally:
        await driver.aclose()
    return CheckResult(tuple(check.items), False, time.monotonic() - started)
