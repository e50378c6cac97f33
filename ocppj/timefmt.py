"""Date-times as OCPP 1.6 sends them: RFC 3339, UTC, with ``Z`` (OCPP 1.6 §3.3)."""

from __future__ import annotations

from datetime import UTC, datetime


def format_time(epoch_s: float) -> str:
    """``2026-02-01T20:53:32.486Z`` for a POSIX time in seconds (millisecond precision)."""
    # isoformat truncates to milliseconds as microsecond // 1000 does; its offset is "+00:00" (UTC).
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_time(text: str) -> float:
    """POSIX seconds for an RFC 3339 date-time; a value without an offset is rejected with ValueError."""
    moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"date-time without a time zone: {text!r}")
    return moment.timestamp()
