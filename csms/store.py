"""SQLite persistence of the bundled CSMS (plain SQL, no ORM, on :class:`csms.sqlite.Database`).

One connection per server. Every write runs under one asyncio lock, so a read-modify-write (the boot answer, the
stop of a transaction) is one unit; a writer commits after it has released the lock, so that the writes of CALLs
that arrived together share one commit (group commit), and it returns, so the CALL is answered, only once that
commit is done.

Durability (the settings and their argument are in :mod:`csms.sqlite`). WAL mode with ``synchronous=NORMAL``: a
commit survives a crash or ``kill -9`` of the CSMS, and a power loss may roll back the last ones. What the CSMS
acknowledges of a transaction (StartTransaction, StopTransaction, transaction MeterValues: OCPP 1.6 §4.7, §4.8,
§4.10, dropped by the station once answered) is committed ``durable``: the WAL is fsynced before the answer goes
out, one fsync per commit however many messages share it. Everything else stays NORMAL.

Idempotence. A station resends a transaction message whose answer it did not get (the CSMS died after the commit):
a StartTransaction equal to one already kept (station, connector, idTag, meterStart, timestamp) gets that
transaction's id again; a StopTransaction for a transaction already stopped keeps the first stop. Either is
recorded in ``transaction_duplicates``, with the resent request, for the API to show.

The schema is :data:`BASE_SCHEMA` (version 0, what databases from before the first migration have) brought up by
:data:`MIGRATIONS` (:func:`csms.db.migrate`), so the CSMS opens a database of any earlier version and upgrades it.
The tables of the five other certified profiles are :class:`csms.profile_store.ProfileStore`'s, those of the
security whitepaper :class:`csms.security_store.SecurityStore`'s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

from csms.db import dumps, fetch_all, fetch_one, from_row, loads_object, migrate
from csms.profile_store import ProfileStore
from csms.security_store import SCHEMA as SECURITY_SCHEMA
from csms.security_store import SecurityStore
from csms.sqlite import Database
from ocppj.timefmt import format_time

log = logging.getLogger(__name__)

BootStatus: TypeAlias = Literal["Accepted", "Pending", "Rejected"]
BOOT_STATUSES: tuple[BootStatus, ...] = ("Accepted", "Pending", "Rejected")

TokenStatus: TypeAlias = Literal["Accepted", "Blocked", "Expired", "Invalid"]
TOKEN_STATUSES: tuple[TokenStatus, ...] = ("Accepted", "Blocked", "Expired", "Invalid")

DEFAULT_BOOT_RETRY_INTERVAL_S = 10

BASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS stations (
    id                      TEXT PRIMARY KEY,
    boot_status             TEXT NOT NULL DEFAULT 'Accepted',
    boot_interval_s         INTEGER,
    boot_accept_after       INTEGER,
    boot_remaining          INTEGER,
    password_hash           TEXT,
    registration_status     TEXT,
    boot_count              INTEGER NOT NULL DEFAULT 0,
    last_boot_at            REAL,
    last_heartbeat_at       REAL,
    vendor                  TEXT,
    model                   TEXT,
    serial_number           TEXT,
    firmware_version        TEXT,
    boot_payload            TEXT,
    created_at              REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id_tag          TEXT PRIMARY KEY COLLATE NOCASE,
    status          TEXT NOT NULL,
    expiry_at       REAL,
    parent_id_tag   TEXT
);
CREATE TABLE IF NOT EXISTS transactions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id      TEXT NOT NULL,
    connector_id    INTEGER NOT NULL,
    id_tag          TEXT NOT NULL,
    auth_status     TEXT NOT NULL,
    meter_start     INTEGER NOT NULL,
    started_at      TEXT NOT NULL,
    reservation_id  INTEGER,
    meter_stop      INTEGER,
    stopped_at      TEXT,
    stop_reason     TEXT,
    stop_id_tag     TEXT
);
CREATE INDEX IF NOT EXISTS transactions_station ON transactions (station_id);
CREATE INDEX IF NOT EXISTS transactions_open_tag ON transactions (id_tag COLLATE NOCASE) WHERE stopped_at IS NULL;
CREATE TABLE IF NOT EXISTS unknown_stops (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id      TEXT NOT NULL,
    transaction_id  INTEGER NOT NULL,
    id_tag          TEXT,
    meter_stop      INTEGER NOT NULL,
    stopped_at      TEXT NOT NULL,
    stop_reason     TEXT,
    received_at     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meter_values (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id      TEXT NOT NULL,
    connector_id    INTEGER,
    transaction_id  INTEGER,
    timestamp       TEXT NOT NULL,
    sampled_value   TEXT NOT NULL,
    source          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS meter_values_transaction ON meter_values (transaction_id);
CREATE TABLE IF NOT EXISTS status_notifications (
    station_id          TEXT NOT NULL,
    connector_id        INTEGER NOT NULL,
    status              TEXT NOT NULL,
    error_code          TEXT NOT NULL,
    info                TEXT,
    vendor_id           TEXT,
    vendor_error_code   TEXT,
    timestamp           TEXT,
    received_at         REAL NOT NULL,
    PRIMARY KEY (station_id, connector_id)
);
CREATE TABLE IF NOT EXISTS exchanges (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id          TEXT NOT NULL,
    direction           TEXT NOT NULL,
    unique_id           TEXT NOT NULL,
    action              TEXT NOT NULL,
    request             TEXT NOT NULL,
    outcome             TEXT NOT NULL,
    response            TEXT,
    error_code          TEXT,
    error_description   TEXT,
    error_details       TEXT,
    schema_violations   TEXT NOT NULL,
    requested_at        REAL NOT NULL,
    answered_at         REAL
);
CREATE INDEX IF NOT EXISTS exchanges_station ON exchanges (station_id);
"""

