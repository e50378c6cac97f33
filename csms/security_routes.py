"""Operator routes of the security whitepaper (edition 3): the CSMS builds each message from what the operator wants
and from its own PKI and records, and sends it the raw trigger contract's way (``relay``, as :mod:`csms.operator`
does: 200 with the CALLRESULT payload, 502 for a CALLERROR, 504 for a timeout, 404 for a station unknown or not
connected). What the answers teach is recorded by :mod:`csms.security_tracking`, as for any CALL.

Per station, under ``/api/stations/{station_id}``:

* ``GET security``: its profile and credentials' record; ``PUT security-profile {security_profile}``: provisioning;
  ``POST security-profile/upgrade``: ChangeConfiguration(SecurityProfile, current + 1), then Reset(Hard) (A05);
* ``POST basic-auth-password {password}``: ChangeConfiguration(AuthorizationKey, hex) (A01);
* ``GET certificates``: what the CSMS knows installed on the station and the client certificates it issued;
  ``POST certificates {type, pem?}``: InstallCertificate (M05); ``GET installed-certificates?type=``:
  GetInstalledCertificateIds; ``DELETE certificates {pem | serial_number, type?, hash_algorithm?}``:
  DeleteCertificate (M04), with the hash data the station reported when it did (reference §5.10);
* ``POST extended-trigger {message, connector_id?}``: ExtendedTriggerMessage;
* ``GET``/``POST logs``: GetLog jobs (N01); ``GET``/``POST signed-firmware``: SignedUpdateFirmware jobs (L01);
* ``GET security-events``: its security log; ``GET /api/security-events``: everyone's, the CSMS's own included.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import quote

from aiohttp import web
from cryptography import x509

from csms import credentials, pki
from csms.api import ApiError, json_object, known_fields, string_field, time_field
from csms.files import DEFAULT_FIRMWARE_NAME, FIRMWARE_PATH, LOGS_PATH, firmware_image
from csms.operator import (
    Relay,
    add_retries,
    choice,
    jobs_view,
    known_station,
    location_field,
    optional_int,
    origin,
    with_job_header,
)
from csms.pki import CertificateHashData, HashAlgorithm
from csms.profile_store import JobKind
from csms.security import MAX_SECURITY_PROFILE, required_profile
from csms.security_store import MAX_EVENTS_LISTED, InstalledCertificate
from csms.security_tracking import TAKEN
from csms.store import Station, Store
from csms.tls import TlsSettings
from ocppj.timefmt import format_time

CERTIFICATE_TYPES = ("CentralSystemRootCertificate", "ManufacturerRootCertificate")  # CertificateUseEnumType
HASH_ALGORITHMS: tuple[HashAlgorithm, ...] = ("SHA256", "SHA384", "SHA512")
LOG_TYPES = ("SecurityLog", "DiagnosticsLog")
# ExtendedTriggerMessage.req MessageTriggerEnumType
EXTENDED_TRIGGERS = (
    "BootNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "LogStatusNotification",
    "MeterValues",
    "SignChargePointCertificate",
    "StatusNotification",
)


def _profile(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SECURITY_PROFILE:
        raise ApiError(400, f"'{key}' must be an integer from 0 to {MAX_SECURITY_PROFILE}.")
    return value


def _answer(response: web.Response) -> dict[str, Any]:
    """The JSON body of a relayed answer."""
    body = json.loads(response.text or "{}")
    return body if isinstance(body, dict) else {}


def _root(text: str) -> x509.Certificate:
    """InstallCertificate carries one self-signed CA certificate (M05, reference §5.10)."""
    try:
        certificate = pki.load_certificate(text)
    except pki.PkiError as exc:
        raise ApiError(400, f"'pem' must be one PEM certificate: {exc}.") from None
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if certificate.issuer != certificate.subject or constraints is None or not constraints.ca:
        raise ApiError(400, "'pem' must be a root CA certificate: self-issued, with basicConstraints CA:TRUE.")
    return certificate


def _serial(text: str) -> str:
    """A serial number as CertificateHashData writes it: hex without leading zeroes, in capitals (§6.1)."""
    cleaned = text.strip().upper().removeprefix("0X").lstrip("0") or "0"
    if any(digit not in "0123456789ABCDEF" for digit in cleaned):
        raise ApiError(400, f"'serial_number' must be hexadecimal, got {text!r}.")
    return cleaned


class SecurityRoutes:
    """The routes of the module docstring. ``tls``: the CSMS's TLS listener and CA, None when it serves plain ws
    only (no profile 2 or 3, no CSR signing, no firmware signature of its own)."""

    def __init__(self, *, store: Store, clock: Callable[[], float], relay: Relay, tls: TlsSettings | None) -> None:
        self._store = store
        self._security = store.security
        self._clock = clock
        self._relay = relay
        self._tls = tls

    def add_routes(self, router: web.UrlDispatcher) -> None:
        base = "/api/stations/{station_id}"
        router.add_get(base + "/security", self._get_security)
        router.add_put(base + "/security-profile", self._put_security_profile)
        router.add_post(base + "/security-profile/upgrade", self._upgrade)
        router.add_post(base + "/basic-auth-password", self._change_password)
        router.add_get(base + "/certificates", self._list_certificates)
        router.add_post(base + "/certificates", self._install_certificate)
        router.add_delete(base + "/certificates", self._delete_certificate)
        router.add_get(base + "/installed-certificates", self._get_installed_certificates)
        router.add_post(base + "/extended-trigger", self._extended_trigger)
        router.add_get(base + "/logs", self._list_logs)
        router.add_post(base + "/logs", self._get_log)
        router.add_get(base + "/signed-firmware", self._list_signed_firmware)
        router.add_post(base + "/signed-firmware", self._signed_update_firmware)
        router.add_get(base + "/security-events", self._list_station_events)
        router.add_get("/api/security-events", self._list_events)

    async def _station(self, request: web.Request) -> Station:
        return await known_station(self._store, request.match_info["station_id"])

    # -- security profile (whitepaper §2, A05) -------------------------------------------------------------------

    async def _security_json(self, station: Station) -> dict[str, Any]:
        record = await self._security.station(station.id)
        return {
            **record.as_json(),
            "required_profile": required_profile(
                record.security_profile, has_password=station.password_hash is not None
            ),
            "basic_auth": station.password_hash is not None,
        }

    async def _get_security(self, request: web.Request) -> web.Response:
        """``{station_id, security_profile, required_profile, basic_auth, profile_changed_at, password_changed_at,
        max_chain_chars, client_certificate, client_certificate_at}``: ``required_profile`` is what its connections
        must meet (1 on profile 0 with a password)."""
        return web.json_response(await self._security_json(await self._station(request)))

    def _prerequisite_problem(self, station: Station, profile: int) -> str | None:
        """What the CSMS needs to serve a station on ``profile``: its password (1, 2), its TLS listener (2, 3) with
        a CA for client certificates (3)."""
        if profile in (1, 2) and station.password_hash is None:
            return (
                f"Security profile {profile} uses Basic authentication and station {station.id!r} has no password;"
                " set one first (POST /api/octt/set-basic-auth-password)."
            )
        if profile >= 2 and self._tls is None:
            return f"Security profile {profile} needs TLS and this CSMS serves plain ws only (start it with TLS)."
        if profile == MAX_SECURITY_PROFILE and (self._tls is None or self._tls.client_ca is None):
            return "Security profile 3 needs a CA for client certificates and this CSMS has none."
        return None

    async def _put_security_profile(self, request: web.Request) -> web.Response:
        """``{security_profile: 0-3}``: the profile the operator configured on the station, lower or higher (this is
        provisioning, not OCPP, which only raises it, A00.FR.005)."""
        station = await self._station(request)
        body = await json_object(request)
        known_fields(body, {"security_profile"}, what="security profile")
        if body.get("security_profile") is None:
            raise ApiError(400, "'security_profile' is required and must be an integer from 0 to 3.")
        profile = _profile(body["security_profile"], "security_profile")
        problem = self._prerequisite_problem(station, profile)
        if problem is not None:
            raise ApiError(409, problem)
        await self._security.set_profile(station.id, profile, now_s=self._clock())
        return web.json_response(await self._security_json(station))

    async def _upgrade(self, request: web.Request) -> web.Response:
        """TC_083, A05: ChangeConfiguration(SecurityProfile, current + 1 or the ``security_profile`` given, never
        lower or equal, A00.FR.005), then, when the station took it, Reset(Hard); the profile is stored with the
        station's answer, so connections of the old one are refused from then on. Prerequisites first: for 3, a
        client certificate the CSMS issued and the station accepted (TC_074 before TC_083, reference §5.12).
        ``{station_id, security_profile, change_configuration, reset}``; a Reset that fails is relayed as it is."""
        station = await self._station(request)
        body = await json_object(request, empty={})
        known_fields(body, {"security_profile"}, what="upgrade")
        record = await self._security.station(station.id)
        current = required_profile(record.security_profile, has_password=station.password_hash is not None)
        if current >= MAX_SECURITY_PROFILE:
            raise ApiError(409, f"Station {station.id!r} is on security profile 3 already, the highest.")
        wanted = body.get("security_profile")
        target = current + 1 if wanted is None else _profile(wanted, "security_profile")
        if target <= current:
            raise ApiError(
                409,
                f"Station {station.id!r} is on security profile {current}: an upgrade goes higher, and a profile is"
                " never lowered over OCPP (A00.FR.005).",
            )
        problem = self._prerequisite_problem(station, target)
        issued = await self._security.accepted_certificate(station.id, now_s=self._clock())
        if problem is None and target == MAX_SECURITY_PROFILE and issued is None:
            problem = (
                f"Station {station.id!r} has no valid client certificate the CSMS issued and it accepted; have it"
                ' sign one first (POST extended-trigger {"message": "SignChargePointCertificate"}).'
            )
        if problem is not None:
            raise ApiError(409, problem)
        change = await self._relay(station.id, "ChangeConfiguration", {"key": "SecurityProfile", "value": str(target)})
        if change.status != 200:
            return change
        changed = _answer(change)
        if changed.get("status") not in TAKEN:
            raise ApiError(
                409,
                f"Station {station.id!r} answered {changed.get('status')} to SecurityProfile {target}: it stays on"
                f" security profile {current}.",
            )
        reset = await self._relay(station.id, "Reset", {"type": "Hard"})
        reset.headers["X-Security-Profile"] = str(target)
        if reset.status != 200:
            return reset
        return web.json_response(
            {
                "station_id": station.id,
                "security_profile": target,
                "change_configuration": changed,
                "reset": _answer(reset),
            },
            headers={"X-Security-Profile": str(target)},
        )

    # -- HTTP Basic password (A01) -------------------------------------------------------------------------------

    async def _change_password(self, request: web.Request) -> web.Response:
        """``{password}`` (16-20 bytes, A00.FR.205) -> ChangeConfiguration(AuthorizationKey, its hex, at most 40
        digits; reference §0 item 8). The CSMS takes the new password only when the station answers Accepted
        (A01.FR.03), and keeps the old one otherwise (A01.FR.04)."""
        station = await self._station(request)
        body = await json_object(request)
        known_fields(body, {"password"}, what="password")
        password = string_field(body, "password")
        assert password is not None
        problem = credentials.password_problem(password)
        if problem is not None:
            raise ApiError(400, problem)
        payload = {"key": credentials.AUTHORIZATION_KEY, "value": credentials.authorization_key(password)}
        return await self._relay(station.id, "ChangeConfiguration", payload)

    # -- certificates (M03-M05) ----------------------------------------------------------------------------------

    async def _list_certificates(self, request: web.Request) -> web.Response:
        """``{station_id, installed: [{certificate_type, certificate_hash_data, certificate, source, ...}],
        issued: [{serial_number, subject, status, station_answer, certificate, expires_at, ...}]}``."""
        station = await self._station(request)
        installed = await self._security.installed_certificates(station.id)
        issued = await self._security.issued_certificates(station.id)
        return web.json_response(
            {
                "station_id": station.id,
                "installed": [entry.as_json() for entry in installed],
                "issued": [entry.as_json() for entry in issued],
            }
        )

    def _own_root(self) -> str | None:
        if self._tls is None:
            return None
        if self._tls.authority is not None:
            return pki.certificate_pem(self._tls.authority.certificate)
        if self._tls.client_ca is not None:
            return self._tls.client_ca.read_text(encoding="ascii")
        return None

    async def _install_certificate(self, request: web.Request) -> web.Response:
        """``{type, pem?}`` -> InstallCertificate (TC_075_1/2, TC_078) of one root CA certificate, in the strict PEM
        form (CRLF and percent-encoded line endings normalised, reference §5.6); by default the CSMS's own CA, the
        root of its server certificates and of the firmware signing certificate."""
        station = await self._station(request)
        body = await json_object(request)
        known_fields(body, {"type", "pem"}, what="certificate")
        certificate_type = choice(body, "type", CERTIFICATE_TYPES)
        text = string_field(body, "pem", required=False) or self._own_root()
        if text is None:
            raise ApiError(400, "'pem' is required: this CSMS has no CA of its own to install.")
        certificate = pki.certificate_pem(_root(text))
        if len(certificate) > pki.CERTIFICATE_MAX_CHARS:
            raise ApiError(400, f"The certificate has more than the {pki.CERTIFICATE_MAX_CHARS} characters allowed.")
        return await self._relay(
            station.id, "InstallCertificate", {"certificateType": certificate_type, "certificate": certificate}
        )

    async def _get_installed_certificates(self, request: web.Request) -> web.Response:
        """``?type=`` -> GetInstalledCertificateIds; the answer replaces what the CSMS knew of that type."""
        station = await self._station(request)
        query = dict(request.query)
        known_fields(query, {"type"}, what="query")
        certificate_type = choice(query, "type", CERTIFICATE_TYPES)
        return await self._relay(station.id, "GetInstalledCertificateIds", {"certificateType": certificate_type})

    async def _delete_certificate(self, request: web.Request) -> web.Response:
        """``{pem}`` or ``{serial_number}``, with ``type`` and ``hash_algorithm`` optional -> DeleteCertificate
        (TC_076). The hash data is the station's own from its last GetInstalledCertificateIds answer when that
        listed the certificate (same hashAlgorithm, same text: what OCTT compares, reference §5.10), else computed
        from the PEM (its issuer follows it, or it is a root) over ``hash_algorithm`` or the station's last one."""
        station = await self._station(request)
        body = await json_object(request)
        known_fields(body, {"pem", "serial_number", "type", "hash_algorithm"}, what="certificate")
        certificate_type = None if body.get("type") is None else choice(body, "type", CERTIFICATE_TYPES)
        algorithm = (
            None
            if body.get("hash_algorithm") is None
            else cast(HashAlgorithm, choice(body, "hash_algorithm", HASH_ALGORITHMS))
        )
        pem = string_field(body, "pem", required=False)
        serial = string_field(body, "serial_number", required=False)
        if (pem is None) == (serial is None):
            raise ApiError(400, "Name the certificate with one of 'pem' or 'serial_number'.")
        known = await self._security.installed_certificates(station.id, certificate_type)
        if pem is not None:
            data = self._hash_data_of_pem(pem, known, algorithm)
        else:
            assert serial is not None
            data = self._hash_data_of_serial(station, _serial(serial), known, algorithm)
        return await self._relay(station.id, "DeleteCertificate", {"certificateHashData": data.to_ocpp()})

    @staticmethod
    def _hash_data_of_pem(
        pem: str, known: list[InstalledCertificate], algorithm: HashAlgorithm | None
    ) -> CertificateHashData:
        try:
            chain = pki.load_certificates(pem)
        except pki.PkiError as exc:
            raise ApiError(400, f"'pem' must be a PEM certificate: {exc}.") from None
        certificate, issuer = chain[0], chain[1] if len(chain) > 1 else None
        reported = [entry for entry in known if entry.source == "reported"]
        chosen = algorithm or (reported[-1].hash_algorithm if reported else "SHA256")

        def hash_data(over: str) -> CertificateHashData:
            return pki.certificate_hash_data(certificate, issuer=issuer, hash_algorithm=cast(HashAlgorithm, over))

        try:
            computed = hash_data(chosen)
        except ValueError as exc:
            raise ApiError(400, f"Cannot name the certificate: {exc}; give its issuer after it in 'pem'.") from None
        for entry in reversed(reported):
            if (algorithm is None or entry.hash_algorithm == algorithm) and hash_data(entry.hash_algorithm).matches(
                entry.hash_data
            ):
                return entry.hash_data
        return computed

    @staticmethod
    def _hash_data_of_serial(
        station: Station, serial: str, known: list[InstalledCertificate], algorithm: HashAlgorithm | None
    ) -> CertificateHashData:
        found = [
            entry
            for entry in known
            if entry.serial_number.upper().lstrip("0") == serial.lstrip("0")
            and (algorithm is None or entry.hash_algorithm == algorithm)
        ]
        reported = [entry for entry in found if entry.source == "reported"]
        if reported:
            found = reported
        if not found:
            raise ApiError(
                404,
                f"The CSMS knows no certificate with serial number {serial} on station {station.id!r}; ask it with"
                " GET installed-certificates?type=... first, or give 'pem'.",
            )
        if len({(e.issuer_name_hash.casefold(), e.issuer_key_hash.casefold()) for e in found}) > 1:
            raise ApiError(
                409,
                f"Several certificates of station {station.id!r} have serial number {serial}: give 'type' or 'pem'.",
            )
        return found[-1].hash_data

    # -- ExtendedTriggerMessage --------------------------------------------------------------------------------

    async def _extended_trigger(self, request: web.Request) -> web.Response:
        """``{message, connector_id?}`` -> ExtendedTriggerMessage (TC_074, TC_077: SignChargePointCertificate, whose
        connectorId the CSMS omits, D24)."""
        station = await self._station(request)
        body = await json_object(request)
        known_fields(body, {"message", "connector_id"}, what="trigger")
        message = choice(body, "message", EXTENDED_TRIGGERS)
        payload: dict[str, Any] = {"requestedMessage": message}
        connector_id = optional_int(body, "connector_id", minimum=0)
        if connector_id is not None:
            if message == "SignChargePointCertificate":
                raise ApiError(400, "SignChargePointCertificate concerns the whole station: leave 'connector_id' out.")
            payload["connectorId"] = connector_id
        return await self._relay(station.id, "ExtendedTriggerMessage", payload)

    # -- GetLog (N01) and SignedUpdateFirmware (L01) ---------------------------------------------------------------

    async def _jobs(self, request: web.Request, kind: JobKind) -> web.Response:
        return await jobs_view(self._store.profiles, (await self._station(request)).id, kind)

    async def _list_logs(self, request: web.Request) -> web.Response:
        """GetLog jobs as the firmware ones (``GET .../firmware``), with ``file_name`` (the answer's filename) and
        the ``uploads`` under that name; state refused for a Rejected GetLog."""
        return await self._jobs(request, "log")

    async def _list_signed_firmware(self, request: web.Request) -> web.Response:
        """SignedUpdateFirmware jobs; state refused for Rejected, InvalidCertificate or RevokedCertificate."""
        return await self._jobs(request, "signed_firmware")

    async def _send_job(self, station: Station, action: str, payload: dict[str, Any]) -> web.Response:
        response = await self._relay(station.id, action, payload)
        response.headers["X-OCPP-Request-Id"] = str(payload["requestId"])
        return await with_job_header(self._store.profiles, station.id, response)

    async def _get_log(self, request: web.Request) -> web.Response:
        """``{log_type: SecurityLog|DiagnosticsLog, location?, oldest_time?, latest_time?, retries?,
        retry_interval_s?}`` -> GetLog with a fresh requestId (``X-OCPP-Request-Id``; TC_079): by default uploaded to
        this CSMS's ``/files/logs/``."""
        station = await self._station(request)
        body = await json_object(request)
        known_fields(
            body,
            {"log_type", "location", "oldest_time", "latest_time", "retries", "retry_interval_s"},
            what="log request",
        )
        log_type = choice(body, "log_type", LOG_TYPES)
        parameters: dict[str, Any] = {"remoteLocation": location_field(body, origin(request) + LOGS_PATH)}
        oldest_s, latest_s = time_field(body, "oldest_time"), time_field(body, "latest_time")
        if oldest_s is not None and latest_s is not None and latest_s < oldest_s:
            raise ApiError(400, "'latest_time' must not lie before 'oldest_time'.")
        if oldest_s is not None:
            parameters["oldestTimestamp"] = format_time(oldest_s)
        if latest_s is not None:
            parameters["latestTimestamp"] = format_time(latest_s)
        payload: dict[str, Any] = {
            "log": parameters,
            "logType": log_type,
            "requestId": await self._store.profiles.next_request_id(),
        }
        add_retries(body, payload)
        return await self._send_job(station, "GetLog", payload)

    async def _signed_update_firmware(self, request: web.Request) -> web.Response:
        """``{firmware_name?, location?, signing_certificate?, signature?, invalid_signature?, retrieve_date?,
        install_date?, retries?, retry_interval_s?}`` -> SignedUpdateFirmware with a fresh requestId (TC_080).

        By default the image this CSMS serves under ``firmware_name``, signed with its firmware signing key
        (RSA-PSS over the image's SHA-256, L01.FR.04), with that certificate (L01.FR.11): a station that trusts the
        CSMS's CA as a ManufacturerRootCertificate verifies it. ``invalid_signature: true`` signs other bytes, a
        well-formed signature that does not verify (TC_081); ``signature`` sends the one given, whatever it is. A
        ``location`` elsewhere needs its ``signature`` (and ``signing_certificate``): the CSMS signs only what it
        serves."""
        station = await self._station(request)
        body = await json_object(request, empty={})
        known_fields(
            body,
            {
                "firmware_name",
                "location",
                "signing_certificate",
                "signature",
                "invalid_signature",
                "retrieve_date",
                "install_date",
                "retries",
                "retry_interval_s",
            },
            what="signed firmware update",
        )
        invalid = body.get("invalid_signature", False)
        if not isinstance(invalid, bool):
            raise ApiError(400, "'invalid_signature' must be true or false.")
        signature = string_field(body, "signature", required=False)
        if signature is not None and invalid:
            raise ApiError(400, "Give 'signature' or 'invalid_signature', not both.")
        name = string_field(body, "firmware_name", required=False, max_length=255)
        if body.get("location") is not None and name is not None:
            raise ApiError(400, "Give 'firmware_name' (an image this CSMS serves) or 'location', not both.")
        name = name or DEFAULT_FIRMWARE_NAME
        location = location_field(body, origin(request) + FIRMWARE_PATH + quote(name, safe=""))
        signer = None if self._tls is None else self._tls.firmware_signer
        certificate = string_field(body, "signing_certificate", required=False)
        if signature is None:
            if body.get("location") is not None:
                raise ApiError(400, "The CSMS signs only the images it serves: give 'signature' for another location.")
            if signer is None or certificate is not None:
                raise ApiError(
                    400, "This CSMS has no firmware signing key for that certificate: give 'signature' as well."
                )
            image = firmware_image(name)
            signature = pki.sign_firmware(image + b"\x00" if invalid else image, signer.private_key)
        if certificate is None:
            if signer is None:
                raise ApiError(400, "'signing_certificate' is required: this CSMS has no firmware signing certificate.")
            certificate = signer.certificate_pem()
        retrieve_at_s = time_field(body, "retrieve_date")
        firmware: dict[str, Any] = {
            "location": location,
            "retrieveDateTime": format_time(self._clock() if retrieve_at_s is None else retrieve_at_s),
            "signingCertificate": certificate,
            "signature": signature,
        }
        install_at_s = time_field(body, "install_date")
        if install_at_s is not None:
            firmware["installDateTime"] = format_time(install_at_s)
        payload: dict[str, Any] = {"requestId": await self._store.profiles.next_request_id(), "firmware": firmware}
        add_retries(body, payload)
        return await self._send_job(station, "SignedUpdateFirmware", payload)

    # -- security log ------------------------------------------------------------------------------------------

    @staticmethod
    def _limit(request: web.Request) -> int:
        text = request.query.get("limit", str(MAX_EVENTS_LISTED))
        if not text.isdigit() or not 1 <= int(text) <= MAX_EVENTS_LISTED:
            raise ApiError(400, f"'limit' must be an integer from 1 to {MAX_EVENTS_LISTED}.")
        return int(text)

    async def _list_station_events(self, request: web.Request) -> web.Response:
        """The station's SecurityEventNotifications and the CSMS's refusals of its connections, oldest first:
        ``[{id, station_id, source: station|csms, type, timestamp, tech_info, received_at}]``."""
        station = await self._station(request)
        events = await self._security.events(station_id=station.id, limit=self._limit(request))
        return web.json_response([event.as_json() for event in events])

    async def _list_events(self, request: web.Request) -> web.Response:
        """Every station's events and the CSMS's own, refused TLS handshakes among them (``station_id`` null)."""
        events = await self._security.events(limit=self._limit(request))
        return web.json_response([event.as_json() for event in events])
