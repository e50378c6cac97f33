"""What the bundled CSMS keeps of the five other certified profiles: the local authorization lists it sent, the
reservations it made, the charging profiles it installed and the composite schedules it was given, its firmware
and diagnostics jobs, and the diagnostics files stations uploaded to it.

Everything here is the CSMS's own view, learned from the answers of its CALLs (:mod:`csms.tracking`) and from
what stations report (:mod:`csms.handlers`), so an operator can see what each station was told and has accepted.
The tables live in the CSMS's one SQLite database (schema version 1, :data:`csms.store.MIGRATIONS`) and share its
connection and write lock: every change is one transaction committed before the CSMS answers the station or the
API, the same durability as the rest of the store (WAL, ``synchronous=NORMAL``: a crash of the process loses
nothing that was acknowledged).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re
import sqlite3
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from csms.db import dumps, fetch_all, fetch_one, from_row, loads_object
from csms.sqlite import Database
from ocppj.frames import CallError, CallResult
from ocppj.timefmt import format_time, parse_time

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

JobKind: TypeAlias = Literal["firmware", "diagnostics", "log", "signed_firmware"]

# OCPP 1.6 §4.5 FirmwareStatus and §4.4 DiagnosticsStatus, the security whitepaper's UploadLogStatusEnumType (N01)
# and FirmwareStatusEnumType (L01): the statuses that end a job, and how.
_FINAL_STATUSES: Mapping[JobKind, Mapping[str, str]] = {
    "firmware": {"Installed": "succeeded", "DownloadFailed": "failed", "InstallationFailed": "failed"},
    "diagnostics": {"Uploaded": "succeeded", "UploadFailed": "failed"},
    "log": {
        "Uploaded": "succeeded",
        "UploadFailure": "failed",
        "BadMessage": "failed",
        "NotSupportedOperation": "failed",
        "PermissionDenied": "failed",
    },
    "signed_firmware": {
        "Installed": "succeeded",
        "DownloadFailed": "failed",
        "InstallationFailed": "failed",
        "InstallVerificationFailed": "failed",
        "InvalidSignature": "failed",
    },
}
_OPEN_STATES = frozenset({"requested", "in_progress"})
# The whitepaper's jobs carry a requestId that their notifications repeat (N01, L01); the station names its log
# file in the GetLog answer as GetDiagnostics does in its own.
REQUEST_ID_KINDS: frozenset[JobKind] = frozenset({"log", "signed_firmware"})
_FILE_NAME_FIELDS: Mapping[JobKind, str] = {"diagnostics": "fileName", "log": "filename"}
_UPLOAD_KINDS = ("diagnostics", "log")

TX_PROFILE = "TxProfile"


@dataclass(frozen=True)
class Answered:
    """One CALL of the CSMS and the answer that came back (``message_id`` links it to the exchange log)."""

    station_id: str
    action: str
    request: dict[str, Any]
    answer: CallResult | CallError
    message_id: str
    requested_at_s: float
    answered_at_s: float

    @property
    def result(self) -> dict[str, Any] | None:
        return self.answer.payload if isinstance(self.answer, CallResult) else None

    @property
    def status(self) -> str | None:
        """The ``status`` of a CALLRESULT, None for a CALLERROR or an answer without one."""
        status = (self.result or {}).get("status")
        return status if isinstance(status, str) else None


def safe_file_name(name: str) -> str:
    """The last path segment of ``name`` with every character outside ``A-Za-z0-9._-`` replaced by ``_`` and no
    leading dot: safe to show, to log and to save anywhere ("" when nothing is left)."""
    last = name.replace("\\", "/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._-]", "_", last).lstrip(".")


def _time_or_none(value: float | None) -> str | None:
    return None if value is None else format_time(value)


def json_view(record: DataclassInstance, *, hidden: Collection[str] = (), **values: Any) -> dict[str, Any]:
    """A record as the API shows it: each field under its name, a time (``..._at_s``, POSIX seconds) as an RFC 3339
    date-time under its name without the unit; ``hidden`` fields left out, ``values`` added or put instead."""
    view: dict[str, Any] = {}
    for field in dataclasses.fields(record):
        if field.name in hidden:
            continue
        value = getattr(record, field.name)
        if field.name.endswith("_at_s"):
            view[field.name[: -len("_s")]] = _time_or_none(value)
        else:
            view[field.name] = value
    return {**view, **values}


# -- Local Authorization List (OCPP 1.6 §3.5.2, §5.10, §5.15) -------------------------------------------------


def updated_entries(
    held: Mapping[str, dict[str, Any]], *, update_type: str, items: Iterable[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The list a station holds after an Accepted SendLocalList (§5.15): a Full update replaces it with the
    entries that carry an idTagInfo; a Differential one adds or updates each entry with an idTagInfo and removes
    the tag of each entry without one. Tags compare case-insensitively (IdToken is a CiString20Type)."""
    entries = {} if update_type == "Full" else {tag.casefold(): (tag, info) for tag, info in held.items()}
    for item in items:
        id_tag = item["idTag"]
        info = item.get("idTagInfo")
        if isinstance(info, dict):
            entries[id_tag.casefold()] = (id_tag, info)
        else:
            entries.pop(id_tag.casefold(), None)
    return dict(entries.values())


