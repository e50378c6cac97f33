"""Security profiles and credentials (whitepaper ed. 3 §2.1-2.5, A01, A05; TC_073, TC_083, TC_084_CS, TC_085) and
security events (A04, §8)."""

from __future__ import annotations

import base64

import pytest
from sim_kit import Error, Hold, Sim, Timeout, booted
from sim_security_kit import ISSUED_AT, cpo_ca, events, root_pem, shown

from simulator.model import StationSpec
from simulator.model.security import PROFILE_FALLBACK_FAILURES, RECONNECT_GRACE_S, ConnectionSettings

OCTT_KEY = "4F43415F4F4354545F61646D696E5F74657374"  # "OCA_OCTT_admin_test" (TC_073_CS)
KEY_16 = "00112233445566778899AABBCCDDEEFF"


def station_certificate() -> tuple[str, str]:
    issued = cpo_ca().issue_station_certificate(serial_number="CP-1", cpo_name="Test CPO", now=ISSUED_AT)
    return issued.certificate_pem() + root_pem(cpo_ca()), issued.private_key_pem()


def change(sim: Sim, key: str, value: str) -> str:
    return str(sim.call("ChangeConfiguration", {"key": key, "value": value})["status"])


# ------------------------------------------------------------------ A01: the Basic password


def test_tc_073_new_password_then_reconnect_with_it() -> None:
    sim = booted(config={"SecurityProfile": "1", "AuthorizationKey": KEY_16})
    assert sim.settings[-1].password == bytes.fromhex(KEY_16)
    assert change(sim, "AuthorizationKey", OCTT_KEY) == "Accepted"
    assert sim.connections == 1  # the answer goes out on the old connection first
    sim.advance(RECONNECT_GRACE_S)
    assert sim.connections == 2
    assert sim.settings[-1].password == b"OCA_OCTT_admin_test"
    header = sim.settings[-1].authorization_header()
    assert header == "Basic " + base64.b64encode(b"CP-1:OCA_OCTT_admin_test").decode()  # TC_085: not the hex form
    assert shown(sim) == []  # a mere reconnect: no BootNotification (A01 step 4)
    assert sim.cp.registration == "Accepted"
    assert sim.cp.security_log[-1].event_type == "ReconfigurationOfSecurityParameters"
    assert sim.cp.security_log[-1].tech_info == "AuthorizationKey changed"  # A01.FR.12: not its content


def test_the_reconnect_waits_for_what_is_being_said() -> None:
    sim = booted(
        config={"SecurityProfile": "2", "AuthorizationKey": KEY_16}, central_system_roots=(root_pem(cpo_ca()),)
    )
    sim.queue_reply("StatusNotification", Timeout())
    change(sim, "AuthorizationKey", OCTT_KEY)
    sim.plug()  # a StatusNotification is on its way when the grace ends
    sim.advance(RECONNECT_GRACE_S + 0.5)
    assert sim.connections == 2


@pytest.mark.parametrize(
    "value",
    [
        "00" * 15,  # 15 bytes: under the 16 of A00.FR.205
        "00" * 21,  # 21 bytes, 42 digits: over the 40
        "OCA_OCTT_admin_test",  # the plain password: the key carries its hexadecimal form
        "0" * 33,  # an odd number of digits
    ],
)
def test_an_authorization_key_that_is_not_16_to_20_bytes_in_hex_is_rejected(value: str) -> None:
    sim = booted(config={"SecurityProfile": "1", "AuthorizationKey": KEY_16})
    assert change(sim, "AuthorizationKey", value) == "Rejected"
    sim.advance(10)
    assert sim.connections == 1
    assert sim.cp.connection_settings(sim.now).password == bytes.fromhex(KEY_16)


def test_on_profile_0_or_3_the_key_is_kept_without_reconnect() -> None:
    sim = booted()
    assert change(sim, "AuthorizationKey", OCTT_KEY) == "Accepted"
    sim.advance(10)
    assert sim.connections == 1
    assert sim.cp.connection_settings(sim.now).authorization_header() is None  # profile 0: no Basic auth


