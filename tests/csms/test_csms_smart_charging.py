"""Smart Charging (OCPP 1.6 §3.13, §5.5, §5.7, §5.16; TC_056, TC_057, TC_066, TC_067): the profiles the CSMS
installed, as the station accepted and cleared them, TxProfiles ending with their transaction, the last composite
schedule per connector, and the operator routes that build the messages."""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import OpenStation
from csms_kit import Api, StationSocket, answered

from ocppj.timefmt import format_time, parse_time

PROFILES = "/api/stations/CP_1/charging-profiles"
LIMIT = "/api/stations/CP_1/charging-limit"
COMPOSITE = "/api/stations/CP_1/composite-schedule"
ACCEPTED = {"status": "Accepted"}


def raw_profile(
    profile_id: int, *, connector_id: int = 1, purpose: str = "TxDefaultProfile", stack_level: int = 0, **extra: Any
) -> dict[str, Any]:
    return {
        "connectorId": connector_id,
        "csChargingProfiles": {
            "chargingProfileId": profile_id,
            "stackLevel": stack_level,
            "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Relative",
            "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.0}]},
            **extra,
        },
    }


async def installed(api: Api) -> list[tuple[int, int, str, int, int | None]]:
    """(id, connector, purpose, stack level, transaction) of each profile the CSMS holds for CP_1."""
    reply = await api.get(PROFILES)
    assert reply.status == 200
    return [
        (p["charging_profile_id"], p["connector_id"], p["purpose"], p["stack_level"], p["transaction_id"])
        for p in reply.body
    ]


async def set_raw(api: Api, station: StationSocket, payload: dict[str, Any], answer: str = "Accepted") -> None:
    reply, call = await answered(
        api.trigger("CP_1", "set-charging-profile", payload), station, "SetChargingProfile", {"status": answer}
    )
    assert reply.status == 200 and call[3] == payload


async def clear(api: Api, station: StationSocket, query: str, answer: str = "Accepted") -> dict[str, Any]:
    reply, call = await answered(api.delete(PROFILES + query), station, "ClearChargingProfile", {"status": answer})
    assert reply.status == 200 and reply.body == {"status": answer}
    payload = call[3]
    assert isinstance(payload, dict)
    return payload


async def charging(station: StationSocket, connector_id: int = 1) -> int:
    answer = await station.result(
        "StartTransaction",
        {"connectorId": connector_id, "idTag": "TAG", "meterStart": 0, "timestamp": format_time(time.time())},
    )
    transaction_id = answer["transactionId"]
    assert isinstance(transaction_id, int)
    return transaction_id