@dataclass(frozen=True)
class LocalList:
    """``list_version``: the version of the last list the station Accepted (0: none sent, §5.10).
    ``reported_version``: what the station last answered to GetLocalListVersion (-1: not supported)."""

    station_id: str
    list_version: int
    entries: dict[str, dict[str, Any]]
    updated_at_s: float | None = None
    message_id: str | None = None
    last_answer: str | None = None
    last_answer_at_s: float | None = None
    reported_version: int | None = None
    reported_at_s: float | None = None

    @property
    def next_version(self) -> int:
        """A new list carries a version above the one the CSMS holds and the one the station reported."""
        return max(self.list_version, self.reported_version or 0) + 1

    def as_json(self) -> dict[str, Any]:
        entries = [{"id_tag": tag, "id_tag_info": info} for tag, info in sorted(self.entries.items())]
        return json_view(self, entries=entries)


# -- Reservation (OCPP 1.6 §3.9, §5.1, §5.13) -------------------------------------------------------------------


@dataclass(frozen=True)
class Reservation:
    """One ReserveNow the station answered. ``status`` as stored is active, used (a StartTransaction carried its
    id), cancelled (CancelReservation Accepted), replaced (a later Accepted ReserveNow with the same id, §5.13)
    or refused (``station_answer`` says how); an active one past its expiry date is shown expired."""

    row_id: int
    station_id: str
    reservation_id: int
    connector_id: int
    id_tag: str
    parent_id_tag: str | None
    expiry_date: str
    expiry_at_s: float | None
    stored_status: str
    station_answer: str
    message_id: str
    requested_at_s: float
    answered_at_s: float
    ended_at_s: float | None
    transaction_id: int | None

    def status(self, now_s: float) -> str:
        if self.stored_status == "active" and self.expiry_at_s is not None and self.expiry_at_s <= now_s:
            return "expired"
        return self.stored_status

    def as_json(self, now_s: float) -> dict[str, Any]:
        status = self.status(now_s)
        ended_at_s = self.expiry_at_s if status == "expired" else self.ended_at_s
        return json_view(
            self,
            hidden=("row_id", "stored_status", "expiry_at_s", "ended_at_s"),
            status=status,
            ended_at=_time_or_none(ended_at_s),
        )


# -- Smart Charging (OCPP 1.6 §3.13, §5.5, §5.7, §5.16) ---------------------------------------------------------


@dataclass(frozen=True)
class InstalledProfile:
    station_id: str
    connector_id: int
    charging_profile_id: int
    stack_level: int
    purpose: str
    kind: str
    transaction_id: int | None
    profile: dict[str, Any]
    message_id: str
    installed_at_s: float

    def replaced_by(self, *, connector_id: int, profile_id: int, purpose: str, stack_level: int) -> bool:
        """§5.16: a new profile replaces one with the same chargingProfileId, or one with the same stackLevel and
        chargingProfilePurpose on the same connector."""
        if self.charging_profile_id == profile_id:
            return True
        return (self.connector_id, self.purpose, self.stack_level) == (connector_id, purpose, stack_level)

    def cleared_by(self, criteria: Mapping[str, Any]) -> bool:
        """§5.5 ClearChargingProfile: by ``id`` alone when it is given, else by every criterion given
        (connectorId, chargingProfilePurpose, stackLevel); a request without any clears every profile."""
        if "id" in criteria:
            return bool(self.charging_profile_id == criteria["id"])
        own = {"connectorId": self.connector_id, "chargingProfilePurpose": self.purpose, "stackLevel": self.stack_level}
        return all(criteria[key] == value for key, value in own.items() if key in criteria)

    def as_json(self) -> dict[str, Any]:
        return json_view(self)


