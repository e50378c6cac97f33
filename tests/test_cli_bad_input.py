"""Bad input to the tools themselves: a truncated target file, a scenario that uses a state that does not exist,
a CSMS that refuses connections, one that accepts the socket and never answers, one that answers what is not
HTTP, one whose websocket answers garbage. Each gets one clear error line and its exit code (2 bad input, 3 the
CSMS cannot be reached, 1 a case failed), and nothing waits past the target's timeouts (the subprocess bound is
only a hang guard)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
import yaml
from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "harness.cli"]
HANG_GUARD_S = 120

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=HANG_GUARD_S, cwd=ROOT)


def target(path: Path, ws_url: str) -> Path:
    document = {
        "endpoints": {"profile_0": {"ws_url": ws_url, "api_url": "http://127.0.0.1:1"}},
        "stations": {"default": {"id": "CP_1"}},
        "tokens": {"central": {"valid": "A", "blocked": "B", "expired": "E"}},
        "timeouts": {"connect_s": 1, "response_s": 1, "step_s": 2, "cleanup_s": 2},
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def serving(server: Callable[[], AbstractAsyncContextManager[int]]) -> Iterator[str]:
    """``server`` (an async context that yields its loopback port) run in a thread for as long as the test runs;
    yields its ws:// URL."""
    ready = threading.Event()
    state: dict[str, object] = {}

    async def main() -> None:
        async with server() as port:
            state["port"] = port
            state["loop"] = asyncio.get_running_loop()
            stop = asyncio.get_running_loop().create_future()
            state["stop"] = stop
            ready.set()
            await stop

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    ready.wait(10)
    yield f"ws://127.0.0.1:{state['port']}/ocpp"
    loop, stop = state["loop"], state["stop"]
    assert isinstance(loop, asyncio.AbstractEventLoop) and isinstance(stop, asyncio.Future)
    loop.call_soon_threadsafe(stop.set_result, None)
    thread.join(10)


def tcp(handler: Handler) -> Callable[[], AbstractAsyncContextManager[int]]:
    @contextlib.asynccontextmanager
    async def server() -> AsyncIterator[int]:
        listening = await asyncio.start_server(handler, "127.0.0.1", 0)
        async with listening:
            yield int(listening.sockets[0].getsockname()[1])

    return server


@pytest.fixture
def silent() -> Iterator[str]:
    async def never(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up

    yield from serving(tcp(never))


@pytest.fixture
def not_http() -> Iterator[str]:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"\x00\xff\x13garbage\r\n\r\n")
        await writer.drain()
        await reader.read()

    yield from serving(tcp(garbage))


def test_a_truncated_target_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    whole = (ROOT / "targets" / "example.yaml").read_text(encoding="utf-8")
    for cut, needle in ((whole.index("tokens:"), "missing required key 'tokens'"), (len(whole) // 2, "not valid YAML")):
        path = tmp_path / f"cut-{cut}.yaml"
        path.write_text(whole[:cut] + ("" if "missing" in needle else "\n  bad: [unclosed\n"), encoding="utf-8")
        run = cli("run", "--target", str(path), "--out", str(tmp_path / "r"))
        assert run.returncode == 2, run.stdout + run.stderr
        [line] = run.stderr.strip().splitlines()
        assert line.startswith(f"error: {path}") and needle in line, line


def test_a_scenario_that_uses_a_missing_state_is_refused_before_any_socket(tmp_path: Path) -> None:
    scenario = tmp_path / "scenarios" / "TC_Y_CSMS.yaml"
    scenario.parent.mkdir()
    scenario.write_text("id: TC_Y_CSMS\ntitle: y\nprofile: Core\nsteps:\n  - use: no_such_state\n", encoding="utf-8")
    run = cli("run", str(scenario), "--out", str(tmp_path / "r"))
    assert run.returncode == 2
    first, last = run.stderr.strip().splitlines()
    assert first.startswith(f"{scenario}:5:10: unknown state 'no_such_state'") and "known states: " in first
    assert last == "error: 1 problem(s) in scenario files; nothing was run"


def test_a_csms_that_refuses_connections_is_exit_3(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        run = cli("run", "--target", str(target(tmp_path / "t.yaml", f"ws://127.0.0.1:{port}/ocpp")), "-k", "TC_001")
    assert run.returncode == 3
    [line] = run.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot reach the CSMS at ws://127.0.0.1:{port}/ocpp (station 'default'):")


@pytest.mark.parametrize(
    ("server", "reason"),
    [
        ("silent", "it accepted the connection but sent no HTTP answer within 1 s"),
        ("not_http", "it answered something that is not HTTP"),
    ],
)
def test_a_csms_that_never_answers_or_answers_garbage_is_exit_3(
    tmp_path: Path, request: pytest.FixtureRequest, server: str, reason: str
) -> None:
    ws_url = request.getfixturevalue(server)
    run = cli("run", "--target", str(target(tmp_path / "t.yaml", ws_url)), "-k", "TC_001", "--out", str(tmp_path))
    assert run.returncode == 3, run.stdout + run.stderr
    [line] = run.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot reach the CSMS at {ws_url} (station 'default'): {reason}"), line


@pytest.fixture
def garbage_frames() -> Iterator[str]:
    """A websocket server that completes the handshake with ocpp1.6 and answers every frame with garbage."""

    async def answer(ws: ServerConnection) -> None:
        async for _ in ws:
            await ws.send('{"this is": "not an OCPP-J frame"')

    @contextlib.asynccontextmanager
    async def server() -> AsyncIterator[int]:
        async with serve(answer, "127.0.0.1", 0, subprotocols=[Subprotocol("ocpp1.6")]) as listening:
            yield int(next(iter(listening.sockets)).getsockname()[1])

    yield from serving(server)


def test_a_csms_whose_websocket_answers_garbage_fails_the_case(tmp_path: Path, garbage_frames: str) -> None:
    run = cli(
        "run", "--target", str(target(tmp_path / "t.yaml", garbage_frames)), "-k", "TC_001", "--out", str(tmp_path)
    )
    assert run.returncode == 1, run.stdout + run.stderr
    summary = json.loads((tmp_path / "latest" / "summary.json").read_text(encoding="utf-8"))
    [result] = summary["results"]
    assert result["verdict"] == "FAIL"
    assert result["message"].startswith("the CSMS sent a malformed OCPP-J frame: not JSON")
