"""The store's schema migrations and what survives a restart: a database from before the five other profiles opens
and is upgraded, and everything the CSMS acknowledged is shown the same after a restart on the same file."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import aiosqlite
import pytest
from csms_kit import Api, Stations, answered

from csms.app import CsmsServer
from csms.db import SchemaTooNew, migrate
from csms.store import BASE_SCHEMA, MIGRATIONS

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
        api = Api(await stack.enter_async_context(aiohttp.ClientSession(base_url=server.api_url)))
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
    async with running(db_path) as (server, api, stations):
        assert (await api.get("/api/stations/OLD_CP")).body["registration_status"] == "Accepted"
        (tx,) = (await api.get("/api/transactions")).body
        assert (tx["reservation_id"], tx["reservation_outcome"]) == (5, None)
        station = await stations.open("OLD_CP", provision=False, boot=True)
        reservation = {"connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "TAG", "reservationId": 5}
        await answered(api.trigger("OLD_CP", "reserve-now", reservation), station, "ReserveNow", {"status": "Accepted"})
        assert [r.stored_status for r in await server.store.profiles.reservations("OLD_CP")] == ["active"]
    assert user_version(db_path) == len(MIGRATIONS) == 1
    assert tables(db_path) >= PROFILE_TABLES
    async with running(db_path) as (server, _, _):  # an upgraded database opens as it is
        assert [r.stored_status for r in await server.store.profiles.reservations("OLD_CP")] == ["active"]
    assert user_version(db_path) == 1


async def test_a_database_from_a_newer_csms_is_not_opened(tmp_path: Path) -> None:
    db_path = tmp_path / "new.sqlite3"
    old_database(db_path)
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA user_version = 7")
    db.close()
    with pytest.raises(SchemaTooNew, match="^the database has schema version 7, newer than the 1 this CSMS knows$"):
        async with CsmsServer(db_path=db_path):
            pass


async def test_a_failed_migration_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    db_path = tmp_path / "half.sqlite3"
    async with aiosqlite.connect(db_path) as db:
        good = "CREATE TABLE first (x);"
        broken = "CREATE TABLE second (x); CREATE TABLE second (y);"
        assert await migrate(db, base_schema="", migrations=(good,)) == 1
        with pytest.raises(sqlite3.OperationalError, match="table second already exists"):
            await migrate(db, base_schema="", migrations=(good, broken))
    assert user_version(db_path) == 1 and tables(db_path) == {"first"}
