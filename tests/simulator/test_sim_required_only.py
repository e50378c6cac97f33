"""A station that sends only what each message requires (StationSpec.optional_fields=False): what it leaves out
is exactly what OCPP 1.6 lets a charger leave out, and every message still validates."""

from __future__ import annotations

from sim_kit import Sim

from ocppj import schemas
from simulator.model.payloads import required_only


def test_a_minimal_station_leaves_out_optional_fields_and_stays_schema_valid() -> None:
    sim = Sim(optional_fields=False, serial_number="SN-1").booted()
    sim.plug()
    sim.token()
    sim.token()  # the same tag stops the transaction (reason Local)
    sent = {(s.action, s.payload.get("status")): s.payload for s in sim.take()}
    assert sent[("StatusNotification", "Preparing")] == {
        "connectorId": 1,
        "errorCode": "NoError",
        "status": "Preparing",
    }
    [stop] = [payload for (action, _), payload in sent.items() if action == "StopTransaction"]
    assert set(stop) == {"transactionId", "meterStop", "timestamp"}


def test_the_boot_notification_keeps_only_vendor_and_model() -> None:
    sim = Sim(optional_fields=False, serial_number="SN-1")
    [boot] = [s.payload for s in sim.take() if s.action == "BootNotification"]
    assert boot == {"chargePointVendor": "ocpp-harness", "chargePointModel": "Simulator"}


def test_a_stop_reason_other_than_local_is_kept() -> None:
    payload = {"transactionId": 1, "idTag": "T", "meterStop": 5, "timestamp": "2026-01-01T00:00:00.000Z"}
    assert required_only("StopTransaction", {**payload, "reason": "PowerLoss"})["reason"] == "PowerLoss"
    assert "reason" not in required_only("StopTransaction", {**payload, "reason": "Local"})


def test_sampled_values_keep_what_differs_from_the_defaults() -> None:
    payload = {
        "connectorId": 1,
        "meterValue": [
            {
                "timestamp": "2026-01-01T00:00:00.000Z",
                "sampledValue": [
                    {
                        "value": "10",
                        "context": "Sample.Periodic",
                        "measurand": "Energy.Active.Import.Register",
                        "unit": "Wh",
                    },
                    {"value": "7400", "context": "Trigger", "measurand": "Power.Active.Import", "unit": "W"},
                ],
            }
        ],
    }
    minimal = required_only("MeterValues", payload)
    assert minimal["meterValue"][0]["sampledValue"] == [
        {"value": "10"},
        {"value": "7400", "context": "Trigger", "measurand": "Power.Active.Import", "unit": "W"},
    ]
    assert schemas.validate("MeterValues", minimal, response=False) == []
    assert payload["meterValue"][0]["sampledValue"][0]["unit"] == "Wh"  # the original is left alone


def test_a_default_payload_for_a_scenario_send_is_minimal_too() -> None:
    sim = Sim(optional_fields=False).booted()
    payload = sim.cp.default_payload("StatusNotification", connector_id=1, id_tag=None, now=sim.now)
    assert payload == {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
