"""The deliberately broken CSMS answers and CALLs that make the Local Auth List, Reservation and Remote Trigger
scenarios FAIL (merged into ``BROKEN`` of test_suite_bundled.py): each breaks what its case checks, on the wire,
and the case must fail at the step that checks it. The proxy's target is ``support.target_document``: station
CP_1 with two connectors, connector 2 configured, the central valid token OCA_TOKEN_1."""

from __future__ import annotations

from typing import Any

from tests.integration.support import Mutation, csms_call


def differential(change: dict[str, Any]) -> Mutation:
    """A Differential SendLocalList rewritten with ``change``; the Full list before it is left alone."""
    return csms_call("SendLocalList", lambda p: {**p, **change} if p["updateType"] == "Differential" else p)


def without_id_tag_info(payload: dict[str, Any]) -> dict[str, Any]:
    """A Full list whose entries lack idTagInfo: schema-valid (the member is optional), against §5.15 and OCTT."""
    entries = payload.get("localAuthorizationList", [])
    return {**payload, "localAuthorizationList": [{"idTag": entry["idTag"]} for entry in entries]}


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
}
