"""Every kind of scenario-file mistake, reported at ``path:line:column`` with the exact text the user reads
(design §3: all mistakes at once, before any socket opens)."""

from __future__ import annotations

from collections.abc import Callable

from harness.scenario.loader import load_scenarios
from harness.suite import shipped_scenarios

WriteFile = Callable[[str, str], str]
Problems = Callable[[str], list[str]]

KINDS = "send, exchange, expect_call, trigger, configure, act, wait, expect_no_call, raw, handshake, connect, use"


def test_unknown_top_level_key_suggests_the_right_one(write: WriteFile, problems: Problems) -> None:
    path = write(
        "scenarios/core/TC_003_CSMS.yaml",
        """
        id: TC_003_CSMS
        title: t
        profile: Core
        timout: 30
        colour: blue
        steps: [{wait: 1}]
        """,
    )
    assert problems(path) == [
        "scenarios/core/TC_003_CSMS.yaml:4:1: unknown key 'timout'; did you mean 'timeout_s'?",
        "scenarios/core/TC_003_CSMS.yaml:5:1: unknown key 'colour'; expected one of: id, title, profile, "
        "references, description, station, additional_question, parametrize, timeout_s, configuration, "
        "optional_fields, steps, cleanup",
    ]


def test_unknown_step_option(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Core
        steps:
          - exchange: Authorize
            expekt: {idTagInfo: {status: Accepted}}
          - expect_call: Reset
            capture: {kind: request.type}
            replay: {status: Accepted}
        """,
    )
    assert problems(path) == [
        "TC_A.yaml:6:5: unknown key 'expekt' in an 'exchange' step; did you mean 'expect'?",
        "TC_A.yaml:9:5: unknown key 'replay' in an 'expect_call' step; did you mean 'reply'?",
    ]


def test_two_kind_keys(write: WriteFile, problems: Problems) -> None:
    path = write("TC_A.yaml", "id: TC_A\ntitle: t\nprofile: Core\nsteps:\n  - act: plug\n    wait: 1\n")
    assert problems(path) == [
        f"TC_A.yaml:5:5: step has 2 kind keys ('act', 'wait'); a step takes exactly one of: {KINDS}",
    ]


def test_no_kind_key(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Core
        steps:
          - description: only words
          - exchnage: Authorize
            expect: {idTagInfo: {status: Accepted}}
          - plug
        """,
    )
    assert problems(path) == [
        f"TC_A.yaml:5:5: step has no kind key; a step takes exactly one of: {KINDS}",
        "TC_A.yaml:6:5: step has no kind key ('exchnage' is unknown; did you mean 'exchange'?); "
        f"a step takes exactly one of: {KINDS}",
        f"TC_A.yaml:8:5: a step must be a mapping with one kind key ({KINDS}), not a string ('plug')",
    ]


def test_wrong_types(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        id: TC_A
        title: [a, title]
        profile: Core
        references: OCPP 1.6 §4.4
        timeout_s: soon
        steps:
          - wait: "1"
          - send: Heartbeat
            payload: [1]
            timeout_s: 0
          - act: plug
            connector: -1
          - expect_no_call: any
            for_s: true
        """,
    )
    assert problems(path) == [
        "TC_A.yaml:2:8: 'title' must be a string, not a list",
        "TC_A.yaml:4:13: 'references' must be a list, not a string ('OCPP 1.6 §4.4')",
        "TC_A.yaml:5:12: 'timeout_s' must be a number, not a string ('soon')",
        "TC_A.yaml:7:11: 'wait' must be a number of seconds (>= 0) or a '${name}' reference to one; got '1'",
        "TC_A.yaml:9:14: 'payload' must be a mapping, not a list",
        "TC_A.yaml:10:16: 'timeout_s' must be > 0; got 0",
        "TC_A.yaml:12:16: 'connector' must be a connector number (an integer >= 0) or a '${name}' reference; got -1",
        "TC_A.yaml:14:12: 'for_s' must be a number, not a boolean (true)",
    ]


def test_missing_required_keys(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        # yaml-language-server: $schema=../harness/scenario/schema.json
        id: TC_A
        profile: Core
        steps:
          - expect_no_call: Reset
        """,
    )
    assert problems(path) == [
        "TC_A.yaml:2:1: missing required key 'title'",
        "TC_A.yaml:5:5: missing required key 'for_s' in an 'expect_no_call' step",
    ]


