"""Python drivers: a class next to the target file, loaded and its options checked when the target is loaded;
an HttpDriver subclass; and the case hooks the session calls around each case."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main
from harness.config import Target, parse_target
from harness.drivers import make_driver
from harness.drivers.http import HttpDriver
from harness.outcomes import TargetError
from harness.results import Verdict
from harness.scenario.loader import load_scenario
from harness.session import Case, Session
from tests.drivers.double import ApiDouble, Seen

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def modules() -> Iterator[list[str]]:
    """Names of the driver modules a test writes; they leave ``sys.modules`` with the test."""
    names: list[str] = []
    yield names
    for name in names:
        sys.modules.pop(name, None)


def write_driver(folder: Path, modules: list[str], name: str, source: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    modules.append(name)


def document(api_url: str = "http://127.0.0.1:1", **driver: Any) -> dict[str, Any]:
    return {
        "endpoints": {"profile_0": {"ws_url": "ws://127.0.0.1:1/ocpp", "api_url": api_url}},
        "stations": {"default": {"id": "CP_1"}},
        "tokens": {"central": {"valid": "A"}},
        "driver": {"kind": "python", **driver},
    }


RECORDING = """
    from __future__ import annotations

    from dataclasses import dataclass
    from typing import Any, Literal

    from harness.drivers import DriverOutcome


    class Recording:
        @dataclass(frozen=True)
        class Options:
            answer: str
            verify_tls: bool = True
            retries: int = 2
            mode: Literal["fast", "safe"] = "safe"
            ratio: float | None = None

        def __init__(self, target: Any, options: Options) -> None:
            self.target = target
            self.options = options

        async def trigger(self, *, station_id: str, action: str, payload: dict[str, Any]) -> Any:
            if action == "Reset":
                raise RuntimeError("reset is not allowed here")
            if action == "ClearCache":
                return DriverOutcome(False, "cache API is down")
            return {"status": self.options.answer, "station": station_id, "target": self.target.name}