async def test_accepted_profiles_are_installed_and_refused_ones_not(api: Api, open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    await set_raw(api, station, raw_profile(11))
    await set_raw(api, station, raw_profile(12, stack_level=1), "Rejected")
    await set_raw(api, station, raw_profile(13, stack_level=2), "NotSupported")
    assert await installed(api) == [(11, 1, "TxDefaultProfile", 0, None)]
    (view,) = (await api.get(PROFILES)).body
    assert view["profile"] == raw_profile(11)["csChargingProfiles"] and view["kind"] == "Relative"


async def test_a_profile_replaces_one_with_its_id_or_its_purpose_and_stack_level(
    api: Api, open_station: OpenStation
) -> None:
    """§5.16."""
    station = await open_station(boot=True)
    await set_raw(api, station, raw_profile(1, stack_level=0))
    await set_raw(api, station, raw_profile(2, stack_level=1))
    await set_raw(api, station, raw_profile(3, connector_id=2, stack_level=1))
    await set_raw(api, station, raw_profile(4, stack_level=1))  # same connector, purpose and level as 2
    await set_raw(api, station, raw_profile(1, connector_id=2, stack_level=5))  # same id as 1
    assert await installed(api) == [
        (4, 1, "TxDefaultProfile", 1, None),
        (3, 2, "TxDefaultProfile", 1, None),
        (1, 2, "TxDefaultProfile", 5, None),
    ]


async def test_clear_by_id_by_criteria_and_all(api: Api, open_station: OpenStation) -> None:
    """TC_067: three profiles at L, L+1, L+2; cleared by id only, by criteria without id, then with nothing."""
    station = await open_station(boot=True)
    for profile_id, level in ((21, 1), (22, 2), (23, 3)):
        await set_raw(api, station, raw_profile(profile_id, stack_level=level))
    await set_raw(api, station, raw_profile(24, connector_id=0, purpose="ChargePointMaxProfile"))
    assert await clear(api, station, "?id=21") == {"id": 21}
    assert [p[0] for p in await installed(api)] == [24, 22, 23]
    criteria = await clear(api, station, "?connector_id=1&purpose=TxDefaultProfile&stack_level=2")
    assert criteria == {"connectorId": 1, "chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 2}
    assert [p[0] for p in await installed(api)] == [24, 23]
    assert await clear(api, station, "?purpose=TxProfile", "Unknown") == {"chargingProfilePurpose": "TxProfile"}
    assert [p[0] for p in await installed(api)] == [24, 23]
    assert await clear(api, station, "") == {}
    assert await installed(api) == []


async def test_a_raw_clear_is_tracked_and_an_unknown_answer_clears_nothing(api: Api, open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    await set_raw(api, station, raw_profile(5))
    reply, _ = await answered(
        api.trigger("CP_1", "clear-charging-profile", {"id": 5}), station, "ClearChargingProfile", {"status": "Unknown"}
    )
    assert reply.body == {"status": "Unknown"} and [p[0] for p in await installed(api)] == [5]
    await answered(api.trigger("CP_1", "clear-charging-profile", {"id": 5}), station, "ClearChargingProfile", ACCEPTED)
    assert await installed(api) == []


async def test_a_tx_profile_ends_with_its_transaction(api: Api, open_station: OpenStation) -> None:
    """§3.13.1, TC_057: a TxProfile belongs to the transaction it names, or the one running on its connector."""
    station = await open_station(boot=True)
    tx_1 = await charging(station, 1)
    tx_2 = await charging(station, 2)
    await set_raw(api, station, raw_profile(31, purpose="TxProfile", transactionId=tx_1))
    await set_raw(api, station, raw_profile(32, connector_id=2, purpose="TxProfile"))
    await set_raw(api, station, raw_profile(33, connector_id=2))
    assert await installed(api) == [
        (31, 1, "TxProfile", 0, tx_1),
        (33, 2, "TxDefaultProfile", 0, None),
        (32, 2, "TxProfile", 0, tx_2),
    ]
    stop = {"transactionId": tx_2, "meterStop": 10, "timestamp": format_time(time.time())}
    assert await station.result("StopTransaction", stop) == {}
    assert [p[0] for p in await installed(api)] == [31, 33]


async def test_the_profile_of_an_accepted_remote_start_is_installed_for_its_transaction(
    api: Api, open_station: OpenStation
) -> None:
    """§5.11, TC_059: the station applies a RemoteStartTransaction's TxProfile to the transaction it starts; the
    CSMS holds it once that transaction starts, and it ends with it. A refused remote start installs nothing."""
    station = await open_station(boot=True)

    async def remote_start(id_tag: str, profile_id: int, answer: str, **where: int) -> None:
        profile = {**raw_profile(profile_id, purpose="TxProfile")["csChargingProfiles"]}
        payload = {"idTag": id_tag, "chargingProfile": profile, **where}
        reply, _ = await answered(
            api.trigger("CP_1", "remote-start-transaction", payload),
            station,
            "RemoteStartTransaction",
            {"status": answer},
        )
        assert reply.status == 200

    await remote_start("TAG", 41, "Accepted", connectorId=2)
    await remote_start("OTHER", 42, "Rejected")
    assert await installed(api) == []  # no transaction yet
    tx_1 = await charging(station, 1)  # TAG on another connector than the remote start named
    assert await installed(api) == []
    tx_2 = await charging(station, 2)
    assert await installed(api) == [(41, 2, "TxProfile", 0, tx_2)]
    stop = {"transactionId": tx_2, "meterStop": 10, "timestamp": format_time(time.time())}
    assert await station.result("StopTransaction", stop) == {}
    assert await installed(api) == []
    await remote_start("TAG", 43, "Accepted")  # no connector named: the first StartTransaction for TAG
    stop = {"transactionId": tx_1, "meterStop": 10, "timestamp": format_time(time.time())}
    assert await station.result("StopTransaction", stop) == {}
    tx_3 = await charging(station, 1)
    assert await installed(api) == [(43, 1, "TxProfile", 0, tx_3)]
    await charging(station, 2)  # applied once only
    assert await installed(api) == [(43, 1, "TxProfile", 0, tx_3)]


async def test_operator_tx_default_limit(api: Api, open_station: OpenStation) -> None:
    """TC_056: TxDefaultProfile, Absolute, validFrom, validTo and startSchedule present, the configured unit,
    duration, limit and number of phases, one period from 0 s; a fresh chargingProfileId."""
    station = await open_station(boot=True)
    await set_raw(api, station, raw_profile(40))  # a raw id the CSMS must not hand out again
    before = time.time()
    body = {"connector_id": 1, "limit": 6, "unit": "A", "stack_level": 2, "duration_s": 3600, "number_phases": 3}
    reply, call = await answered(api.post(LIMIT, body), station, "SetChargingProfile", ACCEPTED)
    assert reply.status == 200 and reply.body == ACCEPTED and reply.headers["X-Charging-Profile-Id"] == "41"
    payload = call[3]
    profile = payload["csChargingProfiles"]
    assert payload["connectorId"] == 1
    valid_from, valid_to = parse_time(profile.pop("validFrom")), parse_time(profile.pop("validTo"))
    start = parse_time(profile["chargingSchedule"].pop("startSchedule"))
    assert before - 1 <= valid_from == start <= time.time() + 1 and valid_to == pytest.approx(valid_from + 3600)
    assert profile == {
        "chargingProfileId": 41,
        "stackLevel": 2,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.0, "numberPhases": 3}],
            "duration": 3600,
        },
    }
    assert await installed(api) == [(40, 1, "TxDefaultProfile", 0, None), (41, 1, "TxDefaultProfile", 2, None)]


