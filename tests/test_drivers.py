"""Drivers: the request templates, the http driver against an API double, and the manual operator prompt."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest

from harness.config import Target, parse_target
from harness.drivers import make_driver
from harness.drivers.http import HttpDriver
from harness.drivers.manual import ManualDriver
from harness.drivers.templates import ABSENT, Condition, MissingValue, RequestTemplate, action_names, render
from harness.scenario.engine import DriverOutcome
from tests.drivers.double import ApiDouble, Seen


def target(api_url: str = "http://127.0.0.1:1", **driver: Any) -> Target:
    return parse_target(
        {
            "endpoints": {"profile_0": {"ws_url": "ws://127.0.0.1:1/ocpp", "api_url": api_url}},
            "stations": {"default": {"id": "CP_1"}, "boot": {"id": "CP/BOOT"}},
            "tokens": {"central": {"valid": "A", "blocked": "B", "expired": "E"}, "parent": "G"},
            "driver": driver,
        },
        "t.yaml",
    )


def http(t: Target) -> HttpDriver:
    driver = make_driver(t)
    assert isinstance(driver, HttpDriver)
    return driver


@pytest.fixture
async def api() -> AsyncIterator[ApiDouble]:
    async with ApiDouble() as double:
        yield double


# --------------------------------------------------------------------------------------------- templates


def test_action_names_in_every_spelling() -> None:
    assert action_names("RemoteStartTransaction") == {
        "action": "RemoteStartTransaction",
        "action_camel": "remoteStartTransaction",
        "action_kebab": "remote-start-transaction",
        "action_snake": "remote_start_transaction",
    }
    assert action_names("GetInstalledCertificateIds")["action_kebab"] == "get-installed-certificate-ids"


def test_a_whole_placeholder_keeps_the_json_type_and_a_longer_string_interpolates() -> None:
    values = {"station_id": "CP_1", "payload": {"connectorId": 1, "profile": {"id": 7}, "key": ["A", "B"], "on": True}}
    body = render(
        {
            "id": "{station_id}",
            "n": "{payload.connectorId}",
            "profile": "{payload.profile}",
            "first": "{payload.key.0}",
            "on": "{payload.on}",
            "text": "cp {station_id}/{payload.connectorId}/{payload.on}/{payload.profile}",
            "braces": "{{literal}}",
            "number": 5,
        },
        values,
    )
    assert body == {
        "id": "CP_1",
        "n": 1,
        "profile": {"id": 7},
        "first": "A",
        "on": True,
        "text": 'cp CP_1/1/true/{"id":7}',
        "braces": "{literal}",
        "number": 5,
    }


def test_a_value_that_needs_an_absent_field_is_left_out_never_null() -> None:
    values = {"payload": {"idTag": "A", "parent": None}}
    body = render(
        {"tag": "{payload.idTag}", "connector": "{payload.connectorId}", "p": "{payload.parent}", "s": "x{payload.no}"},
        values,
    )
    assert body == {"tag": "A"}
    assert render(["{payload.idTag}", "{payload.none}"], values) == ["A"]
    assert render("{payload.none}", values) is ABSENT


def test_a_spread_merges_the_payload_and_the_templates_own_keys_win() -> None:
    values = {"station_id": "CP_1", "payload": {"connectorId": 1, "stationId": "from payload"}}
    assert render({"...": "{payload}", "stationId": "{station_id}"}, values) == {"connectorId": 1, "stationId": "CP_1"}


def test_a_path_is_percent_encoded_and_cannot_lose_a_value() -> None:
    template = RequestTemplate(path="/x/{station_id}/{payload.transactionId}", query={"key": "{payload.key}"})
    built = template.build("http://h", {"station_id": "CP/1 a", "payload": {"transactionId": 5, "key": ["a", "b"]}})
    assert built.url == "http://h/x/CP%2F1%20a/5?key=a&key=b"
    assert built.body is ABSENT
    with pytest.raises(MissingValue) as missing:
        template.build("http://h", {"station_id": "CP_1", "payload": {}})
    assert str(missing.value) == (
        "the path '/x/{station_id}/{payload.transactionId}' needs {payload.transactionId}, "
        "which this request does not have"
    )


@pytest.mark.parametrize(
    ("condition", "status", "data", "unmet"),
    [
        (Condition(), 204, None, None),
        (Condition(), 404, {"error": "x"}, "expected HTTP 2xx"),
        (Condition(status=(200, 201)), 202, None, "expected HTTP 200 or 201"),
        (Condition(json={"success": (True,)}), 200, {"success": True}, None),
        (Condition(json={"success": (True,)}), 200, {"success": False}, "expected success = true, got false"),
        (Condition(json={"success": (True,)}), 200, {"success": 1}, "expected success = true, got 1"),
        (Condition(json={"success": (True,)}), 200, "not json", "expected success = true, got nothing"),
        (Condition(json={"data.0.state": ("A", "B")}), 200, {"data": [{"state": "B"}]}, None),
        (Condition(json={"id": ("{id_tag}",)}), 200, {"id": "T1"}, None),
        (Condition(json={"id": ("{id_tag}",)}), 200, {"id": "T2"}, 'expected id = "T1", got "T2"'),
        (Condition(json={"parent": ("{parent_id_tag}",)}), 200, {}, None),
    ],
)
def test_success_conditions(condition: Condition, status: int, data: Any, unmet: str | None) -> None:
    assert condition.unmet(status, data, {"id_tag": "T1"}) == unmet


# ------------------------------------------------------------------------------------ http driver on the wire


async def test_the_octt_preset_posts_the_payload_to_the_kebab_case_route(api: ApiDouble) -> None:
    driver = http(target(api.url, preset="octt", auth={"bearer": "s3cret-token"}))
    outcome = await driver.trigger(station_id="CP_1", action="RemoteStartTransaction", payload={"idTag": "A"})
    await driver.aclose()
    assert api.seen == [
        Seen("POST", "/api/octt/1.6/CP_1/remote-start-transaction", {"idTag": "A"}, "Bearer s3cret-token")
    ]
    assert outcome == DriverOutcome(
        True,
        request="trigger RemoteStartTransaction",
        method="POST",
        url=f"{api.url}/api/octt/1.6/CP_1/remote-start-transaction",
        http_status=200,
        answer='{"ok": true}',
    )


async def test_an_answer_that_misses_the_success_condition_is_a_failure_with_the_answer(api: ApiDouble) -> None:
    api.answer = lambda seen: (200, {"success": False, "message": "station offline"})
    driver = http(target(api.url, preset="octt", success={"json": {"success": True}}))
    outcome = await driver.trigger(station_id="CP_1", action="Reset", payload={"type": "Hard"})
    await driver.aclose()
    assert not outcome.ok
    assert outcome.describe() == (
        f"driver request 'trigger Reset' (POST {api.url}/api/octt/1.6/CP_1/reset → HTTP 200 "
        '{"success": false, "message": "station offline"}) failed: expected success = true, got false'
    )


@pytest.mark.parametrize("error", ["CALLERROR", "CallError"])
async def test_a_relayed_callerror_is_a_trigger_that_worked(api: ApiDouble, error: str) -> None:
    api.answer = lambda seen: (502, {"error": error, "errorCode": "NotImplemented"})
    driver = http(target(api.url, preset="octt"))
    outcome = await driver.trigger(station_id="CP_1", action="Reset", payload={"type": "Hard"})
    refused = await driver.configure(station_id="CP_1", operation="boot_answer", payload={})
    await driver.aclose()
    assert outcome.ok and outcome.detail == "the station's CALLERROR, relayed"
    assert not refused.ok, "only a trigger relays a CALLERROR"


async def test_a_502_that_is_not_a_relayed_callerror_is_a_failure(api: ApiDouble) -> None:
    api.answer = lambda seen: (502, {"error": "Station 'CP_1' went away."})
    driver = http(target(api.url, preset="octt"))
    outcome = await driver.trigger(station_id="CP_1", action="Reset", payload={"type": "Hard"})
    await driver.aclose()
    assert not outcome.ok and outcome.detail == "expected HTTP 2xx"


async def test_the_relayed_callerror_shape_is_configurable(api: ApiDouble) -> None:
    api.answer = lambda seen: (200, {"success": False, "error": {"type": "CallError"}})
    driver = http(
        target(
            api.url,
            preset="octt",
            success={"json": {"success": True}},
            callerror={"status": 200, "json": {"success": False, "error.type": "CallError"}},
        )
    )
    outcome = await driver.trigger(station_id="CP_1", action="Reset", payload={"type": "Hard"})
    await driver.aclose()
    assert outcome.ok


async def test_routes_come_before_the_fallback_and_an_action_without_either_is_named(api: ApiDouble) -> None:
    routes = {"Reset": {"method": "PUT", "path": "/reset/{station_id}", "body": {"kind": "{payload.type}"}}}
    driver = http(target(api.url, preset=None, routes=routes))
    reset = await driver.trigger(station_id="CP_1", action="Reset", payload={"type": "Soft"})
    missing = await driver.trigger(station_id="CP_1", action="ClearCache", payload={})
    await driver.aclose()
    assert api.seen == [Seen("PUT", "/reset/CP_1", {"kind": "Soft"})]
    assert reset.ok
    assert missing.describe() == (
        "driver request 'trigger ClearCache' failed: no route for ClearCache: add driver.routes.ClearCache or a "
        "fallback driver.requests.trigger to the target file"
    )


async def test_a_path_missing_a_value_fails_before_any_request(api: ApiDouble) -> None:
    routes = {"RemoteStopTransaction": {"method": "DELETE", "path": "/tx/{payload.transactionId}"}}
    driver = http(target(api.url, preset=None, routes=routes))
    outcome = await driver.trigger(station_id="CP_1", action="RemoteStopTransaction", payload={})
    await driver.aclose()
    assert api.seen == []
    assert outcome.describe() == (
        "driver request 'trigger RemoteStopTransaction' failed: the path '/tx/{payload.transactionId}' needs "
        "{payload.transactionId}, which this request does not have"
    )


async def test_a_missing_request_names_the_target_key() -> None:
    driver = http(target(preset="octt"))
    outcome = await driver.configure(station_id="CP_1", operation="boot_answer", payload={})
    await driver.aclose()
    assert outcome.describe() == (
        "driver request 'boot_answer' failed: the http driver has no 'boot_answer' request; add "
        "driver.requests.boot_answer to the target file"
    )


async def test_an_unreachable_api_is_a_driver_failure_naming_the_request() -> None:
    driver = http(target(preset="octt"))
    outcome = await driver.trigger(station_id="CP_1", action="Reset", payload={"type": "Hard"})
    await driver.aclose()
    assert not outcome.ok and outcome.http_status is None
    assert outcome.describe().startswith(
        "driver request 'trigger Reset' (POST http://127.0.0.1:1/api/octt/1.6/CP_1/reset → no answer) failed: "
        "ClientConnectorError"
    )


async def test_secrets_never_reach_the_outcome(api: ApiDouble) -> None:
    api.answer = lambda seen: (401, {"error": f"bad credentials {seen.authorization}", "key": "k-123456"})
    driver = http(
        target(
            api.url,
            preset=None,
            headers={"X-Api-Key": "k-123456"},
            auth={"basic": {"username": "harness", "password": "pa55word"}},
            requests={"boot_answer": {"path": "/boot?key=k-123456", "body": "{payload}"}},
        )
    )
    outcome = await driver.configure(station_id="CP_1", operation="boot_answer", payload={"status": "Pending"})
    await driver.aclose()
    assert api.seen[0].authorization == "Basic aGFybmVzczpwYTU1d29yZA=="
    assert outcome.describe() == (
        f"driver request 'boot_answer' (POST {api.url}/boot?key=******** → HTTP 401 "
        '{"error": "bad credentials ********", "key": "********"}) failed: expected HTTP 2xx'
    )


async def test_provisioning_creates_stations_passwords_profiles_and_tokens(api: ApiDouble) -> None:
    """In the order the bundled CSMS needs: the station, its password, then its security profile (which needs
    the password, A00.FR.202)."""
    t = parse_target(
        {
            "endpoints": {"profile_1": {"ws_url": "ws://127.0.0.1:1/ocpp", "api_url": api.url}},
            "stations": {"default": {"id": "CP_1", "security_profile": 1, "basic_auth_password": "pw-for-cp1"}},
            "tokens": {"central": {"valid": "A", "blocked": "B"}, "keycode": {"valid": "K"}, "parent": "G"},
            "driver": {"preset": "bundled"},
        },
        "t.yaml",
    )
    driver = http(t)
    await driver.provision(t)
    await driver.aclose()
    assert api.seen == [
        Seen("POST", "/api/stations", {"id": "CP_1"}),
        Seen("POST", "/api/octt/set-basic-auth-password", {"station_id": "CP_1", "password": "pw-for-cp1"}),
        Seen("PUT", "/api/stations/CP_1/security-profile", {"security_profile": 1}),
        Seen("POST", "/api/octt/create-token", {"token_id": "A", "status": "Accepted", "parent_id_tag": "G"}),
        Seen("POST", "/api/octt/create-token", {"token_id": "B", "status": "Blocked"}),
        Seen("POST", "/api/octt/create-token", {"token_id": "K", "status": "Accepted", "parent_id_tag": "G"}),
    ]


async def test_a_provisioning_failure_stops_with_the_request_named(api: ApiDouble) -> None:
    api.answer = lambda seen: (409, {"error": "exists"})
    driver = http(target(api.url, preset="bundled"))
    with pytest.raises(Exception) as raised:
        await driver.provision(driver.target)
    await driver.aclose()
    assert str(raised.value) == (
        f"driver request 'create_station' (POST {api.url}/api/stations → HTTP 409 "
        '{"error": "exists"}) failed: expected HTTP 2xx'
    )


# ------------------------------------------------------------------------------------------------ manual


async def test_the_manual_driver_tells_the_operator_what_to_do() -> None:
    out = io.StringIO()
    driver = ManualDriver(target(kind="manual"), out=out, stdin=io.StringIO(""))
    outcome = await driver.trigger(station_id="CP_1", action="Reset", payload={"type": "Hard"})
    assert outcome.ok
    assert out.getvalue().strip() == '>>> OPERATOR: make the CSMS send Reset to station CP_1 with {"type": "Hard"}'
    refused = await driver.configure(station_id="CP_1", operation="boot_answer", payload={"status": "Pending"})
    assert refused.describe() == (
        "driver request 'boot_answer' failed: an operator must confirm it at a terminal (stdin is not one)"
    )