def test_bad_profile_suggests_the_right_one(write: WriteFile, problems: Problems) -> None:
    path = write("TC_A.yaml", "id: TC_A\ntitle: t\nprofile: SmartCharge\nsteps: [{wait: 1}]\n")
    assert problems(path) == [
        "TC_A.yaml:3:10: 'profile' must be one of: Core, FirmwareManagement, LocalAuthListManagement, "
        "SmartCharging, RemoteTrigger, Reservation, Security, Robustness; got 'SmartCharge'; "
        "did you mean 'SmartCharging'?",
    ]


def test_unknown_action_suggests_the_right_one(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Core
        steps:
          - exchange: Authorise
          - expect_call: remoteStartTransaction
          - trigger: Explode
        """,
    )
    assert problems(path) == [
        "TC_A.yaml:5:15: unknown OCPP 1.6 action 'Authorise'; did you mean 'Authorize'?",
        "TC_A.yaml:6:18: unknown OCPP 1.6 action 'remoteStartTransaction'; did you mean 'RemoteStartTransaction'?",
        "TC_A.yaml:7:14: unknown OCPP 1.6 action 'Explode'",
    ]


def test_wrong_direction(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Core
        steps:
          - expect_call: StartTransaction
          - trigger: Heartbeat
          - send: RemoteStopTransaction
          - exchange: Reset
          - expect_no_call: MeterValues
            for_s: 1
          - expect_no_call: Reset
            for_s: 1
            from: station
          - expect_call: DataTransfer
          - send: DataTransfer
        """,
    )
    assert problems(path) == [
        "TC_A.yaml:5:18: StartTransaction is sent by the charge point; use 'send' or 'exchange'",
        "TC_A.yaml:6:14: Heartbeat is sent by the charge point; use 'send' or 'exchange'",
        "TC_A.yaml:7:11: RemoteStopTransaction is sent by the CSMS; use 'expect_call' or 'trigger'",
        "TC_A.yaml:8:15: Reset is sent by the CSMS; use 'expect_call' or 'trigger'",
        "TC_A.yaml:9:21: MeterValues is sent by the charge point; add 'from: station'",
        "TC_A.yaml:11:21: Reset is sent by the CSMS; remove 'from: station'",
    ]


def test_unknown_act_and_options_that_do_not_apply(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Core
        steps:
          - act: plugin
          - act: plug
            token: ${token}
          - act: go_offline
            connector: 1
          - act: fault
            error_code: Overheat
        """,
    )
    assert problems(path) == [
        "TC_A.yaml:5:10: 'act' must be one of: plug, unplug, present_token, fault, clear_fault, power_cycle, "
        "go_offline, go_online; got 'plugin'; did you mean 'plug'?",
        "TC_A.yaml:7:12: 'token' is only used by 'act: present_token'",
        "TC_A.yaml:9:16: 'connector' is not used by this act: it concerns the whole station",
        "TC_A.yaml:11:17: 'error_code' must be one of: ConnectorLockFailure, EVCommunicationError, GroundFailure, "
        "HighTemperature, InternalError, LocalListConflict, OtherError, OverCurrentFailure, PowerMeterFailure, "
        "PowerSwitchFailure, ReaderFailure, ResetFailure, UnderVoltage, OverVoltage, WeakSignal; got 'Overheat'",
    ]


def test_bad_json_schema_in_a_constraint(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Core
        steps:
          - exchange: StartTransaction
            expect:
              transactionId: {schema: {type: integr, minimun: 1}}
              idTagInfo:
                expiryDate: {schema: {type: string, minLength: -1}}
                parentIdTag: {schema: text}
          - exchange: Authorize
            request: {idTag: {optional: true}}
            expect: {idTagInfo: {absent: false}, extra: {absent: true, optional: true}}
        """,
    )
    assert problems(path) == [
        "TC_A.yaml:7:38: invalid JSON Schema: 'integr' is not one of ['array', 'boolean', 'integer', 'null', "
        "'number', 'object', 'string']; did you mean 'integer'?",
        "TC_A.yaml:7:46: unknown JSON Schema keyword 'minimun'; did you mean 'minimum'?",
        "TC_A.yaml:9:56: invalid JSON Schema: -1 is less than the minimum of 0",
        "TC_A.yaml:10:31: 'schema' must be a JSON Schema (a mapping), not a string ('text')",
        "TC_A.yaml:12:22: 'optional' needs a 'schema' next to it (e.g. {optional: true, schema: {...}})",
        "TC_A.yaml:13:34: 'absent' must be true; got false",
        "TC_A.yaml:13:49: 'absent: true' cannot be combined with 'schema', 'optional', 'not', 'after', "
        "'equals' or 'default'",
    ]


