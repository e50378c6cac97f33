"""The TLS endpoint checks of TC_086/TC_087 against real TLS servers on 127.0.0.1 (asyncio + ``ssl``, port 0),
with certificates from the session's test PKI: a server set up as the whitepaper asks passes every property, and
a server wrong in one way fails exactly the properties that way touches."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import ssl
from collections.abc import AsyncIterator, Sequence

import pytest

from csms.pki import SERVER_CIPHERS, CertFiles, PkiFiles, server_ssl_context
from harness.tls_check import (
    SUITES,
    CipherSuite,
    TlsCheck,
    TlsClientCertificateNeeded,
    TlsEndpointUnreachable,
    check_tls_endpoint,
    client_offers,
    format_checks,
)

RSA = "server certificate (RSA 2048)"
EC = "server certificate (EC secp256r1 (256 bits))"
CERTIFICATE_PROPERTIES = ("key", "serial number", "subject CN", "validity")
PROTOCOL_CHECKS = [
    "TLS version",
    "TLS 1.2 accepted",
    "TLS 1.0 refused",
    "TLS 1.1 refused",
    *(f"cipher suite {suite.name}" for suite in SUITES),
]


@contextlib.asynccontextmanager
async def tls_server(context: ssl.SSLContext) -> AsyncIterator[int]:
    """A TLS server on 127.0.0.1 that answers any request with 404, as an HTTP server does for a plain GET."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, EOFError):  # the probes that only shake hands leave without a request
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    async with server:
        yield server.sockets[0].getsockname()[1]


