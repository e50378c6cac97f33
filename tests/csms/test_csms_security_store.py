"""The security log's own limit: the CSMS's refusals are capped (a flood of bad handshakes must not fill the disk),
the stations' events are all kept."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from csms.db import migrate
from csms.security_store import SecurityStore
from csms.sqlite import Database
from csms.store import BASE_SCHEMA, MIGRATIONS


async def test_the_csms_s_own_events_are_capped_and_the_stations_kept(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "s.sqlite3") as db:
        await migrate(db, base_schema=BASE_SCHEMA, migrations=MIGRATIONS)
        db.row_factory = sqlite3.Row
        store = SecurityStore(db, asyncio.Lock(), max_csms_events=3)
        for number in range(5):
            for source in ("csms", "station"):
                await store.add_event(
                    station_id="CP_1",
                    source=source,
                    event_type=f"{source}-{number}",
                    timestamp=None,
                    tech_info=None,
                    now_s=float(number),
                )
        kept = [event.type for event in await store.events()]
    assert kept == [f"station-{n}" for n in range(2)] + [t for n in range(2, 5) for t in (f"csms-{n}", f"station-{n}")]
