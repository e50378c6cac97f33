"""A short load through Locust: a master and two local worker processes against the bundled CSMS on
127.0.0.1; Locust's merged counts must match what the CSMS recorded."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from harness.session import BundledCsms
from simulator.load import API_TOKEN_ENV

# Not importorskip: importing locust monkey-patches this very process with gevent. `make test` installs it.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("locust") is None, reason="the `load` extra is not installed")

STATIONS = 6


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ocpp_harness(*arguments: str, log: Path, token: str) -> subprocess.Popen[bytes]:
    """The workers find the API token in their environment, as `ocpp-harness load --locust` hands it to them."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "load", *arguments],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, API_TOKEN_ENV: token},
        )


def test_a_master_and_two_workers_merge_their_counts(bundled_csms: BundledCsms, tmp_path: Path) -> None:
    port = str(_free_port())
    master = _ocpp_harness(
        "--locust", "master", "--url", bundled_csms.ws_url, "--stations", str(STATIONS),
        "--ramp", "1", "--duration", "4",
        "--sessions-per-hour", "7200", "--session-s", "1", "--meter-interval-s", "1", "--id-prefix", "LOC-",
        "--", "--headless", "--expect-workers", "2", "--expect-workers-max-wait", "60",
        "--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--csv", str(tmp_path / "locust"),
        log=tmp_path / "master.log", token=bundled_csms.api_token,
    )  # fmt: skip
    workers = [
        _ocpp_harness(
            "--locust",
            "worker",
            "--",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            port,
            log=tmp_path / f"worker{n}.log",
            token=bundled_csms.api_token,
        )  # fmt: skip
        for n in (1, 2)
    ]
    try:
        assert master.wait(timeout=120) == 0, (tmp_path / "master.log").read_text()
        for worker in workers:
            assert worker.wait(timeout=60) == 0
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
    with (tmp_path / "locust_stats.csv").open() as stats:
        rows = {(row["Type"], row["Name"]): row for row in csv.DictReader(stats)}
    counts = {name: int(row["Request Count"]) for (kind, name), row in rows.items() if kind == "OCPP"}
    assert counts["BootNotification"] == STATIONS  # every station booted once, on one worker or the other
    assert int(rows[("", "Aggregated")]["Failure Count"]) == 0
    stations = [s["id"] for s in _get(bundled_csms, "/api/stations")]
    assert len([s for s in stations if s.startswith("LOC-")]) == STATIONS  # provisioned by the workers
    assert counts.get("StartTransaction", 0) == len(_get(bundled_csms, "/api/transactions"))


def _get(csms: BundledCsms, path: str) -> Any:
    request = urllib.request.Request(csms.api_url + path, headers={"Authorization": f"Bearer {csms.api_token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)
