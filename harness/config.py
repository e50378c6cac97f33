"""Target configuration: which CSMS to test and with what, read from one YAML file.

The file mirrors the "Vendor Specific Settings" table of an OCA certificate: websocket and API URL per security
profile, station ids, a valid / blocked / expired token per token type, plus how the harness makes the CSMS act
(the driver), timeouts and the certification profiles the CSMS claims. It is validated once, here, into frozen
dataclasses; ``${NAME}`` / ``${NAME:-default}`` take values from the environment (only here).
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from harness.drivers.templates import (
    DEFAULT_CALLERROR,
    PRESETS,
    REQUEST_NAMES,
    TRIGGER_NAMES,
    Condition,
    RequestTemplate,
    configure_payload_schema,
    ocpp_request_schema,
    parse_condition,
    parse_request,
)
from harness.drivers.templates import suggest as _suggest
from harness.outcomes import TargetError
from harness.scenario.model import CONFIGURE_OPERATIONS, PROFILES
from ocppj.schemas import csms_actions

TOKEN_TYPES = ("central", "iso14443", "keycode", "iso15693")
TOKEN_STATES = ("valid", "blocked", "expired", "invalid")
DRIVER_KINDS = ("http", "manual", "python")
ADDITIONAL_QUESTIONS = ("AQ-1",)
MASK = "********"  # what reports show instead of a secret (passwords, driver headers)
_CASE_ID = re.compile(r"^(?P<scenario>[A-Za-z0-9_.-]+)(?:\[(?P<param>[^\]]*)\])?$")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class Endpoint:
    ws_url: str  # the station id is appended: <ws_url>/<station id> (OCPP-J 1.6 §3.1.1)
    api_url: str | None = None
    ca_file: str | None = None  # wss: the CA the CSMS's server certificate is verified against (None: the system's)


@dataclass(frozen=True, kw_only=True)
class StationTarget:
    role: str
    id: str
    security_profile: int = 0  # 0: plain ws without auth; 1: Basic auth over ws (whitepaper §2.3)
    basic_auth_password: str | None = field(default=None, repr=False)
    connectors: int = 1
    connector: int = 1  # the connector scenarios use (OCTT "configured connector")
    vendor: str = "ocpp-harness"
    model: str = "Simulator"
    optional_fields: bool = True  # False: the simulated station sends only the fields a message requires
    client_certificate: str | None = None  # security profile 3: PEM file of the station's certificate (leaf first)
    client_key: str | None = field(default=None, repr=False)  # and of its private key


@dataclass(frozen=True)
class TokenSet:
    valid: str
    blocked: str | None = None
    expired: str | None = None
    invalid: str | None = None  # unknown to the CSMS; default: tokens.invalid


@dataclass(frozen=True)
class Auth:
    """``driver.auth``: a bearer token or Basic credentials for the CSMS API (RFC 6750, RFC 7617)."""

    bearer: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def header(self) -> str:
        if self.bearer is not None:
            return f"Bearer {self.bearer}"
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"

    def summary(self) -> dict[str, Any]:
        if self.bearer is not None:
            return {"bearer": MASK}
        return {"basic": {"username": self.username, "password": MASK}}


@dataclass(frozen=True, kw_only=True)
class DriverConfig:
    kind: str = "http"
    preset: str | None = "octt"  # request templates: "octt" (the public trigger contract) or "bundled"
    base_url: str | None = None  # default: the API URL of the default station's security profile
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    auth: Auth | None = None
    timeout_s: float = 35.0
    # Templates may hold ${ENV} secrets (a key in a query string): kept out of repr, masked in summary().
    requests: Mapping[str, RequestTemplate] = field(default_factory=dict, repr=False)  # the preset's, then the target's
    routes: Mapping[str, RequestTemplate] = field(default_factory=dict, repr=False)  # trigger requests by OCPP action
    success: Condition = Condition()  # what a request's answer must be unless its template says otherwise
    callerror: Condition = DEFAULT_CALLERROR  # how the API relays a station's CALLERROR to a trigger
    python_class: str | None = None  # "module:ClassName" for kind python, importable from the target's folder
    python_factory: type[Any] | None = field(default=None, repr=False, compare=False)  # the loaded class
    options: Any = field(default_factory=dict, repr=False)  # for kind python: the class's Options, or the mapping

    def secrets(self) -> tuple[str, ...]:
        """Values a report must never show: header values, the bearer token, the Basic password (values shorter
        than four characters, such as a header flag ``1``, are left alone rather than masked everywhere)."""
        values = [*self.headers.values()]
        if self.auth is not None:
            values += [v for v in (self.auth.bearer, self.auth.password, self.auth.header()) if v]
        return tuple(sorted({v for v in values if len(v) >= 4}, key=len, reverse=True))


@dataclass(frozen=True, kw_only=True)
class TestData:
    """The values OCTT is configured with and checks the CSMS's messages against (reference §1 "Values
    configured in OCTT", §2.3-§2.6), as ``${test.<name>}`` in scenarios. The CSMS must be set up to send them."""

    stack_level: int = 1  # SetChargingProfile stackLevel (TC_056, TC_067: L, L+1, L+2)
    charging_rate_unit: str = "A"  # ChargingRateUnitType, A or W (OCPP 1.6 §7.9)
    limit: float | None = None  # chargingSchedulePeriod.limit; default 6.0 A or 6000.0 W (TC_056)
    duration_s: int = 3600  # chargingSchedule.duration and GetCompositeSchedule.duration (TC_056, TC_066)
    start_period_s: int = 0  # chargingSchedulePeriod.startPeriod
    number_phases: int = 3  # chargingSchedulePeriod.numberPhases (may be omitted when 3)
    firmware_url: str | None = None  # UpdateFirmware.location (TC_044); the bundled CSMS serves one by default
    diagnostics_location: str | None = None  # GetDiagnostics.location (TC_045); the bundled CSMS takes uploads
    reservation_expiry_s: int = 300  # ReserveNow.expiryDate = now + this (TC_047: "Configured Expiry Date Offset")
    # The security cases (reference §2.7): OCTT's "root certificates" (a PEM file: InstallCertificate, TC_075, TC_076,
    # TC_078; also the ManufacturerRootCertificate that signed firmware chains to, TC_080), "log location" (GetLog,
    # TC_079), "signature" and "signing certificate" (SignedUpdateFirmware of test.firmware_url, TC_080). The
    # bundled CSMS's are taken from its PKI and file server.
    root_certificate: str | None = None
    additional_root_certificate: str | None = None  # OCTT's "Root 2" (TC_076): installed, then deleted
    log_location: str | None = None
    firmware_signature: str | None = None
    firmware_signing_certificate: str | None = None

    @property
    def schedule_limit(self) -> float:
        if self.limit is not None:
            return self.limit
        return 6000.0 if self.charging_rate_unit == "W" else 6.0

    def variables(self) -> dict[str, Any]:
        return {
            "test.stack_level": self.stack_level,
            "test.charging_rate_unit": self.charging_rate_unit,
            "test.limit": self.schedule_limit,
            "test.duration_s": self.duration_s,
            "test.start_period_s": self.start_period_s,
            "test.number_phases": self.number_phases,
            "test.firmware_url": self.firmware_url,
            "test.diagnostics_location": self.diagnostics_location,
            "test.reservation_expiry_s": self.reservation_expiry_s,
            "test.root_certificate": _read_pem(self.root_certificate),
            "test.additional_root_certificate": _read_pem(self.additional_root_certificate),
            "test.log_location": self.log_location,
            "test.firmware_signature": self.firmware_signature,
            "test.firmware_signing_certificate": _read_pem(self.firmware_signing_certificate),
        }

    def summary(self) -> dict[str, Any]:
        """As the report shows it: certificate files by their path, not their text."""
        shown = {name.removeprefix("test."): value for name, value in self.variables().items()}
        shown.update(
            root_certificate=self.root_certificate, firmware_signing_certificate=self.firmware_signing_certificate
        )
        return shown


