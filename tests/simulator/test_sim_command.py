"""``ocpp-harness sim`` as a person and a script use it, against the bundled CSMS on 127.0.0.1: the console
through a pseudo-terminal, the control API over loopback HTTP, and the clean stop on Ctrl-C (SIGINT)."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from harness.session import BundledCsms

_LIMIT_S = 30.0  # a bound against hanging, not a timing assertion


class Terminal:
    """A process on a pseudo-terminal: what it printed, and a way to type."""

    def __init__(self, *arguments: str) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", *arguments], stdin=slave, stdout=slave, stderr=slave
        )
        os.close(slave)
        self.output = ""

    def read_until(self, pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + _LIMIT_S
        while (match := re.search(pattern, self.output)) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} in:\n{self.output}")
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                with contextlib.suppress(OSError):  # the process ended and the terminal closed
                    self.output += os.read(self.master, 65536).decode("utf-8", "replace")
        return match

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def close(self) -> int:
        try:
            return self.process.wait(timeout=_LIMIT_S)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            os.close(self.master)


def _transactions(csms: BundledCsms) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"{csms.api_url}/api/transactions", headers={"Authorization": f"Bearer {csms.api_token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        result: list[dict[str, Any]] = json.load(response)
    return result


def test_a_person_at_the_console_charges_and_quits_cleanly(bundled_csms: BundledCsms) -> None:
    terminal = Terminal(
        "sim", "--url", bundled_csms.ws_url, "--api-token", bundled_csms.api_token, "--id", "CP_1", "--connectors", "2"
    )
    try:
        terminal.read_until(r"'help' lists the commands")
        terminal.read_until(r"CP_1: StatusNotification -> CALLRESULT.*\n(.*\n)*.*StatusNotification(.*\n)*.*Status")
        terminal.type("plug 2")
        terminal.type("token 2 TAG-1")  # not provisioned: the CSMS answers Invalid
        terminal.read_until(r"Authorize -> CALLRESULT")
        terminal.type("token 2")  # the connector's own token, provisioned by sim
        terminal.read_until(r"StartTransaction -> CALLRESULT")
        terminal.type("status")
        terminal.read_until(r"CP_1: connected, Accepted; 1:Available, 2:Charging tx \d+")
        terminal.type("frobnicate")
        terminal.read_until(r"\? unknown command 'frobnicate'")
        terminal.type("quit")
        terminal.read_until(r"stopped cleanly")
    finally:
        code = terminal.close()
    assert code == 0, terminal.output
    assert [(tx["connector_id"], tx["id_tag"], tx["stop_reason"]) for tx in _transactions(bundled_csms)] == [
        (2, "T0-2", "Local")
    ]


def test_a_script_drives_the_control_api_and_ctrl_c_stops_cleanly(bundled_csms: BundledCsms, tmp_path: Path) -> None:
    terminal = Terminal(
        "sim", "--url", bundled_csms.ws_url, "--api-token", bundled_csms.api_token,
        "--stations", "2", "--id-prefix", "API-", "--control-port", "0",
        "--no-console",
    )  # fmt: skip
    try:
        base = terminal.read_until(r"control API on (http://127\.0\.0\.1:\d+)").group(1)
        terminal.read_until(r"API-00001: StatusNotification")

        def post(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            request = urllib.request.Request(f"{base}{path}", data=json.dumps(body).encode(), method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, json.load(response)
            except urllib.error.HTTPError as error:
                return error.code, json.load(error)

        assert post("/stations/API-00001/act", {"act": "plug", "connector_id": 1})[0] == 200
        code, status = post("/stations/API-00001/act", {"act": "present_token", "connector_id": 1, "id_tag": "T1-1"})
        assert code == 200 and status["connectors"][0]["status"] in ("Preparing", "Charging")
        assert post("/stations/API-00001/act", {"act": "plug", "connector_id": 1})[0] == 400  # already plugged
        assert post("/stations/NOPE/act", {"act": "plug"})[0] == 404
        terminal.read_until(r"API-00001: StartTransaction -> CALLRESULT")
        with urllib.request.urlopen(f"{base}/stations", timeout=10) as response:
            listed = json.load(response)
        assert [s["station_id"] for s in listed] == ["API-00000", "API-00001"]
        assert listed[1]["connectors"][0]["transaction_id"] is not None
        terminal.process.send_signal(signal.SIGINT)  # Ctrl-C
        terminal.read_until(r"stopped cleanly")
    finally:
        code = terminal.close()
    assert code == 0, terminal.output
    assert [tx["stop_reason"] for tx in _transactions(bundled_csms)] == ["Local"]
