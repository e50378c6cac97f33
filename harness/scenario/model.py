"""Frozen model of a scenario file (format v1). The loader builds it; the engine only reads it.

Patterns (``expect``, ``match``, ``request``) are plain JSON-like values: literals match literals, and a mapping
whose only keys are among ``schema`` / ``absent`` / ``optional`` / ``not`` is a constraint (see :mod:`matchers`).
Strings may hold ``${name}`` references, resolved when the step runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

PROFILES = (
    "Core",
    "FirmwareManagement",
    "LocalAuthListManagement",
    "SmartCharging",
    "RemoteTrigger",
    "Reservation",
    "Security",
    "Robustness",
)

ACTS = (
    "plug",
    "unplug",
    "present_token",
    "fault",
    "clear_fault",
    "power_cycle",
    "go_offline",
    "go_online",
)

# boot_answer: how the CSMS answers BootNotification (AQ-1); basic_auth_password, security_profile: a station's
# credentials and profile as the CSMS keeps them, set back in the cleanup of a case that changed them over OCPP
# (TC_073, TC_083: a profile is never lowered over OCPP, A00.FR.005).
CONFIGURE_OPERATIONS = ("boot_answer", "basic_auth_password", "security_profile")

PARAMETERS = ("token_type",)


@dataclass(frozen=True)
class Location:
    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, kw_only=True)
class Step:
    """Common part of every step. ``origin`` names the reusable state a step came from (``use: booted``)."""

    location: Location
    description: str | None = None
    ref: str | None = None
    origin: str | None = None

    @property
    def kind(self) -> str:
        return _KIND_BY_CLASS[type(self)]


@dataclass(frozen=True, kw_only=True)
class StationCallStep(Step):
    """What ``send`` and ``exchange`` check of the CSMS's answer to a station CALL."""

    action: str
    expect: Any = None
    should: Any = None  # a CALLRESULT that misses it is a warning, not a failure (OCTT "passes with a warning")
    expect_error: str | None = None  # a CALLERROR code, or "any"
    capture: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class Send(StationCallStep):
    """The station sends ``action`` now; the payload is the station model's default updated with ``payload``."""

    payload: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class Exchange(StationCallStep):
    """The station's next ``action`` CALL that the simulator sent on its own (after an act, a CSMS call or a
    timer) and whose request matches ``request``; the CSMS answer must match ``expect``."""

    request: Any = None


@dataclass(frozen=True, kw_only=True)
class ExpectCall(Step):
    """The CSMS must send ``action``; its request must match ``match``. The station answers ``reply`` (or the
    CALLERROR ``reply_error``) instead of what the simulator would answer."""

    action: str
    match: Any = None
    reply: Mapping[str, Any] | None = None
    reply_error: str | None = None
    station_answer: Any = None  # the station's own answer must match it: it judged the CALL (a chain, hash data)
    capture: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class Trigger(Step):
    """Ask the driver to make the CSMS send ``action`` with ``payload`` (does not wait for the CALL)."""

    action: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Configure(Step):
    """Ask the driver to change CSMS settings that are not OCPP messages (e.g. the BootNotification answer)."""

    operation: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Act(Step):
    """A physical event at the station. ``connector``/``token`` may be ``${...}`` references."""

    act: str
    connector: int | str | None = None
    token: str | None = None
    error_code: str | None = None
    simulated_offline_s: float | None = None  # go_online: the offline period counts this much longer


@dataclass(frozen=True, kw_only=True)
class Wait(Step):
    """Time passes: ``seconds``, or a ``${name}`` reference to a number of seconds resolved when the step runs
    (``${test.reservation_expiry_s}``: TC_047 waits for the reservation to expire, however long the target sets)."""

    seconds: float | str


@dataclass(frozen=True, kw_only=True)
class ExpectNoCall(Step):
    """Nothing (or no ``action``) is sent by ``source`` for ``for_s`` seconds."""

    action: str | None
    for_s: float
    source: Literal["csms", "station"] = "csms"