def _read_pem(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError(f"cannot read {path}: {exc}") from None


TEST_DATA_VARIABLES = tuple(TestData().variables())
# Date-times a scenario can put in what it makes the CSMS send, taken when the step runs (the engine sets them):
# now; now + test.reservation_expiry_s (ReserveNow.expiryDate, TC_047); now + test.duration_s (validTo of a
# charging profile, TC_056); a day ago (UpdateFirmware.retrieveDate: retrieve at once, TC_044); a day ahead (the
# expiryDate of a reservation the case ends itself, TC_046, TC_051).
TIME_VARIABLES = ("time.now", "time.reservation_expiry", "time.schedule_end", "time.yesterday", "time.tomorrow")
BUNDLED_FIRMWARE_PATH = "/files/firmware/ocpp-harness-firmware-1.1.0.bin"  # served by the bundled CSMS
BUNDLED_DIAGNOSTICS_PATH = "/files/diagnostics/"  # the bundled CSMS takes uploads under it (HTTP PUT)
BUNDLED_LOGS_PATH = "/files/logs/"  # and log uploads (GetLog, TC_079) under this one


@dataclass(frozen=True, kw_only=True)
class Timeouts:
    response_s: float = 30.0  # a CSMS answer to a station CALL (certificate: OCPP response time, max 30 s)
    step_s: float = 30.0  # a CSMS CALL or a station exchange a step waits for
    connect_s: float = 10.0  # opening the websocket
    cleanup_s: float = 30.0  # the cleanup after each case (stop its transactions, reset what it configured)
    pause_between_cases_s: float = 0.0  # for a CSMS that needs a moment before a station id reconnects


@dataclass(frozen=True)
class Deviation:
    """A known deviation of the CSMS: ``case`` fails, for ``reason``; it becomes a strict expected failure.

    ``case`` is a case id (``TC_023_2_CSMS[keycode]``: that token type only) or a test case id
    (``TC_064_CSMS``: every case of that scenario).
    """

    case: str
    reason: str

    def covers(self, case_id: str, scenario_id: str) -> bool:
        return self.case in (case_id, scenario_id)


@dataclass(frozen=True, kw_only=True)
class Target:
    path: str
    name: str
    bundled: bool
    strict: bool = False  # the bundled CSMS in its strict mode (csms.strict)
    endpoints: Mapping[int, Endpoint]
    stations: Mapping[str, StationTarget]
    tokens: Mapping[str, TokenSet]
    invalid_token: str
    parent_id_tag: str | None
    profiles: tuple[str, ...]
    additional_questions: tuple[str, ...]
    driver: DriverConfig
    timeouts: Timeouts
    provision: bool
    deviations: tuple[Deviation, ...] = ()
    test_data: TestData = field(default_factory=TestData)
    # A test PKI in the layout of ``ocpp-harness certs``: the one a bundled CSMS serves with, and for any CSMS the
    # certificates of the negative connect steps (bad/: untrusted, expired, wrong CN).
    certs: str | None = None

    def deviation(self, case_id: str, scenario_id: str) -> Deviation | None:
        """The deviation declared for a case: one naming the exact case id wins over one naming its scenario."""
        exact = [d for d in self.deviations if d.case == case_id]
        if exact:
            return exact[0]
        return next((d for d in self.deviations if d.covers(case_id, scenario_id)), None)

    def unknown_deviations(self, case_ids: Iterable[str], scenario_ids: Iterable[str]) -> list[str]:
        """One message per declared deviation that names none of the given cases, with a suggestion."""
        cases, scenarios = set(case_ids), set(scenario_ids)
        known = sorted(cases | scenarios)
        return [
            f"{self.path}: deviations[{index}].case: no scenario or case '{deviation.case}'"
            f"{_suggest(deviation.case, known)}"
            for index, deviation in enumerate(self.deviations)
            if deviation.case not in cases and deviation.case not in scenarios
        ]

    def station(self, role: str) -> StationTarget:
        try:
            return self.stations[role]
        except KeyError:
            raise TargetError(
                f"{self.path}: the scenario needs a station with role '{role}' under 'stations'"
                f"{_suggest(role, self.stations)}"
            ) from None

    def endpoint(self, station: StationTarget, profile: int | None = None) -> Endpoint:
        """The endpoint of the station's security profile, or of ``profile`` (a station upgraded to it, TC_083)."""
        wanted = station.security_profile if profile is None else profile
        try:
            return self.endpoints[wanted]
        except KeyError:
            raise TargetError(
                f"{self.path}: station '{station.role}' uses security profile {wanted} but "
                f"'endpoints' has no profile_{wanted}"
            ) from None

    def with_endpoint_urls(
        self, *, ws_url: str, api_url: str, tls_urls: Mapping[int, str] | None = None, ca_file: str | None = None
    ) -> Target:
        """The same target, pointed at a CSMS started by the harness (``csms.bundled``): its file server is the
        default firmware URL, diagnostics and log location. ``tls_urls``: the wss endpoints of profiles 2 and 3,
        whose server certificates chain to ``ca_file``."""
        endpoints = {profile: Endpoint(ws_url, api_url) for profile in (0, 1)}
        endpoints.update({profile: Endpoint(url, api_url, ca_file) for profile, url in (tls_urls or {}).items()})
        data = self.test_data
        test_data = replace(
            data,
            firmware_url=data.firmware_url or api_url + BUNDLED_FIRMWARE_PATH,
            diagnostics_location=data.diagnostics_location or api_url + BUNDLED_DIAGNOSTICS_PATH,
            log_location=data.log_location or api_url + BUNDLED_LOGS_PATH,
        )
        return replace(self, endpoints=endpoints, test_data=test_data)

    def with_api_token(self, token: str) -> Target:
        """The same target whose driver sends ``Authorization: Bearer <token>`` (the bundled CSMS's API token),
        unless the target file gives its own driver auth or Authorization header."""
        driver = self.driver
        if driver.auth is not None or any(name.lower() == "authorization" for name in driver.headers):
            return self
        return replace(self, driver=replace(driver, auth=Auth(bearer=token)))

    def summary(self) -> dict[str, Any]:
        """The settings as the report shows them ("Vendor Specific Settings"), secrets masked."""
        return {
            "name": self.name,
            "file": self.path,
            "bundled": self.bundled,
            "strict": self.strict,
            "endpoints": {
                f"profile_{k}": {"ws_url": v.ws_url, "api_url": v.api_url} for k, v in self.endpoints.items()
            },
            "stations": {
                role: {
                    "id": s.id,
                    "security_profile": s.security_profile,
                    "basic_auth_password": MASK if s.basic_auth_password else None,
                    "connectors": s.connectors,
                    "connector": s.connector,
                }
                for role, s in self.stations.items()
            },
            "tokens": {
                kind: {"valid": t.valid, "blocked": t.blocked, "expired": t.expired, "invalid": t.invalid}
                for kind, t in self.tokens.items()
            },
            "invalid_token": self.invalid_token,
            "parent_id_tag": self.parent_id_tag,
            "profiles": list(self.profiles),
            "additional_questions": list(self.additional_questions),
            "driver": self._driver_summary(),
            "timeouts": {
                "response_s": self.timeouts.response_s,
                "step_s": self.timeouts.step_s,
                "connect_s": self.timeouts.connect_s,
                "cleanup_s": self.timeouts.cleanup_s,
                "pause_between_cases_s": self.timeouts.pause_between_cases_s,
            },
            "deviations": [{"case": d.case, "reason": d.reason} for d in self.deviations],
            "test_data": self.test_data.summary(),
            "certs": self.certs,
        }

    def _driver_summary(self) -> dict[str, Any]:
        driver = self.driver
        if driver.kind == "manual":
            return {"kind": driver.kind}

        def masked(text: str) -> str:
            for secret in driver.secrets():
                text = text.replace(secret, MASK)
            return text

        summary: dict[str, Any] = {"kind": driver.kind}
        if driver.kind == "python":
            summary["class"] = driver.python_class
        summary.update(
            preset=driver.preset,
            base_url=driver.base_url,
            headers={name: MASK for name in driver.headers},
            auth=driver.auth.summary() if driver.auth else None,
            requests={name: masked(f"{t.method} {t.path}") for name, t in driver.requests.items()},
            routes={action: masked(f"{t.method} {t.path}") for action, t in driver.routes.items()},
        )
        return summary


class _Reader:
    """Walks the parsed YAML with exact, key-path error messages."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> TargetError:
        return TargetError(f"{self.path}: {where + ': ' if where else ''}{message}")

    def mapping(
        self, value: Any, where: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        for key in value:
            if key not in allowed:
                raise self.fail(
                    where, f"unknown key '{key}'{_suggest(str(key), allowed)} (allowed: {', '.join(allowed)})"
                )
        for key in required:
            if key not in value:
                raise self.fail(where, f"missing required key '{key}'")
        return value

    def string(self, value: Any, where: str) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.fail(where, f"expected a string, got {type(value).__name__}")
        return str(value)

    def optional_string(self, value: Any, where: str) -> str | None:
        return None if value is None else self.string(value, where)

    def integer(self, value: Any, where: str, *, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(where, f"expected an integer >= {minimum}, got {value!r}")
        return value

    def number(self, value: Any, where: str, *, minimum: float | None = None) -> float:
        """A number > 0, or >= ``minimum`` when given."""
        if minimum is None:
            ok = not isinstance(value, bool) and isinstance(value, int | float) and value > 0
            wanted = "> 0"
        else:
            ok = not isinstance(value, bool) and isinstance(value, int | float) and value >= minimum
            wanted = f">= {minimum:g}"
        if not ok:
            raise self.fail(where, f"expected a number {wanted}, got {value!r}")
        return float(value)

    def file(self, value: Any, where: str) -> str | None:
        """A file path, relative to the target file's folder; it must exist (a missing CA or key is found now,
        not at the first TLS handshake)."""
        if value is None:
            return None
        text = self.string(value, where)
        path = Path(text) if Path(text).is_absolute() else Path(self.path).parent / text
        if not path.is_file():
            raise self.fail(where, f"no such file {str(path)!r}")
        return str(path)

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, f"expected true or false, got {value!r}")
        return value

    def choices(self, value: Any, where: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list, got {type(value).__name__}")
        for item in value:
            if item not in allowed:
                raise self.fail(
                    where, f"unknown value '{item}'{_suggest(str(item), allowed)} (allowed: {', '.join(allowed)})"
                )
        return tuple(value)


def _substitute(value: Any, path: str, where: str = "") -> Any:
    if isinstance(value, str):

        def env(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise TargetError(f"{path}: {where or 'value'}: environment variable {name} is not set")

        return _ENV.sub(env, value)
    if isinstance(value, dict):
        return {k: _substitute(v, path, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, path, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


_TOP = (
    "name",
    "csms",
    "endpoints",
    "stations",
    "tokens",
    "profiles",
    "additional_questions",
    "driver",
    "timeouts",
    "provision",
    "deviations",
    "test_data",
    "certs",
)
_STATION = (
    "id",
    "security_profile",
    "basic_auth_password",
    "connectors",
    "connector",
    "vendor",
    "model",
    "optional_fields",
    "client_certificate",
    "client_key",
)
_DRIVER = (
    "kind",
    "preset",
    "base_url",
    "headers",
    "auth",
    "timeout_s",
    "success",
    "callerror",
    "requests",
    "routes",
    "class",
    "options",
)


def load_target(path: str | Path) -> Target:
    """Read and validate a target file; every problem is a :class:`TargetError` naming the file and the key."""
    text_path = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TargetError(
            f"{text_path}: no such target file (ocpp-harness init {text_path} writes a starter one)"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise TargetError(f"{text_path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return parse_target(raw, text_path)


def parse_target(raw: Any, path: str) -> Target:
    r = _Reader(path)
    top = r.mapping(_substitute(raw, path), "", _TOP, required=("stations", "tokens"))
    name = r.string(top.get("name", Path(path).stem), "name")

    csms = r.mapping(top.get("csms"), "csms", ("bundled", "strict"))
    bundled = r.boolean(csms.get("bundled", False), "csms.bundled")
    strict = r.boolean(csms.get("strict", False), "csms.strict")
    if strict and not bundled:
        raise r.fail("csms.strict", "the strict mode is the bundled CSMS's; it needs csms.bundled: true")

    endpoints: dict[int, Endpoint] = {}
    raw_endpoints = r.mapping(top.get("endpoints"), "endpoints", tuple(f"profile_{n}" for n in range(4)))
    for key, value in raw_endpoints.items():
        entry = r.mapping(value, f"endpoints.{key}", ("ws_url", "api_url", "ca_file"), required=("ws_url",))
        ws_url = r.string(entry["ws_url"], f"endpoints.{key}.ws_url")
        if not ws_url.startswith(("ws://", "wss://")):
            raise r.fail(f"endpoints.{key}.ws_url", f"expected a ws:// or wss:// URL, got {ws_url!r}")
        profile_number = int(key.removeprefix("profile_"))
        secure = ws_url.startswith("wss://")
        if profile_number >= 2 and not secure:
            raise r.fail(f"endpoints.{key}.ws_url", f"security profile {profile_number} is TLS: expected wss://")
        endpoints[profile_number] = Endpoint(
            ws_url.rstrip("/"),
            r.optional_string(entry.get("api_url"), f"endpoints.{key}.api_url"),
            r.file(entry.get("ca_file"), f"endpoints.{key}.ca_file"),
        )
    if not bundled and not endpoints:
        raise r.fail("endpoints", "give at least one endpoint (profile_0 .. profile_3) or set csms.bundled: true")

    stations: dict[str, StationTarget] = {}
    raw_stations = r.mapping(top["stations"], "stations", tuple(top["stations"] or ()))
    if "default" not in raw_stations:
        raise r.fail("stations", "missing required station role 'default'")
    for role, value in raw_stations.items():
        where = f"stations.{role}"
        entry = r.mapping(value, where, _STATION, required=("id",))
        connectors = r.integer(entry.get("connectors", 1), f"{where}.connectors", minimum=1)
        connector = r.integer(entry.get("connector", 1), f"{where}.connector", minimum=1)
        if connector > connectors:
            raise r.fail(f"{where}.connector", f"connector {connector} is beyond connectors: {connectors}")
        profile = r.integer(entry.get("security_profile", 0), f"{where}.security_profile", minimum=0)
        if profile > 3:
            raise r.fail(f"{where}.security_profile", f"expected 0..3, got {profile}")
        password = r.optional_string(entry.get("basic_auth_password"), f"{where}.basic_auth_password")
        if profile in (1, 2) and not password:
            raise r.fail(where, f"security profile {profile} needs basic_auth_password (whitepaper A00.FR.202)")
        certificate = r.file(entry.get("client_certificate"), f"{where}.client_certificate")
        client_key = r.file(entry.get("client_key"), f"{where}.client_key")
        if (certificate is None) != (client_key is None):
            raise r.fail(where, "client_certificate and client_key go together (security profile 3, A00.FR.401)")
        stations[str(role)] = StationTarget(
            role=str(role),
            id=r.string(entry["id"], f"{where}.id"),
            security_profile=profile,
            basic_auth_password=password,
            connectors=connectors,
            connector=connector,
            vendor=r.string(entry.get("vendor", "ocpp-harness"), f"{where}.vendor"),
            model=r.string(entry.get("model", "Simulator"), f"{where}.model"),
            optional_fields=r.boolean(entry.get("optional_fields", True), f"{where}.optional_fields"),
            client_certificate=certificate,
            client_key=client_key,
        )

    raw_tokens = r.mapping(top["tokens"], "tokens", (*TOKEN_TYPES, "invalid", "parent"), required=("central",))
    tokens: dict[str, TokenSet] = {}
    for kind in TOKEN_TYPES:
        if kind not in raw_tokens:
            continue
        entry = r.mapping(
            raw_tokens[kind], f"tokens.{kind}", ("valid", "blocked", "expired", "invalid"), required=("valid",)
        )
        tokens[kind] = TokenSet(
            r.string(entry["valid"], f"tokens.{kind}.valid"),
            r.optional_string(entry.get("blocked"), f"tokens.{kind}.blocked"),
            r.optional_string(entry.get("expired"), f"tokens.{kind}.expired"),
            r.optional_string(entry.get("invalid"), f"tokens.{kind}.invalid"),
        )
    invalid = r.string(raw_tokens.get("invalid", "UNKNOWN-TAG-0001"), "tokens.invalid")
    parent = r.optional_string(raw_tokens.get("parent"), "tokens.parent")
    for value in (invalid, parent, *(v for t in tokens.values() for v in (t.valid, t.blocked, t.expired, t.invalid))):
        if value is not None and len(value) > 20:
            raise r.fail("tokens", f"idTag {value!r} is longer than 20 characters (OCPP 1.6 IdToken is CiString20Type)")

    profiles = r.choices(top.get("profiles", ["Core"]), "profiles", PROFILES)
    questions = r.choices(top.get("additional_questions", []), "additional_questions", ADDITIONAL_QUESTIONS)

    raw_driver = r.mapping(top.get("driver"), "driver", _DRIVER)
    kind = r.string(raw_driver.get("kind", "http"), "driver.kind")
    if kind not in DRIVER_KINDS:
        raise r.fail(
            "driver.kind", f"unknown driver '{kind}'{_suggest(kind, DRIVER_KINDS)} (allowed: {', '.join(DRIVER_KINDS)})"
        )
    preset = r.optional_string(raw_driver.get("preset", "bundled" if bundled else "octt"), "driver.preset")
    if preset is not None and preset not in PRESETS:
        raise r.fail("driver.preset", f"unknown preset '{preset}'{_suggest(preset, PRESETS)}")
    headers = r.mapping(raw_driver.get("headers"), "driver.headers", tuple(raw_driver.get("headers") or ()))
    python_class = r.optional_string(raw_driver.get("class"), "driver.class")
    if kind == "python" and not python_class:
        raise r.fail("driver", "kind python needs 'class: module:ClassName'")
    driver = DriverConfig(
        kind=kind,
        preset=preset,
        base_url=r.optional_string(raw_driver.get("base_url"), "driver.base_url"),
        headers={str(k): r.string(v, f"driver.headers.{k}") for k, v in headers.items()},
        auth=_auth(r, raw_driver.get("auth"), headers),
        timeout_s=r.number(raw_driver.get("timeout_s", 35.0), "driver.timeout_s"),
        requests={
            **_requests(r, PRESETS.get(preset or "", {}), "driver.preset"),
            **_requests(r, raw_driver.get("requests"), "driver.requests"),
        },
        routes=_routes(r, raw_driver.get("routes")),
        success=parse_condition(raw_driver["success"], "driver.success", r.fail)
        if "success" in raw_driver
        else Condition(),
        callerror=parse_condition(raw_driver["callerror"], "driver.callerror", r.fail)
        if "callerror" in raw_driver
        else DEFAULT_CALLERROR,
        python_class=python_class,
        options=r.mapping(raw_driver.get("options"), "driver.options", tuple(raw_driver.get("options") or ())),
    )
    if kind == "python":
        from harness.drivers.python import driver_options, load_driver_class

        assert python_class is not None
        factory = load_driver_class(python_class, Path(path).resolve().parent, fail=r.fail)
        driver = replace(driver, python_factory=factory, options=driver_options(factory, driver.options, r.fail))

    raw_timeouts = r.mapping(
        top.get("timeouts"),
        "timeouts",
        ("response_s", "step_s", "connect_s", "cleanup_s", "pause_between_cases_s"),
    )
    timeouts = Timeouts(
        response_s=r.number(raw_timeouts.get("response_s", 30.0), "timeouts.response_s"),
        step_s=r.number(raw_timeouts.get("step_s", 30.0), "timeouts.step_s"),
        connect_s=r.number(raw_timeouts.get("connect_s", 10.0), "timeouts.connect_s"),
        cleanup_s=r.number(raw_timeouts.get("cleanup_s", 30.0), "timeouts.cleanup_s"),
        pause_between_cases_s=r.number(
            raw_timeouts.get("pause_between_cases_s", 0.0), "timeouts.pause_between_cases_s", minimum=0.0
        ),
    )
    deviations = _deviations(r, top.get("deviations", []), tuple(tokens))
    test_data = _test_data(r, top.get("test_data"), profiles=profiles, bundled=bundled)
    return Target(
        path=path,
        name=name,
        bundled=bundled,
        strict=strict,
        endpoints=endpoints,
        stations=stations,
        tokens=tokens,
        invalid_token=invalid,
        parent_id_tag=parent,
        profiles=profiles,
        additional_questions=questions,
        driver=driver,
        timeouts=timeouts,
        provision=r.boolean(top.get("provision", bundled), "provision"),
        deviations=deviations,
        test_data=test_data,
        certs=_certs(r, top.get("certs")),
    )


def _certs(r: _Reader, raw: Any) -> str | None:
    """``certs: DIR``: a folder ``ocpp-harness certs`` wrote (it has a manifest.json)."""
    if raw is None:
        return None
    text = r.string(raw, "certs")
    path = Path(text) if Path(text).is_absolute() else Path(r.path).parent / text
    if not (path / "manifest.json").is_file():
        raise r.fail("certs", f"{str(path)!r} is not a test PKI of ocpp-harness certs (no manifest.json in it)")
    return str(path)


def _test_data(r: _Reader, raw: Any, *, profiles: tuple[str, ...], bundled: bool) -> TestData:
    entry = r.mapping(raw, "test_data", tuple(field.name for field in fields(TestData)))
    unit = r.string(entry.get("charging_rate_unit", "A"), "test_data.charging_rate_unit")
    if unit not in ("A", "W"):
        raise r.fail("test_data.charging_rate_unit", f"expected A or W (OCPP 1.6 ChargingRateUnitType), got {unit!r}")
    limit = entry.get("limit")
    data = TestData(
        stack_level=r.integer(entry.get("stack_level", 1), "test_data.stack_level", minimum=0),
        charging_rate_unit=unit,
        limit=None if limit is None else r.number(limit, "test_data.limit", minimum=0.0),
        duration_s=r.integer(entry.get("duration_s", 3600), "test_data.duration_s", minimum=1),
        start_period_s=r.integer(entry.get("start_period_s", 0), "test_data.start_period_s", minimum=0),
        number_phases=r.integer(entry.get("number_phases", 3), "test_data.number_phases", minimum=1),
        firmware_url=r.optional_string(entry.get("firmware_url"), "test_data.firmware_url"),
        diagnostics_location=r.optional_string(entry.get("diagnostics_location"), "test_data.diagnostics_location"),
        reservation_expiry_s=r.integer(
            entry.get("reservation_expiry_s", 300), "test_data.reservation_expiry_s", minimum=1
        ),
        root_certificate=r.file(entry.get("root_certificate"), "test_data.root_certificate"),
        additional_root_certificate=r.file(
            entry.get("additional_root_certificate"), "test_data.additional_root_certificate"
        ),
        log_location=r.optional_string(entry.get("log_location"), "test_data.log_location"),
        firmware_signature=r.optional_string(entry.get("firmware_signature"), "test_data.firmware_signature"),
        firmware_signing_certificate=r.file(
            entry.get("firmware_signing_certificate"), "test_data.firmware_signing_certificate"
        ),
    )
    if data.number_phases > 3:
        raise r.fail("test_data.number_phases", f"expected 1, 2 or 3, got {data.number_phases}")
    if "FirmwareManagement" in profiles and not bundled:
        for name in ("firmware_url", "diagnostics_location"):
            if getattr(data, name) is None:
                raise r.fail(
                    f"test_data.{name}",
                    "the target claims FirmwareManagement, so say where the CSMS makes the station "
                    f"{'download firmware' if name == 'firmware_url' else 'upload diagnostics'} (TC_044, TC_045)",
                )
    if "Security" in profiles and not bundled:
        for name, need in _SECURITY_TEST_DATA.items():
            if getattr(data, name) is None:
                raise r.fail(f"test_data.{name}", f"the target claims Security, so give {need}")
    return data


# What the Security cases take from a target's test data (a bundled target's come from the PKI it generates).
_SECURITY_TEST_DATA = {
    "root_certificate": "the root certificate file the CSMS has the station install (TC_075, TC_078, TC_080, TC_081)",
    "additional_root_certificate": "a second root certificate file, installed and deleted again (TC_076)",
    "firmware_url": "where the CSMS makes the station download signed firmware (TC_080, TC_081)",
    "firmware_signature": "the base64 signature of that firmware image (TC_080)",
    "firmware_signing_certificate": "the certificate file that signed the firmware (TC_080, TC_081)",
    "log_location": "where the CSMS makes the station upload its security log (TC_079)",
}


def _auth(r: _Reader, raw: Any, headers: Mapping[str, Any]) -> Auth | None:
    """``auth: {bearer: TOKEN}`` or ``auth: {basic: {username, password}}``: the Authorization header of every
    API request."""
    if raw is None:
        return None
    entry = r.mapping(raw, "driver.auth", ("bearer", "basic"))
    if len(entry) != 1:
        raise r.fail("driver.auth", "give one of 'bearer' or 'basic'")
    if any(str(name).lower() == "authorization" for name in headers):
        raise r.fail("driver.auth", "driver.headers sets Authorization too; keep one of them")
    if "bearer" in entry:
        return Auth(bearer=r.string(entry["bearer"], "driver.auth.bearer"))
    basic = r.mapping(entry["basic"], "driver.auth.basic", ("username", "password"), required=("username", "password"))
    return Auth(
        username=r.string(basic["username"], "driver.auth.basic.username"),
        password=r.string(basic["password"], "driver.auth.basic.password"),
    )


def _requests(r: _Reader, raw: Any, where: str) -> dict[str, RequestTemplate]:
    """Named requests (``trigger``, ``create_token``, ``boot_answer`` ...), each offering its own placeholders."""
    if isinstance(raw, dict):
        for name in raw:
            if name in csms_actions():
                raise r.fail(where, f"'{name}' is an OCPP action: its trigger route goes under driver.routes.{name}")
    entries = r.mapping(raw, where, tuple(REQUEST_NAMES))
    return {
        str(name): parse_request(
            value,
            f"{where}.{name}",
            names=REQUEST_NAMES[name],
            payload_schema=configure_payload_schema(name) if name in CONFIGURE_OPERATIONS else None,
            fail=r.fail,
            trigger=name == "trigger",
        )
        for name, value in entries.items()
    }


def _routes(r: _Reader, raw: Any) -> dict[str, RequestTemplate]:
    """``routes: {RemoteStartTransaction: {...}}``: the trigger request of each action that has its own;
    ``{payload.x}`` is checked against the action's OCPP 1.6 request schema."""
    entries = r.mapping(raw, "driver.routes", tuple(raw or ()) if isinstance(raw, dict) else ())
    actions = csms_actions()
    routes: dict[str, RequestTemplate] = {}
    for action, value in entries.items():
        if action not in actions:
            raise r.fail(
                "driver.routes",
                f"'{action}' is not an action a CSMS sends{_suggest(str(action), actions)} (OCPP 1.6 §5)",
            )
        routes[str(action)] = parse_request(
            value,
            f"driver.routes.{action}",
            names=TRIGGER_NAMES,
            payload_schema=ocpp_request_schema(action),
            fail=r.fail,
            trigger=True,
        )
    return routes


