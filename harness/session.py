"""A run of scenarios against one target: the single engine under both the CLI and the pytest plugin.

A :class:`Session` starts the bundled CSMS when the target asks for it, provisions stations and tokens, runs one
case at a time (each in its own event loop, so pytest items and the CLI behave the same), writes a JSONL wire trace
per case, and at the end writes the reports.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from harness.config import TOKEN_TYPES, StationTarget, Target, scenario_variables
from harness.connect import perform as perform_connect
from harness.drivers import Driver, call_hook, make_driver
from harness.handshake import HandshakeProbes
from harness.outcomes import HarnessError, TargetError
from harness.report import write_reports
from harness.report.trace import TraceWriter
from harness.results import Finding, RunResult, ScenarioResult, Verdict
from harness.runner import Clock, LinkFactory, replay
from harness.scenario.engine import DriverOutcome, Engine, EngineSettings
from harness.scenario.model import Exchange, Location, Scenario
from simulator import transport
from simulator.model import ConnectionSettings, StationSpec
from simulator.transport import LinkSettings

if TYPE_CHECKING:
    from csms.pki import PkiFiles

_LAST_FRAMES = 12
CLEANUP_RULE = "each case leaves the CSMS as it found it (OCTT D24 §1.2 general preconditions)"


@dataclass(frozen=True)
class Case:
    """One runnable test: a scenario, for one token type when the scenario is parametrised by token type."""

    scenario: Scenario
    token_type: str | None = None

    @property
    def id(self) -> str:
        return f"{self.scenario.id}[{self.token_type}]" if self.token_type else self.scenario.id


def expand(scenarios: Iterable[Scenario], target: Target) -> list[Case]:
    """Cases for ``scenarios``: token-type parametrised scenarios run once per token type the target declares."""
    cases: list[Case] = []
    for scenario in scenarios:
        if "token_type" in scenario.parametrize:
            cases.extend(Case(scenario, kind) for kind in TOKEN_TYPES if kind in target.tokens)
        else:
            cases.append(Case(scenario))
    return cases


def shuffled(cases: Iterable[Case], seed: int) -> list[Case]:
    """The cases in an order decided by ``seed`` alone: a run that shows an order dependence (one case leaking
    state into the next) is repeated exactly with the same seed."""
    order = list(cases)
    random.Random(seed).shuffle(order)
    return order


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


class BundledCsms:
    """The bundled CSMS on its own event loop in a thread, for the whole session. ``api_token`` is the bearer
    token its API requires (csms.access); the harness's driver sends the same one."""

    def __init__(self, db_path: Path, *, strict: bool = False, api_token: str, pki: PkiFiles | None = None) -> None:
        self.db_path = db_path
        self.strict = strict
        self.api_token = api_token
        self.pki = pki  # serve security profiles 2 (TLS) and 3 (mutual TLS) with it; None: plain ws only
        self.ws_url = ""
        self.api_url = ""
        self.tls_urls: dict[int, str] = {}
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Future[None] | None = None
        self._thread = threading.Thread(target=self._main, name="bundled-csms", daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        from csms.app import CsmsServer
        from csms.tls import TlsSettings

        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()
        async with CsmsServer(
            host="127.0.0.1",
            port=0,
            db_path=self.db_path,
            strict=self.strict,
            api_token=self.api_token,
            tls=None if self.pki is None else TlsSettings.from_pki(self.pki),
        ) as server:
            self.ws_url, self.api_url = server.ws_url, server.api_url
            self.tls_urls = {profile: url for profile, url in server.endpoint_urls.items() if profile >= 2}
            self._ready.set()
            await self._stop

    @classmethod
    def start_for(cls, target: Target, db_path: Path) -> tuple[BundledCsms, Target]:
        """Start the CSMS a ``csms.bundled`` target asks for, and the target pointed at it: its URLs, and the API
        token as the driver's bearer token. A target that sets ``driver.auth.bearer`` chooses the token; else a
        fresh one is drawn for this run and never written anywhere."""
        auth = target.driver.auth
        token = auth.bearer if auth is not None and auth.bearer else secrets.token_urlsafe(32)
        pki = _bundled_pki(target, db_path.parent / "pki")
        csms = cls(db_path, strict=target.strict, api_token=token, pki=pki)
        csms.start()
        pointed = target.with_endpoint_urls(
            ws_url=csms.ws_url,
            api_url=csms.api_url,
            tls_urls=csms.tls_urls,
            ca_file=None if pki is None else str(pki.ca.certificate),
        ).with_api_token(token)
        return csms, pointed if pki is None else _with_pki(pointed, pki)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(timeout=30) or self._error is not None:
            raise HarnessError(f"the bundled CSMS did not start: {self._error!r}")

    def _release(self) -> None:
        if self._stop is not None and not self._stop.done():
            self._stop.set_result(None)

    def stop(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._release)
        self._thread.join(timeout=30)


def _bundled_pki(target: Target, folder: Path) -> PkiFiles | None:
    """The test PKI of a bundled CSMS whose target needs TLS (the Security profile, or a station on profile 2
    or 3): the one ``certs`` names, else one written for this run into ``folder`` with a client certificate per
    profile-3 station (the first one's are the bad certificates of the negative cases)."""
    from csms.pki import PkiError, PkiFiles, write_test_pki

    wanted = "Security" in target.profiles or any(s.security_profile >= 2 for s in target.stations.values())
    if not wanted:
        return None
    try:
        if target.certs is not None:
            return PkiFiles.read(Path(target.certs))
        ids = [s.id for s in target.stations.values() if s.security_profile == 3] or ["CP_1"]
        return write_test_pki(folder, station_ids=ids, force=True)
    except PkiError as exc:
        raise TargetError(f"{target.path}: the bundled CSMS's test PKI: {exc}") from None


def _with_pki(target: Target, pki: PkiFiles) -> Target:
    """The target with what the bundled CSMS's PKI gives: client certificates of its profile-3 stations that name
    none, the PKI folder, and as test data the root certificate (TC_075), a second root (the PKI's other root,
    TC_076) and the signed firmware image (TC_080)."""
    from cryptography.hazmat.primitives import serialization

    from csms.files import DEFAULT_FIRMWARE_NAME, firmware_image
    from csms.pki import sign_firmware

    stations = {
        role: replace(
            station,
            client_certificate=str(pki.stations[station.id].certificate),
            client_key=str(pki.stations[station.id].private_key),
        )
        if station.security_profile == 3 and station.client_certificate is None and station.id in pki.stations
        else station
        for role, station in target.stations.items()
    }
    data = target.test_data
    signing = pki.firmware_signing
    signature = data.firmware_signature
    if signature is None and data.firmware_url is not None and data.firmware_url.endswith("/" + DEFAULT_FIRMWARE_NAME):
        key = serialization.load_pem_private_key(signing.private_key.read_bytes(), password=None)
        signature = sign_firmware(firmware_image(DEFAULT_FIRMWARE_NAME), key)  # type: ignore[arg-type]
    test_data = replace(
        data,
        root_certificate=data.root_certificate or str(pki.ca.certificate),
        additional_root_certificate=data.additional_root_certificate or str(pki.bad.untrusted_ca.certificate),
        firmware_signature=signature,
        firmware_signing_certificate=data.firmware_signing_certificate or str(signing.certificate),
    )
    return replace(target, stations=stations, certs=str(pki.folder), test_data=test_data)


class Session:
    def __init__(
        self,
        target: Target,
        *,
        out_dir: Path,
        run_id: str | None = None,
        reproduce: Callable[[Case], str] | None = None,
    ) -> None:
        self.run_id = run_id or new_run_id()
        self.out_dir = out_dir
        self.target = target
        self.results: list[ScenarioResult] = []
        self.started_at = time.time()
        self._reproduce = reproduce or (lambda case: f"ocpp-harness run --target {target.path} -k '{case.id}'")
        self._csms: BundledCsms | None = None
        self._transaction_ids: dict[int, str] = {}  # every transactionId the CSMS gave in this run
        # station role -> transactions a case's cleanup could not stop (transactionId -> StartTransaction request)
        self._left_open: dict[str, dict[int, Mapping[str, Any]]] = {}
        self._last_case_ended: float | None = None

    def __enter__(self) -> Session:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if self.target.bundled:
            self._csms, self.target = BundledCsms.start_for(self.target, self.out_dir / "csms.sqlite3")
        if self.target.provision:
            asyncio.run(self._provision())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._csms is not None:
            self._csms.stop()

    async def _provision(self) -> None:
        driver = make_driver(self.target)
        try:
            await driver.provision(self.target)
        finally:
            await driver.aclose()

    def not_applicable_reason(self, scenario: Scenario) -> str | None:
        if scenario.profile not in self.target.profiles:
            return f"the target does not declare the {scenario.profile} profile"
        question = scenario.additional_question
        if question is not None and question not in self.target.additional_questions:
            return f"the target does not declare {question} (additional_questions)"
        return None

    def run(self, case: Case) -> ScenarioResult:
        scenario = case.scenario
        started = time.monotonic()
        reason = self.not_applicable_reason(scenario)
        if reason is not None:
            result = self._result(case, Verdict.NOT_APPLICABLE, 0.0, message=reason)
        else:
            self._pause()
            trace_path = self.out_dir / "traces" / f"{_file_safe(case.id)}.jsonl"
            trace_path.parent.mkdir(parents=True, exist_ok=True)
            recovered = self._recover(trace_path.with_suffix(".recovery.jsonl"))
            with TraceWriter(trace_path) as trace:
                try:
                    engine = asyncio.run(self._replay(case, trace.write))
                except HarnessError as exc:
                    result = self._result(
                        case, Verdict.ERROR, time.monotonic() - started, message=str(exc), trace=trace_path
                    )
                else:
                    result = self._engine_result(case, engine, time.monotonic() - started, trace_path)
                    if engine.open_transactions:
                        self._left_open[case.scenario.station] = dict(engine.open_transactions)
            if recovered:
                result = replace(
                    result, warnings=(*(Finding("cleanup", text, CLEANUP_RULE) for text in recovered), *result.warnings)
                )
            self._last_case_ended = time.monotonic()
        self.results.append(result)
        return result

    def _recover(self, trace_path: Path) -> list[str]:
        """Before a case, the transactions an earlier cleanup left open are stopped: the station boots and its
        cleanup stops them, as a charger delivers its queued stops after a reboot. Otherwise the idTags they hold
        would make a strict CSMS answer ConcurrentTx to this case (OCPP 1.6 §7.2), through no fault of its own.
        Returns what could still not be stopped."""
        problems: list[str] = []
        if not self._left_open:
            return problems
        with TraceWriter(trace_path) as trace:
            for role, transactions in list(self._left_open.items()):
                case = Case(_recovery_scenario(role))
                engine = asyncio.run(self._replay(case, trace.write, inherited=transactions, hooks=False))
                if engine.open_transactions:
                    self._left_open[role] = dict(engine.open_transactions)
                    ids = ", ".join(str(transaction_id) for transaction_id in engine.open_transactions)
                    problems.append(
                        f"before this case, transaction(s) {ids} left open by an earlier case could still not be "
                        f"stopped: {'; '.join(engine.cleanup_problems) or 'no StopTransaction was acknowledged'}"
                    )
                else:
                    del self._left_open[role]
        return problems

    def _pause(self) -> None:
        """``timeouts.pause_between_cases_s`` between the end of one case and the start of the next."""
        pause_s = self.target.timeouts.pause_between_cases_s
        if self._last_case_ended is not None and pause_s > 0:
            time.sleep(max(0.0, self._last_case_ended + pause_s - time.monotonic()))

    async def _replay(
        self,
        case: Case,
        on_record: Callable[..., None],
        *,
        inherited: Mapping[int, Mapping[str, Any]] | None = None,
        hooks: bool = True,
    ) -> Engine:
        driver = make_driver(self.target)
        try:
            if hooks:
                await call_hook("before_case", driver.before_case(case))
            verdict = Verdict.ERROR
            try:
                engine = await replay_case(
                    self.target,
                    case,
                    driver=driver,
                    on_record=on_record,
                    transaction_ids=self._transaction_ids,
                    inherited_transactions=inherited,
                )
                verdict = engine.outcome.verdict if engine.outcome is not None else Verdict.ERROR
            finally:
                if hooks:
                    await call_hook("after_case", driver.after_case(case, verdict))
        finally:
            await driver.aclose()
        return engine

    def _engine_result(self, case: Case, engine: Engine, duration_s: float, trace: Path) -> ScenarioResult:
        outcome = engine.outcome
        assert outcome is not None, "replay returns only when the engine has an outcome"
        failed = outcome.verdict in (Verdict.FAIL, Verdict.ERROR)
        return self._result(
            case,
            outcome.verdict,
            duration_s,
            message=outcome.message,
            failed_step=outcome.step,
            reference=outcome.reference,
            expected=outcome.expected,
            actual=outcome.actual,
            last_frames=tuple(engine.records[-_LAST_FRAMES:]) if failed else (),
            trace=trace,
            warnings=(
                *engine.warnings,
                *(Finding("cleanup", problem, CLEANUP_RULE) for problem in engine.cleanup_problems),
            ),
            latencies=tuple(engine.latencies),
            steps=tuple(engine.step_records),
        )

    def _result(
        self, case: Case, verdict: Verdict, duration_s: float, *, trace: Path | None = None, **fields: Any
    ) -> ScenarioResult:
        scenario = case.scenario
        deviation = self.target.deviation(case.id, scenario.id)
        explain = verdict in (Verdict.FAIL, Verdict.ERROR) or (deviation is not None and verdict is Verdict.PASS)
        return ScenarioResult(
            id=case.id,
            scenario_id=scenario.id,
            title=scenario.title,
            profile=scenario.profile,
            path=scenario.path,
            verdict=verdict,
            duration_s=round(duration_s, 3),
            trace_path=str(trace) if trace is not None else None,
            additional_question=scenario.additional_question,
            reproduce=self._reproduce(case) if explain else None,
            references=scenario.references,
            deviation=deviation.reason if deviation is not None else None,
            **fields,
        )

    def finish(self) -> RunResult:
        """Write the reports of everything run so far and point ``<out_dir>/../latest`` at this run."""
        run = RunResult(
            run_id=self.run_id,
            started_at=self.started_at,
            finished_at=time.time(),
            target=self.target.summary(),
            results=tuple(self.results),
            environment=environment(),
        )
        write_reports(run, self.out_dir)
        latest = self.out_dir.parent / "latest"
        try:
            if latest.is_symlink() or latest.exists():
                latest.unlink()
            latest.symlink_to(self.out_dir.name)
        except OSError:
            pass  # a file system without symlinks: the run directory is still complete
        return run


async def replay_case(
    target: Target,
    case: Case,
    *,
    driver: Driver,
    on_record: Callable[..., None],
    transaction_ids: dict[int, str] | None = None,
    inherited_transactions: Mapping[int, Mapping[str, Any]] | None = None,
) -> Engine:
    """One case over a real websocket through ``driver``, to the end of its cleanup (no hooks: the session calls
    them around it; ``ocpp-harness check`` replays its probe with it). ``transaction_ids``: those the CSMS gave
    earlier in the run."""
    station = target.station(case.scenario.station)
    target.endpoint(station)  # a station the target cannot connect is a target error before anything runs
    clock = Clock()
    engine = Engine(
        case.scenario,
        station_spec=station_spec(target, station),
        variables=scenario_variables(target, station, case.token_type or "central"),
        settings=EngineSettings(
            station_id=station.id,
            connector_id=station.connector,
            response_timeout_s=target.timeouts.response_s,
            step_timeout_s=target.timeouts.step_s,
            cleanup_timeout_s=target.timeouts.cleanup_s,
        ),
        now=clock.now(),
        transaction_ids=transaction_ids,
        inherited_transactions=inherited_transactions,
    )
    links = link_factory(target, station)

    async def connect(payload: dict[str, Any]) -> DriverOutcome:
        settings = engine.connection_settings(clock.now())
        return await perform_connect(payload, target=target, station=station, settings=settings, links=links)

    probes = HandshakeProbes(
        driver,
        ws_url=target.endpoint(station).ws_url,
        link=lambda: links(engine.connection_settings(clock.now())),
        connect=connect,
    )
    await replay(engine, links=links, driver=probes, clock=clock, on_record=on_record)
    return engine


def station_spec(target: Target, station: StationTarget) -> StationSpec:
    """The simulated station as the target describes it: identity and connectors, and what it connects with —
    its security profile, the Basic-auth password (profiles 1, 2), the CSMS root certificates it trusts (the CA
    files of the target's TLS endpoints; profiles 2, 3) and its client certificate (profile 3)."""
    roots = tuple(dict.fromkeys(_pem(e.ca_file) for e in target.endpoints.values() if e.ca_file is not None))
    return StationSpec(
        station_id=station.id,
        vendor=station.vendor,
        model=station.model,
        connectors=station.connectors,
        optional_fields=station.optional_fields,
        config={"SecurityProfile": str(station.security_profile)},
        basic_auth_password=station.basic_auth_password if station.security_profile in (1, 2) else None,
        central_system_roots=roots,
        client_certificate=None if station.client_certificate is None else _pem(station.client_certificate),
        client_private_key=None if station.client_key is None else _pem(station.client_key),
    )


def link_factory(target: Target, station: StationTarget) -> LinkFactory:
    """Each connection to the endpoint of the security profile the station wants at that moment (an upgrade,
    TC_083, moves it), with its current password or certificate (TC_073, TC_074)."""

    def link(wanted: ConnectionSettings) -> LinkSettings:
        endpoint = target.endpoint(station, wanted.security_profile)
        url = transport.station_url(endpoint.ws_url, station.id)
        header = wanted.authorization_header()
        context = None
        if url.startswith("wss://"):
            context = transport.client_ssl_context(
                ca_file=endpoint.ca_file,
                ca_pem="".join(wanted.central_system_roots) or None,
                cert_pem=wanted.client_certificate_chain,
                key_pem=wanted.client_private_key,
            )
        return LinkSettings(
            url=url,
            headers={"Authorization": header} if header else {},
            ssl_context=context,
            connect_timeout_s=target.timeouts.connect_s,
            compression=True,
        )

    return link


def _pem(path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError(f"cannot read {path}: {exc}") from None


def _recovery_scenario(role: str) -> Scenario:
    """A boot of the station ``role``, whose cleanup stops the transactions handed to it."""
    location = Location("<ocpp-harness: stop what an earlier case left open>", 1, 1)
    return Scenario(
        id="RECOVERY",
        title="Stop the transactions an earlier case left open",
        profile="Core",
        path=location.path,
        station=role,
        steps=(Exchange(location=location, action="BootNotification"),),
    )


def environment() -> dict[str, str]:
    from importlib.metadata import version

    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": str(os.cpu_count())}
    for package in ("ocpp-harness", "ocpp", "websockets", "aiohttp"):
        try:
            info[package] = version(package)
        except Exception:
            info[package] = "unknown"
    return info


def _file_safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