def test_undefined_variable_suggests_the_right_one(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Core
        steps:
          - act: present_token
            token: ${blocked_tokn}
          - exchange: StartTransaction
            capture: {tx_id: response.transactionId}
          - send: StopTransaction
            payload: {transactionId: "${tx_ld}", idTag: "${tokens.iso14443.vaild}", reason: "${nothing_like_it}"}
          - trigger: Reset
            payload: {type: "${unclosed"}
        """,
    )
    assert problems(path) == [
        "TC_A.yaml:6:12: undefined variable '${blocked_tokn}'; did you mean '${blocked_token}'?",
        "TC_A.yaml:10:30: undefined variable '${tx_ld}'; did you mean '${tx_id}'?",
        "TC_A.yaml:10:49: undefined variable '${tokens.iso14443.vaild}'; did you mean '${tokens.iso14443.valid}'?",
        "TC_A.yaml:10:85: undefined variable '${nothing_like_it}'",
        "TC_A.yaml:12:21: unterminated '${' in '${unclosed': a reference is written ${name}",
    ]


def test_capture_used_before_it_is_defined(write: WriteFile, problems: Problems) -> None:
    write(
        "scenarios/_states/stopped.yaml",
        """
        title: Stopped
        steps:
          - exchange: StopTransaction
            request: {transactionId: "${tx_id}"}
        """,
    )
    path = write(
        "scenarios/TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Core
        steps:
          - trigger: RemoteStopTransaction
            payload: {transactionId: "${tx_id}"}
          - use: stopped
          - expect_call: RemoteStopTransaction
            match: {transactionId: "${stop_id}"}
            capture: {stop_id: request.transactionId}
          - exchange: StartTransaction
            capture: {tx_id: response.transactionId}
        """,
    )
    assert problems(path) == [
        "scenarios/TC_A.yaml:6:30: variable '${tx_id}' is used before it is captured (by the step at line 11)",
        "scenarios/TC_A.yaml:9:28: variable '${stop_id}' is captured by this same step, so it cannot be used in it",
        "scenarios/_states/stopped.yaml:4:30: variable '${tx_id}' is used before it is captured "
        "(by the step at scenarios/TC_A.yaml:11)",
    ]


def test_capture_names_and_paths(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Core
        steps:
          - exchange: StartTransaction
            capture: {token: request.idTag, TxId: response.transactionId, tx: resp.transactionId}
          - expect_call: RemoteStopTransaction
            capture: {stop: answer.status}
        """,
    )
    assert problems(path) == [
        "TC_A.yaml:6:15: capture 'token' would hide the built-in variable '${token}'; rename it",
        "TC_A.yaml:6:37: invalid key 'TxId': capture names must be lowercase identifiers (^[a-z_][a-z0-9_]*$)",
        "TC_A.yaml:6:71: capture 'tx' must be a path 'request.a.b' or 'response.a.b', like "
        "'response.transactionId'; got 'resp.transactionId'",
        "TC_A.yaml:8:21: capture 'stop' must be a path into the CSMS request or the station's answer, like "
        "'request.transactionId'; got 'answer.status'",
    ]


def test_reference_inside_a_constraint_is_not_resolved(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Core
        steps:
          - exchange: Authorize
            request: {idTag: {schema: {const: "${token}"}}}
        """,
    )
    assert problems(path) == [
        "TC_A.yaml:6:39: '${token}' is not resolved inside a constraint: compare with the variable directly "
        "(member: ${token})",
    ]


