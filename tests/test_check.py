"""``ocpp-harness check``: the pre-flight of a target, item by item, against the bundled CSMS (started by the
command, as for ``run``) and against endpoints that are not there. Output is compared whole, with the ephemeral
port and the duration normalised."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]


def normalised(text: str) -> list[str]:
    text = re.sub(r"(127\.0\.0\.1|localhost):\d+", r"\1:PORT", text)
    return re.sub(r"in \d+\.\d+ s$", "in T s", text.strip(), flags=re.M).splitlines()


def bundled(tmp_path: Path, **changes: Any) -> Path:
    """The bundled target with ``changes``, without its security stations (the first test checks those)."""
    document: dict[str, Any] = yaml.safe_load((ROOT / "targets" / "bundled.yaml").read_text(encoding="utf-8"))
    document["stations"] = {role: document["stations"][role] for role in ("default", "boot")}
    document["profiles"] = [profile for profile in document["profiles"] if profile != "Security"]
    driver = changes.pop("driver", {})
    document.update(changes)
    document["driver"].update(driver)
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_the_bundled_target_passes_every_item(capsys: pytest.CaptureFixture[str]) -> None:
    """Its security stations too: profile 1 over ws with Basic auth, 2 over TLS, 3 over mutual TLS, each
    provisioned with its profile."""
    path = ROOT / "targets" / "bundled.yaml"
    assert main(["check", "--target", str(path)]) == 0
    assert normalised(capsys.readouterr().out) == [
        f"ocpp-harness check: Bundled reference CSMS ({path})",
        "PASS  reach ws://127.0.0.1:PORT/ocpp: TCP connection accepted",
        "PASS  reach wss://localhost:PORT/ocpp: TCP connection accepted",
        "PASS  reach wss://localhost:PORT/ocpp: TCP connection accepted",
        "PASS  reach http://127.0.0.1:PORT: TCP connection accepted",
        "PASS  requests for the scenarios: every one they make has a template (CancelReservation, "
        "ChangeAvailability, ChangeConfiguration, ClearCache, ClearChargingProfile, DeleteCertificate, "
        "ExtendedTriggerMessage, GetCompositeSchedule, GetConfiguration, GetDiagnostics, "
        "GetInstalledCertificateIds, GetLocalListVersion, GetLog, InstallCertificate, "
        "RemoteStartTransaction, RemoteStopTransaction, ReserveNow, Reset, SendLocalList, "
        "SetChargingProfile, SignedUpdateFirmware, TriggerMessage, UnlockConnector, UpdateFirmware, "
        "basic_auth_password, boot_answer, security_profile)",
        'PASS  create_station CP_1: POST http://127.0.0.1:PORT/api/stations → HTTP 201 {"id": "CP_1", '
        '"connected": false, "registration_status": null, "boot": {"status…',
        'PASS  create_station CP_BOOT: POST http://127.0.0.1:PORT/api/stations → HTTP 201 {"id": '
        '"CP_BOOT", "connected": false, "registration_status": null, "boot": {"sta…',
        "PASS  create_station SerialNumbeBasic: POST http://127.0.0.1:PORT/api/stations → HTTP 201 "
        '{"id": "SerialNumbeBasic", "connected": false, "registration_status": null, "boo…',
        "PASS  set_basic_auth_password SerialNumbeBasic: POST "
        'http://127.0.0.1:PORT/api/octt/set-basic-auth-password → HTTP 200 {"station_id": '
        '"SerialNumbeBasic", "basic_auth": true}',
        "PASS  security_profile SerialNumbeBasic: PUT "
        'http://127.0.0.1:PORT/api/stations/SerialNumbeBasic/security-profile → HTTP 200 {"station_id": '
        '"SerialNumbeBasic", "security_profile": 1, "profile_changed_at": …',
        "PASS  create_station SerialNumberTls: POST http://127.0.0.1:PORT/api/stations → HTTP 201 "
        '{"id": "SerialNumberTls", "connected": false, "registration_status": null, "boot…',
        "PASS  set_basic_auth_password SerialNumberTls: POST "
        'http://127.0.0.1:PORT/api/octt/set-basic-auth-password → HTTP 200 {"station_id": '
        '"SerialNumberTls", "basic_auth": true}',
        "PASS  security_profile SerialNumberTls: PUT "
        'http://127.0.0.1:PORT/api/stations/SerialNumberTls/security-profile → HTTP 200 {"station_id": '
        '"SerialNumberTls", "security_profile": 2, "profile_changed_at": "…',
        'PASS  create_station SerialNumber: POST http://127.0.0.1:PORT/api/stations → HTTP 201 {"id": '
        '"SerialNumber", "connected": false, "registration_status": null, "boot": …',
        "PASS  security_profile SerialNumber: PUT "
        'http://127.0.0.1:PORT/api/stations/SerialNumber/security-profile → HTTP 200 {"station_id": '
        '"SerialNumber", "security_profile": 3, "profile_changed_at": "202…',
        "PASS  create_station SerialNumberUpgrade: POST http://127.0.0.1:PORT/api/stations → HTTP 201 "
        '{"id": "SerialNumberUpgrade", "connected": false, "registration_status": null, "…',
        "PASS  set_basic_auth_password SerialNumberUpgrade: POST "
        'http://127.0.0.1:PORT/api/octt/set-basic-auth-password → HTTP 200 {"station_id": '
        '"SerialNumberUpgrade", "basic_auth": true}',
        "PASS  security_profile SerialNumberUpgrade: PUT "
        "http://127.0.0.1:PORT/api/stations/SerialNumberUpgrade/security-profile → HTTP 200 "
        '{"station_id": "SerialNumberUpgrade", "security_profile": 1, "profile_changed_at…',
        "PASS  websocket CP_1: ws://127.0.0.1:PORT/ocpp/CP_1, subprotocol ocpp1.6",
        "PASS  boot CP_1: BootNotification.conf status Accepted",
        "PASS  trigger GetConfiguration: POST http://127.0.0.1:PORT/api/octt/1.6/CP_1/get-configuration "
        '→ HTTP 200 {"configurationKey": [{"key": "HeartbeatInterval", "readonly": false, "value": "…',
        "PASS  GetConfiguration reached the station: the CSMS sent it to CP_1",
        "PASS  websocket CP_BOOT: ws://127.0.0.1:PORT/ocpp/CP_BOOT, subprotocol ocpp1.6",
        "PASS  boot CP_BOOT: BootNotification.conf status Accepted",
        "PASS  websocket SerialNumbeBasic: ws://127.0.0.1:PORT/ocpp/SerialNumbeBasic, subprotocol ocpp1.6, "
        "Basic auth as SerialNumbeBasic",
        "PASS  boot SerialNumbeBasic: BootNotification.conf status Accepted",
        "PASS  websocket SerialNumberTls: wss://localhost:PORT/ocpp/SerialNumberTls, subprotocol ocpp1.6, "
        "Basic auth as SerialNumberTls",
        "PASS  boot SerialNumberTls: BootNotification.conf status Accepted",
        "PASS  websocket SerialNumber: wss://localhost:PORT/ocpp/SerialNumber, subprotocol ocpp1.6",
        "PASS  boot SerialNumber: BootNotification.conf status Accepted",
        "PASS  websocket SerialNumberUpgrade: ws://127.0.0.1:PORT/ocpp/SerialNumberUpgrade, subprotocol "
        "ocpp1.6, Basic auth as SerialNumberUpgrade",
        "PASS  boot SerialNumberUpgrade: BootNotification.conf status Accepted",
        "PASS  create_token CHECK-UNKNOWN_TOKEN_: POST http://127.0.0.1:PORT/api/octt/create-token → "
        'HTTP 201 {"id_tag": "CHECK-UNKNOWN_TOKEN_", "status": "Accepted", "effective_status": "Ac…',
        "SKIP  read_token: no driver.requests.read_token (optional: reads a token back)",
        "PASS  boot_answer CP_BOOT: PUT http://127.0.0.1:PORT/api/stations/CP_BOOT/boot-answer → HTTP "
        '200 {"id": "CP_BOOT", "connected": false, "registration_status": "Accepted", "boot":…',
        "PASS  boot_answer reset CP_BOOT: PUT http://127.0.0.1:PORT/api/stations/CP_BOOT/boot-answer → "
        'HTTP 200 {"id": "CP_BOOT", "connected": false, "registration_status": "Accepted", "boot":…',
        "check ok: 35 passed, 0 failed, 1 skipped in T s",
    ]


def test_a_broken_template_is_named_with_the_answer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    requests = {
        "boot_answer": {"method": "PUT", "path": "/api/station/{station_id}/boot-answer", "body": "{payload}"},
        "create_token": {
            "path": "/api/octt/create-token",
            "body": {"token_id": "{id_tag}", "status": "{status}"},
            "success": {"status": [201], "json": {"status": "Blocked"}},
        },
    }
    path = bundled(tmp_path, driver={"requests": requests})
    assert main(["check", "--target", str(path)]) == 1
    out = normalised(capsys.readouterr().out)
    assert [line for line in out if line.startswith(("FAIL", "SKIP", "check"))] == [
        "FAIL  create_token CHECK-UNKNOWN_TOKEN_: POST http://127.0.0.1:PORT/api/octt/create-token → HTTP 201 "
        '{"id_tag": "CHECK-UNKNOWN_TOKEN_", "status": "Accepted", "effective_status": "Accepted", "expiry_date": '
        'null, "parent_id_tag": null} (expected status = "Blocked", got "Accepted")',
        "SKIP  read_token: no driver.requests.read_token (optional: reads a token back)",
        "FAIL  boot_answer CP_BOOT: PUT http://127.0.0.1:PORT/api/station/CP_BOOT/boot-answer → HTTP 404 "
        '{"error": "Not Found: PUT /api/station/CP_BOOT/boot-answer."} (expected HTTP 2xx)',
        "FAIL  boot_answer reset CP_BOOT: PUT http://127.0.0.1:PORT/api/station/CP_BOOT/boot-answer → HTTP 404 "
        '{"error": "Not Found: PUT /api/station/CP_BOOT/boot-answer."} (expected HTTP 2xx)',
        "check FAILED: 11 passed, 3 failed, 1 skipped in T s",
    ]


def test_a_trigger_the_api_refuses_is_named_and_the_station_stays_connected_for_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trigger = {
        "path": "/api/octt/1.6/{station_id}/{action_kebab}",
        "body": "{payload}",
        "success": {"json": {"configurationKey.0.key": "HeartbeatIntervl"}},
    }
    path = bundled(tmp_path, driver={"requests": {"trigger": trigger}})
    assert main(["check", "--target", str(path)]) == 1
    out = normalised(capsys.readouterr().out)
    assert [line for line in out if line.startswith("FAIL")] == [
        "FAIL  trigger GetConfiguration: POST http://127.0.0.1:PORT/api/octt/1.6/CP_1/get-configuration → HTTP 200 "
        '{"configurationKey": [{"key": "HeartbeatInterval", "readonly": false, "value": "300"}], "unknownKey": []} '
        '(expected configurationKey.0.key = "HeartbeatIntervl", got "HeartbeatInterval")',
    ]


def test_a_request_the_scenarios_need_and_the_target_lacks_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trigger = {"path": "/api/octt/1.6/{station_id}/{action_kebab}", "body": "{payload}"}
    routes = {action: trigger for action in ("GetConfiguration", "Reset", "RemoteStartTransaction")}
    path = bundled(tmp_path, driver={"preset": None, "routes": routes})
    scenarios = [str(ROOT / "scenarios" / "core"), str(ROOT / "scenarios" / "boot")]
    assert main(["check", "--target", str(path), *scenarios]) == 1
    out = normalised(capsys.readouterr().out)
    assert out[3] == (
        "FAIL  requests for the scenarios: none for ChangeConfiguration, ClearCache, RemoteStopTransaction, "
        "UnlockConnector, boot_answer: add driver.routes.ChangeConfiguration, driver.routes.ClearCache, "
        "driver.routes.RemoteStopTransaction, driver.routes.UnlockConnector, driver.requests.boot_answer"
    )


def test_a_refused_handshake_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = bundled(tmp_path, provision=False, additional_questions=[])
    assert main(["check", "--target", str(path)]) == 1
    assert normalised(capsys.readouterr().out)[1:] == [
        "PASS  reach ws://127.0.0.1:PORT/ocpp: TCP connection accepted",
        "PASS  reach http://127.0.0.1:PORT: TCP connection accepted",
        "PASS  requests for the scenarios: every one they make has a template (CancelReservation, "
        "ChangeAvailability, ChangeConfiguration, ClearCache, ClearChargingProfile, "
        "GetCompositeSchedule, GetConfiguration, GetDiagnostics, GetLocalListVersion, "
        "RemoteStartTransaction, RemoteStopTransaction, ReserveNow, Reset, SendLocalList, "
        "SetChargingProfile, TriggerMessage, UnlockConnector, UpdateFirmware)",
        "SKIP  provisioning: provision: false (the CSMS must already know stations and tokens)",
        "FAIL  websocket CP_1: cannot open the websocket ws://127.0.0.1:PORT/ocpp/CP_1: HTTP 404 during the "
        "websocket handshake",
        "FAIL  websocket CP_BOOT: cannot open the websocket ws://127.0.0.1:PORT/ocpp/CP_BOOT: HTTP 404 during the "
        "websocket handshake",
        "SKIP  boot_answer: the target does not declare AQ-1",
        "check FAILED: 3 passed, 2 failed, 2 skipped in T s",
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_csms_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    path = tmp_path / "t.yaml"
    document = {
        "endpoints": {"profile_0": {"ws_url": f"ws://127.0.0.1:{port}/ocpp", "api_url": f"http://127.0.0.1:{port}"}},
        "stations": {"default": {"id": "CP_1"}},
        "tokens": {"central": {"valid": "A"}},
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert main(["check", "--target", str(path)]) == 3
    out = normalised(capsys.readouterr().out)
    assert out[1].startswith("FAIL  reach ws://127.0.0.1:PORT/ocpp: ConnectionRefusedError")
    assert out[-1] == "check unreachable: 0 passed, 2 failed, 0 skipped in T s"


def test_a_bad_target_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = bundled(tmp_path, driver={"requests": {"boot_answer": {"path": "/b/{stationid}"}}})
    assert main(["check", "--target", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"error: {path}: driver.requests.boot_answer.path: unknown placeholder '{{stationid}}'; did you mean "
        "'station_id'? (this request offers: {station_id}, {operation}, {payload}, {payload.<field>})\n"
    )
