"""A hand-built run covering every verdict, shared by the report tests.

Profiles: Core (PASS, FAIL, PASS answering AQ-1) -> FAIL; SmartCharging (ERROR, NOT_APPLICABLE) -> ERROR;
RemoteTrigger (PARTIAL) -> PARTIAL. Latencies: all [0.02, 0.07, 0.10, 0.12, 0.21],
Authorize [0.07, 0.12, 0.21].
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.results import Finding, LatencySample, RunResult, ScenarioResult, StepRecord, Verdict, WireRecord

STARTED_AT = 1769979212.486  # 2026-02-01T20:53:32.486Z
SNAPSHOTS = Path(__file__).parent / "snapshots"

FAILED_STEP = "step 4 exchange Authorize (scenarios/core/TC_023_3_CSMS.yaml:12:5)"
AUTHORIZE_CALL = '[2,"2","Authorize",{"idTag":"OCA_TOKEN_1"}]'
AUTHORIZE_RESULT = '[3,"2",{"idTagInfo":{"status":"Invalid"}}]'


def build_run() -> RunResult:
    passed = ScenarioResult(
        id="TC_003_CSMS",
        scenario_id="TC_003_CSMS",
        title="Regular Charging Session - Plugin First",
        profile="Core",
        path="scenarios/core/TC_003_CSMS.yaml",
        verdict=Verdict.PASS,
        duration_s=0.42,
        warnings=(Finding("should", "StatusNotification(Preparing) not answered within 1 s", "OCPP 1.6 §4.9"),),
        latencies=(
            LatencySample("Authorize", 0.07),
            LatencySample("StatusNotification", 0.02),
        ),
        trace_path="reports/traces/TC_003_CSMS.jsonl",
    )
    failed = ScenarioResult(
        id="TC_023_3_CSMS[iso15693]",
        scenario_id="TC_023_3_CSMS",
        title="Start Charging Session - Authorize invalid | blocked",
        profile="Core",
        path="scenarios/core/TC_023_3_CSMS.yaml",
        verdict=Verdict.FAIL,
        duration_s=1.234,
        message="Authorize answered Invalid | expected Accepted\nsecond line of detail",
        failed_step=FAILED_STEP,
        reference="OCPP 1.6 §4.2 Authorize",
        expected='idTagInfo.status == "Accepted"',
        actual='idTagInfo.status == "Invalid"',
        last_frames=(
            WireRecord(">", STARTED_AT + 1.0, AUTHORIZE_CALL),
            WireRecord("<", STARTED_AT + 1.21, AUTHORIZE_RESULT),
        ),
        trace_path="reports/traces/TC_023_3_CSMS-iso15693.jsonl",
        latencies=(LatencySample("Authorize", 0.21), LatencySample("Authorize", 0.12)),
        reproduce="ocpp-harness run --target ci/target.yaml -k 'TC_023_3_CSMS[iso15693]'",
        references=("OCPP 1.6 §4.1", "OCTT D24 §3.8.3"),
        steps=(
            StepRecord(1, "use", "booted", "step 1 (use booted)", "passed", STARTED_AT, STARTED_AT + 0.5),
            StepRecord(
                2, "exchange", "Authorize", FAILED_STEP, "failed", STARTED_AT + 0.5, STARTED_AT + 1.2, "blocked idTag"
            ),
            StepRecord(3, "act", "unplug", "step 3 (act unplug)", "not_run", STARTED_AT + 1.2, STARTED_AT + 1.2),
        ),
    )
    aq1 = ScenarioResult(
        id="TC_010_CSMS",
        scenario_id="TC_010_CSMS",
        title="Cold Boot Charging Station - Pending",
        profile="Core",
        path="scenarios/boot/TC_010_CSMS.yaml",
        verdict=Verdict.PASS,
        duration_s=2.5,
        additional_question="AQ-1",
        latencies=(LatencySample("BootNotification", 0.10),),
    )
    error = ScenarioResult(
        id="TC_056_CSMS",
        scenario_id="TC_056_CSMS",
        title="Central Smart Charging - TxDefaultProfile",
        profile="SmartCharging",
        path="scenarios/smart_charging/TC_056_CSMS.yaml",
        verdict=Verdict.ERROR,
        duration_s=0.05,
        message="DriverError: POST /api/v1/charging-profiles answered 500",
        failed_step="step 2 trigger set_charging_profile (scenarios/smart_charging/TC_056_CSMS.yaml:9:5)",
        last_frames=(WireRecord("*", STARTED_AT + 3.0, "connection closed: 1006"),),
        trace_path="reports/traces/TC_056_CSMS.jsonl",
        warnings=(
            Finding(
                "cleanup",
                "transaction 7 may still be open on the CSMS (its StopTransaction was not acknowledged)",
                "each case leaves the CSMS as it found it",
            ),
        ),
        reproduce="ocpp-harness run --target ci/target.yaml -k TC_056_CSMS",
    )
    not_applicable = ScenarioResult(
        id="TC_066_CSMS",
        scenario_id="TC_066_CSMS",
        title="Get Composite Schedule",
        profile="SmartCharging",
        path="scenarios/smart_charging/TC_066_CSMS.yaml",
        verdict=Verdict.NOT_APPLICABLE,
        duration_s=0.0,
    )
    partial = ScenarioResult(
        id="TC_054_CSMS",
        scenario_id="TC_054_CSMS",
        title="Trigger Message",
        profile="RemoteTrigger",
        path="scenarios/remote_trigger/TC_054_CSMS.yaml",
        verdict=Verdict.PARTIAL,
        duration_s=0.3,
        message="the http driver cannot request MeterValues for connector 0",
    )
    return RunResult(
        run_id="run-20260201-205332",
        started_at=STARTED_AT,
        finished_at=STARTED_AT + 10.5,
        target={"name": "bundled", "csms": {"url": "ws://127.0.0.1:9000/ocpp", "password": "***"}},
        results=(passed, failed, aq1, error, not_applicable, partial),
        environment={"python": "3.12.3", "ocpp": "2.1.0"},
    )


@pytest.fixture
def run() -> RunResult:
    return build_run()


@pytest.fixture
def assert_snapshot() -> Callable[[str, str], None]:
    """``assert_snapshot(name, text)``: compare with ``snapshots/name``; OCPP_HARNESS_UPDATE_SNAPSHOTS=1
    rewrites the file instead (review the diff before committing)."""

    def check(name: str, text: str) -> None:
        path = SNAPSHOTS / name
        if os.environ.get("OCPP_HARNESS_UPDATE_SNAPSHOTS") == "1":
            SNAPSHOTS.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"no snapshot {path}; run with OCPP_HARNESS_UPDATE_SNAPSHOTS=1 to create it"
        assert text == path.read_text(encoding="utf-8")

    return check
