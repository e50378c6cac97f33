from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from harness.report.junit import write_junit, xml_safe
from harness.results import RunResult, WireRecord


def _parse(run: RunResult, tmp_path: Path) -> ET.Element:
    path = tmp_path / "junit.xml"
    write_junit(run, path)
    assert path.read_bytes().startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.parse(path).getroot()


def _properties(case: ET.Element) -> dict[str, str]:
    return {prop.get("name", ""): prop.get("value", "") for prop in case.iterfind("properties/property")}


def test_suites_and_counts(run: RunResult, tmp_path: Path) -> None:
    root = _parse(run, tmp_path)
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "6",
        "1",
        "1",
        "2",
    )
    assert root.get("time") == "10.500"
    suites = {suite.get("name"): suite for suite in root.iterfind("testsuite")}
    assert list(suites) == ["Core", "SmartCharging", "RemoteTrigger"]
    core = suites["Core"]
    assert (core.get("tests"), core.get("failures"), core.get("errors"), core.get("skipped")) == (
        "3",
        "1",
        "0",
        "0",
    )
    assert core.get("time") == "4.154"
    smart = suites["SmartCharging"]
    assert (smart.get("tests"), smart.get("failures"), smart.get("errors"), smart.get("skipped")) == (
        "2",
        "0",
        "1",
        "1",
    )
    assert suites["RemoteTrigger"].get("skipped") == "1"


def test_testcases(run: RunResult, tmp_path: Path) -> None:
    root = _parse(run, tmp_path)
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert list(cases) == [r.id for r in run.results if r.profile == "Core"] + [
        "TC_056_CSMS",
        "TC_066_CSMS",
        "TC_054_CSMS",
    ]
    passed = cases["TC_003_CSMS"]
    assert passed.get("classname") == "ocpp-harness.Core"
    assert passed.get("time") == "0.420"
    assert passed.find("failure") is None and passed.find("skipped") is None
    assert "StatusNotification(Preparing)" in (passed.findtext("system-out") or "")


def test_failure(run: RunResult, tmp_path: Path) -> None:
    case = next(c for c in _parse(run, tmp_path).iter("testcase") if c.get("name") == "TC_023_3_CSMS[iso15693]")
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "ConformanceFailure"
    assert failure.get("message") == "Authorize answered Invalid | expected Accepted"
    text = failure.text or ""
    assert "failed step: step 4 exchange Authorize (scenarios/core/TC_023_3_CSMS.yaml:12:5)" in text
    assert "trace: reports/traces/TC_023_3_CSMS-iso15693.jsonl" in text
    assert '> 20:53:33.486Z [2,"2","Authorize",{"idTag":"OCA_TOKEN_1"}]' in text
    assert "reproduce: ocpp-harness run" in text
    assert _properties(case) == {
        "test_case_id": "TC_023_3_CSMS",
        "title": "Start Charging Session - Authorize invalid | blocked",
        "profile": "Core",
        "reference": "OCPP 1.6 §4.2 Authorize",
        "spec_reference": "OCTT D24 §3.8.3",
        "trace": "reports/traces/TC_023_3_CSMS-iso15693.jsonl",
    }
    properties = case.find("properties")
    assert properties is not None
    assert [p.get("value") for p in properties if p.get("name") == "spec_reference"] == [
        "OCPP 1.6 §4.1",
        "OCTT D24 §3.8.3",
    ]


def test_error_skipped_partial_and_question(run: RunResult, tmp_path: Path) -> None:
    cases = {case.get("name"): case for case in _parse(run, tmp_path).iter("testcase")}
    error = cases["TC_056_CSMS"].find("error")
    assert error is not None and error.get("type") == "HarnessError"
    assert "* 20:53:35.486Z connection closed: 1006" in (error.text or "")
    skipped = cases["TC_066_CSMS"].find("skipped")
    assert skipped is not None and skipped.get("message") == "profile not declared by the target"
    partial = cases["TC_054_CSMS"].find("skipped")
    assert partial is not None
    assert partial.get("message") == "partial: the http driver cannot request MeterValues for connector 0"
    assert _properties(cases["TC_010_CSMS"])["additional_question"] == "AQ-1"


def test_control_characters_in_a_raw_frame_keep_the_xml_parseable(run: RunResult, tmp_path: Path) -> None:
    frame = WireRecord(">", 0.0, '[2,"1","Heartbeat",{}]\x00\x1b\ud800')
    odd = replace(run, results=(replace(run.results[1], last_frames=(frame,)),))
    root = _parse(odd, tmp_path)
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert '[2,"1","Heartbeat",{}]\\x00\\x1b\\ud800' in (failure.text or "")


def test_xml_safe_keeps_ordinary_text() -> None:
    assert xml_safe("tab\tnew\nline é §") == "tab\tnew\nline é §"