def context_for(
    certificates: Sequence[CertFiles],
    *,
    minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
    maximum: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED,
    ciphers: str = SERVER_CIPHERS,
) -> ssl.SSLContext:
    """A server context that may be wrong on purpose: security level 0, so it can serve a weak key or TLS 1.0."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with pytest.warns(DeprecationWarning) if minimum < ssl.TLSVersion.TLSv1_2 else contextlib.nullcontext():
        context.minimum_version = minimum
    context.maximum_version = maximum
    context.set_ciphers(f"{ciphers}:@SECLEVEL=0")
    for files in certificates:
        context.load_cert_chain(files.certificate, files.private_key)
    return context


def failing(checks: Sequence[TlsCheck]) -> set[str]:
    return {check.name for check in checks if check.ok is not True}


def by_name(checks: Sequence[TlsCheck]) -> dict[str, TlsCheck]:
    return {check.name: check for check in checks}


async def run(port: int, **options: object) -> list[TlsCheck]:
    return await check_tls_endpoint(f"wss://localhost:{port}/ocpp/CP_1", **options)  # type: ignore[arg-type]


async def test_a_server_set_up_as_the_whitepaper_asks_passes_every_check(test_pki: PkiFiles) -> None:
    async with tls_server(server_ssl_context([test_pki.csms_rsa, test_pki.csms_ecdsa])) as port:
        checks = await run(port, ca_file=test_pki.ca.certificate)
    assert failing(checks) == set(), format_checks(checks)
    properties = [*CERTIFICATE_PROPERTIES, "chain", "host name"]
    assert [check.name for check in checks] == [
        *PROTOCOL_CHECKS,
        *(f"{label}: {name}" for label in (EC, RSA) for name in properties),
    ]
    found = by_name(checks)
    assert found["TLS version"].actual == "TLSv1.3"
    assert found[f"{RSA}: subject CN"].actual == "CN=localhost"
    assert all(check.reference for check in checks)


async def test_without_the_ca_the_chain_is_not_checked(test_pki: PkiFiles) -> None:
    async with tls_server(server_ssl_context([test_pki.csms_rsa, test_pki.csms_ecdsa])) as port:
        checks = await run(port)
    assert failing(checks) == set()
    assert [check.name for check in checks][len(PROTOCOL_CHECKS) :] == [
        f"{label}: {name}" for label in (EC, RSA) for name in CERTIFICATE_PROPERTIES
    ]


async def test_a_1024_bit_rsa_key_fails_the_key_check(test_pki: PkiFiles) -> None:
    async with tls_server(context_for([test_pki.bad.weak_key_server, test_pki.csms_ecdsa])) as port:
        checks = await run(port)
        verified = await run(port, ca_file=test_pki.ca.certificate)
    weak = "server certificate (RSA 1024)"
    assert failing(checks) == {f"{weak}: key"}
    assert by_name(checks)[f"{weak}: key"].actual == "RSA 1024 is shorter than 2048 bits (A00.FR.502)"
    assert failing(verified) == {f"{weak}: key", f"{weak}: chain", f"{weak}: host name"}
    assert "too weak" in by_name(verified)[f"{weak}: chain"].actual  # a station at the default security level
    assert by_name(verified)[f"{weak}: host name"].ok is None


async def test_a_wrong_cn_fails_the_cn_and_the_host_name(test_pki: PkiFiles) -> None:
    async with tls_server(context_for([test_pki.csms_rsa, test_pki.bad.wrong_cn_server])) as port:
        checks = await run(port, ca_file=test_pki.ca.certificate)
    assert failing(checks) == {f"{EC}: subject CN", f"{EC}: host name"}
    found = by_name(checks)
    assert (found[f"{EC}: subject CN"].expected, found[f"{EC}: subject CN"].actual) == (
        "CN=localhost, the host of the URL",
        "CN=wrong-host.invalid",
    )
    assert "localhost" in found[f"{EC}: host name"].actual


async def test_the_cn_is_compared_with_the_host_of_the_url(test_pki: PkiFiles) -> None:
    async with tls_server(server_ssl_context([test_pki.csms_rsa, test_pki.csms_ecdsa])) as port:
        checks = await check_tls_endpoint(f"wss://127.0.0.1:{port}/ocpp", ca_file=test_pki.ca.certificate)
    assert failing(checks) == {f"{RSA}: subject CN", f"{EC}: subject CN"}  # the SAN still names 127.0.0.1


async def test_an_expired_certificate_fails_its_validity_and_chain(test_pki: PkiFiles) -> None:
    async with tls_server(context_for([test_pki.csms_rsa, test_pki.bad.expired_server])) as port:
        checks = await run(port, ca_file=test_pki.ca.certificate)
    assert failing(checks) == {f"{EC}: validity", f"{EC}: chain", f"{EC}: host name"}
    assert "expired" in by_name(checks)[f"{EC}: chain"].actual
    assert by_name(checks)[f"{EC}: host name"].verdict == "PARTIAL"


async def test_validity_is_judged_at_the_given_time(test_pki: PkiFiles) -> None:
    async with tls_server(server_ssl_context([test_pki.csms_rsa, test_pki.csms_ecdsa])) as port:
        checks = await run(port, now=dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    assert failing(checks) == {f"{RSA}: validity", f"{EC}: validity"}


async def test_an_untrusted_issuer_fails_only_the_chain(test_pki: PkiFiles) -> None:
    async with tls_server(context_for([test_pki.csms_rsa, test_pki.bad.untrusted_server])) as port:
        checks = await run(port, ca_file=test_pki.ca.certificate)
        unverified = await run(port)
    assert failing(checks) == {f"{EC}: chain", f"{EC}: host name"}
    assert by_name(checks)[f"{EC}: host name"].ok is None
    assert "unable to get local issuer certificate" in by_name(checks)[f"{EC}: chain"].actual
    assert failing(unverified) == set()


async def test_a_tls_1_3_only_server_fails_tls_1_2_and_the_four_suites(test_pki: PkiFiles) -> None:
    context = context_for([test_pki.csms_rsa, test_pki.csms_ecdsa], minimum=ssl.TLSVersion.TLSv1_3)
    async with tls_server(context) as port:
        checks = await run(port)
    assert failing(checks) == {"TLS 1.2 accepted", *(f"cipher suite {suite.name}" for suite in SUITES)}
    assert by_name(checks)["TLS version"].actual == "TLSv1.3"
    assert [check.name for check in checks][len(PROTOCOL_CHECKS) :] == [f"{EC}: {p}" for p in CERTIFICATE_PROPERTIES]


@pytest.mark.parametrize(
    ("minimum", "accepted"),
    [(ssl.TLSVersion.TLSv1, {"TLS 1.0 refused", "TLS 1.1 refused"}), (ssl.TLSVersion.TLSv1_1, {"TLS 1.1 refused"})],
)
async def test_a_server_accepting_old_tls_fails_the_refusal_checks(
    test_pki: PkiFiles, minimum: ssl.TLSVersion, accepted: set[str]
) -> None:
    legacy = "ECDHE-ECDSA-AES128-SHA:AES128-SHA"  # TLS 1.0/1.1 have no GCM suites
    context = context_for(
        [test_pki.csms_rsa, test_pki.csms_ecdsa], minimum=minimum, ciphers=f"{SERVER_CIPHERS}:{legacy}"
    )
    async with tls_server(context) as port:
        checks = await run(port)
    assert failing(checks) == accepted
    assert all(by_name(checks)[name].actual.startswith("accepted (TLSv1") for name in accepted)


@pytest.mark.parametrize("missing", SUITES, ids=lambda suite: suite.name)
async def test_a_missing_suite_fails_that_suite(test_pki: PkiFiles, missing: CipherSuite) -> None:
    ciphers = ":".join(name for name in SERVER_CIPHERS.split(":") if name != missing.openssl)
    async with tls_server(context_for([test_pki.csms_rsa, test_pki.csms_ecdsa], ciphers=ciphers)) as port:
        checks = await run(port)
    assert failing(checks) == {f"cipher suite {missing.name}"}


async def test_a_server_without_an_rsa_certificate_fails_the_tls_rsa_suites(test_pki: PkiFiles) -> None:
    async with tls_server(server_ssl_context([test_pki.csms_ecdsa])) as port:
        checks = await run(port)
    assert failing(checks) == {f"cipher suite {suite.name}" for suite in SUITES if suite.name.startswith("TLS_RSA")}


async def test_profile_3_with_the_station_certificate_passes(test_pki: PkiFiles) -> None:
    context = server_ssl_context([test_pki.csms_rsa, test_pki.csms_ecdsa], client_ca=test_pki.ca.certificate)
    async with tls_server(context) as port:
        checks = await run(port, ca_file=test_pki.ca.certificate, client_certificate=test_pki.stations["CP_1"])
    assert failing(checks) == set(), format_checks(checks)
    names = [check.name for check in checks]
    assert names[1] == "client certificate accepted" and names[-1] == "client certificate required"


async def test_profile_3_with_an_untrusted_station_certificate_fails_its_acceptance(test_pki: PkiFiles) -> None:
    context = server_ssl_context([test_pki.csms_rsa, test_pki.csms_ecdsa], client_ca=test_pki.ca.certificate)
    async with tls_server(context) as port:
        checks = await run(port, client_certificate=test_pki.bad.untrusted_station)
    assert "client certificate accepted" in failing(checks)
    assert "client certificate required" not in failing(checks)


async def test_a_server_that_does_not_ask_for_a_client_certificate_fails_profile_3(test_pki: PkiFiles) -> None:
    async with tls_server(server_ssl_context([test_pki.csms_rsa, test_pki.csms_ecdsa])) as port:
        checks = await run(port, client_certificate=test_pki.stations["CP_1"])
    assert failing(checks) == {"client certificate required"}
    assert by_name(checks)["client certificate required"].actual.startswith("accepted")


async def test_a_profile_3_endpoint_checked_without_a_client_certificate_is_an_error(test_pki: PkiFiles) -> None:
    context = server_ssl_context([test_pki.csms_rsa, test_pki.csms_ecdsa], client_ca=test_pki.ca.certificate)
    async with tls_server(context) as port:
        with pytest.raises(TlsClientCertificateNeeded, match=r"wants a client certificate \(security profile 3\)"):
            await run(port)


async def test_an_endpoint_that_accepts_no_connection_is_unreachable() -> None:
    with socket.socket() as sock:  # a port nothing listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(TlsEndpointUnreachable, match=rf"cannot reach wss://localhost:{port}/ocpp/CP_1: "):
            await run(port)


@pytest.mark.parametrize("url", ["ws://localhost:9000/ocpp", "https://localhost/ocpp", "wss:///ocpp", "wss://h:x/"])
async def test_only_a_wss_url_is_checked(url: str) -> None:
    with pytest.raises(ValueError, match="expected a wss:// URL|no host|Port could not be cast"):
        await check_tls_endpoint(url)


def test_a_check_prints_its_verdict_expectation_and_reference() -> None:
    checks = [
        TlsCheck("TLS version", True, "TLS 1.2 or above", "TLSv1.3", "A00.FR.312"),
        TlsCheck("TLS 1.0 refused", None, "refused", "not checked: no TLS 1.0 here", "A00.FR.314"),
        TlsCheck("cipher suite X", False, "accepted", "refused: HANDSHAKE_FAILURE", "A00.FR.317"),
    ]
    assert format_checks(checks).splitlines() == [
        "PASS     TLS version: expected TLS 1.2 or above; got TLSv1.3 (A00.FR.312)",
        "PARTIAL  TLS 1.0 refused: expected refused; got not checked: no TLS 1.0 here (A00.FR.314)",
        "FAIL     cipher suite X: expected accepted; got refused: HANDSHAKE_FAILURE (A00.FR.317)",
    ]


def test_what_this_machines_ssl_can_offer() -> None:
    """The facts the module docstring documents: each suite can be offered on its own, Python's default client
    list leaves out the static-RSA suites and has nothing for TLS 1.0/1.1, which the probes' level 0 offers."""
    probing = client_offers(security_level=0)
    assert all(probing.values()), probing
    assert all(client_offers(security_level=2)[suite.name] for suite in SUITES)
    default = client_offers(security_level=None)
    assert {name for name, offered in default.items() if offered} == {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    }


@pytest.mark.skipif(ssl.OPENSSL_VERSION_INFO < (3,), reason="OpenSSL 3 made TLS 1.0/1.1 signatures a level-0 matter")
async def test_above_security_level_0_a_tls_1_0_server_would_look_like_a_refusal(test_pki: PkiFiles) -> None:
    """Why the probes run at level 0: at level 1 this client itself ends a TLS 1.0 handshake the server accepted."""
    legacy = f"{SERVER_CIPHERS}:ECDHE-ECDSA-AES128-SHA"
    context = context_for([test_pki.csms_ecdsa], minimum=ssl.TLSVersion.TLSv1, ciphers=legacy)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
    with pytest.warns(DeprecationWarning):
        client.minimum_version = client.maximum_version = ssl.TLSVersion.TLSv1
    client.set_ciphers("DEFAULT:@SECLEVEL=1")
    async with tls_server(context) as port:
        with pytest.raises(ssl.SSLError) as refused:
            _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
            writer.close()
        checks = await run(port)
    assert refused.value.reason == "LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED"
    assert by_name(checks)["TLS 1.0 refused"].actual.startswith("accepted (TLSv1")