def test_the_authorization_key_is_write_only() -> None:
    """§7.2: GetConfiguration never reveals it; nor do the configuration view or the diagnostics file."""
    sim = booted(config={"AuthorizationKey": OCTT_KEY})
    reply = sim.call("GetConfiguration", {"key": ["AuthorizationKey"]})
    assert reply == {"configurationKey": [{"key": "AuthorizationKey", "readonly": False}], "unknownKey": []}
    every = sim.call("GetConfiguration", {})["configurationKey"]
    assert {"key": "AuthorizationKey", "readonly": False} in every
    assert "AuthorizationKey" not in sim.cp.configuration()
    sim.call("GetDiagnostics", {"location": "https://csms.example/up/"})
    (job,) = sim.cp.take_transfers(sim.now)
    assert b"AuthorizationKey" not in job.body and OCTT_KEY.encode() not in job.body


def test_spec_password_is_stored_as_hex_and_kept_out_of_repr() -> None:
    spec = StationSpec(station_id="CP-1", basic_auth_password="s3cret-password!", config={"SecurityProfile": "1"})
    assert "s3cret" not in repr(spec)
    sim = Sim(basic_auth_password="s3cret-password!", config={"SecurityProfile": "1"})
    settings = sim.settings[-1]
    assert settings.password == b"s3cret-password!" and "s3cret" not in repr(settings)
    assert settings.scheme == "ws" and not settings.uses_tls


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"basic_auth_password": ""}, "basic_auth_password must not be empty"),
        ({"basic_auth_password": "x" * 16, "config": {"AuthorizationKey": KEY_16}}, "not both"),
        ({"central_system_roots": ("nope",)}, "central_system_roots[0]: not a PEM"),
        ({"client_certificate": "x"}, "go together"),
        ({"client_certificate": "x", "client_private_key": "y"}, "client certificate: not a PEM"),
    ],
)
def test_spec_security_material_is_checked(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        StationSpec(station_id="CP-1", **fields)


def test_spec_refuses_a_leaf_as_root_and_a_foreign_key() -> None:
    chain, key = station_certificate()
    leaf = chain[: chain.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----\n")]
    with pytest.raises(ValueError, match="is not a self-signed root CA"):
        StationSpec(station_id="CP-1", manufacturer_roots=(leaf,))
    with pytest.raises(ValueError, match="is not the key of client_certificate"):
        StationSpec(
            station_id="CP-1", client_certificate=chain, client_private_key=cpo_ca().credential.private_key_pem()
        )


# ------------------------------------------------------------------ A05: the security profile


def test_tc_083_upgrade_then_reset_connects_with_the_new_profile() -> None:
    chain, key = station_certificate()
    sim = booted(
        config={"SecurityProfile": "2", "AuthorizationKey": KEY_16},
        central_system_roots=(root_pem(cpo_ca()),),
        client_certificate=chain,
        client_private_key=key,
    )
    assert sim.settings[-1].security_profile == 2 and sim.settings[-1].scheme == "wss"
    assert change(sim, "SecurityProfile", "3") == "Accepted"
    sim.advance(10)
    assert sim.connections == 1  # SimSecurityProfileSwitch NextConnection: the CSMS sends Reset(Hard) next
    assert sim.call("Reset", {"type": "Hard"}) == {"status": "Accepted"}
    sim.advance(10)
    assert sim.connections == 2
    settings = sim.settings[-1]
    assert settings.security_profile == 3 and settings.authorization_header() is None
    assert settings.client_certificate_chain == chain and settings.client_private_key is not None
    assert settings.central_system_roots == (root_pem(cpo_ca()),)
    assert "PRIVATE" not in repr(settings)
    assert shown(sim)[0] == "BootNotification"


def test_reconnect_switch_disconnects_at_once() -> None:
    """A05.FR.06/07 to the letter (SimSecurityProfileSwitch Reconnect)."""
    sim = booted(config={"AuthorizationKey": KEY_16, "SimSecurityProfileSwitch": "Reconnect"})
    assert change(sim, "SecurityProfile", "1") == "Accepted"
    sim.advance(RECONNECT_GRACE_S)
    assert sim.connections == 2 and sim.settings[-1].security_profile == 1


@pytest.mark.parametrize(
    ("config", "roots", "value"),
    [
        ({"SecurityProfile": "2", "AuthorizationKey": KEY_16}, True, "1"),  # A05.FR.01: lower (TC_084_CS)
        ({"SecurityProfile": "2", "AuthorizationKey": KEY_16}, True, "2"),  # A05.FR.01: equal
        ({}, False, "1"),  # A05.FR.02: no AuthorizationKey
        ({"AuthorizationKey": KEY_16}, False, "2"),  # A05.FR.03: no CentralSystemRootCertificate
        ({"AuthorizationKey": KEY_16}, True, "3"),  # A05.FR.04: no charge point certificate
        ({}, True, "4"),  # not a profile
    ],
)
def test_security_profile_changes_that_are_rejected(config: dict[str, str], roots: bool, value: str) -> None:
    sim = booted(config=config, central_system_roots=(root_pem(cpo_ca()),) if roots else ())
    before = sim.cp.connection_settings(sim.now).security_profile
    assert change(sim, "SecurityProfile", value) == "Rejected"
    assert sim.cp.connection_settings(sim.now).security_profile == before


def test_a_downgrade_imposed_by_a_scenario_changes_nothing() -> None:
    """A00.FR.005: never lower through OCPP, whatever is answered."""
    sim = booted(config={"SecurityProfile": "1", "AuthorizationKey": KEY_16})
    payload = {"key": "SecurityProfile", "value": "0"}
    assert sim.call("ChangeConfiguration", payload, answer={"status": "Accepted"}) == {"status": "Accepted"}
    assert sim.cp.connection_settings(sim.now).security_profile == 1


def test_a_new_profile_that_cannot_connect_falls_back() -> None:
    """A05.FR.08: back to the previous profile after PROFILE_FALLBACK_FAILURES failed attempts."""
    sim = booted(config={"AuthorizationKey": KEY_16, "SimSecurityProfileSwitch": "Reconnect"})
    change(sim, "SecurityProfile", "1")
    sim.auto_connect = False
    sim.advance(RECONNECT_GRACE_S)
    assert not sim.link
    for _ in range(PROFILE_FALLBACK_FAILURES - 1):
        sim.cp.connection_failed(sim.now, "HTTP 401")
    assert sim.cp.connection_settings(sim.now).security_profile == 1
    sim.cp.connection_failed(sim.now, "HTTP 401")
    assert sim.cp.connection_settings(sim.now).security_profile == 0
    assert "back to 0" in (sim.cp.security_log[-1].tech_info or "")
    sim.cp.connection_failed(sim.now, "again")  # nothing left to fall back to
    assert sim.cp.connection_settings(sim.now).security_profile == 0
    sim.connect()
    assert change(sim, "SecurityProfile", "1") == "Accepted"  # the upgrade may be tried again


def test_a_profile_that_connected_once_stays() -> None:
    """A05.FR.09: after one successful connection there is no fallback any more."""
    sim = booted(config={"AuthorizationKey": KEY_16, "SimSecurityProfileSwitch": "Reconnect"})
    change(sim, "SecurityProfile", "1")
    sim.advance(RECONNECT_GRACE_S)
    assert sim.connections == 2
    for _ in range(PROFILE_FALLBACK_FAILURES + 1):
        sim.cp.connection_failed(sim.now, "refused")
    assert sim.cp.connection_settings(sim.now).security_profile == 1


def test_a_failure_interleaved_with_a_success_counts_from_zero() -> None:
    sim = booted(config={"AuthorizationKey": KEY_16})
    change(sim, "SecurityProfile", "1")
    sim.cp.connection_failed(sim.now, "refused")
    sim.cp.connection_failed(sim.now, "refused")
    assert sim.cp.connection_settings(sim.now).security_profile == 1


# ------------------------------------------------------------------ A04: security events


def test_events_are_logged_and_only_the_required_ones_sent_by_default() -> None:
    sim = booted()
    sim.call("Reset", {"type": "Soft"})
    sim.advance(10)
    assert events(sim) == ["StartupOfTheDevice", "ResetOrReboot", "StartupOfTheDevice"]
    assert all(not event.sent for event in sim.cp.security_log)
    assert "SecurityEventNotification" not in [s.split(":")[0] for s in shown(sim)]


def test_critical_events_are_sent_with_sim_security_events_critical() -> None:
    """A04.FR.01 to the letter: StartupOfTheDevice, ResetOrReboot (critical) go out, Reconfiguration... not."""
    sim = Sim(config={"SimSecurityEvents": "Critical"})
    boot = shown(sim)
    assert boot[0] == "BootNotification" and "SecurityEventNotification:StartupOfTheDevice" in boot
    change(sim, "AuthorizationKey", KEY_16)
    assert shown(sim) == []
    sim.call("Reset", {"type": "Hard"})
    sim.advance(10)
    after = shown(sim)
    assert after.index("SecurityEventNotification:ResetOrReboot") < after.index(
        "SecurityEventNotification:StartupOfTheDevice"
    )


def test_all_events_are_sent_with_sim_security_events_all() -> None:
    sim = booted(config={"SimSecurityEvents": "All"})
    shown(sim)
    change(sim, "AuthorizationKey", KEY_16)
    assert shown(sim) == ["SecurityEventNotification:ReconfigurationOfSecurityParameters"]
    sim.refused("Reset", {"type": "Warm"})
    sim.follow()
    assert shown(sim) == ["SecurityEventNotification:InvalidMessages"]


def test_a_security_event_survives_disconnects_and_reboots() -> None:
    """A04.FR.02: queued with guaranteed delivery."""
    sim = booted()
    sim.go_offline()
    sim.cp.report_security_event("InvalidCentralSystemCertificate", sim.now, tech_info="CN is not the host")
    sim.power_cycle()
    sim.go_online()
    sim.advance(10)
    sent = [s for s in sim.take() if s.action == "SecurityEventNotification"]
    assert [s.payload["techInfo"] for s in sent] == ["CN is not the host"]


def test_a_security_event_in_flight_at_a_disconnect_is_sent_again() -> None:
    sim = booted()
    sim.queue_reply("SecurityEventNotification", Hold())
    sim.cp.report_security_event("InvalidTLSVersion", sim.now)
    sim.follow()
    assert shown(sim) == ["SecurityEventNotification:InvalidTLSVersion"]
    sim.drop_link()
    sim.connect()
    assert shown(sim) == ["SecurityEventNotification:InvalidTLSVersion"]


def test_a_security_event_the_csms_refuses_is_dropped() -> None:
    sim = booted()
    sim.queue_reply("SecurityEventNotification", Error("NotImplemented"))
    sim.cp.report_security_event("TamperDetectionActivated", sim.now)
    sim.follow()
    assert shown(sim) == []  # critical, but not required: only logged
    sim.cp.report_security_event("InvalidTLSCipherSuite", sim.now)
    sim.follow()
    assert shown(sim) == ["SecurityEventNotification:InvalidTLSCipherSuite"]
    assert [d.action for d in sim.cp.dropped_messages] == ["SecurityEventNotification"]


def test_unknown_security_events_are_refused_and_tech_info_is_bounded() -> None:
    sim = booted()
    with pytest.raises(ValueError, match="unknown security event 'Oops'"):
        sim.cp.report_security_event("Oops", sim.now)
    sim.cp.report_security_event("InvalidTLSVersion", sim.now, tech_info="x" * 300)
    sim.follow()
    (sent,) = sim.take()
    assert len(sent.payload["techInfo"]) == 255


def test_settings_type() -> None:
    settings = ConnectionSettings(security_profile=2, username="CP-1", password=b"p")
    assert settings.uses_tls and settings.scheme == "wss" and settings.authorization_header() is not None
    assert ConnectionSettings(security_profile=1, username="CP-1").authorization_header() is None


def test_a_reconnect_the_network_took_first_is_not_done_twice() -> None:
    sim = booted(config={"SecurityProfile": "1", "AuthorizationKey": KEY_16})
    change(sim, "AuthorizationKey", OCTT_KEY)
    sim.go_offline()
    sim.advance(RECONNECT_GRACE_S)
    sim.go_online()
    sim.advance(1)
    assert sim.connections == 2 and sim.settings[-1].password == b"OCA_OCTT_admin_test"
    sim.advance(10)
    assert sim.connections == 2