def _deviations(r: _Reader, raw: Any, token_types: tuple[str, ...]) -> tuple[Deviation, ...]:
    """``deviations: [{case: TC_064_CSMS, reason: ...}]``: every entry names a case and says why (design §4)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise r.fail("deviations", f"expected a list of {{case, reason}}, got {type(raw).__name__}")
    seen: dict[str, int] = {}
    deviations: list[Deviation] = []
    for index, value in enumerate(raw):
        where = f"deviations[{index}]"
        entry = r.mapping(value, where, ("case", "reason"), required=("case", "reason"))
        case = r.string(entry["case"], f"{where}.case").strip()
        found = _CASE_ID.match(case)
        if found is None:
            raise r.fail(
                f"{where}.case", f"expected a case id such as TC_064_CSMS or TC_023_2_CSMS[keycode], got {case!r}"
            )
        param = found.group("param")
        if param is not None and param not in TOKEN_TYPES:
            raise r.fail(
                f"{where}.case",
                f"unknown token type '{param}'{_suggest(param, TOKEN_TYPES)} (allowed: {', '.join(TOKEN_TYPES)})",
            )
        if param is not None and param not in token_types:
            raise r.fail(f"{where}.case", f"token type '{param}' is not declared under 'tokens'")
        reason = r.string(entry["reason"], f"{where}.reason").strip()
        if not reason:
            raise r.fail(f"{where}.reason", "say why the CSMS deviates (the reports show it)")
        if case in seen:
            raise r.fail(f"{where}.case", f"'{case}' is already declared at deviations[{seen[case]}]")
        seen[case] = index
        deviations.append(Deviation(case=case, reason=reason))
    return tuple(deviations)


def scenario_variables(target: Target, station: StationTarget, token_type: str = "central") -> dict[str, Any]:
    """The built-in ``${...}`` variables of a scenario run (the loader checks references against these names)."""
    chosen = target.tokens[token_type]
    central = target.tokens["central"]
    variables: dict[str, Any] = {
        **target.test_data.variables(),
        "station_id": station.id,
        "connector": station.connector,
        "connectors": station.connectors,
        "unknown_connector": station.connectors + 1,  # OCTT's NumberOfConnectors + 1 (TC_055)
        "token": chosen.valid,
        "blocked_token": chosen.blocked or central.blocked,
        "expired_token": chosen.expired or central.expired,
        "invalid_token": chosen.invalid or target.invalid_token,
        "id_tag_parent": target.parent_id_tag,
        # the station's credentials as the target gives them (a case that changed them puts them back in cleanup)
        "station.basic_auth_password": station.basic_auth_password,
        "station.security_profile": station.security_profile,
    }
    for kind, tokens in target.tokens.items():
        variables[f"tokens.{kind}.valid"] = tokens.valid
        variables[f"tokens.{kind}.blocked"] = tokens.blocked
        variables[f"tokens.{kind}.expired"] = tokens.expired
        variables[f"tokens.{kind}.invalid"] = tokens.invalid or target.invalid_token
    return variables
