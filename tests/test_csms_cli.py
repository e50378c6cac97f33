"""``ocpp-harness csms`` with TLS: the listener of security profiles 2 and 3 from the layout ``ocpp-harness certs``
writes (``--tls-dir``) or from files given one by one, and one-line errors for TLS material it cannot use."""

from __future__ import annotations

import asyncio
import re
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from csms.pki import PkiFiles
from csms.tls import TlsError, TlsSettings
from harness.cli import main

CLI = [sys.executable, "-m", "harness.cli"]


def test_the_csms_serves_wss_from_the_test_pki(tmp_path: Path, test_pki: PkiFiles) -> None:
    command = [*CLI, "csms", "--port", "0", "--tls-port", "0", "--db", str(tmp_path / "c.sqlite3")]
    server = subprocess.Popen([*command, "--tls-dir", str(test_pki.folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        plain, secure, mutual = (server.stdout.readline() for _ in range(3))
        assert re.match(r"CSMS listening on ws://127\.0\.0\.1:\d+/ocpp \(API http://", plain), plain
        found = re.match(r"CSMS listening on (wss://localhost:\d+/ocpp) \(TLS: security profile 2\)", secure)
        assert found, secure
        assert re.match(r"CSMS listening on wss://localhost:\d+/ocpp \(mutual TLS: security profile 3\)", mutual), (
            mutual
        )

        async def handshake() -> int:
            context = ssl.create_default_context(cafile=str(test_pki.ca.certificate))
            try:
                async with connect(
                    f"{found.group(1)}/UNKNOWN", ssl=context, subprotocols=[Subprotocol("ocpp1.6")], proxy=None
                ):
                    return 101
            except Exception as exc:  # the TLS handshake worked if the answer is an HTTP status
                response = getattr(exc, "response", None)
                return int(response.status_code) if response is not None else -1

        assert asyncio.run(handshake()) == 404  # over TLS, to an id the CSMS does not know (OCPP-J 1.6 §3.2)
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--tls-dir", "{missing}"], "error: {missing}/manifest.json: not a manifest of ocpp-harness certs"),
        (["--tls-dir", "{pki}", "--ca", "x.pem"], "error: --tls-dir names every file: leave out --ca"),
        (["--cert", "{pki}/csms-rsa.pem"], "error: 1 server certificate(s) but 0 key(s): give them in pairs"),
        (["--ca", "{pki}/ca.pem"], "error: give at least one server certificate (--cert) with its key (--key)"),
        (
            ["--cert", "{pki}/csms-rsa.pem", "--key", "{pki}/csms-ecdsa.key"],
            "error: {pki}/csms-ecdsa.key is not the key of {pki}/csms-rsa.pem (the server certificate)",
        ),
        (
            [
                "--cert",
                "{pki}/csms-rsa.pem",
                "--key",
                "{pki}/csms-rsa.key",
                "--ca",
                "{pki}/ca.pem",
                "--ca-key",
                "{pki}/csms-rsa.key",
            ],
            "error: {pki}/csms-rsa.key is not the key of {pki}/ca.pem (the CA)",
        ),
    ],
)
def test_tls_material_it_cannot_use_is_one_line(
    tmp_path: Path, test_pki: PkiFiles, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    names = {"missing": str(tmp_path / "none"), "pki": str(test_pki.folder)}
    given = [argument.format(**names) for argument in arguments]
    assert main(["csms", "--port", "0", "--db", str(tmp_path / "c.sqlite3"), *given]) == 2
    error = capsys.readouterr().err
    assert error.startswith(message.format(**names)) and error.count("\n") == 1


def test_files_one_by_one_make_the_same_settings(test_pki: PkiFiles) -> None:
    files = TlsSettings.from_options(
        tls_dir=None,
        certificates=[str(test_pki.csms_rsa.certificate), str(test_pki.csms_ecdsa.certificate)],
        keys=[str(test_pki.csms_rsa.private_key), str(test_pki.csms_ecdsa.private_key)],
        ca=str(test_pki.ca.certificate),
        ca_key=str(test_pki.ca.private_key),
        firmware_signing=[str(test_pki.firmware_signing.certificate), str(test_pki.firmware_signing.private_key)],
    )
    layout = TlsSettings.from_options(tls_dir=str(test_pki.folder))
    assert files is not None and layout is not None
    assert files.server_certificates == layout.server_certificates and files.client_ca == layout.client_ca
    assert files.authority is not None and layout.authority is not None
    assert files.authority.certificate == layout.authority.certificate
    assert files.firmware_signer is not None and layout.firmware_signer is not None
    assert files.firmware_signer.certificate == layout.firmware_signer.certificate
    assert files.server_name == "localhost"
    assert TlsSettings.from_options(tls_dir=None) is None
    with pytest.raises(TlsError, match="the firmware signing certificate and its key go together"):
        TlsSettings.from_files(
            certificates=[test_pki.csms_rsa.certificate],
            keys=[test_pki.csms_rsa.private_key],
            firmware_certificate=test_pki.firmware_signing.certificate,
        )