@dataclass(frozen=True)
class CompositeSchedule:
    """The last GetCompositeSchedule answer for one connector (§5.7, TC_066), whatever its status."""

    station_id: str
    connector_id: int
    request: dict[str, Any]
    answer: dict[str, Any]
    message_id: str
    received_at_s: float

    def as_json(self) -> dict[str, Any]:
        return json_view(self)


# -- Firmware Management (OCPP 1.6 §4.4, §4.5, §5.6, §5.19) -----------------------------------------------------


@dataclass(frozen=True)
class Notification:
    status: str
    received_at_s: float

    def as_json(self) -> dict[str, Any]:
        return json_view(self)


def job_state(
    kind: JobKind, *, statuses: Sequence[str], superseded: bool, nothing_to_upload: bool = False, refused: bool = False
) -> str:
    """requested (no notification yet), in_progress, succeeded or failed (the final status of §4.4/§4.5),
    superseded (a newer request of the same kind reached the station first: it works on one at a time),
    nothing_to_upload (GetDiagnostics answered without a fileName: no diagnostics available, §5.6), or refused
    (GetLog or SignedUpdateFirmware answered other than Accepted or AcceptedCanceled)."""
    if refused:
        return "refused"
    if nothing_to_upload:
        return "nothing_to_upload"
    last = statuses[-1] if statuses else None
    if last is not None and last in _FINAL_STATUSES[kind]:
        return _FINAL_STATUSES[kind][last]
    if superseded:
        return "superseded"
    return "requested" if last is None else "in_progress"


@dataclass(frozen=True)
class Upload:
    """A diagnostics file a station uploaded (PUT or multipart POST under ``/files/diagnostics/``)."""

    id: int
    station_id: str | None
    job_id: int | None
    file_name: str
    size: int
    sha256: str
    content_type: str | None
    received_at_s: float

    def as_json(self) -> dict[str, Any]:
        return json_view(self)


@dataclass(frozen=True)
class TransferJob:
    """An UpdateFirmware or GetDiagnostics the station answered, with every status notification it sent for it
    since, in order, and (diagnostics) the files it uploaded under the name it gave."""

    id: int
    station_id: str
    kind: JobKind
    request: dict[str, Any]
    answer: dict[str, Any]
    file_name: str | None
    message_id: str
    requested_at_s: float
    answered_at_s: float
    superseded_by: int | None
    notifications: tuple[Notification, ...] = ()
    uploads: tuple[Upload, ...] = ()

    @property
    def state(self) -> str:
        return job_state(
            self.kind,
            statuses=[n.status for n in self.notifications],
            superseded=self.superseded_by is not None,
            nothing_to_upload=self.kind == "diagnostics" and not self.file_name,
            refused=job_refused(self.kind, self.answer),
        )

    def as_json(self) -> dict[str, Any]:
        return json_view(
            self,
            state=self.state,
            status=self.notifications[-1].status if self.notifications else None,
            notifications=[n.as_json() for n in self.notifications],
            uploads=[u.as_json() for u in self.uploads],
        )


def job_refused(kind: JobKind, answer: Mapping[str, Any]) -> bool:
    """A GetLog or SignedUpdateFirmware the station refused (Rejected, InvalidCertificate, RevokedCertificate): no
    notification will follow. AcceptedCanceled is accepted: the station cancelled its previous job for this one."""
    return kind in REQUEST_ID_KINDS and answer.get("status") not in ("Accepted", "AcceptedCanceled")


def _parse_time_or_none(text: str) -> float | None:
    try:
        return parse_time(text)
    except ValueError:
        return None


