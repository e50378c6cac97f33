"""What the bundled CSMS keeps of the security whitepaper (edition 3): each station's security profile, the client
certificates it issued from CSRs, the certificates it knows installed on each station, and the security log (the
stations' SecurityEventNotifications and the CSMS's own refusals).

Learned where the CSMS learns it: from the answers of its CALLs (:mod:`csms.security_tracking`), from the stations'
messages (:mod:`csms.security_handlers`) and from the connections it refuses (:mod:`csms.security`). The tables are
schema version 2 (:data:`SCHEMA`, in :data:`csms.store.MIGRATIONS`) of the CSMS's one database, on its connection
and under its write lock, committed before the CSMS answers (the durability of :mod:`csms.store`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from csms.db import fetch_all, fetch_one, from_row
from csms.pki import CertificateHashData
from csms.profile_store import json_view
from csms.sqlite import Database

SCHEMA = """
CREATE TABLE station_security (
    station_id              TEXT PRIMARY KEY,
    security_profile        INTEGER NOT NULL DEFAULT 0,
    profile_changed_at      REAL,
    password_changed_at     REAL,
    max_chain_chars         INTEGER,
    client_certificate      TEXT,
    client_certificate_at   REAL
);
CREATE TABLE security_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id      TEXT,
    source          TEXT NOT NULL,
    type            TEXT NOT NULL,
    timestamp       TEXT,
    tech_info       TEXT,
    received_at     REAL NOT NULL
);
CREATE INDEX security_events_station ON security_events (station_id);
CREATE INDEX security_events_source ON security_events (source);
CREATE TABLE issued_certificates (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id      TEXT NOT NULL,
    serial_number   TEXT NOT NULL,
    subject         TEXT NOT NULL,
    certificate     TEXT NOT NULL,
    expires_at      REAL NOT NULL,
    issued_at       REAL NOT NULL,
    status          TEXT NOT NULL,
    station_answer  TEXT,
    message_id      TEXT,
    answered_at     REAL
);
CREATE INDEX issued_certificates_station ON issued_certificates (station_id);
CREATE INDEX issued_certificates_serial ON issued_certificates (serial_number);
CREATE TABLE installed_certificates (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id          TEXT NOT NULL,
    certificate_type    TEXT NOT NULL,
    hash_algorithm      TEXT NOT NULL,
    issuer_name_hash    TEXT NOT NULL,
    issuer_key_hash     TEXT NOT NULL,
    serial_number       TEXT NOT NULL,
    certificate         TEXT,
    source              TEXT NOT NULL,
    updated_at          REAL NOT NULL
);
CREATE INDEX installed_certificates_station ON installed_certificates (station_id, certificate_type);
"""

# The CSMS's own events (refused connections) are kept up to this many, the oldest dropped first: a flood of bad
# handshakes must not fill the disk. The stations' events are all kept.
MAX_CSMS_EVENTS = 10_000
MAX_EVENTS_LISTED = 1000


@dataclass(frozen=True)
class StationSecurity:
    """``security_profile`` 0-3 (whitepaper §2): the weakest connection the station is admitted on.
    ``max_chain_chars``: its CertificateSignedMaxChainSize, once the CSMS has seen it. ``client_certificate``: the
    serial number (hex) of the client certificate of its last profile-3 connection."""

    station_id: str
    security_profile: int = 0
    profile_changed_at_s: float | None = None
    password_changed_at_s: float | None = None
    max_chain_chars: int | None = None
    client_certificate: str | None = None
    client_certificate_at_s: float | None = None

    def as_json(self) -> dict[str, Any]:
        return json_view(self)


@dataclass(frozen=True)
class SecurityEvent:
    """``source`` is ``station`` (a SecurityEventNotification: ``type`` is the whitepaper's open string[50] list,
    ``timestamp`` the station's) or ``csms`` (a connection the CSMS refused, A00.FR.408; ``station_id`` is None when
    the TLS handshake failed before the station's id was known)."""

    id: int
    station_id: str | None
    source: str
    type: str
    timestamp: str | None
    tech_info: str | None
    received_at_s: float

    def as_json(self) -> dict[str, Any]:
        return json_view(self)


@dataclass(frozen=True)
class IssuedCertificate:
    """A client certificate the CSMS's CA issued from a station's CSR (A02). ``status``: issued (CertificateSigned
    not answered yet), accepted or rejected (the station's answer, TC_074 / TC_077), undelivered (the
    CertificateSigned never got an answer: ``station_answer`` says why)."""

    id: int
    station_id: str
    serial_number: str
    subject: str
    certificate: str
    expires_at_s: float
    issued_at_s: float
    status: str
    station_answer: str | None
    message_id: str | None
    answered_at_s: float | None

    def as_json(self) -> dict[str, Any]:
        return json_view(self)


@dataclass(frozen=True)
class InstalledCertificate:
    """A certificate the CSMS knows on a station: one it installed (``source`` installed, with its PEM and hash data
    over SHA-256) or one the station reported in GetInstalledCertificateIds (``source`` reported, with the hash data
    exactly as the station gave it, the safest to delete by, reference §5.10)."""

    id: int
    station_id: str
    certificate_type: str
    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str
    certificate: str | None
    source: str
    updated_at_s: float

    @property
    def hash_data(self) -> CertificateHashData:
        return CertificateHashData(
            hash_algorithm=self.hash_algorithm,  # type: ignore[arg-type]  # the schema's enum, as stored
            issuer_name_hash=self.issuer_name_hash,
            issuer_key_hash=self.issuer_key_hash,
            serial_number=self.serial_number,
        )

    def as_json(self) -> dict[str, Any]:
        return json_view(self, hidden=("id",), certificate_hash_data=self.hash_data.to_ocpp())


class SecurityStore:
    """The tables above, on the store's connection and under its write lock (:class:`csms.store.Store`)."""

    def __init__(self, db: Database, lock: asyncio.Lock, *, max_csms_events: int = MAX_CSMS_EVENTS) -> None:
        self._db = db
        self._lock = lock
        self._max_csms_events = max_csms_events

    async def _write(self, sql: str, params: Iterable[Any]) -> int | None:
        async with self._lock:
            cursor = await self._db.execute(sql, tuple(params))
            row_id = cursor.lastrowid
            await cursor.close()
            await self._db.commit()
        return row_id

    # -- per station -------------------------------------------------------------------------------------------

    async def station(self, station_id: str) -> StationSecurity:
        row = await fetch_one(self._db, "SELECT * FROM station_security WHERE station_id = ?", (station_id,))
        return StationSecurity(station_id) if row is None else from_row(StationSecurity, row)

    async def _update_station(self, station_id: str, values: Mapping[str, Any]) -> None:
        columns = ", ".join(f"{name} = excluded.{name}" for name in values)
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        await self._write(
            f"INSERT INTO station_security (station_id, {names}) VALUES (?, {marks})"
            f" ON CONFLICT (station_id) DO UPDATE SET {columns}",
            (station_id, *values.values()),
        )

    async def set_profile(self, station_id: str, profile: int, *, now_s: float) -> None:
        await self._update_station(station_id, {"security_profile": profile, "profile_changed_at": now_s})

    async def password_changed(self, station_id: str, *, now_s: float) -> None:
        await self._update_station(station_id, {"password_changed_at": now_s})

    async def set_max_chain_chars(self, station_id: str, size: int) -> None:
        await self._update_station(station_id, {"max_chain_chars": size})

    async def client_certificate_used(self, station_id: str, serial_number: str, *, now_s: float) -> None:
        await self._update_station(station_id, {"client_certificate": serial_number, "client_certificate_at": now_s})

    # -- security log ------------------------------------------------------------------------------------------

    async def add_event(
        self,
        *,
        station_id: str | None,
        source: str,
        event_type: str,
        timestamp: str | None,
        tech_info: str | None,
        now_s: float,
    ) -> None:
        async with self._lock:
            await self._db.execute(
                "INSERT INTO security_events (station_id, source, type, timestamp, tech_info, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (station_id, source, event_type, timestamp, tech_info, now_s),
            )
            if source == "csms":
                await self._db.execute(
                    "DELETE FROM security_events WHERE source = 'csms' AND id <= (SELECT id FROM security_events"
                    " WHERE source = 'csms' ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (self._max_csms_events,),
                )
            await self._db.commit()

    async def events(self, *, station_id: str | None = None, limit: int = MAX_EVENTS_LISTED) -> list[SecurityEvent]:
        """The latest ``limit`` events, oldest first; of one station, or all (the CSMS's own among them)."""
        sql, params = "SELECT * FROM security_events", list[Any]()
        if station_id is not None:
            sql += " WHERE station_id = ?"
            params.append(station_id)
        params.append(limit)
        rows = await fetch_all(self._db, f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT ?) ORDER BY id", params)
        return [from_row(SecurityEvent, row) for row in rows]

    # -- client certificates the CSMS issued (A02, A03) ----------------------------------------------------------

    @staticmethod
    def _issued(row: sqlite3.Row) -> IssuedCertificate:
        return from_row(IssuedCertificate, row)

    async def certificate_issued(
        self, station_id: str, *, serial_number: str, subject: str, certificate: str, expires_at_s: float, now_s: float
    ) -> int:
        row_id = await self._write(
            "INSERT INTO issued_certificates (station_id, serial_number, subject, certificate, expires_at, issued_at,"
            " status) VALUES (?, ?, ?, ?, ?, ?, 'issued')",
            (station_id, serial_number, subject, certificate, expires_at_s, now_s),
        )
        assert row_id is not None
        return row_id

    async def certificate_answered(
        self, station_id: str, serial_number: str, *, status: str, answer: str, message_id: str, now_s: float
    ) -> bool:
        """The station answered the CertificateSigned that carried the certificate; False when the CSMS did not
        issue it (a chain sent through the raw trigger contract)."""
        async with self._lock:
            cursor = await self._db.execute(
                "UPDATE issued_certificates SET status = ?, station_answer = ?, message_id = ?, answered_at = ?"
                " WHERE station_id = ? AND serial_number = ?",
                (status, answer, message_id, now_s, station_id, serial_number),
            )
            found = cursor.rowcount > 0
            await cursor.close()
            await self._db.commit()
        return found

    async def certificate_undelivered(self, certificate_id: int, reason: str, *, now_s: float) -> None:
        await self._write(
            "UPDATE issued_certificates SET status = 'undelivered', station_answer = ?, answered_at = ?"
            " WHERE id = ? AND status = 'issued'",
            (reason, now_s, certificate_id),
        )

    async def issued_certificates(self, station_id: str) -> list[IssuedCertificate]:
        rows = await fetch_all(
            self._db, "SELECT * FROM issued_certificates WHERE station_id = ? ORDER BY id", (station_id,)
        )
        return [self._issued(row) for row in rows]

    async def certificate_owner(self, serial_number: str) -> str | None:
        """The station the CSMS issued the certificate with this serial number to, if it issued one."""
        row = await fetch_one(
            self._db, "SELECT station_id FROM issued_certificates WHERE serial_number = ? LIMIT 1", (serial_number,)
        )
        return None if row is None else str(row["station_id"])

    async def accepted_certificate(self, station_id: str, *, now_s: float) -> IssuedCertificate | None:
        """The newest certificate issued to the station that it accepted and that is still valid: the prerequisite
        of security profile 3 (A05.FR.04)."""
        row = await fetch_one(
            self._db,
            "SELECT * FROM issued_certificates WHERE station_id = ? AND status = 'accepted' AND expires_at > ?"
            " ORDER BY id DESC LIMIT 1",
            (station_id, now_s),
        )
        return None if row is None else self._issued(row)

    # -- certificates installed on stations (M03-M05) -----------------------------------------------------------

    async def installed_certificates(
        self, station_id: str, certificate_type: str | None = None
    ) -> list[InstalledCertificate]:
        sql, params = "SELECT * FROM installed_certificates WHERE station_id = ?", list[Any]([station_id])
        if certificate_type is not None:
            sql += " AND certificate_type = ?"
            params.append(certificate_type)
        rows = await fetch_all(self._db, sql + " ORDER BY certificate_type, id", params)
        return [from_row(InstalledCertificate, row) for row in rows]

    async def replace_installed(
        self,
        station_id: str,
        *,
        removed: Iterable[int],
        added: Iterable[tuple[str, CertificateHashData, str | None, str]],
        now_s: float,
    ) -> None:
        """Remove the rows ``removed`` and add ``(certificate type, hash data, PEM or None, source)`` rows, in one
        transaction: what InstallCertificate, GetInstalledCertificateIds and DeleteCertificate answers teach."""
        async with self._lock:
            await self._db.executemany(
                "DELETE FROM installed_certificates WHERE id = ? AND station_id = ?",
                [(row_id, station_id) for row_id in removed],
            )
            await self._db.executemany(
                "INSERT INTO installed_certificates (station_id, certificate_type, hash_algorithm, issuer_name_hash,"
                " issuer_key_hash, serial_number, certificate, source, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        station_id,
                        certificate_type,
                        data.hash_algorithm,
                        data.issuer_name_hash,
                        data.issuer_key_hash,
                        data.serial_number,
                        pem,
                        source,
                        now_s,
                    )
                    for certificate_type, data, pem, source in added
                ],
            )
            await self._db.commit()
