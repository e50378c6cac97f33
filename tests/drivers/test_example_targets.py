"""The example target files drive their API shapes from YAML alone: each is loaded as shipped, pointed at an API
double, and the double must receive exactly the requests the file describes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from harness.config import Target, load_target
from harness.drivers import make_driver
from harness.drivers.http import HttpDriver
from harness.scenario.loader import load_scenarios
from harness.scenario.model import Trigger
from tests.drivers.double import ApiDouble, Seen

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ROOT / "targets"

# The triggers of the Core scenarios, with payloads as the scenarios resolve them.
TRIGGERS: list[tuple[str, dict[str, Any]]] = [
    ("RemoteStartTransaction", {"connectorId": 1, "idTag": "OCA_TOKEN_1"}),
    ("RemoteStopTransaction", {"transactionId": 42}),
    ("Reset", {"type": "Hard"}),
    ("UnlockConnector", {"connectorId": 1}),
    ("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "60"}),
    ("GetConfiguration", {"key": ["SupportedFeatureProfiles", "HeartbeatInterval"]}),
    ("GetConfiguration", {}),
    ("ClearCache", {}),
]
BOOT_ANSWERS: list[dict[str, Any]] = [
    {"status": "Pending", "interval_s": 2, "accept_after_boots": 1},
    {"status": "Accepted"},
]


@pytest.fixture
async def api() -> AsyncIterator[ApiDouble]:
    async with ApiDouble() as double:
        yield double


def http(target: Target) -> HttpDriver:
    driver = make_driver(target)
    assert isinstance(driver, HttpDriver)
    return driver


async def drive(driver: HttpDriver, station_id: str) -> list[bool]:
    oks = [(await driver.trigger(station_id=station_id, action=a, payload=p)).ok for a, p in TRIGGERS]
    for payload in BOOT_ANSWERS:
        oks.append((await driver.configure(station_id=station_id, operation="boot_answer", payload=payload)).ok)
    return oks


async def test_the_octt_example(api: ApiDouble, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSMS_API_URL", api.url)
    monkeypatch.setenv("CSMS_API_TOKEN", "octt-api-token")
    driver = http(load_target(TARGETS / "example.yaml"))
    assert await drive(driver, "SerialNumbeBasic") == [True] * 10
    await driver.aclose()
    bearer = "Bearer octt-api-token"
    base = "/api/octt/1.6/SerialNumbeBasic"
    assert api.seen == [
        Seen("POST", f"{base}/remote-start-transaction", {"connectorId": 1, "idTag": "OCA_TOKEN_1"}, bearer),
        Seen("POST", f"{base}/remote-stop-transaction", {"transactionId": 42}, bearer),
        Seen("POST", f"{base}/reset", {"type": "Hard"}, bearer),
        Seen("POST", f"{base}/unlock-connector", {"connectorId": 1}, bearer),
        Seen("POST", f"{base}/change-configuration", {"key": "MeterValueSampleInterval", "value": "60"}, bearer),
        Seen("POST", f"{base}/get-configuration", {"key": ["SupportedFeatureProfiles", "HeartbeatInterval"]}, bearer),
        Seen("POST", f"{base}/get-configuration", {}, bearer),
        Seen("POST", f"{base}/clear-cache", {}, bearer),
        Seen("PUT", "/api/stations/SerialNumbeBasic/boot-answer", BOOT_ANSWERS[0], bearer),
        Seen("PUT", "/api/stations/SerialNumbeBasic/boot-answer", BOOT_ANSWERS[1], bearer),
    ]


# --------------------------------------------------------------------------------------- module API (camelCase)


def module_api(seen: Seen) -> tuple[int, Any]:
    """HTTP 200 always; ``success`` says whether it worked (the double refuses Reset and relays a CALLERROR for
    UnlockConnector)."""
    if seen.path.endswith("/reset"):
        return 200, {"success": False, "message": "Reset is disabled for this station"}
    if seen.path.endswith("/unlockConnector"):
        return 200, {"success": False, "error": "CallError", "errorCode": "NotSupported"}
    if seen.method == "GET" and seen.path.startswith("/api/v1/id-tags/"):
        return 200, {"success": True, "data": {"idTag": seen.path.rsplit("/", 1)[-1], "status": "Accepted"}}
    return 200, {"success": True}


async def test_the_module_api_example(api: ApiDouble, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSMS_API_URL", api.url)
    monkeypatch.setenv("CSMS_API_KEY", "module-key-1")
    api.answer = module_api
    target = load_target(TARGETS / "example-module-api.yaml")
    driver = http(target)
    oks = await drive(driver, "CP_MODULE_1")
    reset = await driver.trigger(station_id="CP_MODULE_1", action="Reset", payload={"type": "Soft"})
    read = await driver.request("read_token", {"id_tag": "OCA_TOKEN_1"})
    await driver.aclose()
    assert oks == [True, True, False, True, True, True, True, True, True, True]
    assert reset.describe() == (
        f"driver request 'trigger Reset' (POST {api.url}/api/v1/ocpp/CP_MODULE_1/reset → HTTP 200 "
        '{"success": false, "message": "Reset is disabled for this station"}) failed: expected success = true, '
        "got false"
    )
    assert read.ok
    station = {"stationId": "CP_MODULE_1"}
    base = "/api/v1/ocpp/CP_MODULE_1"
    assert [(s.method, s.path, s.body) for s in api.seen] == [
        ("POST", f"{base}/remoteStartTransaction", {**station, "connectorId": 1, "idTag": "OCA_TOKEN_1"}),
        ("POST", f"{base}/remoteStopTransaction", {**station, "transactionId": 42}),
        ("POST", f"{base}/reset", {**station, "type": "Hard"}),
        ("POST", f"{base}/unlockConnector", {**station, "connectorId": 1}),
        ("POST", f"{base}/changeConfiguration", {**station, "key": "MeterValueSampleInterval", "value": "60"}),
        ("POST", f"{base}/getConfiguration", {**station, "key": ["SupportedFeatureProfiles", "HeartbeatInterval"]}),
        ("POST", f"{base}/getConfiguration", station),
        ("POST", f"{base}/clearCache", station),
        (
            "POST",
            "/api/v1/stations/CP_MODULE_1/registration",
            {**station, "status": "Pending", "interval": 2, "acceptAfter": 1},
        ),
        ("POST", "/api/v1/stations/CP_MODULE_1/registration", {**station, "status": "Accepted"}),
        ("POST", f"{base}/reset", {**station, "type": "Soft"}),
        ("GET", "/api/v1/id-tags/OCA_TOKEN_1", None),
    ]
    assert {(s.authorization, s.api_key) for s in api.seen} == {(None, "module-key-1")}


async def test_the_module_api_example_provisions_with_its_own_field_names(
    api: ApiDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSMS_API_URL", api.url)
    monkeypatch.setenv("CSMS_SP1_PASSWORD", "sp1-password")
    api.answer = module_api
    target = load_target(TARGETS / "example-module-api.yaml")
    driver = http(target)
    await driver.provision(target)
    await driver.aclose()
    expired = api.seen[-1].body.pop("expiryDate")
    assert isinstance(expired, str) and expired.endswith("Z")
    assert [(s.method, s.path, s.body) for s in api.seen] == [
        ("POST", "/api/v1/stations", {"stationId": "CP_MODULE_1", "connectors": 1}),
        ("POST", "/api/v1/stations", {"stationId": "CP_MODULE_BOOT", "connectors": 1}),
        ("POST", "/api/v1/stations/CP_MODULE_1/password", {"stationId": "CP_MODULE_1", "password": "sp1-password"}),
        (
            "POST",
            "/api/v1/stations/CP_MODULE_BOOT/password",
            {"stationId": "CP_MODULE_BOOT", "password": "sp1-password"},
        ),
        ("POST", "/api/v1/id-tags", {"idTag": "OCA_TOKEN_1", "status": "Accepted", "parentIdTag": "GROUP_0001"}),
        ("POST", "/api/v1/id-tags", {"idTag": "BLOCKED", "status": "Blocked"}),
        ("POST", "/api/v1/id-tags", {"idTag": "EXPIRED", "status": "Expired"}),
    ]


# --------------------------------------------------------------------------------------- REST API (route table)


def rest_api(seen: Seen) -> tuple[int, Any]:
    if seen.authorization != "Bearer rest-api-token":
        return 401, {"error": "unauthorized"}
    if seen.path.endswith("/cache"):
        return 424, {"error": {"type": "CallError", "code": "NotImplemented"}}
    if seen.method == "GET" and seen.path.startswith("/api/v2/tokens/"):
        return 200, {"id": seen.path.rsplit("/", 1)[-1], "status": "Accepted"}
    return 201 if seen.method == "PUT" else 200, {"id": "x"}


async def test_the_rest_api_example(api: ApiDouble, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSMS_API_URL", f"{api.url}/api")
    monkeypatch.setenv("CSMS_API_TOKEN", "rest-api-token")
    api.answer = rest_api
    target = load_target(TARGETS / "example-rest-api.yaml")
    assert target.summary()["driver"]["auth"] == {"bearer": "********"}
    driver = http(target)
    oks = await drive(driver, "CP_REST_1")
    unrouted = await driver.trigger(station_id="CP_REST_1", action="TriggerMessage", payload={"requestedMessage": "x"})
    read = await driver.request("read_token", driver.token_values("OCA_TOKEN_1", "Accepted", token_type="central"))
    await driver.aclose()
    assert oks == [True] * 10, "ClearCache's 424 CallError is a relayed CALLERROR"
    assert unrouted.describe() == (
        "driver request 'trigger TriggerMessage' failed: no route for TriggerMessage: add "
        "driver.routes.TriggerMessage or a fallback driver.requests.trigger to the target file"
    )
    assert read.ok
    charger = "/api/v2/chargers/CP_REST_1"
    assert [(s.method, s.path, s.body) for s in api.seen] == [
        ("POST", f"{charger}/sessions", {"connector": 1, "token": "OCA_TOKEN_1"}),
        ("DELETE", f"{charger}/sessions/42", None),
        ("POST", f"{charger}/reset", {"type": "Hard"}),
        ("POST", f"{charger}/connectors/1/unlock", None),
        ("PUT", f"{charger}/configuration/MeterValueSampleInterval", {"value": "60"}),
        ("GET", f"{charger}/configuration?key=SupportedFeatureProfiles&key=HeartbeatInterval", None),
        ("GET", f"{charger}/configuration", None),
        ("DELETE", f"{charger}/cache", None),
        ("PUT", f"{charger}/registration-policy", {"status": "Pending", "retryInterval": 2, "acceptAfterBoots": 1}),
        ("PUT", f"{charger}/registration-policy", {"status": "Accepted"}),
        ("GET", "/api/v2/tokens/OCA_TOKEN_1", None),
    ]
    assert {s.authorization for s in api.seen} == {"Bearer rest-api-token"}


async def test_a_wrong_token_is_a_driver_failure_with_the_answer(
    api: ApiDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSMS_API_URL", f"{api.url}/api")
    monkeypatch.setenv("CSMS_API_TOKEN", "expired-token")
    api.answer = rest_api
    driver = http(load_target(TARGETS / "example-rest-api.yaml"))
    outcome = await driver.trigger(station_id="CP_REST_1", action="Reset", payload={"type": "Soft"})
    await driver.aclose()
    assert outcome.describe() == (
        f"driver request 'trigger Reset' (POST {api.url}/api/v2/chargers/CP_REST_1/reset → HTTP 401 "
        '{"error": "unauthorized"}) failed: expected HTTP 2xx'
    )


def test_every_action_the_shipped_scenarios_trigger_has_a_route_in_the_rest_example(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CSMS_API_TOKEN", "t")
    target = load_target(TARGETS / "example-rest-api.yaml")
    scenarios, problems = load_scenarios([ROOT / "scenarios"])
    assert problems == []
    triggered = {
        step.action for s in scenarios if s.profile in target.profiles for step in s.steps if isinstance(step, Trigger)
    }
    assert triggered and triggered <= set(target.driver.routes)