@dataclass(frozen=True, kw_only=True)
class Raw(Step):
    """The station sends ``data`` as one websocket frame exactly (text or binary), past the station model, then
    the frames of ``more`` right behind it without waiting (each with the id its answer must carry), and the CSMS
    must answer each with a CALLERROR of one of ``expect_error`` (any code when it holds "any") or a CALLRESULT
    matching ``expect`` (either passes when both are given), send nothing for ``expect_silence_s`` seconds, or
    close the connection (``expect_close``). ``label`` is how reports show the frames; ``message_id`` the id the
    first frame's answer must carry (None: any id)."""

    label: str
    data: bytes
    more: tuple[tuple[bytes, str | None], ...] = ()
    binary: bool = False
    message_id: str | None = None
    expect_error: tuple[str, ...] | None = None
    expect: Any = None
    expect_silence_s: float | None = None
    expect_close: bool = False
    should: bool = False  # the spec says SHOULD: a miss is a warning
    timeout_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class Handshake(Step):
    """A websocket handshake apart from the station's connection, to the URL of ``station_id`` (a ``${...}``
    reference or a literal), offering ``subprotocols`` as header lines exactly as given; the CSMS must answer the
    HTTP status ``expect_status``, upgrade with exactly ``expect_subprotocol``, or upgrade without a subprotocol and
    close (``expect_close``)."""

    station_id: str
    subprotocols: tuple[str, ...] = ("ocpp1.6",)
    expect_status: int | None = None
    expect_subprotocol: str | None = None
    expect_close: bool = False
    expect_refusal: bool = (
        False  # either of OCPP-J 1.6 §3.2's ways: an HTTP status >= 400, or 101 without one, then close
    )
    should: bool = False
    timeout_s: float | None = None


CONNECT_AUTH = ("station", "target", "none")
CONNECT_CERTIFICATES = ("station", "none", "untrusted", "expired", "wrong_cn")
TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")


@dataclass(frozen=True, kw_only=True)
class Connect(Step):
    """A connection of its own, apart from the station's, for ``station_id``, made as the station would make it
    now but for what the step changes: the endpoint of security ``profile``; the Basic credentials ``auth``
    (``station``: the station's now, ``target``: the password the target gives it, the old one after a change,
    ``none``, or ``username``/``password`` in place of the station's); the client ``certificate`` (``station``,
    ``none``, or one of the test PKI's bad ones); the highest ``tls_version`` offered. The CSMS must upgrade it
    (``expect: accepted``) or refuse it before any OCPP message (``refused``: an HTTP status, or a TLS handshake
    it aborts). ``check_tls``: the endpoint's TLS properties are checked one by one first (TC_086, TC_087)."""

    station_id: str
    expect: Literal["accepted", "refused"]
    profile: int | None = None
    auth: str = "station"
    username: str | None = None
    password: str | None = None
    certificate: str = "station"
    tls_version: str | None = None
    check_tls: bool = False
    timeout_s: float | None = None


_KIND_BY_CLASS: dict[type[Step], str] = {
    Send: "send",
    Exchange: "exchange",
    ExpectCall: "expect_call",
    Trigger: "trigger",
    Configure: "configure",
    Act: "act",
    Wait: "wait",
    ExpectNoCall: "expect_no_call",
    Raw: "raw",
    Handshake: "handshake",
    Connect: "connect",
}


@dataclass(frozen=True, kw_only=True)
class Scenario:
    id: str
    title: str
    profile: str
    path: str
    steps: tuple[Step, ...]
    references: tuple[str, ...] = ()
    description: str | None = None
    station: str = "default"
    additional_question: str | None = None
    parametrize: tuple[str, ...] = ()
    timeout_s: float | None = None
    configuration: Mapping[str, str] = field(default_factory=dict)  # simulator configuration keys (OCPP 1.6 §9)
    optional_fields: bool | None = None  # the station sends optional fields (None: as the target's station says)
    cleanup: tuple[Step, ...] = ()  # run after the verdict, whatever it is: what the case changed in the CSMS
