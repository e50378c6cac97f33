"""The command line as users meet it: exit codes and one-line errors for bad input, and a run against a CSMS
started on its own with ``ocpp-harness csms``."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from harness.cli import main
from harness.scenario.loader import load_scenarios

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "harness.cli"]


def write_target(path: Path, ws_url: str, api_url: str | None = None, **extra: object) -> Path:
    document = {
        "name": "test target",
        "endpoints": {"profile_0": {"ws_url": ws_url, "api_url": api_url or "http://127.0.0.1:1"}},
        "stations": {"default": {"id": "CP_1"}},
        "tokens": {"central": {"valid": "OCA_TOKEN_1", "blocked": "BLOCKED", "expired": "EXPIRED"}},
        **extra,
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_validate_accepts_the_shipped_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(ROOT / "scenarios")]) == 0
    assert capsys.readouterr().out.strip() == "ok"


def test_validate_reports_every_mistake_with_its_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "scenarios" / "TC_X_CSMS.yaml"
    bad.parent.mkdir()
    bad.write_text(
        "id: TC_X_CSMS\ntitle: x\nprofile: Core\ntimout: 3\nsteps:\n  - exchange: Authorise\n", encoding="utf-8"
    )
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{bad}:4:1: unknown key 'timout'; did you mean 'timeout_s'?",
        f"{bad}:6:15: unknown OCPP 1.6 action 'Authorise'; did you mean 'Authorize'?",
    ]


def test_run_refuses_a_malformed_scenario_before_any_socket(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "scenarios" / "TC_X_CSMS.yaml"
    bad.parent.mkdir()
    bad.write_text("id: TC_X_CSMS\ntitle: x\nprofile: Core\nsteps: [{wait: soon}]\n", encoding="utf-8")
    target = write_target(tmp_path / "t.yaml", f"ws://127.0.0.1:{free_port()}/ocpp")
    assert main(["run", "--target", str(target), str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{bad}:4:")
    assert err[-1] == "error: 1 problem(s) in scenario files; nothing was run"


def test_run_names_an_unknown_target_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "t.yaml"
    target.write_text(
        "endpoints: {profile_0: {ws_url: 'ws://127.0.0.1:9/ocpp'}}\nstations: {default: {id: CP_1, conector: 2}}\n"
        "tokens: {central: {valid: A}}\n",
        encoding="utf-8",
    )
    assert main(["run", "--target", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: {target}: stations.default: unknown key 'conector'; did you mean 'connector'? "
        "(allowed: id, security_profile, basic_auth_password, connectors, connector, vendor, model, optional_fields, "
        "client_certificate, client_key)"
    ]


def test_run_with_an_unset_environment_variable_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.environ.pop("OCPP_HARNESS_TEST_UNSET", None)
    target = write_target(tmp_path / "t.yaml", "${OCPP_HARNESS_TEST_UNSET}")
    assert main(["run", "--target", str(target)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {target}: endpoints.profile_0.ws_url: environment variable OCPP_HARNESS_TEST_UNSET is not set"
    )


def test_run_against_an_unreachable_csms_is_one_line_and_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    target = write_target(tmp_path / "t.yaml", f"ws://127.0.0.1:{port}/ocpp", timeouts={"connect_s": 1})
    assert main(["run", "--target", str(target), "-k", "TC_001", "--out", str(tmp_path / "r")]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"error: cannot reach the CSMS at ws://127.0.0.1:{port}/ocpp (station 'default'):")


@pytest.fixture
def silent_csms() -> Iterator[str]:
    """A websocket server that accepts ocpp1.6 and never answers anything."""
    ready = threading.Event()
    stop: dict[str, asyncio.AbstractEventLoop | asyncio.Future[None]] = {}
    port: list[int] = []

    async def swallow(ws: ServerConnection) -> None:
        async for _ in ws:
            pass

    async def main_loop() -> None:
        async with serve(swallow, "127.0.0.1", 0, subprotocols=[Subprotocol("ocpp1.6")]) as server:
            port.append(next(iter(server.sockets)).getsockname()[1])
            stop["loop"] = asyncio.get_running_loop()
            future: asyncio.Future[None] = stop["loop"].create_future()
            stop["future"] = future
            ready.set()
            await future

    thread = threading.Thread(target=lambda: asyncio.run(main_loop()), daemon=True)
    thread.start()
    ready.wait(10)
    yield f"ws://127.0.0.1:{port[0]}/ocpp"
    loop, future = stop["loop"], stop["future"]
    assert isinstance(loop, asyncio.AbstractEventLoop) and isinstance(future, asyncio.Future)
    loop.call_soon_threadsafe(future.set_result, None)
    thread.join(10)


def test_run_against_a_csms_that_never_answers_fails_the_case(
    tmp_path: Path, silent_csms: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = write_target(tmp_path / "t.yaml", silent_csms, timeouts={"response_s": 1})
    assert main(["run", "--target", str(target), "-k", "TC_001", "--out", str(tmp_path / "r")]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^FAIL +TC_001_CSMS ", out, re.M)
    summary = json.loads((tmp_path / "r" / "latest" / "summary.json").read_text(encoding="utf-8"))
    (result,) = summary["results"]
    assert result["message"] == "the CSMS did not answer BootNotification within 1 s"
    assert result["failed_step"].startswith("step 1 (exchange BootNotification, from state 'booted')")


def test_run_against_a_separately_started_bundled_csms(tmp_path: Path) -> None:
    """The operator gives the CSMS and the harness the same API token through OCPP_HARNESS_CSMS_TOKEN."""
    env = {**os.environ, "OCPP_HARNESS_CSMS_TOKEN": "cli-test-token-6b1f0c2e"}
    server = subprocess.Popen(
        [*CLI, "csms", "--host", "127.0.0.1", "--port", "0", "--db", str(tmp_path / "csms.sqlite3")],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        found = re.match(r"CSMS listening on (ws://\S+) \(API (http://\S+)\)", line)
        assert found, line
        target = write_target(
            tmp_path / "t.yaml",
            found.group(1),
            found.group(2),
            driver={"kind": "http", "preset": "bundled", "auth": {"bearer": "${OCPP_HARNESS_CSMS_TOKEN}"}},
            provision=True,
        )
        assert server.stdout.readline() == "API token: the one given in OCPP_HARNESS_CSMS_TOKEN\n"
        run = subprocess.run(
            [*CLI, "run", "--target", str(target), "-k", "TC_012", "-k", "TC_023_3", "--out", str(tmp_path / "r")],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        summary = json.loads((tmp_path / "r" / "latest" / "summary.json").read_text(encoding="utf-8"))
        assert {r["id"]: r["verdict"] for r in summary["results"]} == {
            "TC_012_CSMS": "PASS",
            "TC_023_3_CSMS[central]": "PASS",
        }
    finally:
        server.terminate()
        server.wait(10)


def test_shuffled_depends_on_the_seed_only() -> None:
    from harness.session import Case, shuffled

    cases = [Case(scenario) for scenario in load_scenarios([ROOT / "scenarios" / "core"])[0]]
    assert shuffled(cases, 1) == shuffled(cases, 1)
    assert sorted(c.id for c in shuffled(cases, 1)) == sorted(c.id for c in cases)
    assert shuffled(cases, 1) != cases and shuffled(cases, 1) != shuffled(cases, 2)
