"""The deliberately broken CSMS answers and CALLs that make the Local Auth List, Reservation and Remote Trigger
scenarios FAIL (merged into ``BROKEN`` of test_suite_bundled.py): each breaks what its case checks, on the wire,
and the case must fail at the step that checks it. The proxy's target is ``support.target_document``: station
CP_1 with two connectors, connector 2 configured, the central valid token OCA_TOKEN_1."""

from __future__ import annotations

import json
from typing import Any

from ocppj.timefmt import format_time, parse_time
from tests.integration.support import Mutation, answer, call_error_for, csms_call, with_status


def differential(change: dict[str, Any]) -> Mutation:
    """A Differential SendLocalList rewritten with ``change``; the Full list before it is left alone."""
    return csms_call("SendLocalList", lambda p: {**p, **change} if p["updateType"] == "Differential" else p)


def without_id_tag_info(payload: dict[str, Any]) -> dict[str, Any]:
    """A Full list whose entries lack idTagInfo: schema-valid (the member is optional), against §5.15 and OCTT."""
    entries = payload.get("localAuthorizationList", [])
    return {**payload, "localAuthorizationList": [{"idTag": entry["idTag"]} for entry in entries]}


def later_expiry(payload: dict[str, Any]) -> dict[str, Any]:
    """ReserveNow with an expiryDate an hour later than asked: a CSMS that ignores the configured offset."""
    return {**payload, "expiryDate": format_time(parse_time(payload["expiryDate"]) + 3600)}


def cancel_of_the_reservation_made() -> Mutation:
    """CancelReservation rewritten to the reservationId of the last ReserveNow: a CSMS that cannot send an unknown
    reservationId and cancels the one it knows (TC_052, reference §5.7)."""
    made: list[int] = []

    def mutate(frame: list[Any], pending: dict[str, list[Any]]) -> str | None:
        if frame[0] == 2 and frame[2] == "ReserveNow":
            made.append(frame[3]["reservationId"])
        if frame[0] == 2 and frame[2] == "CancelReservation" and made:
            frame = [2, frame[1], frame[2], {**frame[3], "reservationId": made[-1]}]
        return json.dumps(frame)

    return mutate


# SendLocalList with updateType Differential where OCTT asks for a Full list (TC_043_1, TC_043_3)
FULL_AS_DIFFERENTIAL = csms_call("SendLocalList", lambda p: {**p, "updateType": "Differential"})

# case id -> (mutation, text the failure message must contain, action the failing step is about)
BROKEN_LAL_RES_RT: dict[str, tuple[Mutation, str, str]] = {
    "TC_042_1_CSMS": (
        csms_call("GetLocalListVersion", lambda p: {"listVersion": 1}),
        "invalid GetLocalListVersion",
        "GetLocalListVersion",
    ),
    "TC_042_2_CSMS": (
        csms_call("GetLocalListVersion", lambda p: {"connectorId": 1}),
        "invalid GetLocalListVersion",
        "GetLocalListVersion",
    ),
    "TC_043_1_CSMS": (FULL_AS_DIFFERENTIAL, "Differential", "SendLocalList"),
    "TC_043_3_CSMS": (FULL_AS_DIFFERENTIAL, "Differential", "SendLocalList"),
    "TC_043_4_CSMS": (
        csms_call("SendLocalList", without_id_tag_info),
        "'idTagInfo' is a required property",
        "SendLocalList",
    ),
    "TC_043_5_CSMS": (differential({"listVersion": 1}), "must be a number greater than 1", "SendLocalList"),
    "TC_046_CSMS": (  # a CSMS that refuses a transaction on a reservation
        answer("StartTransaction", with_status("Invalid"), when=lambda p: "reservationId" in p),
        "Invalid",
        "StartTransaction",
    ),
    "TC_047_CSMS": (csms_call("ReserveNow", later_expiry), "no StatusNotification exchange", "StatusNotification"),
    "TC_048_1_CSMS": (csms_call("ReserveNow", lambda p: {**p, "idTag": "SOMEONE_ELSE"}), "SOMEONE_ELSE", "ReserveNow"),
    "TC_048_2_CSMS": (
        csms_call("ReserveNow", lambda p: {**p, "expiryDate": "2020-01-01T00:00:00.000Z"}),
        "must be a date-time after",
        "ReserveNow",
    ),
    "TC_048_3_CSMS": (
        csms_call("ChangeAvailability", lambda p: {**p, "type": "Operative"}),
        "Operative",
        "ChangeAvailability",
    ),
    "TC_048_4_CSMS": (csms_call("ReserveNow", lambda p: {**p, "connectorId": 1}), "connectorId", "ReserveNow"),
    "TC_049_CSMS": (  # a CSMS that cannot reserve connector 0 and reserves the configured one (SteVe #2020)
        csms_call("ReserveNow", lambda p: {**p, "connectorId": 2}),
        "connectorId",
        "ReserveNow",
    ),
    "TC_051_CSMS": (
        csms_call("CancelReservation", lambda p: {**p, "reservationId": p["reservationId"] + 1000}),
        "reservationId",
        "CancelReservation",
    ),
    "TC_052_CSMS": (cancel_of_the_reservation_made(), "must differ", "CancelReservation"),
    "TC_053_CSMS": (
        csms_call("ReserveNow", lambda p: {k: v for k, v in p.items() if k != "parentIdTag"}),
        "parentIdTag",
        "ReserveNow",
    ),
    "TC_054_CSMS": (  # a CSMS that refuses meter values outside a transaction
        call_error_for("MeterValues", when=lambda p: "transactionId" not in p),
        "CALLERROR",
        "MeterValues",
    ),
    "TC_055_CSMS": (  # a CSMS that cannot name a connector the station does not have
        csms_call("TriggerMessage", lambda p: {**p, "connectorId": 2}),
        "connectorId",
        "TriggerMessage",
    ),
}
