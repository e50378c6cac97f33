"""Nothing lost across SIGKILLs of the bundled CSMS (tests/crash/crash_kit.py): a bounded run here; the full one
is ``bench/kill_csms.py`` (150 stations)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.crash.crash_kit import Figures, Session, compare, run


def test_sigkill_at_random_moments_loses_nothing_and_invents_nothing(tmp_path: Path) -> None:
    figures = asyncio.run(run(tmp_path, stations=6, sessions=5, kills=4, seed=7))
    assert figures.kills == 4
    assert (figures.lost, figures.reused, figures.phantom) == ([], [], []), figures.summary()


def test_the_comparison_finds_a_lost_stop_a_reused_id_and_a_phantom(tmp_path: Path) -> None:
    """The comparison itself can fail: a database that lost a stop, gave one id to two sessions, and kept a
    resent start as a second transaction."""
    import sqlite3

    db_path = tmp_path / "broken.sqlite3"
    db = sqlite3.connect(db_path)
    db.executescript(
        "CREATE TABLE transactions (id INTEGER PRIMARY KEY, station_id TEXT, connector_id INTEGER, started_at TEXT,"
        " meter_start INTEGER, meter_stop INTEGER);"
        "CREATE TABLE transaction_duplicates (id INTEGER PRIMARY KEY);"
        "INSERT INTO transactions VALUES (1, 'S', 1, 't1', 0, NULL), (2, 'S', 1, 't2', 0, 9), (3, 'S', 1, 't2', 0, 9);"
    )
    db.commit()
    db.close()
    sessions = [
        Session("S", 1, "t1", 0, 500, transaction_id=1, stopped=True),  # stop acknowledged, not kept
        Session("S", 1, "t2", 0, 9, transaction_id=2, stopped=True),  # kept twice (2 and 3)
        Session("S", 1, "t3", 0, 9, transaction_id=2, stopped=True),  # given the id of another session
    ]
    figures = Figures()
    compare(db_path, sessions, figures)
    assert figures.lost == ["S/1/t1: acknowledged stop kept meterStop None", "S/1/t3: acknowledged start 2 not kept"]
    assert figures.reused == ["transactionId 2: S/1/t2 and S/1/t3"]
    assert figures.phantom == ["S/1/t2: kept as 2 transactions", "S/1/t3: kept as 0 transactions"]