# Each entry takes the schema one version up; an entry never changes once released (a database may have run it).
MIGRATIONS: tuple[str, ...] = (
    # 1: the five other certified profiles (csms.profile_store), and what a StartTransaction's reservationId did.
    """
    CREATE TABLE counters (
        name            TEXT PRIMARY KEY,
        value           INTEGER NOT NULL
    );
    CREATE TABLE local_lists (
        station_id          TEXT PRIMARY KEY,
        list_version        INTEGER NOT NULL DEFAULT 0,
        updated_at          REAL,
        message_id          TEXT,
        last_answer         TEXT,
        last_answer_at      REAL,
        reported_version    INTEGER,
        reported_at         REAL
    );
    CREATE TABLE local_list_entries (
        station_id      TEXT NOT NULL,
        id_tag          TEXT NOT NULL COLLATE NOCASE,
        id_tag_info     TEXT NOT NULL,
        PRIMARY KEY (station_id, id_tag)
    );
    CREATE TABLE reservations (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        station_id      TEXT NOT NULL,
        reservation_id  INTEGER NOT NULL,
        connector_id    INTEGER NOT NULL,
        id_tag          TEXT NOT NULL,
        parent_id_tag   TEXT,
        expiry_date     TEXT NOT NULL,
        expiry_at       REAL,
        status          TEXT NOT NULL,
        station_answer  TEXT NOT NULL,
        message_id      TEXT NOT NULL,
        requested_at    REAL NOT NULL,
        answered_at     REAL NOT NULL,
        ended_at        REAL,
        transaction_id  INTEGER
    );
    CREATE INDEX reservations_station ON reservations (station_id, reservation_id);
    CREATE TABLE charging_profiles (
        station_id          TEXT NOT NULL,
        charging_profile_id INTEGER NOT NULL,
        connector_id        INTEGER NOT NULL,
        purpose             TEXT NOT NULL,
        stack_level         INTEGER NOT NULL,
        kind                TEXT NOT NULL,
        transaction_id      INTEGER,
        profile             TEXT NOT NULL,
        message_id          TEXT NOT NULL,
        installed_at        REAL NOT NULL,
        PRIMARY KEY (station_id, charging_profile_id)
    );
    CREATE TABLE composite_schedules (
        station_id      TEXT NOT NULL,
        connector_id    INTEGER NOT NULL,
        request         TEXT NOT NULL,
        answer          TEXT NOT NULL,
        message_id      TEXT NOT NULL,
        received_at     REAL NOT NULL,
        PRIMARY KEY (station_id, connector_id)
    );
    CREATE TABLE transfer_jobs (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        station_id      TEXT NOT NULL,
        kind            TEXT NOT NULL,
        request         TEXT NOT NULL,
        answer          TEXT NOT NULL,
        file_name       TEXT,
        message_id      TEXT NOT NULL,
        requested_at    REAL NOT NULL,
        answered_at     REAL NOT NULL,
        superseded_by   INTEGER
    );
    CREATE INDEX transfer_jobs_station ON transfer_jobs (station_id, kind);
    CREATE TABLE transfer_notifications (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        station_id      TEXT NOT NULL,
        kind            TEXT NOT NULL,
        job_id          INTEGER,
        status          TEXT NOT NULL,
        received_at     REAL NOT NULL
    );
    CREATE INDEX transfer_notifications_station ON transfer_notifications (station_id, kind);
    -- Uploaded files sit in the database rather than in a folder next to it: one file to back up, a file and its
    -- row are committed together (no orphan after a crash), and a name never reaches the file system.
    CREATE TABLE diagnostics_uploads (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        station_id      TEXT,
        job_id          INTEGER,
        file_name       TEXT NOT NULL,
        size            INTEGER NOT NULL,
        sha256          TEXT NOT NULL,
        content_type    TEXT,
        received_at     REAL NOT NULL,
        content         BLOB NOT NULL
    );
    ALTER TABLE transactions ADD COLUMN reservation_outcome TEXT;
    """,
    # 2: the security whitepaper (csms.security_store): security profiles, certificates, the security log.
    SECURITY_SCHEMA,
    # 3: resent transaction messages (idempotence), and the exchange log's filters.
    """
    CREATE INDEX transactions_start ON transactions (station_id, connector_id, started_at);
    CREATE TABLE transaction_duplicates (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        station_id      TEXT NOT NULL,
        transaction_id  INTEGER NOT NULL,
        action          TEXT NOT NULL,
        request         TEXT NOT NULL,
        differs         INTEGER NOT NULL,
        received_at     REAL NOT NULL
    );
    CREATE INDEX transaction_duplicates_transaction ON transaction_duplicates (transaction_id);
    CREATE INDEX exchanges_action ON exchanges (action, outcome);
    CREATE INDEX exchanges_outcome ON exchanges (outcome, station_id);
    """,
    # 4: the TxProfile of an accepted RemoteStartTransaction, until the transaction it is for starts (§5.11).
    """
    CREATE TABLE remote_start_profiles (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        station_id      TEXT NOT NULL,
        connector_id    INTEGER,
        id_tag          TEXT NOT NULL,
        profile         TEXT NOT NULL,
        message_id      TEXT NOT NULL,
        answered_at     REAL NOT NULL,
        transaction_id  INTEGER
    );
    CREATE INDEX remote_start_profiles_open ON remote_start_profiles (station_id, id_tag, transaction_id);
    """,
)