def test_conflicting_options(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Core
        steps:
          - send: Heartbeat
            expect: {}
            expect_error: NotImplemented
          - expect_call: Reset
            reply: {status: Accepted}
            reply_error: Broken
        """,
    )
    assert problems(path) == [
        "TC_A.yaml:5:5: 'expect' and 'expect_error' cannot be used together",
        "TC_A.yaml:8:5: 'reply' and 'reply_error' cannot be used together",
        "TC_A.yaml:10:18: 'reply_error' must be one of: NotImplemented, NotSupported, InternalError, ProtocolError, "
        "SecurityError, FormationViolation, PropertyConstraintViolation, OccurenceConstraintViolation, "
        "TypeConstraintViolation, GenericError; got 'Broken'",
    ]


def test_missing_state_suggests_the_right_one(write: WriteFile, problems: Problems) -> None:
    write("scenarios/_states/booted.yaml", "title: Booted\nsteps: [{wait: 1}]\n")
    write("scenarios/_states/my_state.yaml", "title: Mine\nsteps: [{wait: 1}]\n")
    path = write(
        "scenarios/core/TC_A.yaml",
        "id: TC_A\ntitle: t\nprofile: Core\nsteps:\n  - use: boted\n  - use: offline\n",
    )
    assert problems(path) == [
        "scenarios/core/TC_A.yaml:5:10: unknown state 'boted' (no scenarios/_states/boted.yaml and no shipped "
        "state 'boted'); did you mean 'booted'?",
        "scenarios/core/TC_A.yaml:6:10: unknown state 'offline' (no scenarios/_states/offline.yaml and no shipped "
        "state 'offline'); known states: authorized, booted, charging, my_state",
    ]


def test_missing_state_without_a_states_folder_names_the_shipped_one(write: WriteFile, problems: Problems) -> None:
    path = write("TC_A.yaml", "id: TC_A\ntitle: t\nprofile: Core\nsteps:\n  - use: charing\n")
    shipped = shipped_scenarios() / "_states" / "charing.yaml"
    assert problems(path) == [f"TC_A.yaml:5:10: unknown state 'charing' (no {shipped}); did you mean 'charging'?"]


def test_include_cycle(write: WriteFile, problems: Problems) -> None:
    write("scenarios/_states/a.yaml", "title: A\nsteps:\n  - use: b\n")
    write("scenarios/_states/b.yaml", "title: B\nsteps:\n  - wait: 1\n  - use: a\n")
    write("scenarios/_states/self.yaml", "title: Self\nsteps:\n  - use: self\n")
    path = write("scenarios/TC_A.yaml", "id: TC_A\ntitle: t\nprofile: Core\nsteps:\n  - use: a\n  - use: self\n")
    assert problems(path) == [
        "scenarios/_states/b.yaml:4:10: include cycle: a -> b -> a",
        "scenarios/_states/self.yaml:3:10: include cycle: self -> self",
    ]


def test_problems_inside_a_state_are_reported_at_the_state(write: WriteFile, problems: Problems) -> None:
    write(
        "scenarios/_states/booted.yaml",
        """
        id: booted
        steps:
          - exchange: BootNotifcation
        """,
    )
    path = write("scenarios/core/TC_A.yaml", "id: TC_A\ntitle: t\nprofile: Core\nsteps:\n  - use: booted\n")
    assert problems(path) == [
        "scenarios/_states/booted.yaml:1:1: unknown key 'id'; expected one of: title, description, steps",
        "scenarios/_states/booted.yaml:1:1: missing required key 'title'",
        "scenarios/_states/booted.yaml:3:15: unknown OCPP 1.6 action 'BootNotifcation'; "
        "did you mean 'BootNotification'?",
    ]


def test_duplicate_key(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Core
        steps:
          - exchange: Authorize
            expect: {idTagInfo: {status: Accepted}}
            expect: {idTagInfo: {status: Blocked, status: Invalid}}
        title: again
        """,
    )
    assert problems(path) == [
        "TC_A.yaml:7:5: duplicate key 'expect' (first at line 6)",
        "TC_A.yaml:7:43: duplicate key 'status' (first at line 7)",
        "TC_A.yaml:8:1: duplicate key 'title' (first at line 2)",
    ]


