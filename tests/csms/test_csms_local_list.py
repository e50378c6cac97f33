"""Local Authorization List Management (OCPP 1.6 §3.5.2, §5.10, §5.15; TC_042_1/2, TC_043_1/3/4/5): the list the
CSMS holds per station, learned from SendLocalList answers whoever asked for them, and the operator route that
builds the list from the CSMS's tokens."""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import OpenStation
from csms_kit import Api, answered

from ocppj.timefmt import format_time

LIST = "/api/stations/CP_1/local-list"
ACCEPTED = {"status": "Accepted"}


def entry(id_tag: str, status: str = "Accepted", **info: Any) -> dict[str, Any]:
    return {"idTag": id_tag, "idTagInfo": {"status": status, **info}}


async def held(api: Api) -> dict[str, Any]:
    reply = await api.get(LIST)
    assert reply.status == 200
    body = reply.body
    assert isinstance(body, dict)
    return body


def tags_of(view: dict[str, Any]) -> dict[str, str]:
    return {e["id_tag"]: e["id_tag_info"]["status"] for e in view["entries"]}


async def test_nothing_is_held_before_a_list_is_sent(api: Api, open_station: OpenStation) -> None:
    await open_station(boot=True)
    assert await held(api) == {
        "station_id": "CP_1",
        "list_version": 0,
        "updated_at": None,
        "message_id": None,
        "last_answer": None,
        "last_answer_at": None,
        "reported_version": None,
        "reported_at": None,
        "entries": [],
    }


async def test_raw_full_then_differential_updates_are_tracked(api: Api, open_station: OpenStation) -> None:
    """The raw trigger contract sends the payload as it is; its Accepted answers change what the CSMS holds."""
    station = await open_station(boot=True)
    full = {"listVersion": 3, "updateType": "Full", "localAuthorizationList": [entry("A"), entry("B"), {"idTag": "C"}]}
    reply, call = await answered(api.trigger("CP_1", "send-local-list", full), station, "SendLocalList", ACCEPTED)
    assert reply.status == 200 and call[3] == full
    view = await held(api)
    assert (view["list_version"], view["message_id"], view["last_answer"]) == (3, call[1], "Accepted")
    assert tags_of(view) == {"A": "Accepted", "B": "Accepted"}  # C has no idTagInfo: not in a Full list
    differential = {
        "listVersion": 4,
        "updateType": "Differential",
        "localAuthorizationList": [entry("a", "Blocked"), {"idTag": "B"}, entry("D", parentIdTag="G")],
    }
    await answered(api.trigger("CP_1", "send-local-list", differential), station, "SendLocalList", ACCEPTED)
    view = await held(api)
    assert view["list_version"] == 4
    assert view["entries"] == [
        {"id_tag": "D", "id_tag_info": {"status": "Accepted", "parentIdTag": "G"}},
        {"id_tag": "a", "id_tag_info": {"status": "Blocked"}},
    ]


@pytest.mark.parametrize("status", ["Failed", "NotSupported", "VersionMismatch"])
async def test_a_refused_list_changes_nothing_but_the_last_answer(
    api: Api, open_station: OpenStation, status: str
) -> None:
    """TC_043_1 (NotSupported), TC_043_3 (Failed)."""
    station = await open_station(boot=True)
    full = {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [entry("A")]}
    await answered(api.trigger("CP_1", "send-local-list", full), station, "SendLocalList", ACCEPTED)
    refused = {"listVersion": 2, "updateType": "Full", "localAuthorizationList": [entry("B")]}
    reply, _ = await answered(
        api.trigger("CP_1", "send-local-list", refused), station, "SendLocalList", {"status": status}
    )
    assert reply.status == 200 and reply.body == {"status": status}
    view = await held(api)
    assert (view["list_version"], tags_of(view), view["last_answer"]) == (1, {"A": "Accepted"}, status)