@dataclass(frozen=True)
class BootConfig:
    """How the CSMS answers BootNotification (OCPP 1.6 §4.2; AQ-1 of the certificate).

    ``accept_after_boots``: answer ``status`` (Pending or Rejected) to that many boots, then Accepted;
    ``None`` keeps that answer until it is changed or an operator accepts the station through the API.
    ``interval_s``: the ``interval`` of the answer; ``None`` means the server's heartbeat interval for
    Accepted and :data:`DEFAULT_BOOT_RETRY_INTERVAL_S` for Pending/Rejected.
    """

    status: BootStatus = "Accepted"
    interval_s: int | None = None
    accept_after_boots: int | None = None

    def interval_for(self, status: BootStatus, *, heartbeat_interval_s: int) -> int:
        if self.interval_s is not None:
            return self.interval_s
        return heartbeat_interval_s if status == "Accepted" else DEFAULT_BOOT_RETRY_INTERVAL_S


@dataclass(frozen=True)
class ConnectorStatus:
    connector_id: int
    status: str
    error_code: str
    info: str | None
    vendor_id: str | None
    vendor_error_code: str | None
    timestamp: str | None
    received_at_s: float


@dataclass(frozen=True)
class Station:
    id: str
    boot: BootConfig
    boots_until_accepted: int | None
    password_hash: str | None
    registration_status: str | None
    boot_count: int
    last_boot_at_s: float | None
    last_heartbeat_at_s: float | None
    vendor: str | None
    model: str | None
    serial_number: str | None
    firmware_version: str | None

    @property
    def next_boot_status(self) -> BootStatus:
        """What the next BootNotification will be answered (the rule of :meth:`Store.record_boot`)."""
        if self.boot.status == "Accepted" or self.boots_until_accepted == 0:
            return "Accepted"
        return self.boot.status


@dataclass(frozen=True)
class Token:
    id_tag: str
    status: TokenStatus
    expiry_at_s: float | None
    parent_id_tag: str | None


@dataclass(frozen=True)
class Transaction:
    id: int
    station_id: str
    connector_id: int
    id_tag: str
    auth_status: str
    meter_start: int
    started_at: str
    reservation_id: int | None
    meter_stop: int | None
    stopped_at: str | None
    stop_reason: str | None
    meter_value_count: int
    reservation_outcome: str | None = None  # what its reservationId did: used, unknown or inactive (§5.13)
    start_resends: int = 0
    stop_resends: int = 0


EXCHANGE_OUTCOMES = ("result", "error", "timeout", "disconnected")
EXCHANGE_DIRECTIONS = ("station_to_csms", "csms_to_station")


@dataclass(frozen=True)
class Retention:
    """How much of the exchange log is kept: at most ``max_exchanges`` rows, none older than ``max_age_s``
    (None: no bound of that kind). Pruned every ``prune_every`` exchanges logged, so the cost is spread out; the
    log is a diagnostic record, never the source of a transaction's data."""

    max_exchanges: int | None = 100_000
    max_age_s: float | None = 30 * 86_400.0
    prune_every: int = 500

    def __post_init__(self) -> None:
        if (self.max_exchanges is not None and self.max_exchanges < 1) or self.prune_every < 1:
            raise ValueError("max_exchanges and prune_every must be >= 1")
        if self.max_age_s is not None and self.max_age_s <= 0:
            raise ValueError("max_age_s must be > 0")


