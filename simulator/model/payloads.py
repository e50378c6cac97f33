"""Request payloads the charge point sends (OCPP 1.6 §6), shaped to the official 1.6 JSON schemas.

Every timestamp goes through :func:`ocppj.timefmt.format_time` (RFC 3339, UTC, ``Z``; §3.3).
Optional fields are omitted rather than sent as null (the schemas do not allow null).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ocppj.timefmt import format_time
from simulator.model.spec import StationSpec


def boot_notification(spec: StationSpec) -> dict[str, Any]:
    payload: dict[str, Any] = {"chargePointVendor": spec.vendor, "chargePointModel": spec.model}
    if spec.serial_number is not None:
        payload["chargePointSerialNumber"] = spec.serial_number
    payload["firmwareVersion"] = spec.firmware_version
    return payload


def status_notification(connector_id: int, status: str, error_code: str, at: float) -> dict[str, Any]:
    return {"connectorId": connector_id, "errorCode": error_code, "status": status, "timestamp": format_time(at)}


def authorize(id_tag: str) -> dict[str, Any]:
    return {"idTag": id_tag}


def start_transaction(
    connector_id: int, id_tag: str, meter_start_wh: int, at: float, *, reservation_id: int | None = None
) -> dict[str, Any]:
    """With ``reservationId`` when the transaction uses a reservation (§4.10, §5.13, TC_046)."""
    payload: dict[str, Any] = {"connectorId": connector_id, "idTag": id_tag, "meterStart": meter_start_wh}
    if reservation_id is not None:
        payload["reservationId"] = reservation_id
    payload["timestamp"] = format_time(at)
    return payload


def stop_transaction(
    *, meter_stop_wh: int, at: float, reason: str, id_tag: str | None = None, transaction_id: int | None = None
) -> dict[str, Any]:
    """StopTransaction without ``transactionId`` unless given: a queued stop gets it when sent (§4.8)."""
    payload: dict[str, Any] = {}
    if transaction_id is not None:
        payload["transactionId"] = transaction_id
    if id_tag is not None:
        payload["idTag"] = id_tag
    payload.update(meterStop=meter_stop_wh, timestamp=format_time(at), reason=reason)
    return payload


def sampled_values(measurands: Iterable[str], *, energy_wh: int, power_w: float, context: str) -> list[dict[str, Any]]:
    """SampledValue list (§7.43) for the measurands the simulated meter has (config.SUPPORTED_MEASURANDS)."""
    values: list[dict[str, Any]] = []
    for measurand in measurands:
        if measurand == "Energy.Active.Import.Register":
            values.append({"value": str(energy_wh), "context": context, "measurand": measurand, "unit": "Wh"})
        elif measurand == "Power.Active.Import":
            values.append({"value": f"{power_w:.0f}", "context": context, "measurand": measurand, "unit": "W"})
    return values


def meter_values(
    connector_id: int, at: float, values: list[dict[str, Any]], transaction_id: int | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {"connectorId": connector_id}
    if transaction_id is not None:
        payload["transactionId"] = transaction_id
    payload["meterValue"] = [{"timestamp": format_time(at), "sampledValue": values}]
    return payload


def data_transfer(vendor_id: str) -> dict[str, Any]:
    return {"vendorId": vendor_id}


def diagnostics_status(status: str) -> dict[str, Any]:
    return {"status": status}


def firmware_status(status: str) -> dict[str, Any]:
    return {"status": status}


def security_event(event_type: str, at: float, tech_info: str | None) -> dict[str, Any]:
    """SecurityEventNotification.req (whitepaper §5.15): type string[50], techInfo string[0..255]."""
    payload: dict[str, Any] = {"type": event_type, "timestamp": format_time(at)}
    if tech_info:
        payload["techInfo"] = tech_info
    return payload


def with_request_id(status: str, request_id: int | None) -> dict[str, Any]:
    """LogStatusNotification.req / SignedFirmwareStatusNotification.req (whitepaper §5.13, §5.19): the requestId
    of the request that started the flow, left out only for Idle (N01.FR.12, L01.FR.21)."""
    return {"status": status} if request_id is None else {"status": status, "requestId": request_id}


# SampledValue defaults (OCPP 1.6 §7.45): a field equal to its default may be left out.
_SAMPLED_VALUE_DEFAULTS = {
    "context": "Sample.Periodic",
    "format": "Raw",
    "measurand": "Energy.Active.Import.Register",
    "location": "Outlet",
    "unit": "Wh",
}


def required_only(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` as a charger that leaves out every field it may leave out without changing the meaning
    (OCPP 1.6 §6): a CSMS must not depend on optional fields. StopTransaction's reason may be omitted only
    when it is Local (§6.51); a SampledValue field only when it has its default value (§7.45)."""
    if action == "BootNotification":
        return {key: payload[key] for key in ("chargePointVendor", "chargePointModel")}
    if action == "StatusNotification":
        return {key: payload[key] for key in ("connectorId", "errorCode", "status")}
    if action == "StopTransaction":
        kept = {key: value for key, value in payload.items() if key not in ("idTag", "transactionData")}
        if kept.get("reason") == "Local":
            del kept["reason"]
        return kept
    if action == "MeterValues":
        return {
            **payload,
            "meterValue": [
                {
                    **meter_value,
                    "sampledValue": [
                        {key: value for key, value in sample.items() if _SAMPLED_VALUE_DEFAULTS.get(key) != value}
                        for sample in meter_value["sampledValue"]
                    ],
                }
                for meter_value in payload["meterValue"]
            ],
        }
    return payload
