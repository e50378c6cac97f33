"""The driver section of a target file: every template is checked when the file is loaded, and every mistake
names the file and the key, with a suggestion where one is close."""

from __future__ import annotations

from typing import Any

import pytest

from harness.config import parse_target
from harness.drivers.templates import Condition
from harness.outcomes import TargetError


def document(**driver: Any) -> dict[str, Any]:
    return {
        "endpoints": {"profile_0": {"ws_url": "ws://127.0.0.1:9000/ocpp", "api_url": "http://127.0.0.1:9000"}},
        "stations": {"default": {"id": "CP_1"}},
        "tokens": {"central": {"valid": "A"}},
        "driver": driver,
    }


@pytest.mark.parametrize(
    ("driver", "message"),
    [
        (
            {"requests": {"trigger": {"path": "/x/{stationId}"}}},
            "t.yaml: driver.requests.trigger.path: unknown placeholder '{stationId}'; did you mean 'station_id'? "
            "(this request offers: {station_id}, {action}, {action_camel}, {action_kebab}, {action_snake}, "
            "{payload}, {payload.<field>})",
        ),
        (
            {"requests": {"create_token": {"path": "/t", "body": {"tag": "{idtag}"}}}},
            "t.yaml: driver.requests.create_token.body.tag: unknown placeholder '{idtag}'; did you mean 'id_tag'? "
            "(this request offers: {id_tag}, {status}, {token_type}, {parent_id_tag}, {expiry_date})",
        ),
        (
            {"routes": {"RemoteStartTransaction": {"path": "/s", "body": {"tag": "{payload.idtag}"}}}},
            "t.yaml: driver.routes.RemoteStartTransaction.body.tag: unknown placeholder '{payload.idtag}': payload "
            "has no field 'idtag'; did you mean 'payload.idTag'? (fields: connectorId, idTag, chargingProfile)",
        ),
        (
            {"routes": {"SetChargingProfile": {"path": "/p/{payload.csChargingProfiles.chargingProfileId.x}"}}},
            "t.yaml: driver.routes.SetChargingProfile.path: unknown placeholder "
            "'{payload.csChargingProfiles.chargingProfileId.x}': payload.csChargingProfiles.chargingProfileId is "
            "an integer, it has no field 'x'",
        ),
        (
            {"requests": {"boot_answer": {"path": "/b", "body": {"interval": "{payload.interval}"}}}},
            "t.yaml: driver.requests.boot_answer.body.interval: unknown placeholder '{payload.interval}': payload "
            "has no field 'interval'; did you mean 'payload.interval_s'? (fields: status, interval_s, "
            "accept_after_boots)",
        ),
        (
            {"requests": {"create_station": {"path": "/s", "body": {"id": "{payload}"}}}},
            "t.yaml: driver.requests.create_station.body.id: unknown placeholder '{payload}' (this request offers: "
            "{station_id}, {connectors})",
        ),
        (
            {"requests": {"trigger": {"path": "/x/{action kebab}"}}},
            "t.yaml: driver.requests.trigger.path: '{action kebab}' is not a placeholder (write {{ and }} for "
            "literal braces)",
        ),
        (
            {"routes": {"RemoteStartTranaction": {"path": "/x"}}},
            "t.yaml: driver.routes: 'RemoteStartTranaction' is not an action a CSMS sends; did you mean "
            "'RemoteStartTransaction'? (OCPP 1.6 §5)",
        ),
        (
            {"routes": {"BootNotification": {"path": "/x"}}},
            "t.yaml: driver.routes: 'BootNotification' is not an action a CSMS sends (OCPP 1.6 §5)",
        ),
        (
            {"requests": {"Reset": {"path": "/x"}}},
            "t.yaml: driver.requests: 'Reset' is an OCPP action: its trigger route goes under driver.routes.Reset",
        ),
        (
            {"requests": {"boot_anwser": {"path": "/x"}}},
            "t.yaml: driver.requests: unknown key 'boot_anwser'; did you mean 'boot_answer'? (allowed: trigger, "
            "create_station, set_basic_auth_password, create_token, read_token, before_case, after_case, "
            "boot_answer, basic_auth_password, security_profile)",
        ),
        (
            {"requests": {"trigger": {"path": "x/{action}"}}},
            "t.yaml: driver.requests.trigger.path: expected a path starting with / or an http(s):// URL, got "
            "'x/{action}'",
        ),
        (
            {"requests": {"trigger": {"path": "/x", "method": "FETCH"}}},
            "t.yaml: driver.requests.trigger.method: expected one of GET, POST, PUT, PATCH, DELETE, got 'FETCH'",
        ),
        (
            {"requests": {"trigger": {"path": "/x", "sucess": {}}}},
            "t.yaml: driver.requests.trigger: unknown key 'sucess'; did you mean 'success'? (allowed: method, "
            "path, query, headers, body, success, callerror)",
        ),
        (
            {"requests": {"create_token": {"path": "/x", "callerror": {"status": 502}}}},
            "t.yaml: driver.requests.create_token: unknown key 'callerror' (allowed: method, path, query, "
            "headers, body, success)",
        ),
        (
            {"requests": {"read_token": {"path": "/t", "success": {"json": {"id": "{token}"}}}}},
            "t.yaml: driver.requests.read_token.success.json.id: unknown placeholder '{token}'; did you mean "
            "'token_type'? (this request offers: {id_tag}, {status}, {token_type}, {parent_id_tag}, {expiry_date})",
        ),
        (
            {"success": {"status": [200, "2xx"]}},
            "t.yaml: driver.success.status: expected an HTTP status code or a list of them, got '2xx'",
        ),
        (
            {"success": {"json": {"data": {"ok": True}}}},
            "t.yaml: driver.success.json.data: expected a value or a list of values, got {'ok': True}",
        ),
        ({"auth": {"bearer": "x", "basic": {}}}, "t.yaml: driver.auth: give one of 'bearer' or 'basic'"),
        (
            {"auth": {"bearer": "x"}, "headers": {"authorization": "Bearer y"}},
            "t.yaml: driver.auth: driver.headers sets Authorization too; keep one of them",
        ),
        ({"auth": {"basic": {"username": "u"}}}, "t.yaml: driver.auth.basic: missing required key 'password'"),
        ({"preset": "bundle"}, "t.yaml: driver.preset: unknown preset 'bundle'; did you mean 'bundled'?"),
    ],
)
def test_driver_mistakes_name_the_key(driver: dict[str, Any], message: str) -> None:
    with pytest.raises(TargetError) as raised:
        parse_target(document(**driver), "t.yaml")
    assert str(raised.value) == message


