"""Changing a station's HTTP Basic password (security whitepaper A01, TC_073_CSMS): the CSMS sends the
AuthorizationKey in hexadecimal, takes the new password only when the station accepts it (A01.FR.03) and keeps the
old one otherwise (A01.FR.04); the station then connects with the decoded password (reference §0 item 8, §5.8).
Learned where the answer arrives, so the raw trigger contract changes it the same way as the operator route."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from conftest import StartSecure
from csms_kit import answered
from csms_security_kit import PASSWORD, SecureRig

from csms import credentials

NEW_PASSWORD = "new-password-of-18"  # 18 bytes


@pytest.fixture
async def rig(start_secure: StartSecure) -> SecureRig:
    rig = await start_secure()
    await rig.provision(password=PASSWORD, profile=2)
    return rig


async def change(rig: SecureRig, answer: dict[str, Any], password: str = NEW_PASSWORD) -> tuple[int, list[Any]]:
    station = await rig.booted(tls=True, password=PASSWORD)
    request = rig.api.post("/api/stations/CP_1/basic-auth-password", {"password": password})
    reply, call = await answered(request, station, "ChangeConfiguration", answer)
    await station.ws.close()
    return reply.status, call


async def test_an_accepted_key_replaces_the_password(rig: SecureRig) -> None:
    """The key is the password's UTF-8 in upper-case hex, at most 40 digits; the station then authenticates with
    the password itself, and the old one is refused from then on (A01.FR.03)."""
    status, call = await change(rig, {"status": "Accepted"})
    assert status == 200
    assert call[3] == {"key": "AuthorizationKey", "value": "6E65772D70617373776F72642D6F662D3138"}
    assert bytes.fromhex(call[3]["value"]).decode() == NEW_PASSWORD and len(call[3]["value"]) <= 40
    assert await rig.refusal(tls=True, password=PASSWORD) == 401
    assert await rig.refusal(tls=True, password=call[3]["value"]) == 401  # the hex is not the password
    await rig.booted(tls=True, password=NEW_PASSWORD)
    assert (await rig.security())["password_changed_at"] is not None


@pytest.mark.parametrize("answer", ["Rejected", "NotSupported"])
async def test_a_refused_key_keeps_the_old_password(rig: SecureRig, answer: str) -> None:
    """A01.FR.04."""
    status, _ = await change(rig, {"status": answer})
    assert status == 200
    assert await rig.refusal(tls=True, password=NEW_PASSWORD) == 401
    await rig.booted(tls=True, password=PASSWORD)
    assert (await rig.security())["password_changed_at"] is None


async def test_a_callerror_keeps_the_old_password(rig: SecureRig) -> None:
    station = await rig.booted(tls=True, password=PASSWORD)
    request = rig.api.post("/api/stations/CP_1/basic-auth-password", {"password": NEW_PASSWORD})
    reply, _ = await answered(request, station, "ChangeConfiguration", error=("InternalError", "no"))
    assert reply.status == 502
    await station.ws.close()
    await rig.booted(tls=True, password=PASSWORD)


async def test_reboot_required_counts_as_taken(rig: SecureRig) -> None:
    """OCPP 1.6 §5.3: RebootRequired means changed, effective after a reboot, when the station comes back with
    the new password."""
    await change(rig, {"status": "RebootRequired"})
    assert await rig.refusal(tls=True, password=PASSWORD) == 401
    await rig.booted(tls=True, password=NEW_PASSWORD)


async def test_the_raw_trigger_contract_changes_it_too(rig: SecureRig) -> None:
    """TC_073 through ``POST /api/octt/1.6/{id}/change-configuration`` with OCTT's own key: the hex of
    "OCA_OCTT_admin_test" decodes to the password the station then sends."""
    await rig.csms.store.set_password_hash("CP_1", credentials.hash_password("another-password-16"))
    station = await rig.booted(tls=True, password="another-password-16")
    key = {"key": "AuthorizationKey", "value": "4F43415F4F4354545F61646D696E5F74657374"}
    reply, _ = await answered(
        rig.api.trigger("CP_1", "change-configuration", key), station, "ChangeConfiguration", {"status": "Accepted"}
    )
    assert reply.status == 200
    await station.ws.close()
    assert await rig.refusal(tls=True, password="another-password-16") == 401
    await rig.booted(tls=True, password=PASSWORD)


async def test_no_password_reaches_the_exchange_log_or_the_log(
    rig: SecureRig, caplog: pytest.LogCaptureFixture
) -> None:
    """A01.FR.08/09: the exchange log keeps the ChangeConfiguration with its value redacted."""
    caplog.set_level(logging.DEBUG)
    await change(rig, {"status": "Accepted"})
    exchanges = (await rig.api.get("/api/exchanges?station_id=CP_1")).body
    (sent,) = [e for e in exchanges if e["action"] == "ChangeConfiguration"]
    assert sent["request"] == {"key": "AuthorizationKey", "value": "<redacted>"}
    hex_key = credentials.authorization_key(NEW_PASSWORD)
    for text in (NEW_PASSWORD, hex_key, PASSWORD):
        assert not any(text in record.getMessage() for record in caplog.records), text
        assert text not in str(exchanges)
    assert any("previous one is refused from now on" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("fifteen-bytes!!", "16 to 20 bytes long (A00.FR.205), this one has 15"),
        ("twenty-one-bytes!!!!!", "this one has 21"),
        ("ééééééééééé", "this one has 22"),  # 11 characters, 22 bytes
        ("colon:in-the-middle", "must not contain ':'"),
    ],
)
async def test_the_password_is_16_to_20_bytes(rig: SecureRig, password: str, message: str) -> None:
    reply = await rig.api.post("/api/stations/CP_1/basic-auth-password", {"password": password})
    assert reply.status == 400 and message in reply.body["error"]


def test_the_key_of_the_wire_password() -> None:
    """The rule of OCTT (D25 TC_085): 32-40 hex digits are decoded, anything else is the password as it is."""
    assert credentials.password_of_key("4F43415F4F4354545F61646D696E5F74657374") == "OCA_OCTT_admin_test"
    assert credentials.password_of_key("4f43415f4f4354545f61646d696e5f74657374") == "OCA_OCTT_admin_test"
    assert credentials.password_of_key("plain-password-17") == "plain-password-17"
    assert credentials.password_of_key("AABBCCDDEEFF00112233") == "AABBCCDDEEFF00112233"  # 20 digits: plain
    assert credentials.password_of_key("FF" * 16) is None  # decodes to no UTF-8
    assert credentials.authorization_key("OCA_OCTT_admin_test") == "4F43415F4F4354545F61646D696E5F74657374"
