"""The ``connect`` step's I/O: one connection of its own, made as the station would make it now but for what the
step changes (endpoint, Basic credentials, client certificate, TLS version), and whether the CSMS upgraded it or
refused it before any OCPP message (security whitepaper A00.FR.002, A00.FR.202-205, A00.FR.312/416,
A00.FR.401-407). With ``check_tls`` the endpoint's TLS properties are checked first, one handshake each
(:mod:`harness.tls_check`, TC_086/TC_087).

A refusal is an HTTP status instead of 101, or a TLS handshake the CSMS aborts, or a connection it closes before
answering the upgrade (TLS 1.3 sends its verdict on a client certificate only after the handshake). What is the
harness's own doing is not a refusal: nothing listening on the port, a TLS version or suite this client could
not even offer, a bad certificate the target's test PKI does not have. Those are failed driver outcomes (ERROR).
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import warnings
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from csms.pki import CertFiles, PkiError, PkiFiles
from harness.config import StationTarget, Target
from harness.handshake import probe
from harness.runner import LinkFactory
from harness.scenario.engine import CONNECT, ConnectReply, DriverOutcome, TlsProperty
from harness.tls_check import TlsClientCertificateNeeded, TlsEndpointUnreachable, check_tls_endpoint
from simulator import transport
from simulator.model import ConnectionSettings

_LOCAL_REASONS = frozenset({"NO_CIPHERS_AVAILABLE", "NO_PROTOCOLS_AVAILABLE"})  # this client gave up, not the CSMS
_TLS_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}
_BAD_CERTIFICATES = {"untrusted": "untrusted_station", "expired": "expired_station", "wrong_cn": "wrong_cn_station"}


class _Misconfigured(Exception):
    """The connection the step asks for cannot be made by the harness (not the CSMS's doing)."""


def _basic(username: str, password: bytes) -> str:
    return "Basic " + base64.b64encode(username.encode("utf-8") + b":" + password).decode("ascii")


def _headers(
    payload: Mapping[str, Any], station: StationTarget, wanted: ConnectionSettings, own: Mapping[str, str]
) -> dict[str, str]:
    auth = payload.get("auth", "station")
    username, password = payload.get("username"), payload.get("password")
    if auth == "none":
        return {}
    if auth == "station" and username is None and password is None:
        return dict(own)
    if password is not None:
        secret = str(password).encode("utf-8")
    elif auth == "target":
        if station.basic_auth_password is None:
            raise _Misconfigured(f"station {station.id!r} has no basic_auth_password in the target")
        secret = station.basic_auth_password.encode("utf-8")
    elif wanted.password is not None:
        secret = wanted.password
    else:
        raise _Misconfigured(f"station {station.id!r} has no Basic password now")
    return {"Authorization": _basic(str(username) if username is not None else station.id, secret)}


def _certificate(choice: str, target: Target, wanted: ConnectionSettings) -> tuple[str | None, str | None]:
    """The client certificate chain and key (PEM) to present."""
    if choice == "station":
        return wanted.client_certificate_chain, wanted.client_private_key
    if choice == "none":
        return None, None
    if target.certs is None:
        raise _Misconfigured(f"certificate {choice!r} needs the target's test PKI: set 'certs' to its folder")
    try:
        files: CertFiles = getattr(PkiFiles.read(Path(target.certs)).bad, _BAD_CERTIFICATES[choice])
        return files.certificate.read_text(encoding="ascii"), files.private_key.read_text(encoding="ascii")
    except (PkiError, OSError) as exc:
        raise _Misconfigured(f"certificate {choice!r}: {exc}") from None


def _context(
    payload: Mapping[str, Any], target: Target, station: StationTarget, wanted: ConnectionSettings
) -> ssl.SSLContext:
    endpoint = target.endpoint(station, wanted.security_profile)
    chain, key = _certificate(str(payload.get("certificate", "station")), target, wanted)
    context = transport.client_ssl_context(
        ca_file=endpoint.ca_file, ca_pem="".join(wanted.central_system_roots) or None, cert_pem=chain, key_pem=key
    )
    version = payload.get("tls_version")
    if version is not None:
        with warnings.catch_warnings(action="ignore", category=DeprecationWarning):  # TLS 1.0/1.1 on purpose
            context.minimum_version = min(ssl.TLSVersion.TLSv1, _TLS_VERSIONS[str(version)])
            context.maximum_version = _TLS_VERSIONS[str(version)]
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # so that the ClientHello of an old version is sent at all
    return context


async def _tls_properties(
    url: str, target: Target, station: StationTarget, wanted: ConnectionSettings, timeout_s: float
) -> tuple[TlsProperty, ...]:
    endpoint = target.endpoint(station, wanted.security_profile)
    client = None
    if wanted.security_profile == 3 and station.client_certificate and station.client_key:
        client = CertFiles(Path(station.client_certificate), Path(station.client_key))
    try:
        checks = await check_tls_endpoint(
            url,
            ca_file=None if endpoint.ca_file is None else Path(endpoint.ca_file),
            client_certificate=client,
            timeout_s=timeout_s,
        )
    except (TlsEndpointUnreachable, TlsClientCertificateNeeded, ValueError) as exc:
        raise _Misconfigured(str(exc)) from None
    return tuple(TlsProperty(c.name, c.ok, c.expected, c.actual, c.reference) for c in checks)


async def perform(
    payload: Mapping[str, Any],
    *,
    target: Target,
    station: StationTarget,
    settings: ConnectionSettings,
    links: LinkFactory,
) -> DriverOutcome:
    """The connect step's connection for the station whose settings are ``settings`` now."""
    profile = payload.get("profile")
    wanted = settings if profile is None else replace(settings, security_profile=int(profile))
    url = ""
    try:
        link = links(wanted)
        url = transport.station_url(
            target.endpoint(station, wanted.security_profile).ws_url, str(payload["station_id"])
        )
        headers = _headers(payload, station, wanted, link.headers)
        secure = url.startswith("wss://")
        context = _context(payload, target, station, wanted) if secure else None
        timeout_s = float(payload["timeout_s"])
        properties: tuple[TlsProperty, ...] = ()
        if payload.get("check_tls"):
            if not secure:
                raise _Misconfigured(f"check_tls needs a wss:// endpoint, not {url}")
            properties = await _tls_properties(url, target, station, wanted, timeout_s)
        reply = await _attempt(url, headers, context, timeout_s)
    except _Misconfigured as exc:
        return DriverOutcome(False, str(exc), request=CONNECT, method="GET", url=url)
    return DriverOutcome(
        True,
        request=CONNECT,
        method="GET",
        url=url,
        http_status=reply.status,
        connect=replace(reply, properties=properties),
    )


async def _attempt(
    url: str, headers: Mapping[str, str], context: ssl.SSLContext | None, timeout_s: float
) -> ConnectReply:
    try:
        answer = await probe(
            url,
            protocol_lines=["ocpp1.6"],
            headers=headers,
            timeout_s=timeout_s,
            await_close=False,
            ssl_context=context,
        )
    except ssl.SSLError as exc:
        reason = str(exc.reason or exc)
        if reason in _LOCAL_REASONS:
            raise _Misconfigured(f"this client could not offer the connection: {reason}") from None
        return ConnectReply(False, detail=f"TLS handshake aborted: {reason}")
    except ConnectionRefusedError as exc:
        raise _Misconfigured(f"nothing accepts a connection at {url}: {exc}") from None
    except (ConnectionError, asyncio.IncompleteReadError, EOFError) as exc:
        return ConnectReply(False, detail=f"closed before answering the upgrade ({type(exc).__name__})")
    except TimeoutError:
        return ConnectReply(False, detail=f"no answer to the upgrade within {timeout_s:g} s")
    except OSError as exc:
        return ConnectReply(False, detail=str(exc))
    if answer.status == 101:
        return ConnectReply(True, 101, "ocpp1.6" if answer.protocols == ("ocpp1.6",) else "without ocpp1.6")
    return ConnectReply(False, answer.status)