def test_a_placeholder_in_a_security_action_route_is_checked_through_its_definitions() -> None:
    with pytest.raises(TargetError) as raised:
        parse_target(document(routes={"GetLog": {"path": "/l", "body": {"url": "{payload.log.remoteLocaton}"}}}), "t")
    assert str(raised.value) == (
        "t: driver.routes.GetLog.body.url: unknown placeholder '{payload.log.remoteLocaton}': payload.log has no "
        "field 'remoteLocaton'; did you mean 'payload.log.remoteLocation'? (fields: remoteLocation, "
        "oldestTimestamp, latestTimestamp)"
    )


def test_target_requests_replace_the_presets_and_routes_are_kept_apart() -> None:
    driver = parse_target(
        document(
            preset="octt",
            requests={"trigger": {"method": "put", "path": "/x/{action}"}},
            routes={"Reset": {"path": "/reset"}},
            success={"status": [200, 201], "json": {"ok": [True, "yes"]}},
        ),
        "t.yaml",
    ).driver
    assert (driver.requests["trigger"].method, driver.requests["trigger"].path) == ("PUT", "/x/{action}")
    assert driver.requests["create_token"].path == "/api/octt/create-token"
    assert list(driver.routes) == ["Reset"]
    assert driver.success == Condition(status=(200, 201), json={"ok": (True, "yes")})


def test_no_preset_means_only_the_target_requests() -> None:
    driver = parse_target(document(preset=None, requests={"boot_answer": {"path": "/b"}}), "t.yaml").driver
    assert list(driver.requests) == ["boot_answer"]


def test_auth_and_headers_are_masked_in_the_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_API_PASSWORD", "pa55word")
    bearer = parse_target(document(auth={"bearer": "t0ken-value"}, headers={"X-Key": "k-123456"}), "t.yaml")
    basic = parse_target(
        document(
            auth={"basic": {"username": "harness", "password": "${TEST_API_PASSWORD}"}},
            requests={"boot_answer": {"path": "/b?pw=${TEST_API_PASSWORD}"}},
        ),
        "t.yaml",
    )
    assert bearer.summary()["driver"]["auth"] == {"bearer": "********"}
    assert bearer.summary()["driver"]["headers"] == {"X-Key": "********"}
    assert basic.summary()["driver"]["auth"] == {"basic": {"username": "harness", "password": "********"}}
    assert basic.summary()["driver"]["requests"]["boot_answer"] == "POST /b?pw=********"
    for secret in ("t0ken-value", "k-123456", "pa55word"):
        assert secret not in repr(bearer) + repr(basic) + repr(bearer.summary()) + repr(basic.summary())
