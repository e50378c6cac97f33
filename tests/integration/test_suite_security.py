"""Every security scenario (scenarios/security) shown to FAIL against a bundled CSMS broken on purpose, over real
TLS on loopback. (Against the lenient and the strict bundled CSMS the cases run with the whole suite:
test_suite_bundled.py, test_suite_strict.py.) Three broken CSMSs, each the bundled one with parts switched:

* one that admits every connection: its admission rules off (:class:`csms.security.Admission`), its TLS listeners
  asking for no client certificate and taking TLS 1.0 and 1.1 (:func:`csms.pki.server_ssl_context`): any password
  or none, any username, the old password after a change, plain ws for a profile-2/3 station, any client
  certificate or none; each refusal case must FAIL, naming the connection it upgraded;
* one broken message by message, as the proxy of support.py breaks plain-ws cases: a CALL it sends rewritten
  (``_Connection.send``), a SecurityEventNotification it cannot take, a subprotocol it was not offered, a new
  password it does not take (it keeps the old one);
* one with other TLS material: its server certificate RSA only (no ECDSA suites, TC_086/087), and a CA that is not
  the stations' signing their CSRs (the wrong issuer, TC_074).
"""

from __future__ import annotations

import json
import ssl
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from csms import app, handlers, pki, security_tracking
from csms.security import Admission
from csms.tls import TlsSettings
from harness.config import load_target
from harness.results import Verdict
from harness.scenario.loader import load_scenarios
from harness.session import Case, Session

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = load_target(ROOT / "targets" / "bundled.yaml")
SCENARIOS = {s.id: s for s in load_scenarios([ROOT / "scenarios" / "security"])[0]}

# case id -> the step kind that must fail against a CSMS that admits every connection
BROKEN_SECURITY = {
    "SEC_NO_CREDENTIALS": "connect",
    "SEC_WRONG_PASSWORD": "connect",
    "SEC_WRONG_USERNAME": "connect",
    "SEC_OLD_PASSWORD": "connect",
    "SEC_PLAIN_WS_SP2": "connect",
    "SEC_PLAIN_WS_SP3": "connect",
    "SEC_NO_CLIENT_CERTIFICATE": "connect",
    "SEC_UNTRUSTED_CERTIFICATE": "connect",
    "SEC_EXPIRED_CERTIFICATE": "connect",
    "SEC_WRONG_CN_CERTIFICATE": "connect",
    "SEC_TLS_1_1": "connect",
    "TC_085_CSMS": "connect",
    "TC_083_CSMS": "connect",
}


def test_the_security_cases_are_declared_and_served_over_tls(tmp_path: Path) -> None:
    assert {s.profile for s in SCENARIOS.values()} == {"Security"}
    ids = set(SCENARIOS)
    octt = {"TC_073", "TC_074", "TC_075_1", "TC_075_2", "TC_077", "TC_078", "TC_079", "TC_080", "TC_081", "TC_083"}
    octt |= {"TC_085", "TC_086", "TC_087", "TC_088", *(f"TC_076_{alg}" for alg in ("SHA256", "SHA384", "SHA512"))}
    assert {f"{name}_CSMS" for name in octt} <= ids
    for name in ("bundled.yaml", "bundled-strict.yaml"):
        target = load_target(ROOT / "targets" / name)
        assert "Security" in target.profiles
        assert {s.security_profile for s in target.stations.values()} >= {1, 2, 3}
    with Session(BUNDLED, out_dir=tmp_path / "run") as session:
        endpoints = session.target.endpoints
        assert endpoints[2].ws_url.startswith("wss://") and endpoints[3].ws_url.startswith("wss://")
        assert endpoints[2].ca_file is not None and Path(endpoints[2].ca_file).is_file()
        assert session.target.station("sp3").client_certificate is not None
        summary = str(session.target.summary())
        for station in session.target.stations.values():
            assert station.basic_auth_password is None or station.basic_auth_password not in summary


def _admit_everyone(self: Admission, request: Any, station: Any) -> Any:
    async def none() -> None:
        return None

    return none()


def _lax_context(original: Any) -> Any:
    def context(certificates: Any, *, client_ca: Path | None = None) -> ssl.SSLContext:
        made: ssl.SSLContext = original(certificates, client_ca=None)
        with warnings.catch_warnings(action="ignore", category=DeprecationWarning):
            made.minimum_version = ssl.TLSVersion.TLSv1
        made.set_ciphers("DEFAULT:@SECLEVEL=0")
        return made

    return context


