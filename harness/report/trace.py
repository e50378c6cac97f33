"""The JSONL wire trace of one scenario: every frame exactly as it was on the wire (design §5.3), one JSON
object per line, flushed line by line so a run that is killed still leaves everything up to the kill.

A line is ``{"direction": ">", "at": 1769979212.486, "time": "2026-02-01T20:53:32.486Z", "text": "..."}``:
``direction`` ``>`` sent by the station, ``<`` received from the CSMS, ``*`` connection event; ``at`` POSIX
seconds; ``time`` the same instant in RFC 3339 UTC with milliseconds, for people reading the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import Literal

from harness.results import WireRecord
from ocppj.timefmt import format_time

_DIRECTIONS: dict[str, Literal[">", "<", "*"]] = {">": ">", "<": "<", "*": "*"}


def trace_line(record: WireRecord) -> str:
    """One trace line, without its line break.

    Non-ASCII text stays readable; a text that cannot be encoded as UTF-8 (a lone surrogate) falls back to
    ``\\u`` escapes, which read back to the same string. JSON escapes line breaks, so a frame never spans
    lines.
    """
    fields = {
        "direction": record.direction,
        "at": record.at,
        "time": format_time(record.at),
        "text": record.text,
    }
    line = json.dumps(fields, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(fields, ensure_ascii=True)
    return line


class TraceWriter:
    """Writes one scenario's trace; the file is created (truncated) on construction.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("w", encoding="utf-8", newline="")

    def write(self, record: WireRecord) -> None:
        """Append ``record`` and flush it to the operating system before returning."""
        self._file.write(trace_line(record) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _record(value: object) -> WireRecord:
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    direction = _DIRECTIONS.get(str(value.get("direction")))
    at = value.get("at")
    text = value.get("text")
    if direction is None:
        raise ValueError(f"direction must be one of > < *, not {value.get('direction')!r}")
    if not isinstance(at, int | float) or isinstance(at, bool):
        raise ValueError(f"'at' must be a number, not {at!r}")
    if not isinstance(text, str):
        raise ValueError(f"'text' must be a string, not {text!r}")
    return WireRecord(direction=direction, at=float(at), text=text)


def read_trace(path: Path) -> list[WireRecord]:
    """The records of a trace file, in order.

    A last line without its line break is what a kill in the middle of a write leaves: it is ignored if it
    does not parse. Any other bad line raises ``ValueError`` naming ``path:line``.
    """
    records: list[WireRecord] = []
    with path.open(encoding="utf-8", newline="") as trace:
        lines = trace.read().split("\n")
    last = len(lines) - 1  # the text after the final "\n": "" for a complete file
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(_record(json.loads(line)))
        except ValueError as error:
            if number - 1 == last:
                break
            raise ValueError(f"{path}:{number}: bad trace line: {error}") from error
    return records