class ProfileStore:
    """The tables above, on the store's connection and under its write lock (:class:`csms.store.Store`)."""

    def __init__(self, db: Database, lock: asyncio.Lock) -> None:
        self._db = db
        self._lock = lock

    async def _allocate(self, name: str, floor_sql: str) -> int:
        """A fresh id, above every one handed out before and every one in use (``floor_sql``), across restarts."""
        async with self._lock:
            floor = await fetch_one(self._db, floor_sql)
            row = await fetch_one(
                self._db,
                "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name)"
                " DO UPDATE SET value = MAX(counters.value + 1, excluded.value) RETURNING value",
                (name, (0 if floor is None or floor[0] is None else int(floor[0])) + 1),
            )
            await self._db.commit()
        assert row is not None
        return int(row[0])

    # -- local authorization list ------------------------------------------------------------------------------

    async def _entries(self, station_id: str) -> dict[str, dict[str, Any]]:
        rows = await fetch_all(
            self._db, "SELECT * FROM local_list_entries WHERE station_id = ? ORDER BY id_tag", (station_id,)
        )
        return {row["id_tag"]: loads_object(row["id_tag_info"]) or {} for row in rows}

    async def local_list(self, station_id: str) -> LocalList:
        row = await fetch_one(self._db, "SELECT * FROM local_lists WHERE station_id = ?", (station_id,))
        entries = await self._entries(station_id)
        if row is None:
            return LocalList(station_id, 0, entries)
        return from_row(LocalList, row, entries=entries)

    async def _ensure_local_list(self, station_id: str) -> None:
        await self._db.execute("INSERT OR IGNORE INTO local_lists (station_id) VALUES (?)", (station_id,))

    async def local_list_answered(self, answered: Answered, status: str) -> None:
        """A SendLocalList answer: an Accepted one changes the list the CSMS holds for the station (§5.15)."""
        station_id, request = answered.station_id, answered.request
        async with self._lock:
            await self._ensure_local_list(station_id)
            await self._db.execute(
                "UPDATE local_lists SET last_answer = ?, last_answer_at = ? WHERE station_id = ?",
                (status, answered.answered_at_s, station_id),
            )
            if status == "Accepted":
                entries = updated_entries(
                    await self._entries(station_id),
                    update_type=request["updateType"],
                    items=request.get("localAuthorizationList", []),
                )
                await self._db.execute("DELETE FROM local_list_entries WHERE station_id = ?", (station_id,))
                await self._db.executemany(
                    "INSERT INTO local_list_entries (station_id, id_tag, id_tag_info) VALUES (?, ?, ?)",
                    [(station_id, tag, dumps(info)) for tag, info in entries.items()],
                )
                await self._db.execute(
                    "UPDATE local_lists SET list_version = ?, updated_at = ?, message_id = ? WHERE station_id = ?",
                    (request["listVersion"], answered.answered_at_s, answered.message_id, station_id),
                )
            await self._db.commit()

    async def list_version_reported(self, answered: Answered, version: int) -> None:
        async with self._lock:
            await self._ensure_local_list(answered.station_id)
            await self._db.execute(
                "UPDATE local_lists SET reported_version = ?, reported_at = ? WHERE station_id = ?",
                (version, answered.answered_at_s, answered.station_id),
            )
            await self._db.commit()

    # -- reservations ------------------------------------------------------------------------------------------

    async def next_reservation_id(self) -> int:
        return await self._allocate("reservation_id", "SELECT MAX(reservation_id) FROM reservations")

    @staticmethod
    def _reservation(row: sqlite3.Row) -> Reservation:
        return from_row(Reservation, row, renamed={"row_id": "id", "stored_status": "status"})

    async def reservations(self, station_id: str) -> list[Reservation]:
        rows = await fetch_all(self._db, "SELECT * FROM reservations WHERE station_id = ? ORDER BY id", (station_id,))
        return [self._reservation(row) for row in rows]

    async def reservation(self, station_id: str, reservation_id: int) -> Reservation | None:
        """The latest ReserveNow the station answered for this id (an Accepted one replaces earlier ones)."""
        row = await fetch_one(
            self._db,
            "SELECT * FROM reservations WHERE station_id = ? AND reservation_id = ? ORDER BY id DESC LIMIT 1",
            (station_id, reservation_id),
        )
        return None if row is None else self._reservation(row)

    async def reservation_answered(self, answered: Answered, station_answer: str) -> None:
        """A ReserveNow answer: Accepted makes the reservation active and replaces an active one with the same
        reservationId (§5.13); any other answer is kept as a refused reservation."""
        accepted = station_answer == "Accepted"
        request, now_s = answered.request, answered.answered_at_s
        async with self._lock:
            if accepted:
                await self._db.execute(
                    "UPDATE reservations SET status = 'replaced', ended_at = ?"
                    " WHERE station_id = ? AND reservation_id = ? AND status = 'active'",
                    (now_s, answered.station_id, request["reservationId"]),
                )
            await self._db.execute(
                "INSERT INTO reservations (station_id, reservation_id, connector_id, id_tag, parent_id_tag,"
                " expiry_date, expiry_at, status, station_answer, message_id, requested_at, answered_at, ended_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    answered.station_id,
                    request["reservationId"],
                    request["connectorId"],
                    request["idTag"],
                    request.get("parentIdTag"),
                    request["expiryDate"],
                    _parse_time_or_none(request["expiryDate"]),
                    "active" if accepted else "refused",
                    station_answer,
                    answered.message_id,
                    answered.requested_at_s,
                    now_s,
                    None if accepted else now_s,
                ),
            )
            await self._db.commit()

    async def reservation_cancelled(self, station_id: str, reservation_id: int, *, now_s: float) -> None:
        """CancelReservation Accepted (§5.1): the station no longer holds the reservation."""
        async with self._lock:
            await self._db.execute(
                "UPDATE reservations SET status = 'cancelled', ended_at = ?"
                " WHERE station_id = ? AND reservation_id = ? AND status = 'active'",
                (now_s, station_id, reservation_id),
            )
            await self._db.commit()

    async def reservation_used(self, station_id: str, reservation_id: int, *, transaction_id: int, now_s: float) -> str:
        """A StartTransaction carried ``reservation_id`` (§5.13, TC_046, TC_053): the active reservation of the
        station with that id is used by the transaction, even past the expiry date by the CSMS's clock (the
        station decided). Returns what became of it for the transaction's record: used, unknown (no reservation
        with that id for the station), or inactive (it was cancelled, used, replaced or refused)."""
        async with self._lock:
            cursor = await self._db.execute(
                "UPDATE reservations SET status = 'used', ended_at = ?, transaction_id = ?"
                " WHERE station_id = ? AND reservation_id = ? AND status = 'active'",
                (now_s, transaction_id, station_id, reservation_id),
            )
            used = cursor.rowcount > 0
            await cursor.close()
            if used:
                outcome = "used"
            else:
                known = await fetch_one(
                    self._db,
                    "SELECT 1 FROM reservations WHERE station_id = ? AND reservation_id = ?",
                    (station_id, reservation_id),
                )
                outcome = "unknown" if known is None else "inactive"
            await self._db.execute(
                "UPDATE transactions SET reservation_outcome = ? WHERE id = ?", (outcome, transaction_id)
            )
            await self._db.commit()
        return outcome

    # -- charging profiles and composite schedules -----------------------------------------------------------

    async def next_charging_profile_id(self) -> int:
        return await self._allocate("charging_profile_id", "SELECT MAX(charging_profile_id) FROM charging_profiles")

    @staticmethod
    def _installed(row: sqlite3.Row) -> InstalledProfile:
        return from_row(InstalledProfile, row, json_columns=("profile",))

    async def charging_profiles(self, station_id: str) -> list[InstalledProfile]:
        rows = await fetch_all(
            self._db,
            "SELECT * FROM charging_profiles WHERE station_id = ? ORDER BY connector_id, purpose, stack_level,"
            " charging_profile_id",
            (station_id,),
        )
        return [self._installed(row) for row in rows]

    async def open_transaction(self, station_id: str, connector_id: int) -> int | None:
        """The transaction a TxProfile for the connector is for: the latest the CSMS has open there."""
        row = await fetch_one(
            self._db,
            "SELECT MAX(id) FROM transactions WHERE station_id = ? AND connector_id = ? AND stopped_at IS NULL",
            (station_id, connector_id),
        )
        return None if row is None or row[0] is None else int(row[0])

    async def charging_profile_installed(self, answered: Answered) -> None:
        """SetChargingProfile Accepted (§5.16). A TxProfile belongs to a transaction: the one it names, else the
        one the CSMS knows open on its connector (§3.13.1)."""
        station_id, request = answered.station_id, answered.request
        connector_id: int = request["connectorId"]
        profile: dict[str, Any] = request["csChargingProfiles"]
        transaction_id = profile.get("transactionId")
        async with self._lock:
            if profile["chargingProfilePurpose"] == TX_PROFILE and transaction_id is None:
                transaction_id = await self.open_transaction(station_id, connector_id)
            await self._install(
                station_id,
                connector_id,
                profile,
                transaction_id=transaction_id,
                message_id=answered.message_id,
                at_s=answered.answered_at_s,
            )
            await self._db.commit()

    async def remote_start_accepted(self, answered: Answered) -> None:
        """RemoteStartTransaction Accepted with a chargingProfile (§5.11): the station applies that TxProfile to
        the transaction it is about to start, so the CSMS holds it as installed once that transaction starts
        (:meth:`remote_start_applied`)."""
        request = answered.request
        if "chargingProfile" not in request:
            return
        async with self._lock:
            await self._db.execute(
                "INSERT INTO remote_start_profiles (station_id, connector_id, id_tag, profile, message_id,"
                " answered_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    answered.station_id,
                    request.get("connectorId"),
                    request["idTag"],
                    dumps(request["chargingProfile"]),
                    answered.message_id,
                    answered.answered_at_s,
                ),
            )
            await self._db.commit()

    async def remote_start_applied(self, station_id: str, connector_id: int, id_tag: str, transaction_id: int) -> bool:
        """A StartTransaction for the idTag of an accepted remote start with a profile (on its connector, if it
        named one): the latest such profile is installed for that transaction (§5.11, §3.13.1); a later remote
        start with the same idTag replaces an earlier one that started nothing. Whether one was applied."""
        async with self._lock:
            row = await fetch_one(
                self._db,
                "SELECT id, profile, message_id, answered_at FROM remote_start_profiles WHERE station_id = ?"
                " AND id_tag = ? AND transaction_id IS NULL AND (connector_id IS NULL OR connector_id = ?)"
                " ORDER BY id DESC LIMIT 1",
                (station_id, id_tag, connector_id),
            )
            profile = None if row is None else loads_object(row["profile"])
            if row is None or profile is None:
                return False
            await self._db.execute(
                "UPDATE remote_start_profiles SET transaction_id = ? WHERE station_id = ? AND id_tag = ?"
                " AND transaction_id IS NULL AND id <= ?",
                (transaction_id, station_id, id_tag, row["id"]),
            )
            await self._install(
                station_id,
                connector_id,
                profile,
                transaction_id=transaction_id,
                message_id=row["message_id"],
                at_s=row["answered_at"],
            )
            await self._db.commit()
        return True

    async def _install(
        self,
        station_id: str,
        connector_id: int,
        profile: dict[str, Any],
        *,
        transaction_id: int | None,
        message_id: str,
        at_s: float,
    ) -> None:
        """One profile installed on ``connector_id``, replacing what it replaces (§3.13.2); the caller commits."""
        purpose: str = profile["chargingProfilePurpose"]
        replaced = [
            p.charging_profile_id
            for p in map(
                self._installed,
                await fetch_all(self._db, "SELECT * FROM charging_profiles WHERE station_id = ?", (station_id,)),
            )
            if p.replaced_by(
                connector_id=connector_id,
                profile_id=profile["chargingProfileId"],
                purpose=purpose,
                stack_level=profile["stackLevel"],
            )
        ]
        await self._db.executemany(
            "DELETE FROM charging_profiles WHERE station_id = ? AND charging_profile_id = ?",
            [(station_id, profile_id) for profile_id in replaced],
        )
        await self._db.execute(
            "INSERT INTO charging_profiles (station_id, charging_profile_id, connector_id, purpose, stack_level,"
            " kind, transaction_id, profile, message_id, installed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                station_id,
                profile["chargingProfileId"],
                connector_id,
                purpose,
                profile["stackLevel"],
                profile["chargingProfileKind"],
                transaction_id,
                dumps(profile),
                message_id,
                at_s,
            ),
        )

    async def charging_profiles_cleared(self, station_id: str, criteria: Mapping[str, Any]) -> int:
        """ClearChargingProfile Accepted (§5.5); returns how many profiles the CSMS no longer holds."""
        async with self._lock:
            rows = await fetch_all(self._db, "SELECT * FROM charging_profiles WHERE station_id = ?", (station_id,))
            cleared = [p.charging_profile_id for p in map(self._installed, rows) if p.cleared_by(criteria)]
            await self._db.executemany(
                "DELETE FROM charging_profiles WHERE station_id = ? AND charging_profile_id = ?",
                [(station_id, profile_id) for profile_id in cleared],
            )
            await self._db.commit()
        return len(cleared)

    async def transaction_ended(self, station_id: str, transaction_id: int) -> None:
        """§3.13.1: a TxProfile applies to its transaction only and ends with it."""
        async with self._lock:
            await self._db.execute(
                "DELETE FROM charging_profiles WHERE station_id = ? AND purpose = ? AND transaction_id = ?",
                (station_id, TX_PROFILE, transaction_id),
            )
            await self._db.commit()

    async def composite_schedule_answered(self, answered: Answered, result: dict[str, Any]) -> None:
        async with self._lock:
            await self._db.execute(
                "INSERT INTO composite_schedules (station_id, connector_id, request, answer, message_id, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (station_id, connector_id) DO UPDATE SET"
                " request = excluded.request, answer = excluded.answer, message_id = excluded.message_id,"
                " received_at = excluded.received_at",
                (
                    answered.station_id,
                    answered.request["connectorId"],
                    dumps(answered.request),
                    dumps(result),
                    answered.message_id,
                    answered.answered_at_s,
                ),
            )
            await self._db.commit()

    async def composite_schedules(self, station_id: str) -> list[CompositeSchedule]:
        rows = await fetch_all(
            self._db, "SELECT * FROM composite_schedules WHERE station_id = ? ORDER BY connector_id", (station_id,)
        )
        return [from_row(CompositeSchedule, row, json_columns=("request", "answer")) for row in rows]

    # -- firmware and diagnostics jobs -------------------------------------------------------------------------

    async def _open_job(self, station_id: str, kind: JobKind) -> int | None:
        """The station's latest job of ``kind`` that has not ended: the one its notifications are about."""
        jobs = await self._jobs(station_id, kind, with_uploads=False)
        return jobs[-1].id if jobs and jobs[-1].state in _OPEN_STATES else None

    async def next_request_id(self) -> int:
        """A fresh requestId for GetLog and SignedUpdateFirmware (N01, L01), above every one the CSMS sent."""
        kinds = ", ".join(f"'{kind}'" for kind in sorted(REQUEST_ID_KINDS))
        return await self._allocate(
            "request_id",
            "SELECT MAX(CAST(json_extract(request, '$.requestId') AS INTEGER)) FROM transfer_jobs"
            f" WHERE kind IN ({kinds})",
        )

    async def job_answered(self, answered: Answered, kind: JobKind, result: dict[str, Any]) -> int:
        """An UpdateFirmware, GetDiagnostics, GetLog or SignedUpdateFirmware the station answered becomes a job; an
        unfinished earlier job of the same kind is superseded (a station works on one firmware update, one upload,
        at a time), unless the station refused the new one."""
        field = _FILE_NAME_FIELDS.get(kind)
        file_name = None if field is None else result.get(field)
        async with self._lock:
            previous = None if job_refused(kind, result) else await self._open_job(answered.station_id, kind)
            cursor = await self._db.execute(
                "INSERT INTO transfer_jobs (station_id, kind, request, answer, file_name, message_id, requested_at,"
                " answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    answered.station_id,
                    kind,
                    dumps(answered.request),
                    dumps(result),
                    file_name,
                    answered.message_id,
                    answered.requested_at_s,
                    answered.answered_at_s,
                ),
            )
            job_id = cursor.lastrowid
            await cursor.close()
            assert job_id is not None
            if previous is not None:
                await self._db.execute("UPDATE transfer_jobs SET superseded_by = ? WHERE id = ?", (job_id, previous))
            if file_name is not None:
                # The upload and the answer naming its file travel apart (HTTP and the websocket): an upload of
                # that file taken since the request was sent, before this answer was recorded, is this job's.
                await self._db.execute(
                    "UPDATE diagnostics_uploads SET job_id = ?, station_id = ? WHERE job_id IS NULL"
                    " AND file_name = ? AND received_at >= ?",
                    (job_id, answered.station_id, file_name, answered.requested_at_s),
                )
            await self._db.commit()
        return job_id

    async def status_notified(
        self, station_id: str, kind: JobKind, status: str, *, now_s: float, request_id: int | None = None
    ) -> int | None:
        """A FirmwareStatusNotification / DiagnosticsStatusNotification, kept in order with the job it is about
        (None: the station had no unfinished job, e.g. Idle after a TriggerMessage, TC_054). A LogStatusNotification
        / SignedFirmwareStatusNotification names its job by requestId, which it may leave out only for Idle."""
        async with self._lock:
            if kind in REQUEST_ID_KINDS:
                job_id = None if request_id is None else await self._job_of_request(station_id, kind, request_id)
            else:
                job_id = await self._open_job(station_id, kind)
            await self._db.execute(
                "INSERT INTO transfer_notifications (station_id, kind, job_id, status, received_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (station_id, kind, job_id, status, now_s),
            )
            await self._db.commit()
        return job_id

    async def _job_of_request(self, station_id: str, kind: JobKind, request_id: int) -> int | None:
        row = await fetch_one(
            self._db,
            "SELECT MAX(id) FROM transfer_jobs WHERE station_id = ? AND kind = ?"
            " AND json_extract(request, '$.requestId') = ?",
            (station_id, kind, request_id),
        )
        return None if row is None or row[0] is None else int(row[0])

    async def _jobs(
        self, station_id: str, kind: JobKind | None, *, with_uploads: bool, message_id: str | None = None
    ) -> list[TransferJob]:
        sql, params = "SELECT * FROM transfer_jobs WHERE station_id = ?", [station_id]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        if message_id is not None:
            sql += " AND message_id = ?"
            params.append(message_id)
        rows = await fetch_all(self._db, sql + " ORDER BY id", params)
        notifications: dict[int, list[Notification]] = {}
        for note in await fetch_all(
            self._db,
            "SELECT job_id, status, received_at FROM transfer_notifications WHERE station_id = ?"
            " AND job_id IS NOT NULL ORDER BY id",
            (station_id,),
        ):
            notifications.setdefault(note["job_id"], []).append(from_row(Notification, note))
        uploads: dict[int, list[Upload]] = {}
        if with_uploads:
            for upload in await self.uploads(station_id=station_id):
                if upload.job_id is not None:
                    uploads.setdefault(upload.job_id, []).append(upload)
        return [
            from_row(
                TransferJob,
                row,
                json_columns=("request", "answer"),
                notifications=tuple(notifications.get(row["id"], ())),
                uploads=tuple(uploads.get(row["id"], ())),
            )
            for row in rows
        ]

    async def jobs(self, station_id: str, kind: JobKind) -> list[TransferJob]:
        return await self._jobs(station_id, kind, with_uploads=True)

    async def job_for_message(self, station_id: str, message_id: str) -> TransferJob | None:
        jobs = await self._jobs(station_id, None, with_uploads=True, message_id=message_id)
        return jobs[0] if jobs else None

    async def notifications_outside_jobs(self, station_id: str, kind: JobKind) -> list[Notification]:
        rows = await fetch_all(
            self._db,
            "SELECT status, received_at FROM transfer_notifications WHERE station_id = ? AND kind = ?"
            " AND job_id IS NULL ORDER BY id",
            (station_id, kind),
        )
        return [from_row(Notification, row) for row in rows]

    # -- diagnostics uploads -----------------------------------------------------------------------------------

    async def add_upload(self, *, file_name: str, content: bytes, content_type: str | None, now_s: float) -> Upload:
        """Keep an uploaded file. Its station and job: the latest diagnostics or log job whose GetDiagnostics or
        GetLog answer named this file, else the provisioned station whose id starts the name
        (``CP_1-diagnostics-...``) and the job whose answer, recorded later, names it (:meth:`job_answered`)."""
        sha256 = hashlib.sha256(content).hexdigest()
        async with self._lock:
            job = await fetch_one(
                self._db,
                "SELECT id, station_id FROM transfer_jobs WHERE kind IN (?, ?) AND file_name = ?"
                " ORDER BY id DESC LIMIT 1",
                (*_UPLOAD_KINDS, file_name),
            )
            if job is not None:
                station_id, job_id = job["station_id"], job["id"]
            else:
                station_id, job_id = await self._station_named_by(file_name), None
            cursor = await self._db.execute(
                "INSERT INTO diagnostics_uploads (station_id, job_id, file_name, size, sha256, content_type,"
                " received_at, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (station_id, job_id, file_name, len(content), sha256, content_type, now_s, content),
            )
            upload_id = cursor.lastrowid
            await cursor.close()
            await self._db.commit()
        assert upload_id is not None
        return Upload(upload_id, station_id, job_id, file_name, len(content), sha256, content_type, now_s)

    async def _station_named_by(self, file_name: str) -> str | None:
        """As the station would name it: its id made file-safe, then ``-`` or ``.``; the longest id wins."""
        named = []
        for row in await fetch_all(self._db, "SELECT id FROM stations"):
            prefix = safe_file_name(row["id"])
            if prefix and file_name.startswith(prefix) and file_name[len(prefix) : len(prefix) + 1] in ("-", "."):
                named.append((len(prefix), row["id"]))
        return max(named)[1] if named else None

    async def uploads(self, *, station_id: str | None = None) -> list[Upload]:
        sql = (
            "SELECT id, station_id, job_id, file_name, size, sha256, content_type, received_at FROM diagnostics_uploads"
        )
        params: tuple[Any, ...] = ()
        if station_id is not None:
            sql += " WHERE station_id = ?"
            params = (station_id,)
        return [self._upload(row) for row in await fetch_all(self._db, sql + " ORDER BY id", params)]

    async def upload_content(self, upload_id: int) -> tuple[Upload, bytes] | None:
        row = await fetch_one(self._db, "SELECT * FROM diagnostics_uploads WHERE id = ?", (upload_id,))
        return None if row is None else (self._upload(row), bytes(row["content"]))

    @staticmethod
    def _upload(row: sqlite3.Row) -> Upload:
        return from_row(Upload, row)
