"""Drivers: request templates, the manual operator prompt and user-supplied Python drivers."""

from __future__ import annotations

import io
from typing import Any

import pytest

from harness.config import parse_target
from harness.drivers import make_driver
from harness.drivers.http import HttpDriver, render
from harness.drivers.manual import ManualDriver
from harness.outcomes import TargetError
from ocppj.schemas import kebab_case


def target(**driver: Any) -> Any:
    return parse_target(
        {
            "endpoints": {"profile_0": {"ws_url": "ws://127.0.0.1:1/ocpp", "api_url": "http://127.0.0.1:1"}},
            "stations": {"default": {"id": "CP_1"}},
            "tokens": {"central": {"valid": "A"}},
            "driver": driver,
        },
        "t.yaml",
    )


def test_kebab_case_names_of_the_trigger_contract() -> None:
    assert kebab_case("RemoteStartTransaction") == "remote-start-transaction"
    assert kebab_case("GetInstalledCertificateIds") == "get-installed-certificate-ids"


def test_templates_keep_json_types_for_whole_placeholders() -> None:
    body = render(
        {"id": "{station_id}", "n": "{count}", "text": "cp {station_id}/{count}", "p": "{payload}"},
        {"station_id": "CP_1", "count": 3, "payload": {"a": [1]}},
    )
    assert body == {"id": "CP_1", "n": 3, "text": "cp CP_1/3", "p": {"a": [1]}}


def test_target_templates_override_the_preset() -> None:
    driver = make_driver(target(preset="octt", requests={"trigger": {"method": "PUT", "path": "/x/{action}"}}))
    assert isinstance(driver, HttpDriver)
    assert driver.templates["trigger"] == {"method": "PUT", "path": "/x/{action}"}
    assert driver.templates["create_token"]["path"] == "/api/octt/create-token"


async def test_a_missing_template_is_a_driver_failure_naming_the_key() -> None:
    driver = make_driver(target(preset="octt"))
    outcome = await driver.configure(station_id="CP_1", operation="boot_answer", payload={})
    assert not outcome.ok
    assert (
        outcome.detail
        == "the http driver has no 'boot_answer' request; add driver.requests.boot_answer to the target file"
    )
    await driver.aclose()


async def test_an_unreachable_api_is_a_driver_failure() -> None:
    driver = make_driver(target(preset="octt"))
    outcome = await driver.trigger(station_id="CP_1", action="Reset", payload={"type": "Hard"})
    assert not outcome.ok and outcome.detail.startswith("POST http://127.0.0.1:1/api/octt/1.6/CP_1/reset failed")
    await driver.aclose()


async def test_the_manual_driver_tells_the_operator_what_to_do() -> None:
    out = io.StringIO()
    driver = ManualDriver(target(kind="manual"), out=out, stdin=io.StringIO(""))
    outcome = await driver.trigger(station_id="CP_1", action="Reset", payload={"type": "Hard"})
    assert outcome.ok
    assert out.getvalue().strip() == '>>> OPERATOR: make the CSMS send Reset to station CP_1 with {"type": "Hard"}'
    refused = await driver.configure(station_id="CP_1", operation="boot_answer", payload={"status": "Pending"})
    assert not refused.ok and "needs an operator at a terminal" in refused.detail


class RecordingDriver:
    """A user driver as a target file names it: ``driver.class: tests.test_drivers:RecordingDriver``."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def trigger(self, station_id: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((station_id, action, payload))
        if action == "Reset":
            raise RuntimeError("reset is not allowed here")
        return {"status": self.answer}


async def test_a_python_driver_class_is_loaded_with_its_options() -> None:
    driver = make_driver(
        target(kind="python", **{"class": "tests.test_drivers:RecordingDriver", "options": {"answer": "Accepted"}})
    )
    ok = await driver.trigger(station_id="CP_1", action="ClearCache", payload={})
    failed = await driver.trigger(station_id="CP_1", action="Reset", payload={"type": "Soft"})
    assert ok.ok and ok.detail == "{'status': 'Accepted'}"
    assert not failed.ok and failed.detail == "RuntimeError: reset is not allowed here"
    no_configure = await driver.configure(station_id="CP_1", operation="boot_answer", payload={})
    assert not no_configure.ok


def test_a_python_driver_that_cannot_be_loaded_is_a_target_error() -> None:
    with pytest.raises(TargetError, match="driver.class 'tests.nowhere:X' cannot be loaded"):
        make_driver(target(kind="python", **{"class": "tests.nowhere:X"}))