@dataclass(frozen=True)
class Started:
    """What a StartTransaction was given: ``resent`` when it repeated one already kept (the same id again)."""

    transaction_id: int
    auth_status: str
    resent: bool = False


@dataclass(frozen=True)
class Duplicate:
    """A transaction message received again: ``differs`` when its values are not those first kept."""

    station_id: str
    transaction_id: int
    action: str
    request: dict[str, Any]
    differs: bool
    received_at_s: float


@dataclass(frozen=True)
class UnknownStop:
    """A StopTransaction for an id this CSMS never issued to that station (answered anyway: TC_032_1,
    §5.5)."""

    station_id: str
    transaction_id: int
    id_tag: str | None
    meter_stop: int
    stopped_at: str
    stop_reason: str | None
    received_at_s: float


@dataclass(frozen=True)
class Exchange:
    """One CALL and what came back. ``direction`` is ``csms_to_station`` or ``station_to_csms``; ``outcome``
    is ``result``, ``error``, ``timeout`` or ``disconnected``."""

    id: int
    station_id: str
    direction: str
    unique_id: str
    action: str
    request: dict[str, Any]
    outcome: str
    response: dict[str, Any] | None
    error_code: str | None
    error_description: str | None
    error_details: dict[str, Any] | None
    schema_violations: list[str]
    requested_at_s: float
    answered_at_s: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "station_id": self.station_id,
            "direction": self.direction,
            "unique_id": self.unique_id,
            "action": self.action,
            "request": self.request,
            "outcome": self.outcome,
            "response": self.response,
            "error_code": self.error_code,
            "error_description": self.error_description,
            "error_details": self.error_details,
            "schema_violations": self.schema_violations,
            "requested_at": format_time(self.requested_at_s),
            "answered_at": None if self.answered_at_s is None else format_time(self.answered_at_s),
        }


