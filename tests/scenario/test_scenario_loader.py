"""Loading good scenario files into the frozen model (harness.scenario.model), states and all."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from harness.outcomes import ScenarioError
from harness.scenario import model
from harness.scenario.loader import (
    CHARGE_POINT_ACTIONS,
    SCHEMA_PATH,
    load_scenario,
    load_scenarios,
    validate_paths,
)
from harness.scenario.model import (
    Act,
    Configure,
    Exchange,
    ExpectCall,
    ExpectNoCall,
    Location,
    Scenario,
    Send,
    Trigger,
    Wait,
)
from harness.suite import shipped_scenarios
from ocppj.frames import ERROR_CODES
from ocppj.schemas import actions

WriteFile = Callable[[str, str], str]

BOOTED = """
    # yaml-language-server: $schema=../../harness/scenario/schema.json
    title: Booted
    description: the station boots and is accepted
    steps:
      - exchange: BootNotification
        expect: {status: Accepted}
      - use: available
"""

AVAILABLE = """
    title: Available
    steps:
      - exchange: StatusNotification
        request: {connectorId: "${connector}", status: Available}
"""

GOOD = """
    # yaml-language-server: $schema=../../harness/scenario/schema.json
    id: TC_003_CSMS
    title: Regular Charging Session - Plugin First
    profile: Core
    references: ["OCPP 1.6 §4.4", "OCTT D24 §3.2.1"]
    description: free text
    station: boot
    additional_question: AQ-1
    parametrize: [token_type]
    timeout_s: 30
    configuration: {ConnectionTimeOut: "2", AuthorizationCacheEnabled: true, MeterValueSampleInterval: 10}
    steps:
      - use: booted
      - act: plug
        connector: 0
      - exchange: StatusNotification
        request: {status: Preparing}
        description: the connector is preparing
        ref: OCPP 1.6 §4.9
      - act: present_token
        token: ${token}
        connector: ${connector}
      - exchange: Authorize
        expect: {idTagInfo: {status: Accepted}}
        timeout_s: 5
      - exchange: StartTransaction
        expect:
          idTagInfo: {status: Accepted}
          transactionId: {schema: {type: integer, minimum: 1}}
          reservationId: {absent: true}
        capture: {tx_id: response.transactionId, start_tag: request.idTag}
      - send: Authorize
        payload: {idTag: "${blocked_token}"}
        expect: {idTagInfo: {status: Blocked}, note: "tx ${tx_id} of ${tokens.iso15693.valid}"}
        capture: {auth: response.idTagInfo}
        timeout_s: 2.5
      - send: DataTransfer
        payload: {vendorId: acme}
        expect_error: any
      - trigger: RemoteStopTransaction
        payload: {transactionId: "${tx_id}"}
      - expect_call: RemoteStopTransaction
        match: {transactionId: "${tx_id}", extra: {optional: true, schema: {type: string}}}
        reply: {status: Accepted}
        capture: {stop_id: request.transactionId}
        timeout_s: 10
      - expect_call: DataTransfer
        reply_error: NotSupported
      - trigger: ClearCache
      - configure: boot_answer
        payload: {status: Pending, interval_s: 2, accept_after_boots: 1}
      - act: fault
        error_code: GroundFailure
      - act: power_cycle
      - wait: 1.5
      - wait: 0
      - expect_no_call: any
        for_s: 2
      - expect_no_call: MeterValues
        for_s: 1
        from: station
