"""Strict mode (``CsmsServer(strict=True)``, ``ocpp-harness csms --strict``): each rule a strict third-party CSMS
may apply under OCPP 1.6. A test run in both modes asserts what each mode does, so every strict expectation is
shown to fail against the lenient CSMS. Order is asserted through the exchange log and the frames on the wire,
never through wall time."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import HEARTBEAT_INTERVAL_S, StartCsms

from csms.app import serve
from csms.policy import Policy
from harness.cli import main as cli_main
from ocppj.timefmt import format_time

MODES = pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])


def start_payload(id_tag: str, connector_id: int = 1) -> dict[str, Any]:
    return {"connectorId": connector_id, "idTag": id_tag, "meterStart": 0, "timestamp": format_time(time.time())}


# -- the mode itself ------------------------------------------------------------------------------------------------


def test_policy_defaults() -> None:
    assert Policy() == Policy.for_mode(strict=False)
    assert Policy.for_mode(strict=True).concurrent_tx


@MODES
async def test_the_mode_is_shown_in_the_api_and_the_log(
    start_csms: StartCsms, strict: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="csms")
    rig = await start_csms(strict=strict)
    reply = await rig.api.get("/api/settings")
    assert reply.status == 200
    assert reply.body == {
        "strict": strict,
        "call_timeout_s": 1.0,
        "heartbeat_interval_s": HEARTBEAT_INTERVAL_S,
    }
    mode = "strict" if strict else "lenient"
    assert any(r.getMessage().endswith(f"in {mode} mode") for r in caplog.records if r.name == "csms.app")


async def test_serve_says_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with asyncio.TaskGroup() as group:
        task = group.create_task(serve(host="127.0.0.1", port=0, db_path=tmp_path / "s.sqlite3", strict=True))
        for _ in range(200):
            if line := capsys.readouterr().out:
                break
            await asyncio.sleep(0.01)
        task.cancel()
    assert re.fullmatch(r"CSMS listening on ws://127\.0\.0\.1:\d+/ocpp \(API http://\S+\) in strict mode\n", line), line


@pytest.mark.parametrize(("flags", "strict"), [([], False), (["--strict"], True)])
def test_cli_strict_flag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, flags: list[str], strict: bool) -> None:
    """``ocpp-harness csms --strict`` asks :func:`csms.app.serve` for the strict CSMS."""
    asked: dict[str, Any] = {}

    async def record(**arguments: Any) -> None:
        asked.update(arguments)

    monkeypatch.setattr("csms.app.serve", record)
    assert cli_main(["csms", "--port", "0", "--db", str(tmp_path / "c.sqlite3"), *flags]) == 0
    assert asked["strict"] is strict


# -- ConcurrentTx (OCPP 1.6 §7.2, §4.1, §4.10) ----------------------------------------------------------------------


@MODES
async def test_a_tag_in_a_transaction_is_concurrent_tx_on_any_station(start_csms: StartCsms, strict: bool) -> None:
    rig = await start_csms(strict=strict)
    await rig.api.post("/api/octt/create-token", {"token_id": "TAG_A", "status": "Accepted"})
    await rig.api.post("/api/octt/create-token", {"token_id": "TAG_B", "status": "Blocked"})
    cp_1 = await rig.open_station("CP_1", boot=True)
    cp_2 = await rig.open_station("CP_2", boot=True)
    held = "ConcurrentTx" if strict else "Accepted"
    first = await cp_1.result("StartTransaction", start_payload("TAG_A"))
    assert first["idTagInfo"]["status"] == "Accepted"
    assert (await cp_2.result("Authorize", {"idTag": "TAG_A"}))["idTagInfo"]["status"] == held
    assert (await cp_1.result("Authorize", {"idTag": "tag_a"}))["idTagInfo"]["status"] == held  # CiString20
    second = await cp_2.result("StartTransaction", start_payload("TAG_A", connector_id=2))
    assert second["idTagInfo"]["status"] == held
    assert type(second["transactionId"]) is int and second["transactionId"] > first["transactionId"]
    rows = {row["id"]: row for row in (await rig.api.get("/api/transactions")).body}
    assert rows[second["transactionId"]]["auth_status"] == held
    # A refused tag keeps its own status, and does not come to hold anything.
    await cp_1.result("StartTransaction", start_payload("TAG_B", connector_id=2))
    assert (await cp_2.result("Authorize", {"idTag": "TAG_B"}))["idTagInfo"]["status"] == "Blocked"
    # Stopping the transaction that holds the tag releases it; the ConcurrentTx one never held it.
    stop = {"transactionId": first["transactionId"], "meterStop": 10, "timestamp": format_time(time.time())}
    assert await cp_1.result("StopTransaction", {**stop, "idTag": "TAG_A"}) == {"idTagInfo": {"status": "Accepted"}}
    assert (await cp_2.result("Authorize", {"idTag": "TAG_A"}))["idTagInfo"]["status"] == "Accepted"


@MODES
async def test_two_stations_starting_with_one_tag_at_once(start_csms: StartCsms, strict: bool) -> None:
    """The ConcurrentTx decision and the new transaction are one step: of two simultaneous starts one wins."""
    rig = await start_csms(strict=strict)
    await rig.api.post("/api/octt/create-token", {"token_id": "TAG_C", "status": "Accepted"})
    stations = [await rig.open_station(station_id, boot=True) for station_id in ("CP_1", "CP_2")]
    for station in stations:
        await station.send_call("StartTransaction", start_payload("TAG_C"))
    statuses = sorted([(await station.recv())[2]["idTagInfo"]["status"] for station in stations])
    assert statuses == (["Accepted", "ConcurrentTx"] if strict else ["Accepted", "Accepted"])