class Store:
    """The CSMS database. Open with :meth:`open`, release with :meth:`close`."""

    def __init__(self, db: Database, *, retention: Retention | None = None) -> None:
        self._db = db
        self._lock = asyncio.Lock()
        self._retention = retention or Retention()
        self._logged_since_prune = 0
        self._exchange_rows: list[tuple[Any, ...]] = []  # logged, not yet inserted (:meth:`add_exchange`)
        db.before_commit(self._insert_exchanges)
        self.profiles = ProfileStore(db, self._lock)
        self.security = SecurityStore(db, self._lock)

    @classmethod
    async def open(cls, path: str | Path, *, retention: Retention | None = None) -> Store:
        db = await Database.open(path)
        try:
            db.row_factory = sqlite3.Row
            await migrate(db, base_schema=BASE_SCHEMA, migrations=MIGRATIONS)
        except BaseException:
            await db.close()
            raise
        return cls(db, retention=retention)

    async def close(self) -> None:
        await self._db.close()

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        return await fetch_one(self._db, sql, params)

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return await fetch_all(self._db, sql, params)

    # -- stations ------------------------------------------------------------------------------------------

    @staticmethod
    def _station(row: sqlite3.Row) -> Station:
        return Station(
            id=row["id"],
            boot=BootConfig(row["boot_status"], row["boot_interval_s"], row["boot_accept_after"]),
            boots_until_accepted=row["boot_remaining"],
            password_hash=row["password_hash"],
            registration_status=row["registration_status"],
            boot_count=row["boot_count"],
            last_boot_at_s=row["last_boot_at"],
            last_heartbeat_at_s=row["last_heartbeat_at"],
            vendor=row["vendor"],
            model=row["model"],
            serial_number=row["serial_number"],
            firmware_version=row["firmware_version"],
        )

    async def get_station(self, station_id: str) -> Station | None:
        row = await self._one("SELECT * FROM stations WHERE id = ?", (station_id,))
        return None if row is None else self._station(row)

    async def list_stations(self) -> list[Station]:
        return [self._station(row) for row in await self._all("SELECT * FROM stations ORDER BY id")]

    async def provision_station(self, station_id: str, *, boot: BootConfig | None, now_s: float) -> bool:
        """Create the station or update its boot answer; True when it was created."""
        async with self._lock:
            exists = await self._one("SELECT 1 FROM stations WHERE id = ?", (station_id,)) is not None
            if not exists:
                await self._db.execute("INSERT INTO stations (id, created_at) VALUES (?, ?)", (station_id, now_s))
            if boot is not None:
                await self._set_boot(station_id, boot)
            await self._db.commit()
        return not exists

    async def _set_boot(self, station_id: str, boot: BootConfig) -> None:
        await self._db.execute(
            "UPDATE stations SET boot_status = ?, boot_interval_s = ?, boot_accept_after = ?,"
            " boot_remaining = ? WHERE id = ?",
            (boot.status, boot.interval_s, boot.accept_after_boots, boot.accept_after_boots, station_id),
        )

    async def set_boot_config(self, station_id: str, boot: BootConfig) -> bool:
        """Replace the boot answer (and restart the Pending count); False for an unknown station."""
        async with self._lock:
            cursor = await self._db.execute("SELECT 1 FROM stations WHERE id = ?", (station_id,))
            found = await cursor.fetchone() is not None
            await cursor.close()
            if found:
                await self._set_boot(station_id, boot)
                await self._db.commit()
        return found

    async def accept_station(self, station_id: str) -> bool:
        """The operator accepts a Pending or Rejected station: every later boot is answered Accepted."""
        async with self._lock:
            cursor = await self._db.execute(
                "UPDATE stations SET boot_status = 'Accepted', boot_remaining = NULL,"
                " boot_accept_after = NULL WHERE id = ?",
                (station_id,),
            )
            found = cursor.rowcount > 0
            await cursor.close()
            await self._db.commit()
        return found

    async def record_boot(
        self, station_id: str, payload: dict[str, Any], *, now_s: float
    ) -> tuple[BootStatus, BootConfig]:
        """Decide the answer to one BootNotification and store what the station said about itself.

        Returns the registration status and the boot configuration it came from (for the interval).
        """
        async with self._lock:
            row = await self._one("SELECT * FROM stations WHERE id = ?", (station_id,))
            if row is None:
                raise LookupError(f"station {station_id!r} is not provisioned")
            config = self._station(row).boot
            status: BootStatus = config.status
            remaining: int | None = row["boot_remaining"]
            if status != "Accepted" and remaining is not None:
                if remaining > 0:
                    remaining -= 1
                else:
                    status = "Accepted"
            await self._db.execute(
                "UPDATE stations SET registration_status = ?, boot_remaining = ?,"
                " boot_count = boot_count + 1, last_boot_at = ?, vendor = ?, model = ?, serial_number = ?,"
                " firmware_version = ?, boot_payload = ? WHERE id = ?",
                (
                    status,
                    remaining,
                    now_s,
                    payload.get("chargePointVendor"),
                    payload.get("chargePointModel"),
                    payload.get("chargePointSerialNumber"),
                    payload.get("firmwareVersion"),
                    dumps(payload),
                    station_id,
                ),
            )
        await self._db.commit()
        return status, config

    async def record_heartbeat(self, station_id: str, *, now_s: float) -> None:
        async with self._lock:
            await self._db.execute("UPDATE stations SET last_heartbeat_at = ? WHERE id = ?", (now_s, station_id))
        await self._db.commit()

    async def set_password_hash(self, station_id: str, password_hash: str) -> bool:
        async with self._lock:
            cursor = await self._db.execute(
                "UPDATE stations SET password_hash = ? WHERE id = ?", (password_hash, station_id)
            )
            found = cursor.rowcount > 0
            await cursor.close()
            await self._db.commit()
        return found

    # -- connector status ----------------------------------------------------------------------------------

    async def _write(self, sql: str, params: Sequence[Any]) -> None:
        async with self._lock:
            await self._db.execute(sql, params)
        await self._db.commit()

    async def set_connector_status(self, station_id: str, payload: dict[str, Any], *, now_s: float) -> None:
        await self._write(
            "INSERT INTO status_notifications (station_id, connector_id, status, error_code, info, vendor_id,"
            " vendor_error_code, timestamp, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (station_id, connector_id) DO UPDATE SET status = excluded.status,"
            " error_code = excluded.error_code, info = excluded.info, vendor_id = excluded.vendor_id,"
            " vendor_error_code = excluded.vendor_error_code, timestamp = excluded.timestamp,"
            " received_at = excluded.received_at",
            (
                station_id,
                payload["connectorId"],
                payload["status"],
                payload["errorCode"],
                payload.get("info"),
                payload.get("vendorId"),
                payload.get("vendorErrorCode"),
                payload.get("timestamp"),
                now_s,
            ),
        )

    async def connector_statuses(self, station_id: str) -> list[ConnectorStatus]:
        rows = await self._all(
            "SELECT * FROM status_notifications WHERE station_id = ? ORDER BY connector_id", (station_id,)
        )
        return [
            ConnectorStatus(
                connector_id=row["connector_id"],
                status=row["status"],
                error_code=row["error_code"],
                info=row["info"],
                vendor_id=row["vendor_id"],
                vendor_error_code=row["vendor_error_code"],
                timestamp=row["timestamp"],
                received_at_s=row["received_at"],
            )
            for row in rows
        ]

    # -- tokens --------------------------------------------------------------------------------------------

    async def put_token(self, token: Token) -> bool:
        """Create or replace a token; True when it was created. Id tags compare case-insensitively
        (CiString20)."""
        async with self._lock:
            exists = await self._one("SELECT 1 FROM tokens WHERE id_tag = ?", (token.id_tag,)) is not None
            await self._db.execute(
                "INSERT INTO tokens (id_tag, status, expiry_at, parent_id_tag) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (id_tag) DO UPDATE SET status = excluded.status,"
                " expiry_at = excluded.expiry_at, parent_id_tag = excluded.parent_id_tag",
                (token.id_tag, token.status, token.expiry_at_s, token.parent_id_tag),
            )
            await self._db.commit()
        return not exists

    async def get_token(self, id_tag: str) -> Token | None:
        row = await self._one("SELECT * FROM tokens WHERE id_tag = ?", (id_tag,))
        if row is None:
            return None
        return Token(row["id_tag"], row["status"], row["expiry_at"], row["parent_id_tag"])

    async def list_tokens(self) -> list[Token]:
        rows = await self._all("SELECT * FROM tokens ORDER BY id_tag")
        return [Token(row["id_tag"], row["status"], row["expiry_at"], row["parent_id_tag"]) for row in rows]

    # -- transactions --------------------------------------------------------------------------------------

    async def tag_in_transaction(self, id_tag: str) -> bool:
        """Whether ``id_tag`` holds an open transaction, on any station. Only a transaction its tag was
        Accepted for holds it: one answered ConcurrentTx or Invalid does not (OCPP 1.6 §7.2)."""
        row = await self._one(
            "SELECT 1 FROM transactions WHERE id_tag = ? COLLATE NOCASE AND stopped_at IS NULL"
            " AND auth_status = 'Accepted' LIMIT 1",
            (id_tag,),
        )
        return row is not None

    async def _duplicate(
        self, station_id: str, transaction_id: int, action: str, payload: dict[str, Any], *, differs: bool, now_s: float
    ) -> None:
        await self._db.execute(
            "INSERT INTO transaction_duplicates (station_id, transaction_id, action, request, differs, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (station_id, transaction_id, action, dumps(payload), int(differs), now_s),
        )

    async def start_transaction(
        self,
        station_id: str,
        payload: dict[str, Any],
        *,
        auth_status: str,
        exclusive: bool = False,
        now_s: float = 0.0,
    ) -> Started:
        """Store a StartTransaction and hand out its id: AUTOINCREMENT never reuses one, so ids stay unique
        and > 0 across restarts (OCPP 1.6 §4.8; SV asserts > 0). A resend of one already kept gets its id again
        (module docstring).

        ``exclusive``: an Accepted tag that already holds an open transaction gets this one recorded as
        ConcurrentTx (OCPP 1.6 §7.2), decided under the write lock so two stations cannot both win.
        """
        async with self._lock:
            kept = await self._one(
                "SELECT id, auth_status FROM transactions WHERE station_id = ? AND connector_id = ? AND started_at = ?"
                " AND id_tag = ? AND meter_start = ? ORDER BY id LIMIT 1",
                (station_id, payload["connectorId"], payload["timestamp"], payload["idTag"], payload["meterStart"]),
            )
            if kept is not None:
                await self._duplicate(station_id, kept["id"], "StartTransaction", payload, differs=False, now_s=now_s)
                started = Started(kept["id"], kept["auth_status"], resent=True)
            else:
                started = await self._insert_transaction(
                    station_id, payload, auth_status=auth_status, exclusive=exclusive
                )
        await self._db.commit(durable=True)
        return started

    async def _insert_transaction(
        self, station_id: str, payload: dict[str, Any], *, auth_status: str, exclusive: bool
    ) -> Started:
        if exclusive and auth_status == "Accepted" and await self.tag_in_transaction(payload["idTag"]):
            auth_status = "ConcurrentTx"
        cursor = await self._db.execute(
            "INSERT INTO transactions (station_id, connector_id, id_tag, auth_status, meter_start,"
            " started_at, reservation_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                station_id,
                payload["connectorId"],
                payload["idTag"],
                auth_status,
                payload["meterStart"],
                payload["timestamp"],
                payload.get("reservationId"),
            ),
        )
        transaction_id = cursor.lastrowid
        await cursor.close()
        if transaction_id is None:
            raise RuntimeError("SQLite did not report the new transaction id")
        return Started(transaction_id, auth_status)

    async def stop_transaction(self, station_id: str, payload: dict[str, Any], *, now_s: float) -> str:
        """Record a StopTransaction: ``stopped``; ``unknown`` when the id is not one of this station's transactions
        (it is then kept in ``unknown_stops``); ``repeated`` when the transaction was stopped already: the first
        stop stays, this one is kept as a duplicate (a resent queued message, or a station that lost track)."""
        transaction_id = payload["transactionId"]
        stop = (payload["meterStop"], payload["timestamp"], payload.get("reason"), payload.get("idTag"))
        async with self._lock:
            row = await self._one(
                "SELECT meter_stop, stopped_at, stop_reason, stop_id_tag FROM transactions WHERE id = ?"
                " AND station_id = ?",
                (transaction_id, station_id),
            )
            if row is not None and row["stopped_at"] is not None:
                first = (row["meter_stop"], row["stopped_at"], row["stop_reason"], row["stop_id_tag"])
                await self._duplicate(
                    station_id, transaction_id, "StopTransaction", payload, differs=first != stop, now_s=now_s
                )
                outcome = "repeated"
            elif row is not None:
                await self._db.execute(
                    "UPDATE transactions SET meter_stop = ?, stopped_at = ?, stop_reason = ?, stop_id_tag = ?"
                    " WHERE id = ? AND station_id = ?",
                    (*stop, transaction_id, station_id),
                )
                outcome = "stopped"
            else:
                await self._db.execute(
                    "INSERT INTO unknown_stops (station_id, transaction_id, id_tag, meter_stop, stopped_at,"
                    " stop_reason, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        station_id,
                        transaction_id,
                        payload.get("idTag"),
                        payload["meterStop"],
                        payload["timestamp"],
                        payload.get("reason"),
                        now_s,
                    ),
                )
                outcome = "unknown"
        await self._db.commit(durable=True)
        return outcome

    async def list_transactions(self, station_id: str | None = None) -> list[Transaction]:
        sql = (
            "SELECT t.*, (SELECT COUNT(*) FROM meter_values m WHERE m.transaction_id = t.id"
            " AND m.station_id = t.station_id) AS meter_value_count,"
            " (SELECT COUNT(*) FROM transaction_duplicates d WHERE d.transaction_id = t.id"
            " AND d.station_id = t.station_id AND d.action = 'StartTransaction') AS start_resends,"
            " (SELECT COUNT(*) FROM transaction_duplicates d WHERE d.transaction_id = t.id"
            " AND d.station_id = t.station_id AND d.action = 'StopTransaction') AS stop_resends FROM transactions t"
        )
        params: tuple[Any, ...] = ()
        if station_id is not None:
            sql += " WHERE t.station_id = ?"
            params = (station_id,)
        rows = await self._all(sql + " ORDER BY t.id", params)
        return [
            Transaction(
                id=row["id"],
                station_id=row["station_id"],
                connector_id=row["connector_id"],
                id_tag=row["id_tag"],
                auth_status=row["auth_status"],
                meter_start=row["meter_start"],
                started_at=row["started_at"],
                reservation_id=row["reservation_id"],
                meter_stop=row["meter_stop"],
                stopped_at=row["stopped_at"],
                stop_reason=row["stop_reason"],
                meter_value_count=row["meter_value_count"],
                reservation_outcome=row["reservation_outcome"],
                start_resends=row["start_resends"],
                stop_resends=row["stop_resends"],
            )
            for row in rows
        ]

    async def _station_rows(self, table: str, station_id: str | None) -> list[sqlite3.Row]:
        """Every row of ``table``, or of one station's, oldest first."""
        if station_id is None:
            return await self._all(f"SELECT * FROM {table} ORDER BY id")
        return await self._all(f"SELECT * FROM {table} WHERE station_id = ? ORDER BY id", (station_id,))

    async def list_duplicates(self, station_id: str | None = None) -> list[Duplicate]:
        rows = await self._station_rows("transaction_duplicates", station_id)
        return [from_row(Duplicate, row, json_columns=("request",), differs=bool(row["differs"])) for row in rows]

    async def list_unknown_stops(self, station_id: str | None = None) -> list[UnknownStop]:
        return [from_row(UnknownStop, row) for row in await self._station_rows("unknown_stops", station_id)]

    async def add_meter_values(
        self,
        station_id: str,
        *,
        connector_id: int | None,
        transaction_id: int | None,
        meter_values: list[dict[str, Any]],
        source: str,
    ) -> None:
        """One row per MeterValue element (a timestamp with its sampled values)."""
        if not meter_values:
            return
        async with self._lock:
            await self._db.executemany(
                "INSERT INTO meter_values (station_id, connector_id, transaction_id, timestamp,"
                " sampled_value, source) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        station_id,
                        connector_id,
                        transaction_id,
                        value["timestamp"],
                        dumps(value.get("sampledValue", [])),
                        source,
                    )
                    for value in meter_values
                ],
            )
        # A transaction's meter values are billed from (OCPP 1.6 §4.7): kept on disk before they are acknowledged.
        await self._db.commit(durable=transaction_id is not None)

    # -- exchanges -----------------------------------------------------------------------------------------

    async def prune_exchanges(self, *, now_s: float) -> int:
        """Apply the retention now; returns how many exchanges were dropped."""
        async with self._lock:
            self._insert_exchanges()
            dropped = self._prune(now_s)
        await self._db.commit()
        return dropped

    def _prune(self, now_s: float) -> int:
        self._logged_since_prune = 0
        dropped = 0
        retention = self._retention
        if retention.max_age_s is not None:
            dropped += self._db.execute(
                "DELETE FROM exchanges WHERE requested_at < ?", (now_s - retention.max_age_s,)
            ).rowcount
        if retention.max_exchanges is not None:
            # Ids only grow, so every id up to (newest - limit) is older than the newest `limit` rows.
            dropped += self._db.execute(
                "DELETE FROM exchanges WHERE id <= (SELECT MAX(id) FROM exchanges) - ?", (retention.max_exchanges,)
            ).rowcount
        return dropped

    def _insert_exchanges(self) -> None:
        """Insert the exchanges logged since the last time, in one statement, and apply the retention when due:
        before each commit (csms.sqlite's hook) and before the log is read."""
        rows, self._exchange_rows = self._exchange_rows, []
        if not rows:
            return
        try:
            self._db.executemany(
                "INSERT INTO exchanges (station_id, direction, unique_id, action, request, outcome, response,"
                " error_code, error_description, error_details, schema_violations, requested_at, answered_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        except sqlite3.Error:
            log.exception("could not insert %d exchange(s) into the log", len(rows))
            return
        self._logged_since_prune += len(rows)
        if self._logged_since_prune >= self._retention.prune_every:
            self._prune(rows[-1][-2])

    async def add_exchange(
        self,
        *,
        station_id: str,
        direction: str,
        unique_id: str,
        action: str,
        request: dict[str, Any],
        outcome: str,
        response: dict[str, Any] | None = None,
        error_code: str | None = None,
        error_description: str | None = None,
        error_details: dict[str, Any] | None = None,
        schema_violations: list[str] | None = None,
        requested_at_s: float,
        answered_at_s: float | None,
    ) -> None:
        """Log one exchange. It is in the API's reads (:meth:`list_exchanges`) as soon as this returns, and is
        inserted and committed with the next commit (in the next loop step), which nobody waits for: the log is a
        diagnostic record, so a crash of the process may lose its last rows, never a transaction's data
        (:mod:`csms.sqlite`). A value the log cannot keep raises here, as an INSERT of it would (``ValueError``
        for a number JSON cannot write, ``UnicodeEncodeError`` for a text with a lone surrogate)."""
        row = (
            station_id,
            direction,
            unique_id,
            action,
            dumps(request),
            outcome,
            None if response is None else dumps(response),
            error_code,
            error_description,
            None if error_details is None else dumps(error_details),
            dumps(schema_violations) if schema_violations else "[]",
            requested_at_s,
            answered_at_s,
        )
        for value in row:
            if isinstance(value, str) and not value.isascii():
                value.encode("utf-8")  # what sqlite3 does with a text parameter
        self._exchange_rows.append(row)
        self._db.commit_soon()

    async def list_exchanges(
        self,
        *,
        station_id: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        direction: str | None = None,
        limit: int = 100,
    ) -> list[Exchange]:
        """The latest ``limit`` exchanges that match every filter given, oldest first (``outcome="error"`` and no
        station: a fleet's CALLERRORs)."""
        conditions: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("station_id", station_id),
            ("action", action),
            ("outcome", outcome),
            ("direction", direction),
        ):
            if value is not None:
                conditions.append(f"{column} = ?")
                params.append(value)
        if self._exchange_rows:
            await self._db.commit()  # inserts them (csms.sqlite's hook): the log is read whole, and on disk
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        sql = f"SELECT * FROM (SELECT * FROM exchanges{where} ORDER BY id DESC LIMIT ?) ORDER BY id"
        params.append(limit)
        rows = await self._all(sql, params)
        return [
            Exchange(
                id=row["id"],
                station_id=row["station_id"],
                direction=row["direction"],
                unique_id=row["unique_id"],
                action=row["action"],
                request=loads_object(row["request"]) or {},
                outcome=row["outcome"],
                response=loads_object(row["response"]),
                error_code=row["error_code"],
                error_description=row["error_description"],
                error_details=loads_object(row["error_details"]),
                schema_violations=list(json.loads(row["schema_violations"])),
                requested_at_s=row["requested_at"],
                answered_at_s=row["answered_at"],
            )
            for row in rows
        ]