@pytest.fixture(scope="class")
def admits_everyone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Admission, "admit", _admit_everyone)
        patch.setattr(pki, "server_ssl_context", _lax_context(pki.server_ssl_context))
        with Session(BUNDLED, out_dir=tmp_path_factory.mktemp("broken-security") / "run") as session:
            yield session


class TestAdmitsEveryConnection:
    """Its patches hold for this class only (the fixture is class-scoped)."""

    @pytest.mark.parametrize("case_id", sorted(BROKEN_SECURITY))
    def test_a_security_case_fails_against_a_csms_that_admits_every_connection(
        self, admits_everyone: Session, case_id: str
    ) -> None:
        result = admits_everyone.run(Case(SCENARIOS[case_id]))
        assert result.verdict is Verdict.FAIL, f"{result.failed_step}: {result.message}"
        assert "the CSMS upgraded a connection" in (result.message or ""), result.message
        assert f"({BROKEN_SECURITY[case_id]} " in (result.failed_step or ""), result.failed_step


# --------------------------------------------------------------------------------- broken message by message


@dataclass
class Breakage:
    """What the message-broken CSMS does wrong in the case running now."""

    call: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None  # (action, payload) -> the payload sent
    refuses_security_events: bool = False
    any_subprotocol: bool = False
    keeps_old_password: bool = False


def rewrite(action: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Breakage:
    return Breakage(call=lambda name, payload: change(payload) if name == action else payload)


def nested(key: str, **values: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda payload: {**payload, key: {**payload[key], **values}}


# case id -> (what is broken, text the failure must contain, what the failing step is about)
BROKEN_MESSAGES: dict[str, tuple[Breakage, str, str]] = {
    "TC_073_CSMS": (Breakage(keeps_old_password=True), "refused the station's reconnection", "wait"),
    "TC_074_CSMS": (
        rewrite("ExtendedTriggerMessage", lambda p: {**p, "connectorId": 0}),
        "connectorId",
        "expect_call ExtendedTriggerMessage",
    ),
    "TC_075_1_CSMS": (
        rewrite("InstallCertificate", lambda p: {**p, "certificateType": "CentralSystemRootCertificate"}),
        "certificateType",
        "expect_call InstallCertificate",
    ),
    "TC_075_2_CSMS": (
        rewrite("InstallCertificate", lambda p: {**p, "certificate": p["certificate"].replace("\n", "\r\n")}),
        "certificate",
        "expect_call InstallCertificate",
    ),
    **{
        f"TC_076_{algorithm}_CSMS": (
            rewrite(
                "DeleteCertificate",
                nested("certificateHashData", hashAlgorithm="SHA256" if algorithm != "SHA256" else "SHA512"),
            ),
            "hashAlgorithm",
            "expect_call DeleteCertificate",
        )
        for algorithm in ("SHA256", "SHA384", "SHA512")
    },
    "TC_077_CSMS": (Breakage(refuses_security_events=True), "CALLERROR", "exchange SecurityEventNotification"),
    "TC_078_CSMS": (Breakage(refuses_security_events=True), "CALLERROR", "exchange SecurityEventNotification"),
    "TC_079_CSMS": (rewrite("GetLog", lambda p: {**p, "logType": "DiagnosticsLog"}), "logType", "expect_call GetLog"),
    "TC_080_CSMS": (
        rewrite("SignedUpdateFirmware", nested("firmware", signature="SW52YWxpZA==")),
        "signature",
        "expect_call SignedUpdateFirmware",
    ),
    "TC_081_CSMS": (
        rewrite("SignedUpdateFirmware", nested("firmware", location="http://127.0.0.1:9/elsewhere.bin")),
        "location",
        "expect_call SignedUpdateFirmware",
    ),
    "TC_083_CSMS": (rewrite("Reset", lambda p: {**p, "type": "Soft"}), "Soft", "expect_call Reset"),
    "TC_088_CSMS": (Breakage(any_subprotocol=True), "Sec-WebSocket-Protocol: ocpp1.6", "handshake"),
}


@pytest.fixture(scope="class")
def broken_messages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, list[Breakage]]]:
    now: list[Breakage] = [Breakage()]
    send = app._Connection.send
    protocol_line = app._one_protocol_line
    security_event = handlers.HANDLERS["SecurityEventNotification"]
    password_changed = security_tracking._password_changed

    async def broken_send(self: Any, text: str) -> None:
        frame = json.loads(text)
        if now[0].call is not None and frame[0] == 2:
            text = json.dumps([2, frame[1], frame[2], now[0].call(frame[2], frame[3])])
        await send(self, text)

    def broken_protocol_line(request: web.Request) -> web.Request:
        if now[0].any_subprotocol:
            return request.clone(headers={**request.headers, "Sec-WebSocket-Protocol": "ocpp1.6"})
        return protocol_line(request)

    async def broken_security_event(ctx: Any, payload: dict[str, Any]) -> dict[str, Any]:
        if now[0].refuses_security_events:
            raise RuntimeError("broken on purpose")
        return await security_event(ctx, payload)

    async def broken_password_changed(store: Any, answered: Any, value: str) -> None:
        if not now[0].keeps_old_password:
            await password_changed(store, answered, value)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app._Connection, "send", broken_send)
        patch.setattr(app, "_one_protocol_line", broken_protocol_line)
        patch.setitem(handlers.HANDLERS, "SecurityEventNotification", broken_security_event)  # type: ignore[arg-type]
        patch.setattr(security_tracking, "_password_changed", broken_password_changed)
        with Session(BUNDLED, out_dir=tmp_path_factory.mktemp("broken-messages") / "run") as session:
            yield session, now


