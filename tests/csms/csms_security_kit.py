"""Test helpers for the security profiles of the bundled CSMS: charge points over plain ws or real TLS on 127.0.0.1
(Python ``ssl`` clients with the session's test PKI), with or without Basic credentials and client certificates,
and what a refusal looked like from the station's side."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from csms_kit import Api, StationSocket, basic_auth, open_socket
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from csms.app import CsmsServer
from csms.pki import CertFiles, PkiFiles

OPEN_TIMEOUT_S = 5.0
PASSWORD = "OCA_OCTT_admin_test"  # 19 bytes; OCTT's own (reference §5.8)
TLS_REFUSED = "tls"
"""What :meth:`SecureRig.refusal` says of a connection the TLS handshake ended."""


def client_context(
    pki: PkiFiles, certificate: CertFiles | None = None, *, maximum: ssl.TLSVersion | None = None
) -> ssl.SSLContext:
    """A station's TLS client: trusts the CSMS's CA, checks its host name, presents ``certificate`` (profile 3).
    ``maximum`` below TLS 1.2 makes a legacy client (security level 0, so OpenSSL offers the old versions)."""
    context = ssl.create_default_context(cafile=str(pki.ca.certificate))
    if maximum is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = maximum
        context.set_ciphers("ALL:@SECLEVEL=0")
    if certificate is not None:
        context.load_cert_chain(certificate.certificate, certificate.private_key)
    return context


def new_csr(common_name: str, organization: str = "ocpp-harness Test CPO") -> tuple[str, ec.EllipticCurvePrivateKey]:
    """A station's CSR (A02.FR.02/03): a fresh P-256 key, CN = its serial number, O = the CpoName."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii"), key


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass
class SecureRig:
    """A CSMS with TLS settings from the test PKI, its API, and stations that connect to it either way."""

    csms: CsmsServer
    api: Api
    pki: PkiFiles
    stack: contextlib.AsyncExitStack

    async def provision(
        self, station_id: str = "CP_1", *, password: str | None = None, profile: int | None = None
    ) -> None:
        await self.api.provision(station_id)
        if password is not None:
            reply = await self.api.post(
                "/api/octt/set-basic-auth-password", {"station_id": station_id, "password": password}
            )
            assert reply.status == 200, reply
        if profile is not None:
            reply = await self.api.put(f"/api/stations/{station_id}/security-profile", {"security_profile": profile})
            assert reply.status == 200, reply

    async def connect(
        self,
        station_id: str = "CP_1",
        *,
        tls: bool,
        certificate: CertFiles | None = None,
        password: str | None = None,
        username: str | None = None,
        context: ssl.SSLContext | None = None,
        mtls: bool | None = None,
    ) -> StationSocket:
        """Open an OCPP connection the way a station of that kind does; closed with the rig. Over TLS, to the
        profile-3 (mutual TLS) endpoint when ``mtls``, by default when the station has a ``certificate``, else to
        the profile-2 one."""
        headers = None if password is None else basic_auth(username or station_id, password)
        if tls:
            mutual = certificate is not None if mtls is None else mtls
            ws = await connect(
                f"{self.csms.mtls_url if mutual else self.csms.wss_url}/{station_id}",
                ssl=context or client_context(self.pki, certificate),
                subprotocols=[Subprotocol("ocpp1.6")],
                additional_headers=headers,
                proxy=None,
                open_timeout=OPEN_TIMEOUT_S,
                close_timeout=1.0,
                ping_interval=None,
            )
        else:
            ws = await open_socket(f"{self.csms.ws_url}/{station_id}", headers=headers)
        self.stack.push_async_callback(ws.close)
        return StationSocket(ws)

    async def refusal(self, station_id: str = "CP_1", **options: Any) -> int | str:
        """How the connection was refused: the HTTP status before the upgrade, or :data:`TLS_REFUSED` when the TLS
        handshake ended it. Fails when the connection opens."""
        try:
            station = await self.connect(station_id, **options)
        except InvalidStatus as exc:
            return exc.response.status_code
        except (ssl.SSLError, ConnectionError, EOFError, InvalidHandshake):
            return TLS_REFUSED
        await station.ws.close()
        raise AssertionError(f"the CSMS accepted a connection of {station_id} it should have refused ({options})")

    async def booted(self, station_id: str = "CP_1", **options: Any) -> StationSocket:
        station = await self.connect(station_id, **options)
        assert (await station.boot())["status"] == "Accepted"
        return station

    async def events(self, station_id: str | None = None) -> list[dict[str, Any]]:
        path = "/api/security-events" if station_id is None else f"/api/stations/{station_id}/security-events"
        reply = await self.api.get(path)
        assert reply.status == 200, reply
        body = reply.body
        assert isinstance(body, list)
        return body

    async def wait_for_event(self, event_type: str, *, station_id: str | None = None) -> dict[str, Any]:
        """Until the CSMS's security log holds an event of ``event_type`` (a refused handshake is stored by a task
        of the CSMS, after the station has seen the refusal)."""
        for _ in range(500):
            for event in await self.events(station_id):
                if event["type"] == event_type:
                    return event
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {event_type} event in the CSMS's security log")

    async def security(self, station_id: str = "CP_1") -> dict[str, Any]:
        reply = await self.api.get(f"/api/stations/{station_id}/security")
        assert reply.status == 200, reply
        body = reply.body
        assert isinstance(body, dict)
        return body


def find(items: Sequence[dict[str, Any]], **wanted: Any) -> list[dict[str, Any]]:
    return [item for item in items if all(item.get(key) == value for key, value in wanted.items())]