async def test_operator_relative_limit_without_duration(api: Api, open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    body = {"connector_id": 0, "limit": 6000.0, "unit": "W", "kind": "Relative"}
    _, call = await answered(api.post(LIMIT, body), station, "SetChargingProfile", {"status": "Rejected"})
    profile = call[3]["csChargingProfiles"]
    assert "validTo" not in profile and "startSchedule" not in profile["chargingSchedule"]
    assert profile["chargingSchedule"] == {
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6000.0}],
    }
    assert await installed(api) == []  # Rejected


async def test_operator_tx_profile_for_the_running_transaction(api: Api, open_station: OpenStation) -> None:
    """TC_057: purpose TxProfile with the transactionId the CSMS gave in StartTransaction.conf."""
    station = await open_station(boot=True)
    body = {"connector_id": 1, "limit": 10, "unit": "A", "purpose": "TxProfile"}
    reply = await api.post(LIMIT, body)
    assert (reply.status, reply.body) == (
        409,
        {"error": "The CSMS knows no transaction running on connector 1 of 'CP_1'."},
    )
    tx = await charging(station, 1)
    _, call = await answered(api.post(LIMIT, body), station, "SetChargingProfile", ACCEPTED)
    assert call[3]["csChargingProfiles"]["transactionId"] == tx
    assert call[3]["csChargingProfiles"]["chargingProfilePurpose"] == "TxProfile"
    assert await installed(api) == [(1, 1, "TxProfile", 0, tx)]


async def test_operator_charge_point_max_profile(api: Api, open_station: OpenStation) -> None:
    station = await open_station(boot=True)
    body = {"connector_id": 0, "limit": 32, "unit": "A", "purpose": "ChargePointMaxProfile"}
    _, call = await answered(api.post(LIMIT, body), station, "SetChargingProfile", ACCEPTED)
    assert call[3]["connectorId"] == 0
    assert await installed(api) == [(1, 0, "ChargePointMaxProfile", 0, None)]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"limit": 6, "unit": "A"}, "'connector_id' is required and must be an integer >= 0."),
        ({"connector_id": 1, "unit": "A"}, "'limit' is required and must be a number > 0."),
        ({"connector_id": 1, "limit": 0, "unit": "A"}, "'limit' is required and must be a number > 0."),
        ({"connector_id": 1, "limit": True, "unit": "A"}, "'limit' is required and must be a number > 0."),
        ({"connector_id": 1, "limit": "6", "unit": "A"}, "'limit' is required and must be a number > 0."),
        ({"connector_id": 1, "limit": 6}, "'unit' must be one of A, W."),
        ({"connector_id": 1, "limit": 6, "unit": "kW"}, "'unit' must be one of A, W."),
        (
            {"connector_id": 1, "limit": 6, "unit": "A", "purpose": "Max"},
            "'purpose' must be one of TxDefaultProfile, TxProfile, ChargePointMaxProfile.",
        ),
        (
            {"connector_id": 1, "limit": 6, "unit": "A", "kind": "Recurring"},
            "'kind' must be one of Absolute, Relative.",
        ),
        ({"connector_id": 1, "limit": 6, "unit": "A", "stack_level": -1}, "'stack_level' must be an integer >= 0."),
        ({"connector_id": 1, "limit": 6, "unit": "A", "duration_s": 0}, "'duration_s' must be an integer >= 1."),
        (
            {"connector_id": 1, "limit": 6, "unit": "A", "number_phases": 4},
            "'number_phases' must be an integer from 1 to 3.",
        ),
        ({"connector_id": 1, "limit": 6, "unit": "A", "phases": 3}, "Unknown charging limit field(s): phases."),
        (
            {"connector_id": 1, "limit": 6, "unit": "A", "purpose": "ChargePointMaxProfile"},
            "A ChargePointMaxProfile limits the whole station: 'connector_id' must be 0.",
        ),
        (
            {"connector_id": 0, "limit": 6, "unit": "A", "purpose": "TxProfile"},
            "A TxProfile is for the transaction on a connector: 'connector_id' must be >= 1.",
        ),
    ],
)
async def test_operator_limit_refusals(api: Api, open_station: OpenStation, body: dict[str, Any], error: str) -> None:
    station = await open_station(boot=True)
    reply = await api.post(LIMIT, body)
    assert (reply.status, reply.body) == (400, {"error": error})
    await station.expect_silence(0.05)