class TestBrokenMessages:
    """Its patches hold for this class only."""

    @pytest.mark.parametrize("case_id", sorted(BROKEN_MESSAGES))
    def test_a_security_case_fails_against_a_csms_broken_in_what_it_checks(
        self, broken_messages: tuple[Session, list[Breakage]], case_id: str
    ) -> None:
        session, now = broken_messages
        breakage, needle, step = BROKEN_MESSAGES[case_id]
        now[0] = breakage
        try:
            result = session.run(Case(SCENARIOS[case_id]))
        finally:
            now[0] = Breakage()
        assert result.verdict is Verdict.FAIL, f"{result.failed_step}: {result.message}"
        assert needle in (result.message or "") + (result.actual or ""), result.message
        assert f"({step}" in (result.failed_step or ""), result.failed_step


# -------------------------------------------------------------------------------- other TLS material


def _rsa_only(original: Any) -> Any:
    def context(certificates: Any, *, client_ca: Path | None = None) -> ssl.SSLContext:
        made: ssl.SSLContext = original(list(certificates)[:1], client_ca=client_ca)
        return made

    return context


@pytest.fixture(scope="class")
def other_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """RSA server certificate only, and CSRs signed by the PKI's untrusted root (not the stations' CA)."""
    from_pki = TlsSettings.from_pki

    def wrong_issuer(files: pki.PkiFiles, **options: Any) -> TlsSettings:
        settings = from_pki(files, **options)
        untrusted = pki.CertificateAuthority.from_files(
            files.bad.untrusted_ca.certificate, files.bad.untrusted_ca.private_key
        )
        return replace(settings, authority=untrusted)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pki, "server_ssl_context", _rsa_only(pki.server_ssl_context))
        patch.setattr(TlsSettings, "from_pki", staticmethod(wrong_issuer))
        with Session(BUNDLED, out_dir=tmp_path_factory.mktemp("broken-tls") / "run") as session:
            yield session


BROKEN_TLS = {
    "TC_086_CSMS": ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "connect"),
    "TC_087_CSMS": ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "connect"),
    "TC_074_CSMS": ("the station did not take the CSMS's CertificateSigned", "expect_call CertificateSigned"),
}


class TestOtherTlsMaterial:
    """Its patches hold for this class only."""

    @pytest.mark.parametrize("case_id", sorted(BROKEN_TLS))
    def test_a_security_case_fails_against_a_csms_with_other_tls_material(
        self, other_tls: Session, case_id: str
    ) -> None:
        needle, step = BROKEN_TLS[case_id]
        result = other_tls.run(Case(SCENARIOS[case_id]))
        assert result.verdict is Verdict.FAIL, f"{result.failed_step}: {result.message}"
        assert needle in (result.message or ""), result.message
        assert f"({step}" in (result.failed_step or ""), result.failed_step


def test_every_security_case_has_a_broken_variant() -> None:
    assert set(SCENARIOS) == set(BROKEN_SECURITY) | set(BROKEN_MESSAGES) | set(BROKEN_TLS)