def test_yaml_syntax_error(write: WriteFile, problems: Problems) -> None:
    path = write("TC_A.yaml", "id: TC_A\ntitle: [unclosed\nprofile: Core\nsteps: []\n")
    assert problems(path) == [
        "TC_A.yaml:3:8: YAML syntax error: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence at line 2, column 8)",
    ]


def test_yaml_syntax_errors_of_other_kinds(write: WriteFile, problems: Problems) -> None:
    tab = write("TC_TAB.yaml", "id: TC_TAB\nsteps:\n\t- wait: 1\n")
    two = write("TC_TWO.yaml", "id: TC_TWO\n---\nid: other\n")
    reference = write("TC_REF.yaml", "id: TC_REF\nsteps:\n  - send: Heartbeat\n    payload: {a: ${not a name}}\n")
    assert problems(tab) == ["TC_TAB.yaml:3:1: YAML syntax error: found character '\\t' that cannot start any token"]
    assert problems(two) == [
        "TC_TWO.yaml:2:1: YAML syntax error: expected a single document in the stream, but found another document"
    ]
    assert problems(reference) == [
        "TC_REF.yaml:4:19: YAML syntax error: expected ',' or '}', but got '{' (while parsing a flow mapping at "
        'line 4, column 14); quote ${name} references inside [...] or {...}: "${name}"'
    ]


def test_not_a_scenario_at_all(write: WriteFile, problems: Problems) -> None:
    empty = write("TC_EMPTY.yaml", "# nothing yet\n")
    listing = write("TC_LIST.yaml", "- wait: 1\n")
    tagged = write("TC_TAG.yaml", "id: TC_TAG\ntitle: !!binary aGk=\nprofile: Core\nsteps: [{wait: !secs 1}]\n")
    assert problems(empty) == [
        "TC_EMPTY.yaml:1:1: the file is empty; expected a mapping with id, title, profile, steps"
    ]
    assert problems(listing) == [
        "TC_LIST.yaml:1:1: the file must be a mapping with id, title, profile, steps, not a list"
    ]
    assert problems(tagged) == [
        "TC_TAG.yaml:2:8: YAML tag !!binary is not supported: use plain YAML",
        "TC_TAG.yaml:4:16: YAML tag !secs is not supported: use plain YAML",
        "TC_TAG.yaml:4:16: 'wait' must be a number of seconds (>= 0) or a '${name}' reference to one; got '1'",
    ]


def test_id_must_match_the_file_name(write: WriteFile, problems: Problems) -> None:
    path = write("scenarios/core/TC_003_CSMS.yaml", "id: TC_004_CSMS\ntitle: t\nprofile: Core\nsteps: [{wait: 1}]\n")
    bad = write("scenarios/core/TC-5.yaml", "id: TC-5\ntitle: t\nprofile: Core\nsteps: [{wait: 1}]\n")
    assert problems(path) == [
        "scenarios/core/TC_003_CSMS.yaml:1:5: id 'TC_004_CSMS' does not match the file name 'TC_003_CSMS.yaml'; "
        "rename one of them",
    ]
    assert problems(bad) == ["scenarios/core/TC-5.yaml:1:5: 'id' must contain only letters, digits and '_'; got 'TC-5'"]