async def test_a_limit_that_breaks_the_schema_is_refused_with_its_violation(
    api: Api, open_station: OpenStation
) -> None:
    """The 1.6 schema wants limits in steps of 0.1: nothing goes on the wire."""
    station = await open_station(boot=True)
    reply = await api.post(LIMIT, {"connector_id": 1, "limit": 6.25, "unit": "A"})
    assert reply.status == 400
    assert reply.body["violations"] == [
        {
            "path": "csChargingProfiles.chargingSchedule.chargingSchedulePeriod.0.limit",
            "message": "6.25 is not a multiple of 0.1",
        }
    ]
    await station.expect_silence(0.05)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("?id=1&connector_id=1", "'id' clears one profile: give it alone, or give criteria without it."),
        ("?id=x", "'id' must be an integer >= 0, got 'x'."),
        ("?stack_level=-1", "'stack_level' must be an integer >= 0, got '-1'."),
        ("?purpose=Max", "'purpose' must be one of TxDefaultProfile, TxProfile, ChargePointMaxProfile."),
        ("?connector=1", "Unknown clear field(s): connector."),
    ],
)
async def test_operator_clear_refusals(api: Api, open_station: OpenStation, query: str, error: str) -> None:
    station = await open_station(boot=True)
    reply = await api.delete(PROFILES + query)
    assert (reply.status, reply.body) == (400, {"error": error})
    await station.expect_silence(0.05)


SCHEDULE = {
    "status": "Accepted",
    "connectorId": 1,
    "scheduleStart": "2024-01-01T00:00:00Z",
    "chargingSchedule": {
        "duration": 600,
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
    },
}


async def test_composite_schedules_are_kept_per_connector(api: Api, open_station: OpenStation) -> None:
    """TC_066: connectorId, duration and chargingRateUnit as configured; the answer is parsed and stored."""
    station = await open_station(boot=True)
    reply, call = await answered(
        api.post(COMPOSITE, {"connector_id": 1, "duration_s": 600, "unit": "A"}),
        station,
        "GetCompositeSchedule",
        SCHEDULE,
    )
    assert reply.status == 200 and reply.body == SCHEDULE
    assert call[3] == {"connectorId": 1, "duration": 600, "chargingRateUnit": "A"}
    _, call_2 = await answered(
        api.trigger("CP_1", "get-composite-schedule", {"connectorId": 2, "duration": 60}),
        station,
        "GetCompositeSchedule",
        {"status": "Rejected"},
    )
    later = {**SCHEDULE, "scheduleStart": "2024-01-02T00:00:00Z"}
    _, call_3 = await answered(
        api.post(COMPOSITE, {"connector_id": 1, "duration_s": 60}), station, "GetCompositeSchedule", later
    )
    assert call_3[3] == {"connectorId": 1, "duration": 60}
    views = (await api.get(COMPOSITE)).body
    assert [(v["connector_id"], v["answer"], v["message_id"]) for v in views] == [
        (1, later, call_3[1]),
        (2, {"status": "Rejected"}, call_2[1]),
    ]
    assert views[1]["request"] == {"connectorId": 2, "duration": 60}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"duration_s": 60}, "'connector_id' is required and must be an integer >= 0."),
        ({"connector_id": 1}, "'duration_s' is required and must be an integer >= 1."),
        ({"connector_id": 1, "duration_s": 60, "unit": "kW"}, "'unit' must be one of A, W."),
        ({"connector_id": 1, "duration_s": 60, "rate": "A"}, "Unknown composite schedule field(s): rate."),
    ],
)
async def test_composite_schedule_refusals(
    api: Api, open_station: OpenStation, body: dict[str, Any], error: str
) -> None:
    await open_station(boot=True)
    reply = await api.post(COMPOSITE, body)
    assert (reply.status, reply.body) == (400, {"error": error})
