"""The station's own certificate (whitepaper ed. 3 A02, A03; TC_074, TC_077) and ExtendedTriggerMessage (§5.5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from sim_kit import Sent, Sim, booted, describe
from sim_security_kit import CPO, DETAILED, ISSUED_AT, cpo_ca, other_ca, root_pem, shown

from csms.pki import CertificateAuthority, certificate_pem
from simulator.model.security import RECONNECT_GRACE_S, RENEWAL_BEFORE_EXPIRY_S

KEY_16 = "00112233445566778899AABBCCDDEEFF"


def profile_3(**fields: object) -> Sim:
    issued = cpo_ca().issue_station_certificate(serial_number="SN-1", cpo_name=CPO, now=ISSUED_AT)
    return booted(
        config={"SecurityProfile": "3", "CpoName": CPO, **fields.pop("config", {})},
        serial_number="SN-1",
        central_system_roots=(root_pem(cpo_ca()),),
        client_certificate=issued.certificate_pem(),
        client_private_key=issued.private_key_pem(),
        **fields,
    )


def trigger(sim: Sim, requested: str, connector_id: int | None = None) -> str:
    payload: dict[str, object] = {"requestedMessage": requested}
    if connector_id is not None:
        payload["connectorId"] = connector_id
    return str(sim.call("ExtendedTriggerMessage", payload)["status"])


def csr_of(sim: Sim) -> str:
    (sent,) = [s for s in sim.take() if s.action == "SignCertificate"]
    return str(sent.payload["csr"])


def signed(csr: str, ca: CertificateAuthority | None = None, **fields: object) -> str:
    return (ca or cpo_ca()).sign_csr(csr, now=ISSUED_AT, **fields).chain_pem


def test_tc_074_sign_then_reconnect_with_the_new_certificate() -> None:
    sim = profile_3()
    old = sim.settings[-1].client_certificate_chain
    assert trigger(sim, "SignChargePointCertificate") == "Accepted"
    csr = csr_of(sim)
    assert x509.load_pem_x509_csr(csr.encode()).subject.rfc4514_string() == f"CN=SN-1,O={CPO}"  # A00.FR.511, A02.FR.13
    chain = cpo_ca().sign_csr(csr, now=ISSUED_AT)
    assert sim.call("CertificateSigned", {"certificateChain": chain.chain_pem}) == {"status": "Accepted"}
    sim.advance(RECONNECT_GRACE_S)
    assert sim.connections == 2
    settings = sim.settings[-1]
    assert settings.client_certificate_chain == chain.chain_pem != old
    assert settings.client_private_key is not None and "PRIVATE KEY" in settings.client_private_key
    assert shown(sim) == []  # reconnect, no BootNotification; the change is only logged
    assert sim.cp.security_log[-1].event_type == "ReconfigurationOfSecurityParameters"


def test_on_profile_1_the_certificate_is_kept_for_a_later_upgrade() -> None:
    sim = booted(
        config={"SecurityProfile": "1", "AuthorizationKey": KEY_16}, central_system_roots=(root_pem(cpo_ca()),)
    )
    trigger(sim, "SignChargePointCertificate")
    assert sim.call("CertificateSigned", {"certificateChain": signed(csr_of(sim))}) == {"status": "Accepted"}
    sim.advance(10)
    assert sim.connections == 1
    assert sim.call("ChangeConfiguration", {"key": "SecurityProfile", "value": "3"}) == {"status": "Accepted"}


def test_tc_077_sim_certificate_signed_reject() -> None:
    sim = profile_3(config={"SimCertificateSigned": "Reject"})
    trigger(sim, "SignChargePointCertificate")
    assert sim.call("CertificateSigned", {"certificateChain": signed(csr_of(sim))}) == {"status": "Rejected"}
    assert shown(sim) == ["SecurityEventNotification:InvalidChargePointCertificate"]  # A02.FR.07
    sim.advance(10)
    assert sim.connections == 1


def mismatched_key(csr: str) -> str:
    return cpo_ca().issue_station_certificate(serial_number="SN-1", cpo_name=CPO, now=ISSUED_AT).certificate_pem()


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda csr: "not PEM", "not a PEM X.509 certificate"),
        (lambda csr: signed(csr, other_ca()), "not issued by an installed CentralSystemRootCertificate"),
        (mismatched_key, "is not for the key of the pending CSR"),
        (lambda csr: signed(csr, valid_days=0), "expired"),
    ],
    ids=["garbage", "foreign-ca", "other-key", "expired"],
)
def test_invalid_chains_are_rejected_with_the_event(make: Callable[[str], str], problem: str) -> None:
    sim = profile_3()
    trigger(sim, "SignChargePointCertificate")
    chain = make(csr_of(sim))
    assert sim.call("CertificateSigned", {"certificateChain": chain}) == {"status": "Rejected"}
    assert shown(sim) == ["SecurityEventNotification:InvalidChargePointCertificate"]
    assert problem in (sim.cp.security_log[-1].tech_info or "")


def test_a_chain_longer_than_certificate_signed_max_chain_size_is_rejected() -> None:
    sim = profile_3(config={"CertificateSignedMaxChainSize": "500"})
    trigger(sim, "SignChargePointCertificate")
    assert sim.call("CertificateSigned", {"certificateChain": signed(csr_of(sim))}) == {"status": "Rejected"}
    assert "CertificateSignedMaxChainSize is 500" in (sim.cp.security_log[-1].tech_info or "")


def test_a_certificate_without_a_pending_csr_is_rejected() -> None:
    sim = profile_3()
    other = cpo_ca().issue_station_certificate(serial_number="SN-1", cpo_name=CPO, now=ISSUED_AT)
    assert sim.call("CertificateSigned", {"certificateChain": other.certificate_pem()}) == {"status": "Rejected"}
    assert "no certificate signing request is pending" in (sim.cp.security_log[-1].tech_info or "")


def issue_for(csr: str, subject: x509.Name) -> str:
    """A certificate for the CSR's key with a subject of the CA's choosing."""
    start = ISSUED_AT - dt.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(cpo_ca().certificate.subject)
        .public_key(x509.load_pem_x509_csr(csr.encode()).public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
    )
    return certificate_pem(builder.sign(cpo_ca().credential.private_key, hashes.SHA256()))


@pytest.mark.parametrize(
    ("subject", "problem"),
    [
        ([(NameOID.COMMON_NAME, "SN-2"), (NameOID.ORGANIZATION_NAME, CPO)], "CN is not the serial number SN-1"),
        ([(NameOID.COMMON_NAME, "SN-1")], "has no O (A00.FR.509)"),
    ],
)
def test_subject_checks(subject: list[tuple[x509.ObjectIdentifier, str]], problem: str) -> None:
    """A00.FR.511 (CN = the serial number the CSR named) and A00.FR.509 (an O)."""
    sim = profile_3()
    trigger(sim, "SignChargePointCertificate")
    chain = issue_for(csr_of(sim), x509.Name([x509.NameAttribute(oid, value) for oid, value in subject]))
    assert sim.call("CertificateSigned", {"certificateChain": chain}) == {"status": "Rejected"}
    assert problem in (sim.cp.security_log[-1].tech_info or "")


def test_a_not_yet_valid_certificate_is_used_once_valid() -> None:
    """A02.FR.08/09: the newest valid certificate; a future one takes over at its notBefore."""
    sim = profile_3()
    trigger(sim, "SignChargePointCertificate")
    later = cpo_ca().sign_csr(csr_of(sim), now=ISSUED_AT + dt.timedelta(days=3))
    assert sim.call("CertificateSigned", {"certificateChain": later.chain_pem}) == {"status": "Accepted"}
    assert sim.cp.connection_settings(sim.now).client_certificate_chain != later.chain_pem
    assert sim.cp.connection_settings(sim.now + 3 * 86400).client_certificate_chain == later.chain_pem


def test_a_scenario_imposing_rejected_discards_with_the_event() -> None:
    sim = profile_3()
    trigger(sim, "SignChargePointCertificate")
    chain = signed(csr_of(sim))
    answer = {"status": "Rejected"}
    assert sim.call("CertificateSigned", {"certificateChain": chain}, answer=answer) == answer
    assert shown(sim) == ["SecurityEventNotification:InvalidChargePointCertificate"]
    assert sim.cp.connection_settings(sim.now).client_certificate_chain != chain


def test_a03_renewal_a_month_before_expiry() -> None:
    """A03.FR.02: a month before the certificate expires the station sends a CSR of its own, once."""
    issued = cpo_ca().issue_station_certificate(serial_number="SN-1", cpo_name=CPO, valid_days=32, now=ISSUED_AT)
    sim = booted(
        config={"SecurityProfile": "3"},
        serial_number="SN-1",
        central_system_roots=(root_pem(cpo_ca()),),
        client_certificate=issued.certificate_pem(),
        client_private_key=issued.private_key_pem(),
    )
    due = issued.certificate.not_valid_after_utc.timestamp() - RENEWAL_BEFORE_EXPIRY_S
    sim.advance(due - sim.now - 1)
    assert "SignCertificate" not in [s.action for s in sim.take()]
    sim.advance(2)
    chain = signed(csr_of(sim))
    sim.advance(3600)
    assert "SignCertificate" not in [s.action for s in sim.take()]
    assert sim.call("CertificateSigned", {"certificateChain": chain}) == {"status": "Accepted"}


# ------------------------------------------------------------------ ExtendedTriggerMessage


@pytest.mark.parametrize(
    ("requested", "flow"),
    [
        ("BootNotification", ["BootNotification"]),
        ("Heartbeat", ["Heartbeat"]),
        ("MeterValues", ["MeterValues"]),
        ("StatusNotification", ["StatusNotification:0:Available", "StatusNotification:1:Available"]),
        ("FirmwareStatusNotification", ["SignedFirmwareStatusNotification:Idle"]),
        ("LogStatusNotification", ["LogStatusNotification:Idle"]),
        ("SignChargePointCertificate", ["SignCertificate"]),
    ],
)
def test_extended_trigger_each_message(requested: str, flow: list[str]) -> None:
    sim = booted()
    assert trigger(sim, requested) == "Accepted"
    sent = sim.take()
    assert [shown_one(s) for s in sent] == flow
    if requested in ("FirmwareStatusNotification", "LogStatusNotification"):
        assert "requestId" not in sent[0].payload  # Idle: no requestId (N01.FR.12, L01.FR.21)


def shown_one(sent: Sent) -> str:
    return f"{sent.action}:{sent.payload[DETAILED[sent.action]]}" if sent.action in DETAILED else describe(sent)


@pytest.mark.parametrize(
    ("requested", "connector_id", "status"),
    [
        ("StatusNotification", 1, "Accepted"),
        ("MeterValues", 1, "Accepted"),
        ("StatusNotification", 2, "Rejected"),  # beyond NumberOfConnectors
        ("StatusNotification", 0, "Rejected"),  # connectorId > 0 (§5.5)
        ("SignChargePointCertificate", 1, "Rejected"),  # OCTT TC_074: omitted
        ("Heartbeat", 1, "Rejected"),  # not per connector
    ],
)
def test_extended_trigger_connector_ids(requested: str, connector_id: int, status: str) -> None:
    sim = booted()
    assert trigger(sim, requested, connector_id) == status
    assert bool(sim.take()) == (status == "Accepted")


def test_sign_certificate_needs_a_cpo_name_and_a_registration() -> None:
    sim = booted(config={"CpoName": ""})
    assert trigger(sim, "SignChargePointCertificate") == "Rejected"
    sim = Sim(auto_connect=False)
    assert trigger(sim, "Heartbeat") == "Rejected"  # no BootNotification answered yet


def test_extended_trigger_answer_override() -> None:
    sim = booted()
    answer = {"status": "NotImplemented"}
    assert sim.call("ExtendedTriggerMessage", {"requestedMessage": "Heartbeat"}, answer=answer) == answer
    assert sim.take() == []


def test_default_payloads_of_the_whitepaper_messages() -> None:
    sim = booted()
    for action in (
        "SecurityEventNotification",
        "SignCertificate",
        "LogStatusNotification",
        "SignedFirmwareStatusNotification",
    ):
        payload = sim.cp.default_payload(action, connector_id=0, id_tag=None, now=sim.now)
        call = sim.cp.enqueue(action, payload)
        sim.pump()
        assert [s.call for s in sim.take()] == [call]

    # the CSR a scenario sends is the pending one, so its certificate is accepted
    sim = booted(central_system_roots=(root_pem(cpo_ca()),))
    csr = sim.cp.default_payload("SignCertificate", connector_id=0, id_tag=None, now=sim.now)["csr"]
    assert sim.call("CertificateSigned", {"certificateChain": signed(csr)}) == {"status": "Accepted"}


def test_the_default_cpo_name_is_the_test_pki_organisation() -> None:
    """So the bundled CSMS's CA finds its CPO in the CSR's O (A00.FR.404) without configuration."""
    from csms.pki import DEFAULT_CPO_NAME

    assert booted().cp.configuration()["CpoName"] == DEFAULT_CPO_NAME