def test_configuration_values(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Core
        configuration: {Bad Key: x, MeterValuesSampledData: [a]}
        steps: [{wait: 1}]
        """,
    )
    assert problems(path) == [
        "TC_A.yaml:4:17: invalid key 'Bad Key': configuration keys are OCPP key names (CiString50, "
        "e.g. ConnectionTimeOut)",
        "TC_A.yaml:4:53: 'MeterValuesSampledData' must be a string or an integer or true or false, not a list",
    ]


def test_several_mistakes_in_one_file_are_all_reported_in_order(write: WriteFile, problems: Problems) -> None:
    write("scenarios/_states/booted.yaml", "title: Booted\nsteps: [{exchange: BootNotification}]\n")
    path = write(
        "scenarios/core/TC_010_CSMS.yaml",
        """
        # yaml-language-server: $schema=../../harness/scenario/schema.json
        id: TC_010_CSMS
        title: Remote Start Charging Session - Cable Plugged in First
        profile: core
        steps:
          - use: booted
          - act: plug
            conector: 1
          - trigger: RemoteStartTransaction
            payload: {connectorId: "${connector}", idTag: "${tokn}"}
          - expect_call: RemoteStartTransaction
            match: {connectorId: "${connector}"}
            timeout_s: -5
          - exchange: StartTransaction
            expect: {transactionId: {schema: {type: int}}}
            capture: {tx_id: response.transactionId}
          - send: StopTransaction
            payload: {transactionId: "${tx_id}"}
            expect: {}
            expect: {idTagInfo: {status: Accepted}}
        """,
    )
    assert problems(path) == [
        "scenarios/core/TC_010_CSMS.yaml:4:10: 'profile' must be one of: Core, FirmwareManagement, "
        "LocalAuthListManagement, SmartCharging, RemoteTrigger, Reservation, Security, Robustness; got 'core'; "
        "did you mean 'Core'?",
        "scenarios/core/TC_010_CSMS.yaml:8:5: unknown key 'conector' in an 'act' step; did you mean 'connector'?",
        "scenarios/core/TC_010_CSMS.yaml:10:51: undefined variable '${tokn}'; did you mean '${token}'?",
        "scenarios/core/TC_010_CSMS.yaml:13:16: 'timeout_s' must be > 0; got -5",
        "scenarios/core/TC_010_CSMS.yaml:15:45: invalid JSON Schema: 'int' is not one of ['array', 'boolean', "
        "'integer', 'null', 'number', 'object', 'string']; did you mean 'integer'?",
        "scenarios/core/TC_010_CSMS.yaml:20:5: duplicate key 'expect' (first at line 19)",
    ]
    scenarios, found = load_scenarios(["scenarios"])
    assert scenarios == []
    assert [str(problem) for problem in found] == problems(path)


def test_not_constraint_mistakes(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Core
        steps:
          - exchange: StartTransaction
            capture: {tx_a: response.transactionId}
          - exchange: StartTransaction
            expect:
              transactionId: {not: "${tx_b}"}
              idTagInfo: {not: {schema: {type: object}}}
              meterStart: {not: 1, absent: true}
          - exchange: StopTransaction
            request: {transactionId: {not: "${tx_a}", schema: {type: integer}}, idTag: {optional: true, not: X}}
        """,
    )
    assert problems(path) == [
        "TC_A.yaml:9:28: undefined variable '${tx_b}'; did you mean '${tx_a}'?",
        "TC_A.yaml:10:24: 'not' takes a value to differ from (e.g. {not: \"${tx_a}\"}), not another constraint",
        "TC_A.yaml:11:19: 'absent: true' cannot be combined with 'schema', 'optional', 'not', 'after', "
        "'equals' or 'default'",
    ]