async def test_a_callerror_or_an_unknown_status_changes_nothing(api: Api, open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    full = {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [entry("A")]}
    reply, _ = await answered(
        api.trigger("CP_1", "send-local-list", full), station, "SendLocalList", error=("NotSupported", "no list")
    )
    assert reply.status == 502
    reply, _ = await answered(api.post(LIST, {"update_type": "Full"}), station, "SendLocalList", {"status": "Maybe"})
    assert reply.status == 200 and reply.headers["X-OCPP-Schema-Violations"] == "1"
    view = await held(api)
    assert (view["list_version"], view["entries"], view["last_answer"]) == (0, [], "Maybe")


@pytest.mark.parametrize("version", [-1, 0, 5])
async def test_get_local_list_version_is_kept_as_reported(api: Api, open_station: OpenStation, version: int) -> None:
    """TC_042_1 (-1: not supported), TC_042_2 (0: empty); the next list goes above what the station reported."""
    station = await open_station(boot=True)
    reply, _ = await answered(
        api.trigger("CP_1", "get-local-list-version"), station, "GetLocalListVersion", {"listVersion": version}
    )
    assert reply.body == {"listVersion": version}
    view = await held(api)
    assert view["reported_version"] == version and view["reported_at"] is not None
    reply, call = await answered(api.post(LIST, {"update_type": "Full"}), station, "SendLocalList", ACCEPTED)
    assert call[3]["listVersion"] == max(version, 0) + 1
    assert reply.headers["X-List-Version"] == str(call[3]["listVersion"])


async def test_operator_full_list_of_every_token(api: Api, open_station: OpenStation) -> None:
    """TC_043_4: updateType Full and every entry with an idTagInfo, built from the CSMS's own tokens (status,
    expiry date, group); listVersion one above the CSMS's current."""
    future = time.time() + 3600
    await api.post("/api/tokens", {"id_tag": "VALID", "parent_id_tag": "GROUP", "expiry_date": format_time(future)})
    await api.post("/api/tokens", {"id_tag": "BLOCKED", "status": "Blocked"})
    await api.post("/api/octt/create-token", {"token_id": "EXPIRED", "status": "Expired"})
    station = await open_station(boot=True)
    reply, call = await answered(api.post(LIST, {"update_type": "Full"}), station, "SendLocalList", ACCEPTED)
    assert reply.status == 200 and reply.body == ACCEPTED
    assert reply.headers["X-List-Version"] == "1" and reply.headers["X-OCPP-Message-Id"] == call[1]
    payload = call[3]
    assert (payload["listVersion"], payload["updateType"]) == (1, "Full")
    by_tag = {e["idTag"]: e["idTagInfo"] for e in payload["localAuthorizationList"]}
    assert set(by_tag) == {"VALID", "BLOCKED", "EXPIRED"}
    assert by_tag["VALID"]["status"] == "Accepted" and by_tag["VALID"]["parentIdTag"] == "GROUP"
    assert by_tag["VALID"]["expiryDate"] == format_time(future)
    assert by_tag["BLOCKED"] == {"status": "Blocked"}
    assert by_tag["EXPIRED"]["status"] == "Expired"
    assert tags_of(await held(api)) == {"BLOCKED": "Blocked", "EXPIRED": "Expired", "VALID": "Accepted"}
    _, call = await answered(
        api.post(LIST, {"update_type": "Full", "tags": ["valid"]}), station, "SendLocalList", ACCEPTED
    )
    assert call[3]["listVersion"] == 2 and [e["idTag"] for e in call[3]["localAuthorizationList"]] == ["VALID"]
    assert tags_of(await held(api)) == {"VALID": "Accepted"}


async def test_operator_full_list_without_tokens_clears_the_list(api: Api, open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    _, call = await answered(api.post(LIST, {"update_type": "Full"}), station, "SendLocalList", ACCEPTED)
    assert call[3] == {"listVersion": 1, "updateType": "Full"}  # no empty optional array (reference §5.3)


async def test_operator_differential_adds_and_removes(api: Api, open_station: OpenStation) -> None:
    """TC_043_5: updateType Differential, the added entries with their idTagInfo; a removed tag goes without."""
    await api.post("/api/tokens", {"id_tag": "A"})
    await api.post("/api/tokens", {"id_tag": "B", "status": "Blocked"})
    station = await open_station(boot=True)
    await answered(api.post(LIST, {"update_type": "Full", "tags": ["A"]}), station, "SendLocalList", ACCEPTED)
    body = {"update_type": "Differential", "tags": ["B"], "remove": ["A", "GONE"]}
    reply, call = await answered(api.post(LIST, body), station, "SendLocalList", ACCEPTED)
    assert reply.headers["X-List-Version"] == "2"
    assert call[3] == {
        "listVersion": 2,
        "updateType": "Differential",
        "localAuthorizationList": [entry("B", "Blocked"), {"idTag": "A"}, {"idTag": "GONE"}],
    }
    assert tags_of(await held(api)) == {"B": "Blocked"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "'update_type' must be one of Full, Differential."),
        ({"update_type": "Partial"}, "'update_type' must be one of Full, Differential."),
        ({"update_type": "Full", "colour": 1}, "Unknown local list field(s): colour."),
        ({"update_type": "Full", "tags": "A"}, "'tags' must be a list of id tags."),
        ({"update_type": "Full", "tags": [""]}, "'tags' must be a list of id tags."),
        ({"update_type": "Full", "tags": ["X" * 21]}, f"'tags' holds id tags longer than 20 characters: {'X' * 21}."),
        ({"update_type": "Full", "tags": ["A", "NOPE"]}, "Token(s) not known to the CSMS: NOPE."),
        (
            {"update_type": "Full", "remove": ["A"]},
            "A Full update replaces the whole list; 'remove' belongs to a Differential one.",
        ),
        (
            {"update_type": "Differential"},
            "A Differential update needs 'tags' to add or update or 'remove' to delete.",
        ),
        (
            {"update_type": "Differential", "tags": [], "remove": []},
            "A Differential update needs 'tags' to add or update or 'remove' to delete.",
        ),
        (
            {"update_type": "Differential", "tags": ["A"], "remove": ["a"]},
            "An id tag cannot be both added and removed: a.",
        ),
    ],
)
async def test_operator_list_refusals(api: Api, open_station: OpenStation, body: dict[str, Any], error: str) -> None:
    await api.post("/api/tokens", {"id_tag": "A"})
    station = await open_station(boot=True)
    reply = await api.post(LIST, body)
    assert (reply.status, reply.body) == (400, {"error": error})
    await station.expect_silence(0.05)


async def test_operator_routes_need_a_connected_station(api: Api, open_station: OpenStation) -> None:
    await api.provision("CP_1")
    reply = await api.post(LIST, {"update_type": "Full"})
    assert (reply.status, reply.body) == (404, {"error": "Station 'CP_1' is not connected."})


async def test_operator_route_refused_for_a_rejected_station(api: Api, open_station: OpenStation) -> None:
    """OCPP 1.6 §4.2: a Rejected station is sent nothing, whoever asks."""
    await api.provision("CP_1", {"status": "Rejected"})
    station = await open_station(provision=False)
    assert (await station.boot())["status"] == "Rejected"
    reply = await api.post(LIST, {"update_type": "Full"})
    assert reply.status == 409 and reply.body["error"].startswith("The station's registration is Rejected")
    await station.expect_silence()