"""


async def test_a_class_next_to_the_target_file_is_loaded_with_typed_options(
    tmp_path: Path, modules: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_driver(tmp_path, modules, "recording_driver", RECORDING)
    monkeypatch.setenv("TEST_VERIFY_TLS", "false")
    options = {"answer": "Accepted", "verify_tls": "${TEST_VERIFY_TLS}", "retries": "5", "mode": "fast", "ratio": 1}
    target = parse_target(
        {**document(**{"class": "recording_driver:Recording", "options": options}), "name": "mine"},
        str(tmp_path / "target.yaml"),
    )
    assert repr(target.driver.options) == (
        "Recording.Options(answer='Accepted', verify_tls=False, retries=5, mode='fast', ratio=1.0)"
    )
    driver = make_driver(target)
    ok = await driver.trigger(station_id="CP_1", action="GetConfiguration", payload={})
    raised = await driver.trigger(station_id="CP_1", action="Reset", payload={"type": "Soft"})
    said = await driver.trigger(station_id="CP_1", action="ClearCache", payload={})
    no_configure = await driver.configure(station_id="CP_1", operation="boot_answer", payload={})
    await driver.aclose()
    assert ok.ok and ok.detail == "{'status': 'Accepted', 'station': 'CP_1', 'target': 'mine'}"
    assert raised.describe() == "driver request 'trigger Reset' failed: RuntimeError: reset is not allowed here"
    assert said.describe() == "driver request 'trigger ClearCache' failed: cache API is down"
    assert no_configure.describe() == "driver request 'boot_answer' failed: Recording has no configure()"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"answer": "A", "verify_tls": "maybe"},
            "driver.options.verify_tls: expected true or false, got 'maybe'",
        ),
        ({"answer": "A", "retries": "two"}, "driver.options.retries: expected an integer, got 'two'"),
        ({"answer": "A", "ratio": True}, "driver.options.ratio: expected a number, got True"),
        ({"answer": "A", "mode": "quick"}, "driver.options.mode: expected one of fast, safe, got 'quick'"),
        (
            {"answer": "A", "retires": 1},
            "driver.options: unknown option 'retires'; did you mean 'retries'? "
            "(allowed: answer, verify_tls, retries, mode, ratio)",
        ),
        ({}, "driver.options: missing required option 'answer'"),
    ],
)
def test_options_are_checked_when_the_target_is_loaded(
    tmp_path: Path, modules: list[str], options: dict[str, Any], message: str
) -> None:
    write_driver(tmp_path, modules, "recording_options", RECORDING)
    with pytest.raises(TargetError) as raised:
        parse_target(document(**{"class": "recording_options:Recording", "options": options}), str(tmp_path / "t"))
    assert str(raised.value) == f"{tmp_path / 't'}: {message}"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module:Driver", "driver.class: no module 'no_such_module' in {folder} or on the Python path"),
        (
            "broken_import:Driver",
            "driver.class: importing 'broken_import' failed: ModuleNotFoundError: "
            "No module named 'not_installed_anywhere'",
        ),
        ("plain_driver:Drivr", "driver.class: module 'plain_driver' has no class 'Drivr'; did you mean 'Driver'?"),
        (
            "plain_driver:NotADriver",
            "driver.class: NotADriver has no 'async def trigger(self, *, station_id, action, payload)'",
        ),
        ("plain_driver", "driver.class: expected 'module:ClassName', got 'plain_driver'"),
    ],
)
def test_a_class_that_cannot_be_loaded_is_a_target_error(
    tmp_path: Path, modules: list[str], spec: str, message: str
) -> None:
    write_driver(tmp_path, modules, "broken_import", "import not_installed_anywhere\n")
    write_driver(
        tmp_path,
        modules,
        "plain_driver",
        """
        class Driver:
            async def trigger(self, station_id, action, payload):
                return None


        class NotADriver:
            def trigger(self, station_id, action, payload):
                return None
        """,
    )
    with pytest.raises(TargetError) as raised:
        parse_target(document(**{"class": spec}), str(tmp_path / "t.yaml"))
    assert str(raised.value) == f"{tmp_path / 't.yaml'}: " + message.format(folder=tmp_path)


async def test_a_driver_with_positional_trigger_parameters_still_works(tmp_path: Path, modules: list[str]) -> None:
    write_driver(
        tmp_path,
        modules,
        "positional_driver",
        """
        class Driver:
            def __init__(self, target, options):
                self.options = options

            async def trigger(self, station_id, action, payload):
                return [station_id, action, payload, self.options]
        """,
    )
    target = parse_target(document(**{"class": "positional_driver:Driver", "options": {"x": 1}}), str(tmp_path / "t"))
    outcome = await make_driver(target).trigger(station_id="CP_1", action="Reset", payload={"type": "Hard"})
    assert outcome.ok and outcome.detail == "['CP_1', 'Reset', {'type': 'Hard'}, {'x': 1}]"


def test_run_refuses_a_target_whose_class_is_missing_before_any_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(document(**{"class": "absent_driver_module:Driver"})), encoding="utf-8")
    assert main(["run", "--target", str(path), str(ROOT / "scenarios" / "core" / "TC_061_CSMS.yaml")]) == 2
    assert capsys.readouterr().err == (
        f"error: {path}: driver.class: no module 'absent_driver_module' in {tmp_path} or on the Python path\n"
    )


SUBCLASS = """
    from __future__ import annotations

    from typing import Any

    from harness.drivers import DriverOutcome
    from harness.drivers.http import HttpDriver


    class Driver(HttpDriver):
        async def configure(self, *, station_id: str, operation: str, payload: dict[str, Any]) -> DriverOutcome:
            status = payload.get("status", "Accepted").lower()
            return await self.request(
                operation, {"station_id": station_id, "operation": operation, "payload": {"status": status}}
            )
