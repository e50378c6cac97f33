"""Resent transaction messages (csms.store: idempotence): a station that did not get the answer to a
StartTransaction or StopTransaction sends it again (OCPP 1.6 §4.8, §4.10); the CSMS keeps one transaction with
its first stop, answers the resend the same, and shows the duplicate in the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import OpenStation, StartCsms
from csms_kit import Api

from csms.store import Retention, Store

START = {"connectorId": 1, "idTag": "TAG_1", "meterStart": 100, "timestamp": "2026-01-01T10:00:00Z"}
METER = [{"timestamp": "2026-01-01T10:30:00Z", "sampledValue": [{"value": "150"}]}]


def stop(transaction_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "transactionId": transaction_id,
        "meterStop": 200,
        "timestamp": "2026-01-01T11:00:00Z",
        "reason": "Local",
        "transactionData": METER,
        **changes,
    }


async def test_a_resent_start_gets_the_same_transaction_id(api: Api, open_station: OpenStation) -> None:
    await api.post("/api/tokens", {"id_tag": "TAG_1", "status": "Accepted"})
    station = await open_station(boot=True)
    first = await station.result("StartTransaction", START)
    again = await station.result("StartTransaction", START)
    assert again == first and first["idTagInfo"]["status"] == "Accepted"
    other = await station.result("StartTransaction", {**START, "timestamp": "2026-01-01T12:00:00Z"})
    assert other["transactionId"] != first["transactionId"]  # a later session is a new transaction
    transactions = (await api.get("/api/transactions")).body
    assert [(t["id"], t["start_resends"]) for t in transactions] == [
        (first["transactionId"], 1),
        (other["transactionId"], 0),
    ]
    [duplicate] = (await api.get("/api/transactions/duplicates")).body
    assert duplicate["action"] == "StartTransaction" and duplicate["request"] == START and not duplicate["differs"]


async def test_a_resent_start_is_not_concurrent_with_itself_in_strict_mode(start_csms: StartCsms) -> None:
    """OCPP 1.6 §7.2 ConcurrentTx is for another transaction of the tag, not for the same one sent twice."""
    rig = await start_csms(strict=True)
    await rig.api.post("/api/tokens", {"id_tag": "TAG_1", "status": "Accepted"})
    station = await rig.open_station(boot=True)
    first = await station.result("StartTransaction", START)
    again = await station.result("StartTransaction", START)
    assert again == first and again["idTagInfo"]["status"] == "Accepted"
    elsewhere = await station.result("StartTransaction", {**START, "connectorId": 2})
    assert elsewhere["idTagInfo"]["status"] == "ConcurrentTx"


@pytest.mark.parametrize("changes", [{}, {"meterStop": 999, "reason": "EVDisconnected"}], ids=["same", "different"])
async def test_a_repeated_stop_keeps_the_first(api: Api, open_station: OpenStation, changes: dict[str, Any]) -> None:
    station = await open_station(boot=True)
    transaction_id = (await station.result("StartTransaction", START))["transactionId"]
    assert await station.result("StopTransaction", stop(transaction_id)) == {}
    assert await station.result("StopTransaction", stop(transaction_id, **changes)) == {}
    [transaction] = (await api.get("/api/transactions")).body
    assert (transaction["meter_stop"], transaction["stop_reason"], transaction["stopped_at"]) == (
        200,
        "Local",
        "2026-01-01T11:00:00Z",
    )
    assert transaction["meter_value_count"] == 1 and transaction["stop_resends"] == 1
    [duplicate] = (await api.get("/api/transactions/duplicates?station_id=CP_1")).body
    assert duplicate["action"] == "StopTransaction" and duplicate["transaction_id"] == transaction_id
    assert duplicate["differs"] is bool(changes) and duplicate["request"]["meterStop"] == (999 if changes else 200)


async def test_the_exchange_log_filters_by_station_action_and_outcome(api: Api, open_station: OpenStation) -> None:
    """A fleet's CALLERRORs in one request: ?outcome=error (any station), narrowed by action or station."""
    one = await open_station("CP_1", boot=True)
    two = await open_station("CP_2", boot=True)
    await one.error("Authorize", {})
    await two.error("Heartbeat", {"extra": 1})
    await two.result("Heartbeat", {})
    errors = (await api.get("/api/exchanges?outcome=error&direction=station_to_csms")).body
    assert [(e["station_id"], e["action"], e["error_code"]) for e in errors] == [
        ("CP_1", "Authorize", "OccurenceConstraintViolation"),
        ("CP_2", "Heartbeat", "FormationViolation"),
    ]
    assert [e["station_id"] for e in (await api.get("/api/exchanges?outcome=error&action=Heartbeat")).body] == ["CP_2"]
    assert len((await api.get("/api/exchanges?station_id=CP_2&action=Heartbeat")).body) == 2
    for query in ("outcome=bad", "direction=up", "limit=0", "colour=red"):
        reply = await api.get(f"/api/exchanges?{query}")
        assert reply.status == 400 and reply.body["error"], query


async def test_the_exchange_log_is_bounded(tmp_path: Path) -> None:
    """csms.store.Retention: beyond max_exchanges the oldest go, and none older than max_age_s stays."""
    store = await Store.open(
        tmp_path / "r.sqlite3", retention=Retention(max_exchanges=5, max_age_s=100.0, prune_every=3)
    )
    try:
        for number in range(12):
            await store.add_exchange(
                station_id="CP_1",
                direction="station_to_csms",
                unique_id=str(number),
                action="Heartbeat",
                request={},
                outcome="result",
                requested_at_s=1000.0 + number,
                answered_at_s=None,
            )
        kept = [e.unique_id for e in await store.list_exchanges(limit=100)]
        assert len(kept) <= 5 + 3 and kept[-1] == "11" and "0" not in kept
        assert await store.prune_exchanges(now_s=1000.0) == 0
        await store.prune_exchanges(now_s=1000.0 + 150.0)  # everything logged before 1050 s is too old
        assert await store.list_exchanges(limit=100) == []
    finally:
        await store.close()
