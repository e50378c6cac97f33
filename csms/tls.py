"""The TLS side of the bundled CSMS: the listeners of security profiles 2 and 3, and what a connection tells.

A listener per profile, as A00.FR.006 allows (different ports per security profile):

* profile 2: TLS with the CSMS's server certificate only, no client certificate asked for (A00.FR.301-304);
* profile 3: mutual TLS; the client certificate is required and verified by OpenSSL against the CSMS's CA in the
  handshake, so a client without one, or with one that is untrusted or expired, is cut off there (A00.FR.401-403,
  A00.FR.407), which is what a TC_087 pre-flight checks of the endpoint.

What the handshake cannot decide, because the station id is only known from the URL, is decided per station
before the websocket upgrade (:mod:`csms.security`): the certificate must name the station (A00.FR.405), and a
station on profile 3 that comes to the profile-2 listener (its SP2 credentials after an upgrade, reference §5.1)
is refused there, with a reason in the log.

The contexts are :func:`csms.pki.server_ssl_context`: TLS 1.2 or above (A00.FR.312/416), no compression
(A00.FR.320/424), an RSA and an ECDSA certificate with the four suites of A00.FR.317/421. A handshake that fails
(a client certificate missing or that does not verify, TLS 1.1, no shared suite) is reported to the CSMS's
security log (A00.FR.408) through the context's ``sslobject_class``: asyncio logs such failures only in debug
mode.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from csms import pki
from csms.pki import CertFiles, CertificateAuthority, Credential, PkiFiles

DEFAULT_TLS_PORT = 9443

HandshakeReport = Callable[[str, str], None]
"""Told of a refused handshake: (security event type, reason)."""

# OpenSSL's reasons for the refusals a station is told of by its own security events (whitepaper §8).
_EVENT_BY_REASON = {
    "UNSUPPORTED_PROTOCOL": "InvalidTLSVersion",
    "WRONG_VERSION_NUMBER": "InvalidTLSVersion",
    "VERSION_TOO_LOW": "InvalidTLSVersion",
    "NO_SHARED_CIPHER": "InvalidTLSCipherSuite",
    "PEER_DID_NOT_RETURN_A_CERTIFICATE": "InvalidChargePointCertificate",
}


class TlsError(Exception):
    """TLS material that cannot be used; the message is one line, fit for ``error: ...``."""


@dataclass(frozen=True)
class ClientCertificatePolicy:
    """What a profile-3 client certificate (and a CSR, A02.FR.13) must say beyond a chain to the CSMS's CA.

    ``bind_common_name`` (A00.FR.405): the CN is the station's id or the chargePointSerialNumber of its last
    BootNotification, exactly. On by default: without it any certificate of the CA would let its holder connect as
    any station, where the whitepaper gives each station a unique certificate (A00.FR.427) to tell them apart.
    Exact, where A00.FR.405 says "contains", so that CP_1's certificate is not CP_10's.

    ``organization`` (A00.FR.404, A02.FR.13): when given, the O must contain it (the CpoName). Off by default: the
    CSMS has no reference for it that OCTT would share (reference §0 item 7, §5.6), and a lab whose client
    certificates carry another CN turns the CN binding off the same way.
    """

    bind_common_name: bool = True
    organization: str | None = None

    def problem(self, subject: x509.Name, *, station_id: str, serial_number: str | None) -> str | None:
        """Why ``subject`` (a certificate's or a CSR's) does not fit the station, or None."""
        common_names = [str(a.value) for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        organizations = [str(a.value) for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        if self.bind_common_name:
            allowed = {station_id} | ({serial_number} if serial_number else set())
            if not any(name in allowed for name in common_names):
                names = " or ".join(repr(name) for name in sorted(allowed))
                return f"CN {common_names!r} is not the station's id or serial number {names} (A00.FR.405)"
        if self.organization is not None and not any(self.organization in o for o in organizations):
            return f"O {organizations!r} does not contain the CPO name {self.organization!r} (A00.FR.404)"
        return None


@dataclass(frozen=True)
class TlsSettings:
    """The TLS listener's material and what the CSMS's CA does with it.

    ``server_certificates``: an RSA and an ECDSA one, so that the four suites of A00.FR.317/421 can be negotiated
    (its note). ``client_ca``: the CA profile-3 client certificates chain to (A00.FR.403); None: no profile-3
    listener. ``authority``: the CA with its key, which signs the stations' CSRs (A02, A03); None answers
    SignCertificate Rejected (A02.FR.12). ``firmware_signer``: the certificate and key of signed firmware updates
    (L01.FR.11)."""

    server_certificates: tuple[CertFiles, ...]
    client_ca: Path | None = None
    authority: CertificateAuthority | None = None
    firmware_signer: Credential | None = None
    client_certificates: ClientCertificatePolicy = field(default_factory=ClientCertificatePolicy)

    @classmethod
    def from_pki(cls, files: PkiFiles, *, policy: ClientCertificatePolicy | None = None) -> TlsSettings:
        """The layout ``ocpp-harness certs`` writes (``certs/README.md``). A PKI written before the firmware signing
        certificate existed has none."""
        signing = files.firmware_signing
        return cls.from_files(
            certificates=[files.csms_rsa.certificate, files.csms_ecdsa.certificate],
            keys=[files.csms_rsa.private_key, files.csms_ecdsa.private_key],
            ca=files.ca.certificate,
            ca_key=files.ca.private_key,
            firmware_certificate=signing.certificate if signing.certificate.exists() else None,
            firmware_key=signing.private_key if signing.private_key.exists() else None,
            policy=policy,
        )

    @classmethod
    def from_files(
        cls,
        *,
        certificates: Sequence[Path],
        keys: Sequence[Path],
        ca: Path | None = None,
        ca_key: Path | None = None,
        firmware_certificate: Path | None = None,
        firmware_key: Path | None = None,
        policy: ClientCertificatePolicy | None = None,
    ) -> TlsSettings:
        """Settings from PEM files, each pair checked now so that a mistake is one line before anything listens.
        Raises :class:`TlsError`."""
        if not certificates:
            raise TlsError("give at least one server certificate (--cert) with its key (--key)")
        if len(certificates) != len(keys):
            raise TlsError(f"{len(certificates)} server certificate(s) but {len(keys)} key(s): give them in pairs")
        if ca_key is not None and ca is None:
            raise TlsError("a CA key (--ca-key) needs its CA certificate (--ca)")
        if (firmware_certificate is None) != (firmware_key is None):
            raise TlsError("the firmware signing certificate and its key go together")
        for pair in zip(certificates, keys, strict=True):
            _pair(*pair, what="server certificate")
        settings = cls(
            server_certificates=tuple(CertFiles(c, k) for c, k in zip(certificates, keys, strict=True)),
            client_ca=ca,
            authority=(None if ca is None or ca_key is None else CertificateAuthority(_pair(ca, ca_key, what="CA"))),
            firmware_signer=(
                None
                if firmware_certificate is None or firmware_key is None
                else _pair(firmware_certificate, firmware_key, what="firmware signing certificate")
            ),
            client_certificates=policy or ClientCertificatePolicy(),
        )
        settings.ssl_context(mutual=ca is not None)  # loads every file: a wrong one fails here
        return settings

    @classmethod
    def from_options(
        cls,
        *,
        tls_dir: str | None,
        certificates: Sequence[str] = (),
        keys: Sequence[str] = (),
        ca: str | None = None,
        ca_key: str | None = None,
        firmware_signing: Sequence[str] = (),
        cpo_name: str | None = None,
        bind_common_name: bool = True,
    ) -> TlsSettings | None:
        """What ``ocpp-harness csms`` was given: ``--tls-dir`` (the layout of ``ocpp-harness certs``) or the files one
        by one; None when neither (plain ws only). Raises :class:`TlsError`."""
        policy = ClientCertificatePolicy(bind_common_name=bind_common_name, organization=cpo_name)
        given = [name for name, value in (("--cert", certificates), ("--key", keys), ("--ca", ca)) if value]
        if tls_dir is not None:
            if given or ca_key or firmware_signing:
                raise TlsError(f"--tls-dir names every file: leave out {', '.join(given) or 'the file options'}")
            try:
                files = PkiFiles.read(Path(tls_dir))
            except pki.PkiError as exc:
                raise TlsError(str(exc)) from exc
            return cls.from_pki(files, policy=policy)
        if not given and not ca_key and not firmware_signing:
            return None
        signing = [Path(name) for name in firmware_signing]
        return cls.from_files(
            certificates=[Path(name) for name in certificates],
            keys=[Path(name) for name in keys],
            ca=None if ca is None else Path(ca),
            ca_key=None if ca_key is None else Path(ca_key),
            firmware_certificate=signing[0] if signing else None,
            firmware_key=signing[1] if signing else None,
            policy=policy,
        )

    @property
    def server_name(self) -> str:
        """The CN of the first server certificate: the host stations connect to (A00.FR.510)."""
        certificate = _read(self.server_certificates[0].certificate)
        names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else ""

    def ssl_context(self, *, mutual: bool = False, report: HandshakeReport | None = None) -> ssl.SSLContext:
        """The context of the profile-2 listener, or with ``mutual`` of the profile-3 one (see the module
        docstring); ``report`` hears of every refused handshake."""
        if mutual and self.client_ca is None:
            raise TlsError("mutual TLS needs a CA for client certificates (--ca)")
        try:
            context = pki.server_ssl_context(
                list(self.server_certificates), client_ca=self.client_ca if mutual else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise TlsError(f"cannot load the TLS material: {exc}") from exc
        if report is not None:
            context.sslobject_class = _reporting(report)
        return context


def _read(path: Path) -> x509.Certificate:
    try:
        return pki.load_certificates(path.read_text(encoding="ascii"))[0]
    except (OSError, UnicodeDecodeError, pki.PkiError) as exc:
        raise TlsError(f"{path}: not a PEM certificate ({exc})") from exc


def _pair(certificate: Path, key: Path, *, what: str) -> Credential:
    """A certificate with its own private key, RSA or EC."""
    try:
        loaded = pki.load_certificate(certificate.read_text(encoding="ascii"))
        private_key = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except (OSError, UnicodeDecodeError, ValueError, TypeError, pki.PkiError) as exc:
        raise TlsError(f"{certificate} with {key}: not a usable {what} ({exc})") from exc
    if not isinstance(private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise TlsError(f"{key}: expected an RSA or EC key for the {what}, got {type(private_key).__name__}")
    if private_key.public_key() != loaded.public_key():
        raise TlsError(f"{key} is not the key of {certificate} (the {what})")
    return Credential(loaded, private_key)


def _reporting(report: HandshakeReport) -> type[ssl.SSLObject]:
    """An ``SSLObject`` that tells ``report`` why a handshake failed before it fails. Only refusals a station could
    be told of are reported: a client certificate missing or that does not verify, a TLS version or suite it may not
    use; a client that gives up (a port probe, one that does not trust the CSMS) is not a security event of the
    CSMS."""

    class ReportingSSLObject(ssl.SSLObject):
        def do_handshake(self) -> None:
            try:
                super().do_handshake()
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                raise
            except ssl.SSLCertVerificationError as exc:
                report("InvalidChargePointCertificate", f"client certificate refused: {exc.verify_message}")
                raise
            except ssl.SSLError as exc:
                event = _EVENT_BY_REASON.get(str(exc.reason))
                if event is not None:
                    report(event, f"TLS handshake refused: {exc.reason}")
                raise

    return ReportingSSLObject


@dataclass(frozen=True)
class ConnectionSecurity:
    """What the transport tells of one HTTP request: over TLS or not, and the client certificate it presented
    (verified against the CSMS's CA during the handshake: only the profile-3 listener asks for one), if any."""

    tls: bool
    client_certificate: x509.Certificate | None

    @classmethod
    def of(cls, request: web.BaseRequest) -> ConnectionSecurity:
        transport = request.transport
        ssl_object = None if transport is None else transport.get_extra_info("ssl_object")
        if not isinstance(ssl_object, ssl.SSLObject):
            return cls(tls=False, client_certificate=None)
        der = ssl_object.getpeercert(binary_form=True)
        return cls(tls=True, client_certificate=None if der is None else x509.load_der_x509_certificate(der))
