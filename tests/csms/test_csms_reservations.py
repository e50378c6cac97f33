"""Reservation (OCPP 1.6 §3.9, §5.1, §5.13; TC_046-TC_053): the reservations the CSMS made, from the answers to its
ReserveNow and CancelReservation whoever asked for them, used by the StartTransaction that carries their id."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from conftest import OpenStation, StartCsms
from csms_kit import Api, StationSocket, answered

from ocppj.timefmt import format_time, parse_time

RESERVATIONS = "/api/stations/CP_1/reservations"
ACCEPTED = {"status": "Accepted"}
MODES = pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])


def start(id_tag: str, connector_id: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "connectorId": connector_id,
        "idTag": id_tag,
        "meterStart": 0,
        "timestamp": format_time(time.time()),
        **extra,
    }


def raw_reservation(reservation_id: int, *, id_tag: str = "TAG", expiry_s: float = 600.0) -> dict[str, Any]:
    return {
        "connectorId": 1,
        "expiryDate": format_time(time.time() + expiry_s),
        "idTag": id_tag,
        "reservationId": reservation_id,
    }


async def reservations(api: Api, station_id: str = "CP_1") -> list[dict[str, Any]]:
    reply = await api.get(f"/api/stations/{station_id}/reservations")
    assert reply.status == 200
    assert isinstance(reply.body, list)
    return reply.body


async def reserve(api: Api, station: StationSocket, body: dict[str, Any], answer: str = "Accepted") -> list[Any]:
    reply, call = await answered(api.post(RESERVATIONS, body), station, "ReserveNow", {"status": answer})
    assert reply.status == 200 and reply.body == {"status": answer}
    assert reply.headers["X-Reservation-Id"] == str(call[3]["reservationId"])
    return call


async def test_operator_reservation_then_a_transaction_uses_it(api: Api, open_station: OpenStation) -> None:
    """TC_046: ReserveNow for the configured connector and valid tag; the StartTransaction with its
    reservationId marks it used."""
    await api.post("/api/tokens", {"id_tag": "TAG"})
    station = await open_station(boot=True)
    before = time.time()
    call = await reserve(api, station, {"connector_id": 1, "id_tag": "tag", "expires_in_s": 300})
    payload = call[3]
    assert (payload["connectorId"], payload["idTag"], payload["reservationId"]) == (1, "TAG", 1)
    assert "parentIdTag" not in payload
    assert before + 300 - 1 <= parse_time(payload["expiryDate"]) <= time.time() + 300 + 1
    (made,) = await reservations(api)
    assert (made["reservation_id"], made["status"], made["station_answer"], made["message_id"]) == (
        1,
        "active",
        "Accepted",
        call[1],
    )
    assert made["expiry_date"] == payload["expiryDate"] and made["ended_at"] is None
    answer = await station.result("StartTransaction", start("TAG", reservationId=1))
    assert answer["idTagInfo"]["status"] == "Accepted"
    (made,) = await reservations(api)
    assert (made["status"], made["transaction_id"]) == ("used", answer["transactionId"])
    assert made["ended_at"] is not None
    (tx,) = (await api.get("/api/transactions")).body
    assert (tx["reservation_id"], tx["reservation_outcome"]) == (1, "used")


async def test_a_group_reservation_carries_the_parent_id_tag(api: Api, open_station: OpenStation) -> None:
    """TC_053: ReserveNow carries the token's parentIdTag; another tag of the group is Accepted with the same
    parentIdTag."""
    await api.post("/api/tokens", {"id_tag": "CHILD_1", "parent_id_tag": "GROUP"})
    await api.post("/api/tokens", {"id_tag": "CHILD_2", "parent_id_tag": "GROUP"})
    station = await open_station(boot=True)
    call = await reserve(api, station, {"connector_id": 1, "id_tag": "CHILD_1", "expires_in_s": 60})
    assert call[3]["parentIdTag"] == "GROUP"
    assert (await reservations(api))[0]["parent_id_tag"] == "GROUP"
    await station.result("StartTransaction", start("CHILD_1", reservationId=call[3]["reservationId"]))
    other = await station.result("Authorize", {"idTag": "CHILD_2"})
    assert other["idTagInfo"] == {"status": "Accepted", "parentIdTag": "GROUP"}


@MODES
async def test_a_transaction_right_after_the_answer_finds_the_reservation(start_csms: StartCsms, strict: bool) -> None:
    """The answer is recorded before the station's next message is processed, in either mode: a StartTransaction
    sent in the same breath as the Accepted answer uses the reservation."""
    rig = await start_csms(strict=strict)
    await rig.api.post("/api/tokens", {"id_tag": "TAG"})
    station = await rig.open_station(boot=True)
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(
            rig.api.post(RESERVATIONS, {"connector_id": 2, "id_tag": "TAG", "expires_in_s": 60})
        )
        call = await station.expect_call("ReserveNow")
        await station.answer(call, ACCEPTED)
        await station.send_call("StartTransaction", start("TAG", 2, reservationId=call[3]["reservationId"]))
        frame = await station.recv()
    assert pending.result().status == 200
    assert frame[0] == 3 and frame[2]["idTagInfo"]["status"] == "Accepted"
    assert [r["status"] for r in await reservations(rig.api)] == ["used"]


async def test_reservation_ids_are_fresh_and_above_those_sent_raw(api: Api, open_station: OpenStation) -> None:
    await api.post("/api/tokens", {"id_tag": "TAG"})
    first = await open_station("CP_1", boot=True)
    second = await open_station("CP_2", boot=True)
    await answered(api.trigger("CP_1", "reserve-now", raw_reservation(41)), first, "ReserveNow", ACCEPTED)
    call = await reserve(api, first, {"connector_id": 2, "id_tag": "TAG", "expires_in_s": 60})
    assert call[3]["reservationId"] == 42
    reply, call = await answered(
        api.post("/api/stations/CP_2/reservations", {"connector_id": 1, "id_tag": "TAG", "expires_in_s": 60}),
        second,
        "ReserveNow",
        ACCEPTED,
    )
    assert call[3]["reservationId"] == 43 and reply.headers["X-Reservation-Id"] == "43"
    call = await reserve(api, first, {"connector_id": 0, "id_tag": "TAG", "expires_in_s": 60, "reservation_id": 7})
    assert (call[3]["connectorId"], call[3]["reservationId"]) == (0, 7)  # TC_049: the whole station
    assert [(r["reservation_id"], r["connector_id"]) for r in await reservations(api)] == [(41, 1), (42, 2), (7, 0)]
    assert [r["reservation_id"] for r in await reservations(api, "CP_2")] == [43]


@pytest.mark.parametrize("answer", ["Faulted", "Occupied", "Unavailable", "Rejected"])
async def test_a_refused_reservation_is_kept_as_refused(api: Api, open_station: OpenStation, answer: str) -> None:
    """TC_048_1-4: the CSMS takes the refusal, and the reservation is not active."""
    await api.post("/api/tokens", {"id_tag": "TAG"})
    station = await open_station(boot=True)
    await reserve(api, station, {"connector_id": 1, "id_tag": "TAG", "expires_in_s": 60}, answer)
    (made,) = await reservations(api)
    assert (made["status"], made["station_answer"]) == ("refused", answer)
    assert made["ended_at"] == made["answered_at"]


async def test_a_callerror_is_a_refusal_and_a_timeout_no_reservation(api: Api, open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    reply, _ = await answered(
        api.trigger("CP_1", "reserve-now", raw_reservation(5)), station, "ReserveNow", error=("NotSupported", "")
    )
    assert reply.status == 502
    async with asyncio.TaskGroup() as group:
        pending = group.create_task(api.trigger("CP_1", "reserve-now", raw_reservation(6)))
        await station.expect_call("ReserveNow")
    assert pending.result().status == 504
    assert [(r["reservation_id"], r["status"], r["station_answer"]) for r in await reservations(api)] == [
        (5, "refused", "CALLERROR NotSupported")
    ]


async def test_an_accepted_reservation_with_the_same_id_replaces_the_first(api: Api, open_station: OpenStation) -> None:
    """§5.13: a ReserveNow whose reservationId matches a reservation of the station replaces it."""
    station = await open_station(boot=True)
    await answered(api.trigger("CP_1", "reserve-now", raw_reservation(9, id_tag="A")), station, "ReserveNow", ACCEPTED)
    refused = raw_reservation(9, id_tag="B")
    await answered(api.trigger("CP_1", "reserve-now", refused), station, "ReserveNow", {"status": "Occupied"})
    await answered(api.trigger("CP_1", "reserve-now", raw_reservation(9, id_tag="C")), station, "ReserveNow", ACCEPTED)
    assert [(r["id_tag"], r["status"]) for r in await reservations(api)] == [
        ("A", "replaced"),
        ("B", "refused"),
        ("C", "active"),
    ]


async def test_operator_cancel_then_raw_cancel(api: Api, open_station: OpenStation) -> None:
    """TC_051: CancelReservation with the id sent in ReserveNow; an Accepted cancel, whoever asked for it, ends
    the reservation, a Rejected one does not."""
    await api.post("/api/tokens", {"id_tag": "TAG"})
    station = await open_station(boot=True)
    first = (await reserve(api, station, {"connector_id": 1, "id_tag": "TAG", "expires_in_s": 60}))[3]["reservationId"]
    second = (await reserve(api, station, {"connector_id": 2, "id_tag": "TAG", "expires_in_s": 60}))[3]["reservationId"]
    reply, call = await answered(
        api.delete(f"{RESERVATIONS}/{first}"), station, "CancelReservation", {"status": "Rejected"}
    )
    assert (reply.status, reply.body, call[3]) == (200, {"status": "Rejected"}, {"reservationId": first})
    assert [r["status"] for r in await reservations(api)] == ["active", "active"]
    await answered(api.delete(f"{RESERVATIONS}/{first}"), station, "CancelReservation", ACCEPTED)
    await answered(
        api.trigger("CP_1", "cancel-reservation", {"reservationId": second}), station, "CancelReservation", ACCEPTED
    )
    assert [r["status"] for r in await reservations(api)] == ["cancelled", "cancelled"]
    reply = await api.delete(f"{RESERVATIONS}/{first}")
    assert (reply.status, reply.body) == (
        409,
        {"error": f"Reservation {first} of station 'CP_1' is cancelled, not active."},
    )
    reply = await api.delete(f"{RESERVATIONS}/424242")
    assert (reply.status, reply.body) == (404, {"error": "Station 'CP_1' has no reservation 424242 made by this CSMS."})
    reply = await api.delete(f"{RESERVATIONS}/x1")
    assert (reply.status, reply.body) == (400, {"error": "The reservation id must be an integer >= 0, got 'x1'."})
    await station.expect_silence(0.05)


async def test_a_reservation_expires_at_its_expiry_date(api: Api, open_station: OpenStation) -> None:
    """TC_047: after its expiry date a reservation is expired, and the operator cannot cancel it any more."""
    station = await open_station(boot=True)
    lapsed = raw_reservation(3, expiry_s=-1)  # the raw contract sends any schema-valid value (reference §5.7)
    await answered(api.trigger("CP_1", "reserve-now", lapsed), station, "ReserveNow", ACCEPTED)
    (made,) = await reservations(api)
    assert made["status"] == "expired"
    assert parse_time(made["ended_at"]) == pytest.approx(parse_time(lapsed["expiryDate"]), abs=0.001)
    reply = await api.delete(f"{RESERVATIONS}/3")
    assert (reply.status, reply.body) == (409, {"error": "Reservation 3 of station 'CP_1' is expired, not active."})
    # The station decides: a transaction that still carries the id uses it.
    await station.result("StartTransaction", start("TAG", reservationId=3))
    assert [r["status"] for r in await reservations(api)] == ["used"]


async def test_a_start_with_an_unknown_or_spent_reservation_is_accepted_and_recorded(
    api: Api, open_station: OpenStation
) -> None:
    """The station decided: the StartTransaction is answered as any other, its reservation outcome is kept."""
    await api.post("/api/tokens", {"id_tag": "TAG"})
    station = await open_station(boot=True)
    other = await open_station("CP_2", boot=True)
    await answered(api.trigger("CP_2", "reserve-now", raw_reservation(8)), other, "ReserveNow", ACCEPTED)
    await answered(api.trigger("CP_1", "reserve-now", raw_reservation(9)), station, "ReserveNow", ACCEPTED)
    await station.result("StartTransaction", start("TAG", 1, reservationId=9))
    for reservation_id, connector_id in ((9, 2), (8, 3), (77, 4)):
        answer = await station.result("StartTransaction", start("TAG", connector_id, reservationId=reservation_id))
        assert answer["idTagInfo"]["status"] == "Accepted" and answer["transactionId"] > 0
    outcomes = [(t["reservation_id"], t["reservation_outcome"]) for t in (await api.get("/api/transactions")).body]
    assert outcomes == [(9, "used"), (9, "inactive"), (8, "unknown"), (77, "unknown")]
    assert [r["status"] for r in await reservations(api, "CP_2")] == ["active"]  # another station's is untouched


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"id_tag": "TAG", "expires_in_s": 60}, 400, "'connector_id' is required and must be an integer >= 0."),
        ({"connector_id": -1, "id_tag": "TAG", "expires_in_s": 60}, 400, "'connector_id' must be an integer >= 0."),
        ({"connector_id": 1, "expires_in_s": 60}, 400, "'id_tag' is required and must be a non-empty string."),
        (
            {"connector_id": 1, "id_tag": "X" * 21, "expires_in_s": 60},
            400,
            "'id_tag' must be at most 20 characters long.",
        ),
        ({"connector_id": 1, "id_tag": "TAG"}, 400, "Give the reservation one of 'expires_in_s' or 'expiry_date'."),
        (
            {"connector_id": 1, "id_tag": "TAG", "expires_in_s": 60, "expiry_date": "2030-01-01T00:00:00Z"},
            400,
            "Give the reservation one of 'expires_in_s' or 'expiry_date'.",
        ),
        ({"connector_id": 1, "id_tag": "TAG", "expires_in_s": 0}, 400, "'expires_in_s' must be an integer >= 1."),
        (
            {"connector_id": 1, "id_tag": "TAG", "expiry_date": "2020-01-01T00:00:00Z"},
            400,
            "'expiry_date' must lie in the future.",
        ),
        (
            {"connector_id": 1, "id_tag": "TAG", "expiry_date": "2030-01-01T00:00:00"},
            400,
            "'expiry_date' must be an RFC 3339 date-time with a time zone, got '2030-01-01T00:00:00'.",
        ),
        (
            {"connector_id": 1, "id_tag": "TAG", "expires_in_s": 60, "reservation_id": -2},
            400,
            "'reservation_id' must be an integer >= 0.",
        ),
        ({"connector_id": 1, "id_tag": "TAG", "expires_in_s": 60, "at": 1}, 400, "Unknown reservation field(s): at."),
        (
            {"connector_id": 1, "id_tag": "NOBODY", "expires_in_s": 60},
            400,
            "Token 'NOBODY' is not known to the CSMS; add it with POST /api/tokens first.",
        ),
        (
            {"connector_id": 1, "id_tag": "BLOCKED", "expires_in_s": 60},
            409,
            "Token 'BLOCKED' is Blocked, so the CSMS reserves nothing for it.",
        ),
        (
            {"connector_id": 1, "id_tag": "EXPIRED", "expires_in_s": 60},
            409,
            "Token 'EXPIRED' is Expired, so the CSMS reserves nothing for it.",
        ),
    ],
)
async def test_operator_reservation_refusals(
    api: Api, open_station: OpenStation, body: dict[str, Any], status: int, error: str
) -> None:
    await api.post("/api/tokens", {"id_tag": "TAG"})
    await api.post("/api/tokens", {"id_tag": "BLOCKED", "status": "Blocked"})
    await api.post("/api/octt/create-token", {"token_id": "EXPIRED", "status": "Expired"})
    station = await open_station(boot=True)
    reply = await api.post(RESERVATIONS, body)
    assert (reply.status, reply.body) == (status, {"error": error})
    await station.expect_silence(0.05)
    assert await reservations(api) == []


async def test_a_pending_station_may_be_sent_a_reservation(api: Api, open_station: OpenStation) -> None:
    """OCPP 1.6 §4.2 forbids only remote start and stop while Pending."""
    await api.post("/api/tokens", {"id_tag": "TAG"})
    await api.provision("CP_1", {"status": "Pending"})
    station = await open_station(provision=False)
    assert (await station.boot())["status"] == "Pending"
    await reserve(api, station, {"connector_id": 1, "id_tag": "TAG", "expires_in_s": 60})
