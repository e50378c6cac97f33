"""The charge point side of "Improved security for OCPP 1.6-J" (OCA white paper, edition 3), but for its two
transfer flows (:mod:`~simulator.model.security_transfers`).

* Security profiles (§2.1-2.5, A05): SecurityProfile goes only up (A00.FR.005, A05.FR.01), each step with its
  prerequisites (A05.FR.02-04), and takes effect as SimSecurityProfileSwitch says; a new profile that cannot
  connect falls back to the previous one (A05.FR.08) until one connection has succeeded (A05.FR.09).
* HTTP Basic password (A01): ChangeConfiguration(AuthorizationKey) carries the hexadecimal form of 16-20 bytes
  (A00.FR.205); Accepted, the station stores it (A01.FR.01), logs the change without its content (A01.FR.11/12)
  and, on profile 1 or 2, closes the connection once it has said all it had to and reconnects with the new
  password (A01 steps 3-4). There is no fallback to the old password: the Central System no longer accepts it
  (A01.FR.03), and the whitepaper gives the station none.
* Certificates (M03-M05, A02/A03): the trust store of CentralSystemRootCertificates and
  ManufacturerRootCertificates; the station's key pair, CSR and certificate chain.
* Security events (A04, §8) and the security log (A04.FR.04, N01.FR.05).
* ExtendedTriggerMessage (§5.5) for every message it names.

What the runtime uses: :meth:`SecurityCalls.connection_settings` before each connection (profile, Basic
credentials, trusted roots, client certificate and key), ``link_up`` going False while ``wants_connection()``
stays True as the signal to close the socket and reconnect with new settings, :meth:`SecurityCalls.connection_failed`
for a connection attempt that did not open, and :meth:`SecurityCalls.report_security_event` for what only the
transport sees (an invalid server certificate, A00.FR.309/413; an old TLS version, A00.FR.315/419; refused
credentials).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ocppj.timefmt import format_time
from simulator.model import payloads
from simulator.model.base import ACCEPTED, PENDING, REJECTED, Handler, keep_last, status_reply
from simulator.model.certificates import (
    CENTRAL_SYSTEM_ROOT,
    MANUFACTURER_ROOT,
    CertificateError,
    ClientCredential,
    InstalledCertificate,
    certificate_pem,
    chain_problem,
    common_name,
    describe,
    hash_data_matches,
    new_csr,
    organization,
    read_certificate,
    read_certificates,
    read_private_key,
    root_problem,
    same_public_key,
    validity_problem,
)
from simulator.model.config import (
    EVENTS_ALL,
    EVENTS_CRITICAL,
    FAIL,
    RECONNECT,
    REJECT,
    authorization_key_valid,
)
from simulator.model.queue import Entry
from simulator.model.remote_trigger import RemoteTriggerCalls
from simulator.model.spec import StationSpec

# §8: every security event with whether it is critical ("should be pushed to the Central System").
SECURITY_EVENTS: dict[str, bool] = {
    "FirmwareUpdated": True,
    "FailedToAuthenticationAtCentralSystem": False,
    "CentralSystemFailedToAuthentication": False,
    "SettingSystemTime": True,
    "StartupOfTheDevice": True,
    "ResetOrReboot": True,
    "SecurityLogWasCleared": True,
    "ReconfigurationOfSecurityParameters": False,
    "MemoryExhaustion": True,
    "InvalidMessages": False,
    "AttemptedReplayAttacks": False,
    "TamperDetectionActivated": True,
    "InvalidFirmwareSignature": False,
    "InvalidFirmwareSigningCertificate": False,
    "InvalidCentralSystemCertificate": False,
    "InvalidChargePointCertificate": False,
    "InvalidTLSVersion": False,
    "InvalidTLSCipherSuite": False,
}

# The events a requirement has the charge point send (A00.FR.309/413, A00.FR.315/322/419/426, A02.FR.07,
# L01.FR.02/03), which OCTT's test cases expect (TC_077, TC_078, TC_081), and FirmwareUpdated (TC_080).
REQUIRED_EVENTS = frozenset(
    {
        "InvalidCentralSystemCertificate",
        "InvalidTLSVersion",
        "InvalidTLSCipherSuite",
        "InvalidChargePointCertificate",
        "InvalidFirmwareSigningCertificate",
        "InvalidFirmwareSignature",
        "FirmwareUpdated",
    }
)

TECH_INFO_MAX_CHARS = 255  # SecurityEventNotification.req techInfo: string[0..255]
COMMON_NAME_MAX_CHARS = 64  # X.520 ub-common-name
RECONNECT_GRACE_S = 1.0
"""ChangeConfiguration.conf / CertificateSigned.conf must reach the CSMS before the station closes the
connection to reconnect with new credentials (as RESET_GRACE_S for a reset)."""

PROFILE_FALLBACK_FAILURES = 3
"""Connection attempts that fail in a row with a new security profile before the station falls back (A05.FR.08)."""

RENEWAL_BEFORE_EXPIRY_S = 30 * 86400.0
"""A03.FR.02: the station asks for a new certificate when its own will expire within a month."""

CLIENT_CREDENTIALS_KEPT = 2  # the newest, and the previous one as fallback (A02.FR.10)


@dataclass(frozen=True)
class SecurityEvent:
    """One entry of the security log (A04.FR.04): what, when, details, and whether it was sent."""

    event_type: str
    at: float
    tech_info: str | None
    sent: bool

    def line(self) -> str:
        return f"{format_time(self.at)} {self.event_type}" + (f": {self.tech_info}" if self.tech_info else "")


@dataclass
class PendingReconnect:
    reason: str
    at: float  # end of the grace period
    armed: bool = False


@dataclass(frozen=True)
class ConnectionSettings:
    """How the station wants to connect now; the runtime reads it before every connection attempt.

    ``security_profile`` 0 (none configured, §7.6) or 1: plain ``ws``; 2 and 3: ``wss`` (A00.FR.305/311), with the
    server certificate verified against ``central_system_roots`` (A00.FR.307/411; empty: the station holds none,
    and the runtime uses the trust it was configured with). Profiles 1 and 2 authenticate with HTTP Basic
    (A00.FR.202-204): ``authorization_header()``, from the station id and the password, which is None when
    AuthorizationKey is empty. Profile 3 presents ``client_certificate_chain`` with ``client_private_key`` (PEM,
    A00.FR.401/402); both None when the station has no valid certificate. The secrets stay out of ``repr``.
    """

    security_profile: int
    username: str
    password: bytes | None = field(default=None, repr=False)
    central_system_roots: tuple[str, ...] = ()
    client_certificate_chain: str | None = None
    client_private_key: str | None = field(default=None, repr=False)

    @property
    def uses_tls(self) -> bool:
        return self.security_profile >= 2

    @property
    def scheme(self) -> str:
        return "wss" if self.uses_tls else "ws"

    def authorization_header(self) -> str | None:
        """``Basic base64(<ChargePointId>:<password>)`` (§2.3 remark) with the decoded, not the hexadecimal,
        password (reference §5.8, TC_085)."""
        if self.security_profile not in (1, 2) or self.password is None:
            return None
        token = base64.b64encode(self.username.encode("utf-8") + b":" + self.password).decode("ascii")
        return f"Basic {token}"


class SecurityCalls(RemoteTriggerCalls):
    def __init__(self, spec: StationSpec, *, now: float) -> None:
        super().__init__(spec, now=now)
        if spec.basic_auth_password is not None:
            self._config.restore("AuthorizationKey", spec.basic_auth_password.encode("utf-8").hex().upper())
        for kind, roots in (
            (CENTRAL_SYSTEM_ROOT, spec.central_system_roots),
            (MANUFACTURER_ROOT, spec.manufacturer_roots),
        ):
            for text in roots:
                self._certificates.append(InstalledCertificate.of(kind, read_certificate(text)))
        if spec.client_certificate is not None and spec.client_private_key is not None:
            chain = tuple(read_certificates(spec.client_certificate))
            self._client_credentials.append(ClientCredential(chain, read_private_key(spec.client_private_key)))
        self._security_profile = int(self._config.get("SecurityProfile"))
        self._security_event("StartupOfTheDevice", now, "powered on")

    def _security_handlers(self) -> dict[str, Handler]:
        return {
            "CertificateSigned": self._on_certificate_signed,
            "DeleteCertificate": self._on_delete_certificate,
            "ExtendedTriggerMessage": self._on_extended_trigger_message,
            "GetInstalledCertificateIds": self._on_get_installed_certificate_ids,
            "InstallCertificate": self._on_install_certificate,
        }

    # ------------------------------------------------------------------ the runtime's side

    def connection_settings(self, now: float) -> ConnectionSettings:
        """The profile and credentials the next connection uses (see :class:`ConnectionSettings`). The
        certificate is the newest valid one (A02.FR.08/09); a new AuthorizationKey or certificate, or a
        SecurityProfile switched with ``Reconnect``, makes ``link_up`` False so the runtime reconnects with
        these."""
        key = self._config.get("AuthorizationKey")
        credential = self._client_credential(now)
        return ConnectionSettings(
            security_profile=int(self._config.get("SecurityProfile")),
            username=self._spec.station_id,
            password=bytes.fromhex(key) if key else None,
            central_system_roots=tuple(self._roots_pem(CENTRAL_SYSTEM_ROOT)),
            client_certificate_chain=None if credential is None else credential.chain_pem(),
            client_private_key=None if credential is None else credential.private_key_pem(),
        )

    def connection_failed(self, now: float, reason: str) -> None:
        """A connection attempt did not open (refused, TLS failure, 401). After PROFILE_FALLBACK_FAILURES of them
        in a row with a new security profile, the station falls back to the previous one (A05.FR.08)."""
        self._advance(now)
        if self._profile_fallback is None:
            return
        self._profile_failures += 1
        if self._profile_failures < PROFILE_FALLBACK_FAILURES:
            return
        previous, self._profile_fallback = self._profile_fallback, None
        failed = self._security_profile
        self._config.restore("SecurityProfile", str(previous))
        self._security_profile = previous
        self._profile_failures = 0
        self._security_event(
            "ReconfigurationOfSecurityParameters",
            now,
            f"security profile {failed} failed {PROFILE_FALLBACK_FAILURES} times ({reason}); back to {previous}",
        )

    def report_security_event(self, event_type: str, now: float, *, tech_info: str | None = None) -> None:
        """A security event the model cannot see: an invalid Central System certificate (A00.FR.309/413), a TLS
        version or cipher suite below the whitepaper's (A00.FR.315/322), credentials the Central System refused,
        a tamper sensor. ``event_type`` is one of §8's."""
        if event_type not in SECURITY_EVENTS:
            raise ValueError(f"unknown security event {event_type!r}; expected one of {', '.join(SECURITY_EVENTS)}")
        self._advance(now)
        self._security_event(event_type, now, tech_info)

    @property
    def security_log(self) -> tuple[SecurityEvent, ...]:
        """The security log, oldest first (the last DROPPED_HISTORY events, in a rolling format, A04.FR.04)."""
        return tuple(self._security_log)

    def connected(self, now: float) -> None:
        """A connection opened: the profile it used is kept (A05.FR.09) and, on TLS, the root fallback goes
        (M05.FR.12)."""
        opening = not self._connected
        super().connected(now)
        if not opening or not self._connected:
            return
        self._profile_fallback = None
        self._profile_failures = 0
        fallback = self._root_fallback
        if fallback is not None and self._security_profile >= 2:
            self._root_fallback = None
            self._security_event(
                "ReconfigurationOfSecurityParameters", now, f"fallback root removed: {describe(fallback.certificate)}"
            )

    # ------------------------------------------------------------------ security events (A04, §8)

    def _security_event(self, event_type: str, at: float, tech_info: str | None = None) -> None:
        """Every event goes into the security log (A04.FR.04); which are sent, SimSecurityEvents says. A sent one
        is kept across disconnects and reboots until the Central System answers it (A04.FR.02)."""
        text = None if tech_info is None else tech_info[:TECH_INFO_MAX_CHARS]
        mode = self._config.get("SimSecurityEvents")
        send = (
            mode == EVENTS_ALL
            or event_type in REQUIRED_EVENTS
            or (mode == EVENTS_CRITICAL and SECURITY_EVENTS.get(event_type, False))
        )
        keep_last(self._security_log, SecurityEvent(event_type, at, text, send))
        if send:
            payload = payloads.security_event(event_type, at, text)
            self._queue_entry(Entry("SecurityEventNotification", payload, at, persistent=True))

    def _go_down(self, at: float, reason: str) -> None:
        self._reconnect = None
        super()._go_down(at, reason)
        self._security_event("ResetOrReboot", at, reason)

    def _power_on(self, at: float) -> None:
        super()._power_on(at)
        self._security_event("StartupOfTheDevice", at, "powered on")

    # ------------------------------------------------------------------ profiles and passwords (A01, A05)

    def _change_refused(self, name: str, value: str) -> bool:
        """A05.FR.01-04: not higher than now; 1 or 2 without a valid AuthorizationKey; 2 or 3 without a valid
        CentralSystemRootCertificate; 3 without a valid certificate of the station's own."""
        if name != "SecurityProfile":
            return super()._change_refused(name, value)
        wanted = int(value)
        if wanted <= self._security_profile:
            return True
        if wanted in (1, 2) and not authorization_key_valid(self._config.get("AuthorizationKey")):
            return True
        roots = [
            entry
            for entry in self._trust(CENTRAL_SYSTEM_ROOT)
            if validity_problem(entry.certificate, self._now) is None
        ]
        if wanted >= 2 and not roots:
            return True
        return wanted == 3 and self._client_credential(self._now) is None

    def _configuration_changed(self, name: str, at: float) -> None:
        super()._configuration_changed(name, at)
        if name == "AuthorizationKey":
            self._security_event("ReconfigurationOfSecurityParameters", at, "AuthorizationKey changed")
            if self._security_profile in (1, 2):
                self._plan_reconnect(at, "new AuthorizationKey (A01)")
        elif name == "SecurityProfile":
            previous, self._security_profile = self._security_profile, int(self._config.get(name))
            self._profile_fallback, self._profile_failures = previous, 0
            self._security_event(
                "ReconfigurationOfSecurityParameters", at, f"security profile {previous} -> {self._security_profile}"
            )
            if self._config.get("SimSecurityProfileSwitch") == RECONNECT:
                self._plan_reconnect(at, f"security profile {self._security_profile} (A05.FR.06)")

    def _plan_reconnect(self, at: float, reason: str) -> None:
        if self._connected and self._reconnect is None:
            self._reconnect = PendingReconnect(reason, at + RECONNECT_GRACE_S)

    def _arm_reconnect(self, at: float) -> None:
        if self._reconnect is not None:
            self._reconnect.armed = True
            self._maybe_go_down(at)

    def _maybe_go_down(self, at: float) -> None:
        """Also where an armed reconnect happens: once everything due is said, the station takes the link as
        closed and wants a new one at once; its queue is kept (A01 step 3)."""
        super()._maybe_go_down(at)
        pending = self._reconnect
        if pending is None or not pending.armed:
            return
        if not self._connected:
            self._reconnect = None
        elif self._said_all(at):
            self._reconnect = None
            self._connected = False

    # ------------------------------------------------------------------ the trust store (M03-M05)

    def _trust(self, kind: str) -> list[InstalledCertificate]:
        entries = [entry for entry in self._certificates if entry.certificate_type == kind]
        if kind == CENTRAL_SYSTEM_ROOT and self._root_fallback is not None:
            entries.append(self._root_fallback)
        return entries

    def _roots_pem(self, kind: str) -> list[str]:
        return [certificate_pem(entry.certificate) for entry in self._trust(kind)]

    def _on_install_certificate(
        self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """M05: Accepted once installed (M05.FR.02); Rejected for a certificate that is not a valid root CA
        (M05.FR.06) or a full store (M05.FR.03, CertificateStoreMaxLength); with AdditionalRootCertificateCheck a
        new CentralSystemRootCertificate must be signed by the one it replaces, which stays as fallback
        (M05.FR.09-11). A CentralSystemRootCertificate Rejected as invalid raises InvalidCentralSystemCertificate
        (TC_078). SimInstallCertificate Reject / Fail answers so whatever comes."""
        kind: str = payload["certificateType"]
        decided, problem, entry = self._install_decision(kind, payload["certificate"])
        reply = status_reply(answer, decided)
        status = reply.get("status")
        if status == ACCEPTED and entry is not None:
            self._install_root(entry, now)
        elif status == REJECTED and kind == CENTRAL_SYSTEM_ROOT and (problem is not None or decided != REJECTED):
            self._security_event("InvalidCentralSystemCertificate", now, problem or "refused by the station")
        return reply

    def _install_decision(self, kind: str, text: str) -> tuple[str, str | None, InstalledCertificate | None]:
        """(status, why the certificate is invalid, what to install)."""
        setting = self._config.get("SimInstallCertificate")
        if setting == REJECT:
            return REJECTED, "SimInstallCertificate is Reject", None
        if setting == FAIL:
            return "Failed", None, None
        try:
            certificate = read_certificate(text)
        except CertificateError as exc:
            return REJECTED, str(exc), None
        installed = [entry for entry in self._certificates if entry.certificate_type == kind]
        if any(entry.certificate == certificate for entry in installed):
            return ACCEPTED, None, None
        replaced = installed[0] if kind == CENTRAL_SYSTEM_ROOT and installed and self._additional_check() else None
        issuer = None if replaced is None else replaced.certificate
        problem = root_problem(certificate, self._now, issuer=issuer)
        if problem is not None:
            return REJECTED, problem, None
        if replaced is None and len(self._certificates) >= self._config.get_int("CertificateStoreMaxLength"):
            return REJECTED, None, None
        return ACCEPTED, None, InstalledCertificate.of(kind, certificate, issuer=issuer)

    def _additional_check(self) -> bool:
        return self._config.get_bool("AdditionalRootCertificateCheck")

    def _install_root(self, entry: InstalledCertificate, at: float) -> None:
        if entry.certificate_type == CENTRAL_SYSTEM_ROOT and self._additional_check():
            for old in [e for e in self._certificates if e.certificate_type == CENTRAL_SYSTEM_ROOT]:
                self._certificates.remove(old)
                self._root_fallback = old
        self._certificates.append(entry)
        self._security_event(
            "ReconfigurationOfSecurityParameters",
            at,
            f"{entry.certificate_type} installed: {describe(entry.certificate)}",
        )

    def _on_get_installed_certificate_ids(
        self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """M03: the hash data of every certificate of the type (M03.FR.03/04), with SimCertificateHashAlgorithm;
        NotFound when there is none (M03.FR.02)."""
        if answer is not None:
            return answer
        algorithm = self._config.get("SimCertificateHashAlgorithm")
        found = [dict(entry.hashes[algorithm]) for entry in self._trust(payload["certificateType"])]
        return {"status": ACCEPTED, "certificateHashData": found} if found else {"status": "NotFound"}

    def _on_delete_certificate(
        self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """M04: the certificate whose hash data (under the algorithm the station reports, M04.FR.07) matches is
        deleted, Accepted (M04.FR.02); none matches: NotFound (M04.FR.04; the station's own certificate is never
        among them, M04.FR.05). The last CentralSystemRootCertificate while the connection is TLS is in use for
        validating it: Failed (M04.FR.06)."""
        wanted: dict[str, Any] = payload["certificateHashData"]
        algorithm = self._config.get("SimCertificateHashAlgorithm")
        every = [*self._certificates, *([self._root_fallback] if self._root_fallback is not None else [])]
        found = next((entry for entry in every if hash_data_matches(entry.hashes[algorithm], wanted)), None)
        if found is None:
            decided = "NotFound"
        elif (
            found.certificate_type == CENTRAL_SYSTEM_ROOT
            and self._security_profile >= 2
            and len(self._trust(CENTRAL_SYSTEM_ROOT)) == 1
        ):
            decided = "Failed"
        else:
            decided = ACCEPTED
        reply = status_reply(answer, decided)
        if found is not None and decided == ACCEPTED and reply.get("status") == ACCEPTED:
            if found is self._root_fallback:
                self._root_fallback = None
            else:
                self._certificates.remove(found)
            self._security_event(
                "ReconfigurationOfSecurityParameters",
                now,
                f"{found.certificate_type} deleted: {describe(found.certificate)}",
            )
        return reply

    # ------------------------------------------------------------------ the station's certificate (A02, A03)

    def _client_credential(self, at: float) -> ClientCredential | None:
        """The newest certificate valid at ``at`` (A02.FR.08/09); of two as new, the one installed last."""
        valid = [(c.leaf.not_valid_before_utc, i, c) for i, c in enumerate(self._client_credentials) if c.valid_at(at)]
        return max(valid, key=lambda item: item[:2])[2] if valid else None

    def _request_certificate(self, at: float, *, triggered: bool) -> None:
        """A new key pair and its CSR in a SignCertificate.req (A02.FR.02/03, A03.FR.02/03); a CSR still pending
        is replaced."""
        name = (self._spec.serial_number or self._spec.station_id)[:COMMON_NAME_MAX_CHARS]
        self._pending_csr = new_csr(common_name=name, organization=self._config.get("CpoName"))
        payload = {"csr": self._pending_csr.csr_pem}
        self._queue_entry(Entry("SignCertificate", payload, at, triggered=triggered))

    def _on_certificate_signed(
        self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """A02.FR.06: Accepted for a chain of the CPO hierarchy whose leaf is the pending CSR's key and subject;
        the station then uses it (on profile 3 it reconnects with it, TC_074). Rejected otherwise, the certificate
        discarded with an InvalidChargePointCertificate event (A02.FR.07, TC_077); SimCertificateSigned Reject
        rejects every chain."""
        decided, problem, credential = self._certificate_signed_decision(payload["certificateChain"])
        reply = status_reply(answer, decided)
        status = reply.get("status")
        if status == ACCEPTED and credential is not None:
            self._client_credentials = [*self._client_credentials, credential][-CLIENT_CREDENTIALS_KEPT:]
            self._pending_csr = None
            self._security_event(
                "ReconfigurationOfSecurityParameters",
                now,
                f"charge point certificate installed: {describe(credential.leaf)}",
            )
            if self._security_profile == 3:
                self._plan_reconnect(now, "new charge point certificate (A02)")
        elif status == REJECTED:
            self._security_event("InvalidChargePointCertificate", now, problem or "refused by the station")
        return reply

    def _certificate_signed_decision(self, text: str) -> tuple[str, str | None, ClientCredential | None]:
        if self._config.get("SimCertificateSigned") == REJECT:
            return REJECTED, "SimCertificateSigned is Reject", None
        limit = self._config.get_int("CertificateSignedMaxChainSize")
        if len(text) > limit:
            return REJECTED, f"a chain of {len(text)} characters; CertificateSignedMaxChainSize is {limit}", None
        try:
            chain = read_certificates(text)
        except CertificateError as exc:
            return REJECTED, str(exc), None
        pending = self._pending_csr
        if pending is None:
            return REJECTED, "no certificate signing request is pending", None
        leaf = chain[0]
        if not same_public_key(leaf.public_key(), pending.private_key.public_key()):
            return REJECTED, f"{describe(leaf)} is not for the key of the pending CSR", None
        if common_name(leaf.subject) != pending.common_name:
            return REJECTED, f"{describe(leaf)}: CN is not the serial number {pending.common_name} (A00.FR.511)", None
        if not organization(leaf.subject):
            return REJECTED, f"{describe(leaf)} has no O (A00.FR.509)", None
        # A02.FR.08: a certificate not valid yet is judged as of when it will be, and used from then on.
        at = max(self._now, leaf.not_valid_before_utc.timestamp())
        roots = [entry.certificate for entry in self._trust(CENTRAL_SYSTEM_ROOT)]
        problem = chain_problem(chain, roots, at)
        if problem is not None:
            return REJECTED, problem, None
        return ACCEPTED, None, ClientCredential(tuple(chain), pending.private_key)

    def _renew_certificate(self, credential: ClientCredential, at: float) -> None:
        """A03.FR.02: the certificate in use expires within a month, so the station asks for a new one, once."""
        self._renewal_asked_for = credential
        if self._config.get("CpoName"):
            self._request_certificate(at, triggered=False)

    def _timers(self) -> list[tuple[float, Callable[[float], None]]]:
        timers = super()._timers()
        pending = self._reconnect
        if pending is not None and not pending.armed:
            timers.append((pending.at, self._arm_reconnect))
        credential = self._client_credential(self._now)
        if credential is not None and credential is not self._renewal_asked_for:
            renew_at = credential.leaf.not_valid_after_utc.timestamp() - RENEWAL_BEFORE_EXPIRY_S
            timers.append((renew_at, functools.partial(self._renew_certificate, credential)))
        return timers

    # ------------------------------------------------------------------ ExtendedTriggerMessage (§5.5, §5.6)

    def _on_extended_trigger_message(
        self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Accepted and the message queued after the answer, or Rejected: a connectorId (> 0, at most
        NumberOfConnectors) only for MeterValues and StatusNotification, "only filled in when the request applies
        to a specific connector" (§5.5; OCTT TC_074 checks SignChargePointCertificate has none); nothing while not
        registered (OCPP 1.6 §4.2); SignChargePointCertificate only with a CpoName (the A02 prerequisite)."""
        requested: str = payload["requestedMessage"]
        connector_id: int | None = payload.get("connectorId")
        per_connector = requested in ("MeterValues", "StatusNotification")
        valid = connector_id is None or (per_connector and 1 <= connector_id <= self._spec.connectors)
        able = requested != "SignChargePointCertificate" or bool(self._config.get("CpoName"))
        can_send = self._registration in (ACCEPTED, PENDING)
        reply = status_reply(answer, ACCEPTED if valid and able and can_send else REJECTED)
        if valid and able and reply.get("status") == ACCEPTED:
            self._extended_trigger(requested, connector_id, now)
        return reply

    def _extended_trigger(self, requested: str, connector_id: int | None, at: float) -> None:
        if requested == "SignChargePointCertificate":
            self._request_certificate(at, triggered=True)
        elif requested == "FirmwareStatusNotification":
            # L01.FR.28/29: the last status sent, Idle after Installed; the requestId unless Idle (L01.FR.21).
            status = self._signed_firmware_status
            request_id = None if status == "Idle" else self._signed_firmware_request_id
            body = payloads.with_request_id(status, request_id)
            self._queue_entry(Entry("SignedFirmwareStatusNotification", body, at, triggered=True))
        elif requested == "LogStatusNotification":
            upload = self._log_upload  # N01.FR.12: Idle, without requestId, when no upload is under way
            body = payloads.with_request_id("Idle", None) if upload is None else upload.triggered_status()
            self._queue_entry(Entry("LogStatusNotification", body, at, triggered=True))
        else:
            self._trigger(requested, connector_id, at)

    # ------------------------------------------------------------------ scenario sends

    def _default_payload(self, action: str, *, connector_id: int, id_tag: str | None, now: float) -> dict[str, Any]:
        """The whitepaper's charge point messages, for a scenario's ``send`` step."""
        if action == "SecurityEventNotification":
            return payloads.security_event("TamperDetectionActivated", now, None)
        if action == "SignCertificate":
            # A CSR of a key the station keeps, so that the CertificateSigned that may follow is judged by it.
            if self._pending_csr is None:
                name = (self._spec.serial_number or self._spec.station_id)[:COMMON_NAME_MAX_CHARS]
                organization_name = self._config.get("CpoName") or self._spec.vendor
                self._pending_csr = new_csr(common_name=name, organization=organization_name)
            return {"csr": self._pending_csr.csr_pem}
        if action == "LogStatusNotification":
            upload = self._log_upload
            return payloads.with_request_id("Idle", None) if upload is None else upload.triggered_status()
        if action == "SignedFirmwareStatusNotification":
            status = self._signed_firmware_status
            return payloads.with_request_id(status, None if status == "Idle" else self._signed_firmware_request_id)
        return super()._default_payload(action, connector_id=connector_id, id_tag=id_tag, now=now)