"""


@pytest.fixture
def good(write: WriteFile) -> Scenario:
    write("scenarios/_states/booted.yaml", BOOTED)
    write("scenarios/_states/available.yml", AVAILABLE)
    return load_scenario(write("scenarios/core/TC_003_CSMS.yaml", GOOD))


def test_top_level_fields(good: Scenario) -> None:
    assert good.id == "TC_003_CSMS"
    assert good.title == "Regular Charging Session - Plugin First"
    assert good.profile == "Core"
    assert good.path == "scenarios/core/TC_003_CSMS.yaml"
    assert good.references == ("OCPP 1.6 §4.4", "OCTT D24 §3.2.1")
    assert good.description == "free text"
    assert good.station == "boot"
    assert good.additional_question == "AQ-1"
    assert good.parametrize == ("token_type",)
    assert good.timeout_s == 30.0 and isinstance(good.timeout_s, float)
    assert good.configuration == {
        "ConnectionTimeOut": "2",
        "AuthorizationCacheEnabled": "true",
        "MeterValueSampleInterval": "10",
    }


def test_every_step_kind(good: Scenario) -> None:
    path = "scenarios/core/TC_003_CSMS.yaml"
    steps = good.steps[2:]  # after the two steps of the nested states
    assert steps == (
        Act(location=Location(path, 14, 5), act="plug", connector=0),
        Exchange(
            location=Location(path, 16, 5),
            action="StatusNotification",
            request={"status": "Preparing"},
            description="the connector is preparing",
            ref="OCPP 1.6 §4.9",
        ),
        Act(location=Location(path, 20, 5), act="present_token", token="${token}", connector="${connector}"),
        Exchange(
            location=Location(path, 23, 5),
            action="Authorize",
            expect={"idTagInfo": {"status": "Accepted"}},
            timeout_s=5.0,
        ),
        Exchange(
            location=Location(path, 26, 5),
            action="StartTransaction",
            expect={
                "idTagInfo": {"status": "Accepted"},
                "transactionId": {"schema": {"type": "integer", "minimum": 1}},
                "reservationId": {"absent": True},
            },
            capture={"tx_id": "response.transactionId", "start_tag": "request.idTag"},
        ),
        Send(
            location=Location(path, 32, 5),
            action="Authorize",
            payload={"idTag": "${blocked_token}"},
            expect={"idTagInfo": {"status": "Blocked"}, "note": "tx ${tx_id} of ${tokens.iso15693.valid}"},
            capture={"auth": "response.idTagInfo"},
            timeout_s=2.5,
        ),
        Send(
            location=Location(path, 37, 5),
            action="DataTransfer",
            payload={"vendorId": "acme"},
            expect_error="any",
        ),
        Trigger(location=Location(path, 40, 5), action="RemoteStopTransaction", payload={"transactionId": "${tx_id}"}),
        ExpectCall(
            location=Location(path, 42, 5),
            action="RemoteStopTransaction",
            match={"transactionId": "${tx_id}", "extra": {"optional": True, "schema": {"type": "string"}}},
            reply={"status": "Accepted"},
            capture={"stop_id": "request.transactionId"},
            timeout_s=10.0,
        ),
        ExpectCall(location=Location(path, 47, 5), action="DataTransfer", reply_error="NotSupported"),
        Trigger(location=Location(path, 49, 5), action="ClearCache", payload={}),
        Configure(
            location=Location(path, 50, 5),
            operation="boot_answer",
            payload={"status": "Pending", "interval_s": 2, "accept_after_boots": 1},
        ),
        Act(location=Location(path, 52, 5), act="fault", error_code="GroundFailure"),
        Act(location=Location(path, 54, 5), act="power_cycle"),
        Wait(location=Location(path, 55, 5), seconds=1.5),
        Wait(location=Location(path, 56, 5), seconds=0.0),
        ExpectNoCall(location=Location(path, 57, 5), action=None, for_s=2.0, source="csms"),
        ExpectNoCall(location=Location(path, 59, 5), action="MeterValues", for_s=1.0, source="station"),
    )
    assert [step.kind for step in steps][:3] == ["act", "exchange", "act"]


def test_use_expands_nested_states_with_their_origin_and_location(good: Scenario) -> None:
    boot, available = good.steps[:2]
    assert boot == Exchange(
        location=Location("scenarios/_states/booted.yaml", 5, 5),
        origin="booted",
        action="BootNotification",
        expect={"status": "Accepted"},
    )
    assert available == Exchange(
        location=Location("scenarios/_states/available.yml", 3, 5),
        origin="available",
        action="StatusNotification",
        request={"connectorId": "${connector}", "status": "Available"},
    )
    assert all(step.origin is None for step in good.steps[2:])


def test_a_state_used_twice_gives_independent_values(write: WriteFile) -> None:
    write("scenarios/_states/available.yaml", AVAILABLE)
    scenario = load_scenario(
        write(
            "scenarios/TC_X.yaml",
            """
            id: TC_X
            title: twice
            profile: Core
            steps:
              - use: available
              - use: available
            """,
        )
    )
    first, second = scenario.steps
    assert first == second
    assert isinstance(first, Exchange) and isinstance(second, Exchange)
    assert first.request is not second.request


def test_states_folder_is_the_nearest_one(write: WriteFile) -> None:
    write("scenarios/_states/booted.yaml", "title: outer\nsteps: [{wait: 1}]\n")
    write("scenarios/security/_states/booted.yaml", "title: inner\nsteps: [{wait: 2}]\n")
    write("scenarios/security/deep/TC_Y.yaml", "id: TC_Y\ntitle: t\nprofile: Security\nsteps: [{use: booted}]\n")
    scenario = load_scenario("scenarios/security/deep/TC_Y.yaml")
    assert scenario.steps == (
        Wait(location=Location("scenarios/security/_states/booted.yaml", 2, 9), origin="booted", seconds=2.0),
    )


def test_a_folder_of_ones_own_uses_the_shipped_states_unless_it_has_its_own(write: WriteFile) -> None:
    """``use: charging`` from a folder without ``_states`` is the shipped state, itself built on the shipped
    ``authorized`` and ``booted``. A ``_states`` folder of one's own overrides a shipped state for the files under
    it; a shipped state keeps using its shipped neighbours."""
    write("mine/TC_M.yaml", "id: TC_M\ntitle: t\nprofile: Core\nsteps: [{use: booted}, {use: charging}]\n")
    shipped = shipped_scenarios() / "_states"
    origins = {(step.origin, step.location.path) for step in load_scenario("mine/TC_M.yaml").steps}
    assert origins == {(name, str(shipped / f"{name}.yaml")) for name in ("booted", "authorized", "charging")}
    write("mine/_states/booted.yaml", "title: my boot\nsteps: [{wait: 3}]\n")
    steps = load_scenario("mine/TC_M.yaml").steps
    assert steps[0] == Wait(location=Location("mine/_states/booted.yaml", 2, 9), origin="booted", seconds=3.0)
    assert {(step.origin, step.location.path) for step in steps[1:]} == origins


def test_defaults(write: WriteFile) -> None:
    scenario = load_scenario(write("TC_MIN.yaml", "id: TC_MIN\ntitle: t\nprofile: Reservation\nsteps: [{wait: 1}]\n"))
    assert scenario == Scenario(
        id="TC_MIN",
        title="t",
        profile="Reservation",
        path="TC_MIN.yaml",
        steps=(Wait(location=Location("TC_MIN.yaml", 4, 9), seconds=1.0),),
    )


def test_path_objects_and_absolute_paths_are_kept_as_given(write: WriteFile, tmp_path: Path) -> None:
    write("scenarios/_states/available.yaml", AVAILABLE)
    write("scenarios/TC_Z.yaml", "id: TC_Z\ntitle: t\nprofile: Core\nsteps: [{use: available}]\n")
    absolute = load_scenario(tmp_path / "scenarios" / "TC_Z.yaml")
    assert absolute.path == str(tmp_path / "scenarios" / "TC_Z.yaml")
    assert absolute.steps[0].location.path == str(tmp_path / "scenarios" / "_states" / "available.yaml")
    relative = load_scenario(Path("scenarios/TC_Z.yaml"))
    assert relative.path == "scenarios/TC_Z.yaml"
    assert relative.steps[0].location.path == "scenarios/_states/available.yaml"


def test_yaml_niceties_stay_json_like(write: WriteFile) -> None:
    """Anchors, merge keys and unquoted dates are fine; dates stay the text that was written."""
    scenario = load_scenario(
        write(
            "TC_YAML.yaml",
            """
            id: TC_YAML
            title: t
            profile: Core
            steps:
              - send: StatusNotification
                payload: &base {connectorId: 1, errorCode: NoError, timestamp: 2024-01-01T00:00:00Z}
              - send: StatusNotification
                payload:
                  <<: *base
                  connectorId: 2
                  info: "${station_id}-x"
            """,
        )
    )
    first, second = scenario.steps
    assert isinstance(first, Send) and isinstance(second, Send)
    assert first.payload == {"connectorId": 1, "errorCode": "NoError", "timestamp": "2024-01-01T00:00:00Z"}
    assert second.payload == {
        "connectorId": 2,
        "errorCode": "NoError",
        "timestamp": "2024-01-01T00:00:00Z",
        "info": "${station_id}-x",
    }


def test_unquoted_references_in_flow_collections_are_a_syntax_error_with_a_hint(write: WriteFile) -> None:
    """YAML forbids ``{`` in a plain scalar inside ``{...}``; scenario files stay plain YAML, so the loader says
    where and how to quote instead of guessing."""
    path = write(
        "TC_FLOW.yaml",
        """
        id: TC_FLOW
        title: t
        profile: Core
        steps:
          - send: StartTransaction
            payload: {connectorId: ${connector}, idTag: "${token}", meterStart: 0}
        """,
    )
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    (problem,) = raised.value.problems
    assert (problem.line, problem.column) == (6, 29)
    assert problem.message.endswith('quote ${name} references inside [...] or {...}: "${name}"')


def test_load_scenarios_walks_directories_skips_states_and_keeps_going(write: WriteFile) -> None:
    write("scenarios/_states/booted.yaml", BOOTED)
    write("scenarios/_states/available.yaml", AVAILABLE)
    write("scenarios/core/TC_B.yaml", "id: TC_B\ntitle: t\nprofile: Core\nsteps: [{use: booted}]\n")
    write("scenarios/core/TC_A.yml", "id: TC_A\ntitle: t\nprofile: Core\nsteps: [{wait: 1}]\n")
    write("scenarios/core/TC_BAD.yaml", "id: TC_BAD\ntitle: t\nprofile: Core\nsteps: [{wiat: 1}]\n")
    write("scenarios/core/notes.txt", "not a scenario")
    scenarios, found = load_scenarios(["scenarios", "scenarios/core/TC_A.yml"])
    assert [scenario.id for scenario in scenarios] == ["TC_A", "TC_B"]
    assert [str(problem) for problem in found] == [
        "scenarios/core/TC_BAD.yaml:4:9: step has no kind key ('wiat' is unknown; did you mean 'wait'?); "
        "a step takes exactly one of: send, exchange, expect_call, trigger, configure, act, wait, expect_no_call, raw, "
        "handshake, connect, use"
    ]
    assert validate_paths(["scenarios/core/TC_A.yml", "scenarios/core/TC_B.yaml"]) == []


def test_load_scenarios_reports_missing_paths_and_duplicate_ids(write: WriteFile) -> None:
    write("scenarios/core/TC_A.yaml", "id: TC_A\ntitle: t\nprofile: Core\nsteps: [{wait: 1}]\n")
    write("scenarios/other/TC_A.yaml", "id: TC_A\ntitle: t\nprofile: Core\nsteps: [{wait: 2}]\n")
    scenarios, found = load_scenarios(["scenarios", "missing.yaml"])
    assert [scenario.path for scenario in scenarios] == ["scenarios/core/TC_A.yaml"]
    assert [str(problem) for problem in found] == [
        "missing.yaml:1:1: no such file or directory",
        "scenarios/other/TC_A.yaml:1:5: duplicate scenario id 'TC_A' (also scenarios/core/TC_A.yaml)",
    ]


def test_the_project_scenarios_load() -> None:
    root = Path(__file__).resolve().parents[2] / "scenarios"
    if not root.is_dir():
        pytest.skip("no scenarios folder")
    scenarios, found = load_scenarios([root])
    assert [str(problem) for problem in found] == []
    assert scenarios


# The schema is the editors' source of truth too: it must agree with the model, the OCPP package and itself.


def _schema() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def test_schema_is_a_valid_draft7_schema_with_descriptions_everywhere() -> None:
    schema = _schema()
    jsonschema.Draft7Validator.check_schema(schema)
    missing: list[str] = []

    def visit(node: object, where: str) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if "description" not in sub:
                    missing.append(f"{where}.{name}")
            for key, value in node.items():
                if key not in ("if", "then", "else"):  # conditions restate properties described elsewhere
                    visit(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                visit(item, f"{where}[{index}]")

    visit(schema, "$")
    assert missing == []


def test_schema_enums_match_the_model_and_ocpp() -> None:
    definitions = _schema()["definitions"]
    assert isinstance(definitions, dict)
    properties = definitions["scenario_file"]["properties"]
    csms_side = (actions() - CHARGE_POINT_ACTIONS) | {"DataTransfer"}
    assert actions() >= CHARGE_POINT_ACTIONS
    assert set(definitions["cp_action"]["enum"]) == CHARGE_POINT_ACTIONS
    assert set(definitions["csms_action"]["enum"]) == csms_side
    assert set(definitions["any_action"]["enum"]) == actions() | {"any"}
    assert set(definitions["call_error"]["enum"]) == ERROR_CODES
    assert set(definitions["expected_error"]["enum"]) == ERROR_CODES | {"any"}
    assert tuple(properties["profile"]["enum"]) == model.PROFILES
    assert tuple(properties["parametrize"]["items"]["enum"]) == model.PARAMETERS
    assert tuple(definitions["act_step"]["properties"]["act"]["enum"]) == model.ACTS
    assert tuple(definitions["configure_step"]["properties"]["configure"]["enum"]) == model.CONFIGURE_OPERATIONS
    ocpp_schema = resources.files("ocpp").joinpath("v16", "schemas", "StatusNotification.json")
    status_notification = json.loads(ocpp_schema.read_text(encoding="utf-8"))
    fault_codes = set(status_notification["properties"]["errorCode"]["enum"]) - {"NoError"}
    assert set(definitions["act_step"]["properties"]["error_code"]["enum"]) == fault_codes
    kinds = [branch["$ref"].rsplit("/", 1)[-1].removesuffix("_step") for branch in definitions["step"]["oneOf"]]
    assert set(kinds) == set(model._KIND_BY_CLASS.values()) | {"use"}


def test_the_root_schema_serves_editors_for_scenarios_and_states() -> None:
    """One ``$schema`` modeline for both file kinds: a file with ``id`` or ``profile`` is a scenario."""
    validator = jsonschema.Draft7Validator(_schema())
    scenario = {"id": "TC_A", "title": "t", "profile": "Core", "steps": [{"use": "booted"}]}
    state = {"title": "Booted", "steps": [{"exchange": "BootNotification", "expect": {"status": "Accepted"}}]}
    assert list(validator.iter_errors(scenario)) == []
    assert list(validator.iter_errors(state)) == []
    assert [error.message for error in validator.iter_errors({**state, "timeout_s": 3})] == [
        "Additional properties are not allowed ('timeout_s' was unexpected)"
    ]
    assert [error.message for error in validator.iter_errors({**scenario, "title": 3})] == ["3 is not of type 'string'"]


def test_should_and_not_reach_the_model(write: WriteFile) -> None:
    path = write(
        "scenarios/core/TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Core
        steps:
          - exchange: StartTransaction
            capture: {tx_a: response.transactionId}
          - exchange: StartTransaction
            expect: {transactionId: {not: "${tx_a}", schema: {type: integer}}}
          - send: DataTransfer
            payload: {vendorId: unknown}
            expect: {status: {schema: {type: string}}}
            should: {status: UnknownVendorId, data: {absent: true}}
        """,
    )
    steps = load_scenario(path).steps
    assert isinstance(steps[1], Exchange) and steps[1].expect == {
        "transactionId": {"not": "${tx_a}", "schema": {"type": "integer"}}
    }
    assert isinstance(steps[2], Send) and steps[2].should == {"status": "UnknownVendorId", "data": {"absent": True}}


def test_after_and_a_wait_reference_reach_the_model(write: WriteFile) -> None:
    """``{after: ...}`` is a constraint whose reference is resolved when the step runs, like ``not``; a wait may
    last ``${test.reservation_expiry_s}`` (TC_047 waits for the expiry the target sets)."""
    path = write(
        "scenarios/reservation/TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Reservation
        steps:
          - expect_call: ReserveNow
            match: {expiryDate: {after: "${time.now}", schema: {type: string}}, reservationId: {after: 0}}
          - wait: "${test.reservation_expiry_s}"
          - expect_call: SendLocalList
            match: {listVersion: {after: "${unknown_connector}"}}
        """,
    )
    steps = load_scenario(path).steps
    assert isinstance(steps[0], ExpectCall) and steps[0].match == {
        "expiryDate": {"after": "${time.now}", "schema": {"type": "string"}},
        "reservationId": {"after": 0},
    }
    assert isinstance(steps[1], Wait) and steps[1].seconds == "${test.reservation_expiry_s}"
