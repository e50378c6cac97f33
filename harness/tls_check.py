"""TLS checks of a CSMS endpoint, one property at a time, as OCTT makes them before finishing its handshake in
TC_086_CSMS and TC_087_CSMS (reference §2.7, §5.9): TLS 1.2 or above and nothing older (A00.FR.312/314,
A00.FR.416/418), each of the four cipher suites of A00.FR.317/421, and of every server certificate seen: its key
(A00.FR.501-503), serial number (A00.FR.508), subject CN = the host of the URL (A00.FR.510) and validity; with the
CA stations are given, the chain and the host name as a Python station checks them; with a client certificate
(profile 3), that the endpoint accepts it and refuses a client without one. The result is a list of
:class:`TlsCheck`, for a scenario step or ``ocpp-harness check`` to judge and :func:`format_checks` to print.

Every property is its own handshake, so one wrong setting fails one check, and the report says which. A check
the harness cannot make here (this machine's OpenSSL cannot offer what it needs) is ``ok=None``: PARTIAL, never
FAIL.

What Python's ``ssl`` can offer (Python 3.11.7 with OpenSSL 3.0.19, measured by :func:`client_offers` and the
tests):

* all four suites, each on its own: ``set_ciphers`` with the OpenSSL name and TLS 1.2 as the highest version
  (TLS 1.3 suites are configured apart and would otherwise still be offered). Python's default client context
  offers only the two ECDHE_ECDSA ones of the four: its cipher string selects ECDHE and DHE key exchanges, so the two
  static-RSA TLS_RSA_* suites are left out, although OpenSSL's default security level 2 allows them. A CSMS
  listener built on Python's default server context refuses them for the same reason (``csms.pki.SERVER_CIPHERS``);
* TLS 1.0 and 1.1 only at security level 0. Python's default cipher list has no suite for them (it leaves out
  SHA-1 suites), so the client fails with ``NO_CIPHERS_AVAILABLE`` before anything is sent. With a list that has
  them, OpenSSL 3 at security level 1 and above sends the ClientHello, and when the server goes on with TLS 1.0 it
  refuses the server's SHA-1/MD5 handshake signature itself (``LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED``): a probe
  at those levels would take a server that accepts TLS 1.0 for one that refuses it. The probes for them, and every
  probe that only looks, lower the level to 0 in their own context, so a weak server is seen and reported instead
  of refused by this client; the chain and host name checks keep Python's default verification.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ssl
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from csms.pki import CertFiles, describe_key, key_strength_problem
from harness.outcomes import HarnessError

TIMEOUT_S = 10.0
_LOOKING = ":@SECLEVEL=0"  # appended to a probe's cipher list: weak keys and old versions are seen, not refused
_LOCAL_REASONS = frozenset({"NO_CIPHERS_AVAILABLE", "NO_PROTOCOLS_AVAILABLE"})  # this client gave up, not the server
_LEGACY_SIGNATURE = "LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED"  # the server went on with TLS < 1.2; this client did not
_VERSIONS_OK = frozenset({"TLSv1.2", "TLSv1.3"})


@dataclass(frozen=True)
class CipherSuite:
    name: str  # the IANA name the whitepaper uses
    openssl: str  # the name OpenSSL (and ``ssl.SSLContext.set_ciphers``) uses


SUITES = (  # A00.FR.317 (profile 2), A00.FR.421 (profile 3)
    CipherSuite("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"),
    CipherSuite("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"),
    CipherSuite("TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"),
    CipherSuite("TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"),
)


@dataclass(frozen=True)
class TlsCheck:
    """One property of the endpoint. ``ok`` is None when the check could not be made here (PARTIAL)."""

    name: str
    ok: bool | None
    expected: str
    actual: str
    reference: str

    @property
    def verdict(self) -> Literal["PASS", "FAIL", "PARTIAL"]:
        return "PARTIAL" if self.ok is None else "PASS" if self.ok else "FAIL"

    def __str__(self) -> str:
        return f"{self.verdict:<7}  {self.name}: expected {self.expected}; got {self.actual} ({self.reference})"


def format_checks(checks: Iterable[TlsCheck]) -> str:
    return "\n".join(str(check) for check in checks)


class TlsEndpointUnreachable(HarnessError):
    """The endpoint does not accept a TCP connection: nothing about its TLS can be said (verdict ERROR)."""


class TlsClientCertificateNeeded(HarnessError):
    """The endpoint refuses a client without a certificate and none was given: the check is misconfigured, the
    CSMS is not to blame (verdict ERROR)."""


@dataclass(frozen=True)
class _Endpoint:
    host: str
    port: int
    path: str


def _endpoint(url: str) -> _Endpoint:
    parts = urlsplit(url)
    if parts.scheme != "wss":
        raise ValueError(f"{url!r}: expected a wss:// URL (security profiles 2 and 3 run over TLS)")
    try:
        port = parts.port or 443
    except ValueError as exc:
        raise ValueError(f"{url!r}: {exc}") from exc
    if not parts.hostname:
        raise ValueError(f"{url!r}: no host")
    return _Endpoint(parts.hostname, port, parts.path or "/")


@dataclass(frozen=True)
class _Offer:
    """What the probing client offers in one handshake."""

    minimum: ssl.TLSVersion
    maximum: ssl.TLSVersion
    ciphers: str = "DEFAULT"  # OpenSSL's default list: every suite but the unauthenticated and null ones


_MODERN = _Offer(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.MAXIMUM_SUPPORTED)  # what a station offers (A00.FR.312)
_TLS12 = _Offer(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
_LEGACY = (("TLS 1.0", ssl.TLSVersion.TLSv1, ssl.HAS_TLSv1), ("TLS 1.1", ssl.TLSVersion.TLSv1_1, ssl.HAS_TLSv1_1))


def _suite_offer(suite: CipherSuite) -> _Offer:
    return _Offer(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, suite.openssl)


@dataclass(frozen=True)
class _Outcome:
    version: str | None = None  # set once the handshake completed, as are cipher and certificate
    cipher: str | None = None
    certificate: x509.Certificate | None = None
    answered: bool = False  # the server answered the HTTP request sent after the handshake
    error: str | None = None  # why the handshake, or the request after it, failed
    local: bool = False  # this client could not offer what was asked: the server was not tested
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def completed(self) -> bool:
        return self.version is not None


class _TcpFailed(Exception):
    pass


def _context(
    offer: _Offer, *, ca_file: Path | None, check_hostname: bool, client_certificate: CertFiles | None
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    with warnings.catch_warnings():  # ssl deprecates TLS 1.0 and 1.1, which is why they are probed
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = offer.minimum
        context.maximum_version = offer.maximum
    if ca_file is None:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_ciphers(offer.ciphers + _LOOKING)
    else:  # what a Python station checks: its default security level and verification, only the offer restricted
        context.set_ciphers(offer.ciphers)
        context.load_verify_locations(cafile=ca_file)
        context.check_hostname = check_hostname
    if client_certificate is not None:
        context.load_cert_chain(client_certificate.certificate, client_certificate.private_key)
    return context


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return str(exc.verify_message)
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionError):
        return f"the server closed the connection ({exc.__class__.__name__})"
    return f"{exc.__class__.__name__} {exc}".strip()


async def _handshake(
    endpoint: _Endpoint,
    offer: _Offer,
    *,
    timeout_s: float,
    client_certificate: CertFiles | None,
    ca_file: Path | None = None,
    check_hostname: bool = False,
    request: bool = False,
) -> _Outcome:
    """One TLS handshake; with ``request``, then an HTTP request, so a TLS 1.3 server that refuses the client's
    certificate after the client's Finished (RFC 8446 §4.4.2) is seen refusing. Raises :class:`_TcpFailed`
    when no TCP connection opens."""
    try:
        context = _context(offer, ca_file=ca_file, check_hostname=check_hostname, client_certificate=client_certificate)
    except ssl.SSLError as exc:
        return _Outcome(error=f"this machine's OpenSSL cannot offer it ({_reason(exc)})", local=True)
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port)
    except (OSError, TimeoutError) as exc:
        raise _TcpFailed(f"{endpoint.host}:{endpoint.port}: {_reason(exc)}") from exc
    try:
        try:
            async with asyncio.timeout(timeout_s):
                await writer.start_tls(context, server_hostname=endpoint.host)
        except ssl.SSLError as exc:
            return _Outcome(error=_reason(exc), local=exc.reason in _LOCAL_REASONS)
        except TimeoutError:
            return _Outcome(error=f"no handshake within {timeout_s:g} s", timed_out=True)
        except OSError as exc:
            return _Outcome(error=_reason(exc))
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True)
        done = _Outcome(
            version=ssl_object.version(),
            cipher=ssl_object.cipher()[0],
            certificate=x509.load_der_x509_certificate(der) if der else None,
        )
        return await _request(reader, writer, endpoint, done, timeout_s=timeout_s) if request else done
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(timeout_s):
                await writer.wait_closed()


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, endpoint: _Endpoint, done: _Outcome, *, timeout_s: float
) -> _Outcome:
    """Whether the server answers a plain HTTP GET of the endpoint's path (any answer will do) on a connection
    whose handshake ``done`` describes."""
    try:
        async with asyncio.timeout(timeout_s):
            writer.write(f"GET {endpoint.path} HTTP/1.1\r\nHost: {endpoint.host}\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
            answer = await reader.read(1)
    except TimeoutError:
        return replace(done, error=f"no answer within {timeout_s:g} s", timed_out=True)
    except OSError as exc:
        return replace(done, error=_reason(exc))
    if not answer:
        return replace(done, error="the server closed the connection without answering")
    return replace(done, answered=True)


class _Probe:
    def __init__(self, endpoint: _Endpoint, client_certificate: CertFiles | None, timeout_s: float) -> None:
        self.endpoint = endpoint
        self.client_certificate = client_certificate
        self.timeout_s = timeout_s

    async def __call__(
        self,
        offer: _Offer,
        *,
        ca_file: Path | None = None,
        check_hostname: bool = False,
        without_client_certificate: bool = False,
        request: bool = False,
    ) -> _Outcome:
        try:
            return await _handshake(
                self.endpoint,
                offer,
                timeout_s=self.timeout_s,
                client_certificate=None if without_client_certificate else self.client_certificate,
                ca_file=ca_file,
                check_hostname=check_hostname,
                request=request,
            )
        except _TcpFailed as exc:
            return _Outcome(error=f"cannot connect: {exc}")


async def check_tls_endpoint(
    url: str,
    *,
    ca_file: Path | None = None,
    client_certificate: CertFiles | None = None,
    timeout_s: float = TIMEOUT_S,
    now: dt.datetime | None = None,
) -> list[TlsCheck]:
    """The TLS properties of the ``wss://`` endpoint ``url``, one :class:`TlsCheck` each.

    ``ca_file``: the root stations are given (CentralSystemRootCertificate); adds a chain and a host name check per
    server certificate. ``client_certificate``: a profile-3 station's certificate, presented in every handshake;
    adds the checks that it is accepted and that a client without one is refused. ``now`` (default: the clock)
    decides validity. Raises ``ValueError`` for a URL that is not ``wss://``, :class:`TlsEndpointUnreachable` when
    the endpoint accepts no TCP connection, and :class:`TlsClientCertificateNeeded` when it drops a client without a
    certificate after the handshake (TLS 1.3) and none was given.
    """
    endpoint = _endpoint(url)
    probe = _Probe(endpoint, client_certificate, timeout_s)
    try:
        modern = await _handshake(
            endpoint, _MODERN, timeout_s=timeout_s, client_certificate=client_certificate, request=True
        )
    except _TcpFailed as exc:
        raise TlsEndpointUnreachable(f"cannot reach {url}: {exc}") from exc
    if client_certificate is None and modern.completed and not modern.answered and not modern.timed_out:
        raise TlsClientCertificateNeeded(
            f"{url}: the {modern.version} handshake completed, then the endpoint did not answer an HTTP request "
            f"({modern.error}): it wants a client certificate (security profile 3); give a station's"
        )
    checks = [
        TlsCheck(
            "TLS version",
            modern.completed and modern.version in _VERSIONS_OK,
            "TLS 1.2 or above",
            f"{modern.version}" if modern.completed else f"refused: {modern.error}",
            "A00.FR.312, A00.FR.416; TC_086_CSMS",
        )
    ]
    if client_certificate is not None:
        checks.append(
            _answer_check(
                "client certificate accepted",
                modern,
                wanted=True,
                expected=f"the connection with {client_certificate.certificate.name} accepted",
                reference="A00.FR.401-405; TC_087_CSMS",
            )
        )
    tls12 = await probe(_TLS12)
    checks.append(
        TlsCheck(
            "TLS 1.2 accepted",
            tls12.ok and tls12.version == "TLSv1.2",
            "accepted (the four suites of A00.FR.317 are TLS 1.2 suites)",
            f"accepted ({tls12.cipher})" if tls12.ok else f"refused: {tls12.error}",
            "A00.FR.317, A00.FR.421; TC_086_CSMS",
        )
    )
    for label, version, available in _LEGACY:
        if available:
            outcome = await probe(_Offer(version, version))
        else:
            outcome = _Outcome(error=f"this Python's ssl has no {label}", local=True)
        checks.append(_refused(label, outcome))
    seen: list[tuple[_Offer, _Outcome]] = [(_MODERN, modern), (_TLS12, tls12)]
    for suite in SUITES:
        offer = _suite_offer(suite)
        outcome = await probe(offer)
        seen.append((offer, outcome))
        checks.append(_suite_check(suite, outcome))
    checks += await _certificate_checks(probe, seen, host=endpoint.host, ca_file=ca_file, now=now)
    if client_certificate is not None:
        checks.append(
            _answer_check(
                "client certificate required",
                await probe(_MODERN, without_client_certificate=True, request=True),
                wanted=False,
                expected="a client without a certificate refused (security profile 3)",
                reference="A00.FR.401-403, A00.FR.407; TC_087_CSMS",
            )
        )
    return checks


def _answer_check(name: str, outcome: _Outcome, *, wanted: bool, expected: str, reference: str) -> TlsCheck:
    """Whether the server answered on the connection, as ``wanted``; one that neither refuses nor answers in time
    leaves the check PARTIAL."""
    ok: bool | None
    if outcome.answered:
        ok, actual = wanted, "accepted: the server answered"
    elif outcome.timed_out:
        ok, actual = None, f"not checked: {outcome.error}"
    else:
        ok, actual = not wanted, f"refused: {outcome.error}"
    return TlsCheck(name, ok, expected, actual, reference)


def _refused(label: str, outcome: _Outcome) -> TlsCheck:
    reference = "A00.FR.312/314, A00.FR.416/418; TC_086_CSMS"
    if outcome.local:
        return TlsCheck(f"{label} refused", None, "refused", f"not checked: {outcome.error}", reference)
    if outcome.error == _LEGACY_SIGNATURE:
        actual = f"accepted: the server went on with {label} (this client then refused its SHA-1/MD5 signature)"
        return TlsCheck(f"{label} refused", False, "refused", actual, reference)
    actual = f"accepted ({outcome.version}, {outcome.cipher})" if outcome.ok else f"refused: {outcome.error}"
    return TlsCheck(f"{label} refused", not outcome.ok, "refused", actual, reference)


def _suite_check(suite: CipherSuite, outcome: _Outcome) -> TlsCheck:
    name, reference = f"cipher suite {suite.name}", "A00.FR.317, A00.FR.421; TC_086_CSMS, TC_087_CSMS"
    if outcome.local:
        return TlsCheck(name, None, "accepted", f"not checked: {outcome.error}", reference)
    if not outcome.ok:
        return TlsCheck(name, False, "accepted", f"refused: {outcome.error}", reference)
    chosen = outcome.cipher == suite.openssl
    actual = f"accepted ({outcome.version})" if chosen else f"negotiated {outcome.cipher} instead"
    return TlsCheck(name, chosen, "accepted", actual, reference)


def _common_names(certificate: x509.Certificate) -> list[str]:
    return [str(attribute.value) for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


async def _certificate_checks(
    probe: _Probe,
    seen: Sequence[tuple[_Offer, _Outcome]],
    *,
    host: str,
    ca_file: Path | None,
    now: dt.datetime | None,
) -> list[TlsCheck]:
    """The checks of every distinct certificate the handshakes showed (an RSA and an ECDSA one for a CSMS that
    offers the four suites, A00.FR.317 note); the chain and host name ones repeat the handshake that showed it."""
    certificates: dict[bytes, tuple[_Offer, x509.Certificate]] = {}
    for offer, outcome in seen:
        if outcome.certificate is not None:
            certificates.setdefault(outcome.certificate.fingerprint(hashes.SHA256()), (offer, outcome.certificate))
    if not certificates:
        return [
            TlsCheck("server certificate", False, "a certificate", "no handshake succeeded", "A00.FR.306, A00.FR.410")
        ]
    moment = dt.datetime.now(dt.UTC) if now is None else now
    checks: list[TlsCheck] = []
    labels: list[str] = []
    for offer, certificate in certificates.values():
        key = certificate.public_key()
        label = f"server certificate ({describe_key(key)})"
        labels.append(label)
        label = label if labels.count(label) == 1 else f"{label} #{labels.count(label)}"
        problem = key_strength_problem(key)
        names = _common_names(certificate)
        wanted = host.casefold().removesuffix(".")
        start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
        checks += [
            TlsCheck(
                f"{label}: key",
                problem is None,
                "RSA or DSA of 2048 bits or more, EC of 224 bits or more",
                problem or describe_key(key),
                "A00.FR.501-503; TC_086_CSMS",
            ),
            TlsCheck(
                f"{label}: serial number",
                certificate.serial_number > 0,
                "a serial number (a positive integer, RFC 5280 §4.1.2.2)",
                format(certificate.serial_number, "X"),
                "A00.FR.508; TC_086_CSMS",
            ),
            TlsCheck(
                f"{label}: subject CN",
                any(name.casefold().removesuffix(".") == wanted for name in names),
                f"CN={host}, the host of the URL",
                ", ".join(f"CN={name}" for name in names) or "no CN",
                "A00.FR.510, A00.FR.308/412; TC_086_CSMS",
            ),
            TlsCheck(
                f"{label}: validity",
                start <= moment <= end,
                f"valid at {moment.isoformat(timespec='seconds')}",
                f"valid from {start.isoformat()} to {end.isoformat()}",
                "A00.FR.309, A00.FR.413 (RFC 5280 §4.1.2.5)",
            ),
        ]
        if ca_file is not None:
            checks += await _verification_checks(probe, offer, label, host=host, ca_file=ca_file)
    return checks


async def _verification_checks(probe: _Probe, offer: _Offer, label: str, *, host: str, ca_file: Path) -> list[TlsCheck]:
    chain = await probe(offer, ca_file=ca_file)
    checks = [
        TlsCheck(
            f"{label}: chain",
            chain.ok,
            f"a chain to {ca_file.name}",
            "verified" if chain.ok else f"not verified: {chain.error}",
            "A00.FR.307, A00.FR.411 (RFC 5280 §6)",
        )
    ]
    name = f"{label}: host name"
    expected, reference = f"valid for {host}, as Python's ssl checks it", "RFC 9525 §6 (SubjectAltName, then CN)"
    if not chain.ok:
        checks.append(TlsCheck(name, None, expected, "not checked: the chain does not verify", reference))
        return checks
    named = await probe(offer, ca_file=ca_file, check_hostname=True)
    actual = "verified" if named.ok else f"not verified: {named.error}"
    checks.append(TlsCheck(name, named.ok, expected, actual, reference))
    return checks


def client_offers(*, security_level: int | None = 0) -> dict[str, bool]:
    """Whether this machine's ``ssl`` puts each of the four suites, TLS 1.0 and TLS 1.1 in a ClientHello, at
    OpenSSL ``security_level`` (None: Python's default client cipher list). Measured without a network: the
    handshake of an in-memory client either writes its ClientHello or fails at once. Offered is not negotiated:
    above level 0 a TLS 1.0/1.1 ClientHello goes out, yet the handshake fails in this client (module docstring)."""
    level = "" if security_level is None else f":@SECLEVEL={security_level}"
    offers: dict[str, bool] = {}
    for suite in SUITES:
        ciphers = None if security_level is None else f"{suite.openssl}{level}"
        offers[suite.name] = _hello(_TLS12.minimum, _TLS12.maximum, ciphers, only=suite.openssl)
    for label, version, available in _LEGACY:
        offers[label] = available and _hello(version, version, None if security_level is None else f"DEFAULT{level}")
    return offers


def _hello(minimum: ssl.TLSVersion, maximum: ssl.TLSVersion, ciphers: str | None, *, only: str | None = None) -> bool:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = minimum
            context.maximum_version = maximum
        if ciphers is not None:
            context.set_ciphers(ciphers)
    except ssl.SSLError:
        return False
    if only is not None and only not in {cipher["name"] for cipher in context.get_ciphers()}:
        return False
    client = context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO())
    try:
        client.do_handshake()
    except ssl.SSLWantReadError:
        return True  # the ClientHello is written; the client waits for the server
    except ssl.SSLError:
        return False
    return True
