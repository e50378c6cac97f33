"""SQLite plumbing shared by the CSMS's stores: JSON columns, row fetching and the schema migrations.

The schema version lives in ``PRAGMA user_version``. A database written before migrations existed has version 0
and the tables of :data:`csms.store.BASE_SCHEMA`; each migration brings it one version up inside one transaction,
so a crash during an upgrade leaves the database at the version it had, never half-way.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from csms.sqlite import Database

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Record = TypeVar("Record", bound="DataclassInstance")


class SchemaTooNew(RuntimeError):
    """The database was written by a newer CSMS; opening it could lose what that version keeps."""


def dumps(value: object) -> str:
    """JSON text for a column: ASCII with escapes, so any string JSON can carry (a lone surrogate too, RFC 8259
    §8.2) is stored losslessly, and never NaN or Infinity (RFC 8259 §6), which would make the API's JSON invalid."""
    return _ENCODER.encode(value)


# json.dumps with these options builds an encoder per call; one built once writes the same text.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def loads_object(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except RecursionError:  # nested deeper than this call stack allows (the writer's was deeper)
        return {"unreadable": "nested too deeply to read back"}
    return value if isinstance(value, dict) else None


def from_row(
    cls: type[Record],
    row: sqlite3.Row,
    *,
    json_columns: Collection[str] = (),
    renamed: Mapping[str, str] | None = None,
    **values: Any,
) -> Record:
    """A dataclass from a row: a field takes the column of its name, or of its name without a unit suffix
    (``received_at_s`` from ``received_at``), or the one ``renamed`` gives it; JSON columns are parsed into
    objects. ``values`` set fields directly; a field the row has no column for keeps its default."""
    columns = set(row.keys())
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        column = (renamed or {}).get(field.name, field.name)
        if column not in columns and column.endswith("_s"):
            column = column[: -len("_s")]
        if column in columns:
            fields[field.name] = (loads_object(row[column]) or {}) if column in json_columns else row[column]
    return cls(**{**fields, **values})


async def fetch_one(db: Database, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
    async with db.execute(sql, params) as cursor:
        row: sqlite3.Row | None = await cursor.fetchone()
    return row


async def fetch_all(db: Database, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    async with db.execute(sql, params) as cursor:
        rows = await cursor.fetchall()
    return [row for row in rows if isinstance(row, sqlite3.Row)]


async def migrate(db: Database, *, base_schema: str, migrations: Sequence[str]) -> int:
    """Bring the database to version ``len(migrations)`` and return it.

    ``base_schema`` (idempotent ``CREATE ... IF NOT EXISTS``) is version 0; ``migrations[n]`` takes version n to
    n + 1. Each runs with its version bump in one transaction (``PRAGMA user_version`` is part of it).
    """
    await db.executescript(base_schema)
    row = await fetch_one(db, "PRAGMA user_version")
    version = 0 if row is None else int(row[0])
    if version > len(migrations):
        raise SchemaTooNew(
            f"the database has schema version {version}, newer than the {len(migrations)} this CSMS knows"
        )
    for number in range(version, len(migrations)):
        try:
            await db.executescript(f"BEGIN;\n{migrations[number]}\nPRAGMA user_version = {number + 1};\nCOMMIT;")
        except BaseException:
            await db.rollback()
            raise
    return len(migrations)