"""


async def test_an_http_driver_subclass_keeps_the_templates_and_overrides_one_method(
    tmp_path: Path, modules: list[str]
) -> None:
    write_driver(tmp_path, modules, "subclass_driver", SUBCLASS)
    async with ApiDouble() as api:
        target = parse_target(
            document(
                api.url,
                **{
                    "class": "subclass_driver:Driver",
                    "preset": "octt",
                    "requests": {"boot_answer": {"method": "PUT", "path": "/boot/{station_id}", "body": "{payload}"}},
                },
            ),
            str(tmp_path / "t.yaml"),
        )
        driver = make_driver(target)
        assert isinstance(driver, HttpDriver)
        await driver.trigger(station_id="CP_1", action="ClearCache", payload={})
        outcome = await driver.configure(station_id="CP_1", operation="boot_answer", payload={"status": "Pending"})
        await driver.aclose()
    assert outcome.ok
    assert api.seen == [
        Seen("POST", "/api/octt/1.6/CP_1/clear-cache", {}),
        Seen("PUT", "/boot/CP_1", {"status": "pending"}),
    ]


# ------------------------------------------------------------------------------------------------- hooks

HOOKS = """
    from __future__ import annotations

    import asyncio
    import json
    from dataclasses import dataclass
    from typing import Any

    from harness.drivers.http import HttpDriver


    class Driver(HttpDriver):
        @dataclass(frozen=True)
        class Options:
            log: str
            fail: str = ""

        def _log(self, *entry: Any) -> None:
            same_loop = asyncio.get_running_loop() is getattr(self, "case_loop", None)
            with open(self.options.log, "a", encoding="utf-8") as file:
                file.write(json.dumps([*entry, same_loop]) + "\\n")

        async def before_case(self, case: Any) -> None:
            self.case_loop = asyncio.get_running_loop()
            self._log("before", case.id)
            if self.options.fail == "before_case":
                raise RuntimeError("no clean state")

        async def trigger(self, **call: Any) -> Any:
            self._log("trigger", call["action"])
            return await super().trigger(**call)

        async def after_case(self, case: Any, verdict: Any) -> None:
            self._log("after", case.id, str(verdict))
            if self.options.fail == "after_case":
                raise RuntimeError("cleanup failed")
"""


def hooks_target(tmp_path: Path, fail: str = "") -> Target:
    document = {
        "csms": {"bundled": True},
        "stations": {"default": {"id": "CP_1"}},
        "tokens": {"central": {"valid": "OCA_TOKEN_1"}},
        "driver": {
            "kind": "python",
            "class": "hooks_driver:Driver",
            "preset": "bundled",
            "options": {"log": str(tmp_path / "log.jsonl"), "fail": fail},
        },
    }
    return parse_target(document, str(tmp_path / "t.yaml"))


@pytest.mark.parametrize(
    ("fail", "verdict", "message", "log"),
    [
        ("", Verdict.PASS, None, ["before", "trigger", "after PASS"]),
        ("before_case", Verdict.ERROR, "driver hook 'before_case' failed: RuntimeError: no clean state", ["before"]),
        (
            "after_case",
            Verdict.ERROR,
            "driver hook 'after_case' failed: RuntimeError: cleanup failed",
            ["before", "trigger", "after PASS"],
        ),
    ],
)
def test_the_session_calls_the_hooks_around_each_case_in_its_event_loop(
    tmp_path: Path, modules: list[str], fail: str, verdict: Verdict, message: str | None, log: list[str]
) -> None:
    write_driver(tmp_path, modules, "hooks_driver", HOOKS)
    scenario = load_scenario(ROOT / "scenarios" / "core" / "TC_061_CSMS.yaml")
    with Session(hooks_target(tmp_path, fail), out_dir=tmp_path / "out") as session:
        result = session.run(Case(scenario))
    assert (result.verdict, result.message) == (verdict, message)
    entries = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [" ".join(entry[:1] + entry[2:-1]) for entry in entries] == log
    assert all(entry[1] == "TC_061_CSMS" for entry in entries if entry[0] != "trigger")
    assert all(entry[-1] is True for entry in entries), "every hook and request ran in the case's event loop"