def test_after_constraint_and_wait_reference_mistakes(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Reservation
        steps:
          - expect_call: ReserveNow
            match:
              expiryDate: {after: tomorrow}
              reservationId: {after: {schema: {type: integer}}}
              idTag: {after: "${time.later}"}
              connectorId: {after: true, absent: true}
          - wait: "${test.reservation_expiry}"
          - wait: "${test.reservation_expiry_s} s"
        """,
    )
    after = "'after' takes a number or an RFC 3339 date-time to come after (e.g. {after: \"${time.now}\"}), not "
    assert problems(path) == [
        f"TC_A.yaml:7:27: {after}'tomorrow'",
        f'TC_A.yaml:8:30: {after}{{"schema": {{"type": "integer"}}}}',
        "TC_A.yaml:9:22: undefined variable '${time.later}'; did you mean '${time.yesterday}'?",
        "TC_A.yaml:10:20: 'absent: true' cannot be combined with 'schema', 'optional', 'not', 'after', "
        "'equals' or 'default'",
        f"TC_A.yaml:10:28: {after}true",
        "TC_A.yaml:11:11: undefined variable '${test.reservation_expiry}'; "
        "did you mean '${test.reservation_expiry_s}'?",
        "TC_A.yaml:12:11: 'wait' must be a number of seconds (>= 0) or a '${name}' reference to one; got "
        "'${test.reservation_expiry_s} s'",
    ]


def test_a_raw_step_needs_an_expectation_and_hex_pairs(write: WriteFile, problems: Problems) -> None:
    path = write(
        "scenarios/robustness/TC_R.yaml",
        """
        id: TC_R
        title: t
        profile: Core
        steps:
          - raw: '[2,"a","Heartbeat",{}'
          - raw: '[2,"b","Heartbeat",{}'
            expect_error: FormationViolation
            expect_close: true
          - raw: label
            hex: "c3 2"
            expect_silence_s: 1
          - raw: ['[2,"c","Heartbeat",{}]', '[2,"d","Heartbeat",{}]']
            message_id: c
            expect: {}
            expect_error: any
        """,
    )
    assert problems(path) == [
        "scenarios/robustness/TC_R.yaml:5:5: a raw step needs one of expect_error, expect, expect_silence_s, "
        "expect_close (expect_error and expect may go together)",
        "scenarios/robustness/TC_R.yaml:6:5: a raw step needs one of expect_error, expect, expect_silence_s, "
        "expect_close (expect_error and expect may go together); it has expect_error, expect_close",
        "scenarios/robustness/TC_R.yaml:10:10: 'hex' must be pairs of hex digits, e.g. \"5b 32 c3 28\"; got 'c3 2'",
        "scenarios/robustness/TC_R.yaml:13:5: message_id goes with a single raw frame, not a list",
    ]


def test_a_handshake_step_needs_exactly_one_expectation(write: WriteFile, problems: Problems) -> None:
    path = write(
        "scenarios/robustness/TC_H.yaml",
        """
        id: TC_H
        title: t
        profile: Core
        steps:
          - handshake: CP_1
          - handshake: CP_1
            expect_status: 404
            expect_close: true
          - handshake: CP_1
            subprotocols: [ocpp0.1]
            expect_close: true
        """,
    )
    assert problems(path) == [
        "scenarios/robustness/TC_H.yaml:5:5: a handshake step needs exactly one of expect_status, expect_subprotocol, "
        "expect_close, expect_refusal",
        "scenarios/robustness/TC_H.yaml:6:5: a handshake step needs exactly one of expect_status, expect_subprotocol, "
        "expect_close, expect_refusal; it has expect_status, expect_close",
    ]


def test_equals_and_default_mistakes(write: WriteFile, problems: Problems) -> None:
    path = write(
        "TC_A.yaml",
        """
        id: TC_A
        title: t
        profile: Core
        steps:
          - expect_call: SetChargingProfile
            match:
              connectorId: {equals: "${connectr}"}
              csChargingProfiles:
                stackLevel: {default: 0}
                chargingProfileKind: {equals: {optional: true, schema: {}}}
                validFrom: {optional: true, default: "x", equals: "${test.stack_level}"}
                validTo: {absent: true, default: 1}
        """,
    )
    assert problems(path) == [
        "TC_A.yaml:7:29: undefined variable '${connectr}'; did you mean '${connector}'?",
        "TC_A.yaml:9:21: 'default' needs 'equals', 'schema' or 'not' next to it, which check it when the member "
        'is missing (e.g. {equals: "${test.number_phases}", default: 3})',
        "TC_A.yaml:10:39: 'equals' takes a value to match (e.g. {equals: \"${test.number_phases}\", default: 3}), "
        "not another constraint",
        "TC_A.yaml:11:20: 'optional' and 'default' cannot be used together: a missing member either passes or "
        "counts as the default",
        "TC_A.yaml:12:18: 'absent: true' cannot be combined with 'schema', 'optional', 'not', 'after', "
        "'equals' or 'default'",
    ]
