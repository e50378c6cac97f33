"""The store's schema migrations and what survives a restart: a database from before the five other profiles opens
and is upgraded, and everything the CSMS acknowledged is shown the same after a restart on the same file."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from csms_kit import Api, Stations, answered

from csms.app import CsmsServer
from csms.db import SchemaTooNew, migrate
from csms.sqlite import Database
from csms.store import BASE_SCHEMA, MIGRATIONS
from ocppj.timefmt import format_time

PROFILE_TABLES = {
    "counters",
    "local_lists",
    "local_list_entries",
    "reservations",
    "charging_profiles",
    "composite_schedules",
    "transfer_jobs",
    "transfer_notifications",
    "diagnostics_uploads",
}


@contextlib.asynccontextmanager
async def running(db_path: Path) -> AsyncIterator[tuple[CsmsServer, Api, Stations]]:
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(CsmsServer(db_path=db_path, call_timeout_s=1.0))
        api = Api(
            await stack.enter_async_context(aiohttp.ClientSession(base_url=server.api_url, headers=server.api_headers))
        )
        yield server, api, Stations(server.ws_url, api, stack)


def tables(db_path: Path) -> set[str]:
    db = sqlite3.connect(db_path)
    try:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()


def user_version(db_path: Path) -> int:
    db = sqlite3.connect(db_path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def old_database(db_path: Path) -> None:
    """A database as the CSMS wrote it before schema versions: the base tables, a station and a transaction."""
    db = sqlite3.connect(db_path)
    try:
        db.executescript(BASE_SCHEMA)
        db.execute("INSERT INTO stations (id, registration_status, created_at) VALUES ('OLD_CP', 'Accepted', 1.0)")
        db.execute(
            "INSERT INTO transactions (station_id, connector_id, id_tag, auth_status, meter_start, started_at,"
            " reservation_id) VALUES ('OLD_CP', 1, 'TAG', 'Accepted', 0, '2024-01-01T00:00:00Z', 5)"
        )
        db.commit()
    finally:
        db.close()


async def test_a_database_from_before_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    db_path = tmp_path / "old.sqlite3"
    old_database(db_path)
    assert user_version(db_path) == 0 and not tables(db_path) & PROFILE_TABLES
    async with running(db_path) as (_, api, stations):
        assert (await api.get("/api/stations/OLD_CP")).body["registration_status"] == "Accepted"
        (tx,) = (await api.get("/api/transactions")).body
        assert (tx["reservation_id"], tx["reservation_outcome"]) == (5, None)
        station = await stations.open("OLD_CP", provision=False, boot=True)
        reservation = {"connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "TAG", "reservationId": 5}
        await answered(api.trigger("OLD_CP", "reserve-now", reservation), station, "ReserveNow", {"status": "Accepted"})
        assert [r["status"] for r in (await api.get("/api/stations/OLD_CP/reservations")).body] == ["active"]
    assert user_version(db_path) == len(MIGRATIONS) == 4
    assert tables(db_path) >= PROFILE_TABLES
    async with running(db_path) as (_, api, _):  # an upgraded database opens as it is
        assert [r["status"] for r in (await api.get("/api/stations/OLD_CP/reservations")).body] == ["active"]
    assert user_version(db_path) == 4


async def test_a_database_from_a_newer_csms_is_not_opened(tmp_path: Path) -> None:
    db_path = tmp_path / "new.sqlite3"
    old_database(db_path)
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA user_version = 7")
    db.close()
    with pytest.raises(SchemaTooNew, match="^the database has schema version 7, newer than the 4 this CSMS knows$"):
        async with CsmsServer(db_path=db_path):
            pass


async def test_a_failed_migration_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    db_path = tmp_path / "half.sqlite3"
    async with await Database.open(db_path) as db:
        good = "CREATE TABLE first (x);"
        broken = "CREATE TABLE second (x); CREATE TABLE second (y);"
        assert await migrate(db, base_schema="", migrations=(good,)) == 1
        with pytest.raises(sqlite3.OperationalError, match="table second already exists"):
            await migrate(db, base_schema="", migrations=(good, broken))
    assert user_version(db_path) == 1 and tables(db_path) == {"first"}


async def views(api: Api) -> dict[str, Any]:
    """Everything the API shows of the five profiles for CP_1, the uploads and the transactions."""
    paths = [
        "/api/stations/CP_1/reservations",
        "/api/stations/CP_1/local-list",
        "/api/stations/CP_1/charging-profiles",
        "/api/stations/CP_1/composite-schedule",
        "/api/stations/CP_1/firmware",
        "/api/stations/CP_1/diagnostics",
        "/api/diagnostics",
        "/api/transactions",
    ]
    shown = {}
    for path in paths:
        reply = await api.get(path)
        assert reply.status == 200, path
        shown[path] = reply.body
    return shown


async def test_everything_acknowledged_survives_a_restart(tmp_path: Path) -> None:
    db_path = tmp_path / "restart.sqlite3"
    accepted = {"status": "Accepted"}
    async with running(db_path) as (_, api, stations):
        await api.post("/api/tokens", {"id_tag": "TAG", "parent_id_tag": "GROUP"})
        station = await stations.open("CP_1", boot=True)
        await answered(
            api.post("/api/stations/CP_1/local-list", {"update_type": "Full"}), station, "SendLocalList", accepted
        )
        reserve = {"connector_id": 1, "id_tag": "TAG", "expires_in_s": 3600}
        _, used = await answered(api.post("/api/stations/CP_1/reservations", reserve), station, "ReserveNow", accepted)
        await answered(api.post("/api/stations/CP_1/reservations", reserve), station, "ReserveNow", accepted)
        start = {"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": format_time(time.time())}
        await station.result("StartTransaction", {**start, "reservationId": used[3]["reservationId"]})
        limit = {"connector_id": 1, "limit": 16, "unit": "A", "purpose": "TxProfile"}
        await answered(api.post("/api/stations/CP_1/charging-limit", limit), station, "SetChargingProfile", accepted)
        limit = {"connector_id": 2, "limit": 10, "unit": "A", "duration_s": 600}
        await answered(api.post("/api/stations/CP_1/charging-limit", limit), station, "SetChargingProfile", accepted)
        await answered(
            api.post("/api/stations/CP_1/composite-schedule", {"connector_id": 1, "duration_s": 60}),
            station,
            "GetCompositeSchedule",
            {"status": "Rejected"},
        )
        await answered(api.post("/api/stations/CP_1/firmware", {}), station, "UpdateFirmware", {})
        for status in ("Downloading", "Downloaded"):
            await station.result("FirmwareStatusNotification", {"status": status})
        await station.result("FirmwareStatusNotification", {"status": "Idle"})
        await answered(
            api.post("/api/stations/CP_1/diagnostics", {}), station, "GetDiagnostics", {"fileName": "CP_1-d.txt"}
        )
        await station.result("DiagnosticsStatusNotification", {"status": "Uploading"})
        assert (await api.raw("PUT", "/files/diagnostics/CP_1-d.txt", data=b"report")).status == 201
        await station.result("DiagnosticsStatusNotification", {"status": "Uploaded"})
        before = await views(api)
    assert [r["status"] for r in before["/api/stations/CP_1/reservations"]] == ["used", "active"]
    assert len(before["/api/stations/CP_1/charging-profiles"]) == 2
    assert before["/api/stations/CP_1/firmware"]["notifications_outside_jobs"] == []
    async with running(db_path) as (_, api, stations):
        assert await views(api) == before
        (upload,) = before["/api/diagnostics"]
        assert (await api.raw("GET", f"/api/diagnostics/{upload['id']}/content")).body == b"report"
        # Fresh ids stay fresh across the restart.
        station = await stations.open("CP_1", provision=False, boot=True)
        _, call = await answered(api.post("/api/stations/CP_1/reservations", reserve), station, "ReserveNow", accepted)
        reserved = [r["reservation_id"] for r in before["/api/stations/CP_1/reservations"]]
        assert call[3]["reservationId"] == max(reserved) + 1
        limit = {"connector_id": 2, "limit": 8, "unit": "A", "stack_level": 3}
        _, call = await answered(
            api.post("/api/stations/CP_1/charging-limit", limit), station, "SetChargingProfile", accepted
        )
        ids = [p["charging_profile_id"] for p in before["/api/stations/CP_1/charging-profiles"]]
        assert call[3]["csChargingProfiles"]["chargingProfileId"] == max(ids) + 1
        _, call = await answered(
            api.post("/api/stations/CP_1/local-list", {"update_type": "Full"}), station, "SendLocalList", accepted
        )
        assert call[3]["listVersion"] == before["/api/stations/CP_1/local-list"]["list_version"] + 1
