"""Security profiles 2 and 3 under the runner, over real TLS on loopback: each connection is opened as the
station wants it at that moment — wss with the CSMS verified against the target's CA, the Basic password
(profile 2) or the client certificate (profile 3) — and a password changed during the case is used from the
next connection on (whitepaper A01, TC_073)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

from csms.pki import PkiFiles, server_ssl_context
from harness.config import parse_target
from harness.results import Verdict
from harness.session import Case, replay_case
from tests.engine.test_engine import BOOT, scenario
from tests.test_runner import FakeCsms

OLD, NEW = "old-password-0001", "new-password-0002"  # 17 bytes each (whitepaper A00.FR.205: 16 to 20)


class TlsCsms(FakeCsms):
    """The fake CSMS, keeping what each handshake presented: the Basic credentials and the client certificate."""

    def __init__(self) -> None:
        super().__init__()
        self.passwords: list[str | None] = []
        self.client_subjects: list[str | None] = []

    def process_request(self, connection: ServerConnection, request: Any) -> None:
        header = request.headers.get("Authorization")
        self.passwords.append(base64.b64decode(header.split()[1]).decode().split(":", 1)[1] if header else None)
        peer = connection.transport.get_extra_info("peercert")
        subject = dict(item[0] for item in peer["subject"]) if peer else None
        self.client_subjects.append(subject.get("commonName") if subject else None)
        return None


@pytest.fixture(params=[2, 3])
async def tls_csms(request: pytest.FixtureRequest, test_pki: PkiFiles) -> AsyncIterator[tuple[int, TlsCsms, Server]]:
    profile: int = request.param
    context = server_ssl_context(
        [test_pki.csms_rsa, test_pki.csms_ecdsa], client_ca=test_pki.ca.certificate if profile == 3 else None
    )
    fake = TlsCsms()
    async with serve(
        fake.handler,
        "127.0.0.1",
        0,
        ssl=context,
        subprotocols=[Subprotocol("ocpp1.6")],
        process_request=fake.process_request,
    ) as server:
        yield profile, fake, server


def tls_target(tmp_path: Path, pki: PkiFiles, profile: int, port: int) -> Any:
    station: dict[str, Any] = {"id": "CP_1", "security_profile": profile}
    if profile == 2:
        station["basic_auth_password"] = OLD
    else:
        station["client_certificate"] = str(pki.stations["CP_1"].certificate)
        station["client_key"] = str(pki.stations["CP_1"].private_key)
    document = {
        "endpoints": {
            f"profile_{profile}": {"ws_url": f"wss://localhost:{port}/ocpp", "ca_file": str(pki.ca.certificate)}
        },
        "stations": {"default": station},
        "tokens": {"central": {"valid": "TAG_1"}},
    }
    return parse_target(document, str(tmp_path / "t.yaml"))


async def test_a_tls_profile_connects_as_the_target_says(
    tmp_path: Path, test_pki: PkiFiles, tls_csms: tuple[int, TlsCsms, Server]
) -> None:
    profile, fake, server = tls_csms
    port = next(iter(server.sockets)).getsockname()[1]
    target = tls_target(tmp_path, test_pki, profile, port)
    engine = await replay_case(target, Case(scenario(tmp_path, BOOT)), driver=fake, on_record=lambda record: None)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS, engine.outcome
    if profile == 2:
        assert fake.passwords == [OLD] and fake.client_subjects == [None]
    else:
        assert fake.passwords == [None] and fake.client_subjects == ["CP_1"]


@pytest.mark.parametrize("tls_csms", [2], indirect=True)
async def test_a_password_changed_during_the_case_is_used_from_the_next_connection(
    tmp_path: Path, test_pki: PkiFiles, tls_csms: tuple[int, TlsCsms, Server]
) -> None:
    profile, fake, server = tls_csms
    port = next(iter(server.sockets)).getsockname()[1]
    target = tls_target(tmp_path, test_pki, profile, port)
    steps = (
        BOOT
        + f"""
  - trigger: ChangeConfiguration
    payload: {{key: AuthorizationKey, value: "{NEW.encode().hex()}"}}
  - expect_call: ChangeConfiguration
  - wait: 2
  - send: Heartbeat
"""
    )
    engine = await replay_case(target, Case(scenario(tmp_path, steps)), driver=fake, on_record=lambda record: None)
    assert engine.outcome is not None and engine.outcome.verdict is Verdict.PASS, engine.outcome
    assert fake.passwords == [OLD, NEW]  # the hex AuthorizationKey, decoded in the header (reference §5.8)
