from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.report.trace import TraceWriter, read_trace
from harness.results import WireRecord

RECORDS = [
    WireRecord("*", 1769979212.0, "connected to ws://127.0.0.1:9000/ocpp/CP1 (subprotocol ocpp1.6)"),
    WireRecord(">", 1769979212.486, '[2,"1","BootNotification",{"chargePointVendor":"Ünï","chargePointModel":"M"}]'),
    WireRecord(
        "<",
        1769979212.5125,
        '[3,"1",{"status":"Accepted","currentTime":"2026-02-01T20:53:32Z","interval":300}]',
    ),
    WireRecord(">", 1769979213.0, 'raw\r\nframe with \u2028 separator and "quotes"'),
]


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "traces" / "TC_001_CSMS.jsonl"
    with TraceWriter(path) as trace:
        for record in RECORDS:
            trace.write(record)
    assert trace.closed
    assert read_trace(path) == RECORDS


def test_line_format(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with TraceWriter(path) as trace:
        trace.write(RECORDS[1])
    line = path.read_text(encoding="utf-8")
    assert line.endswith("}\n") and line.count("\n") == 1
    assert list(json.loads(line).items()) == [
        ("direction", ">"),
        ("at", 1769979212.486),
        ("time", "2026-02-01T20:53:32.486Z"),
        ("text", RECORDS[1].text),
    ]
    assert "Ünï" in line  # readable, not \u escaped


def test_each_line_is_flushed_before_close(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    trace = TraceWriter(path)
    try:
        assert path.read_text(encoding="utf-8") == ""
        trace.write(RECORDS[0])
        assert read_trace(path) == RECORDS[:1]
        trace.write(RECORDS[1])
        assert read_trace(path) == RECORDS[:2]
        assert not trace.closed
    finally:
        trace.close()


def test_a_new_writer_truncates(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with TraceWriter(path) as trace:
        trace.write(RECORDS[0])
    with TraceWriter(path) as trace:
        trace.write(RECORDS[1])
    assert read_trace(path) == [RECORDS[1]]


def test_lone_surrogate_round_trips(tmp_path: Path) -> None:
    record = WireRecord(">", 1.0, "bad \ud800 text")
    path = tmp_path / "t.jsonl"
    with TraceWriter(path) as trace:
        trace.write(record)
    assert read_trace(path) == [record]
    path.read_text(encoding="utf-8")  # still valid UTF-8


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with TraceWriter(path) as trace:
        trace.write(RECORDS[0])
    with path.open("a", encoding="utf-8") as file:
        file.write('{"direction": ">", "at": 1.0, "te')
    assert read_trace(path) == RECORDS[:1]


def test_bad_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"direction": "?", "at": 1.0, "text": ""}\n{}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"t\.jsonl:1: bad trace line: direction must be one of"):
        read_trace(path)
