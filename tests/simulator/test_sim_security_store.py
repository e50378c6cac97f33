"""The trust store (whitepaper ed. 3 M03-M05): InstallCertificate, GetInstalledCertificateIds, DeleteCertificate
(TC_075_1, TC_075_2, TC_076, TC_078)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from sim_kit import Sim, booted
from sim_security_kit import ISSUED_AT, cpo_ca, install, manufacturer_ca, other_ca, root_pem, shown

from csms.pki import CertificateAuthority, certificate_hash_data, certificate_pem

CS_ROOT = "CentralSystemRootCertificate"
MAKER_ROOT = "ManufacturerRootCertificate"


def ids(sim: Sim, kind: str = CS_ROOT) -> Any:
    return sim.call("GetInstalledCertificateIds", {"certificateType": kind})


@pytest.mark.parametrize(("kind", "ca"), [(MAKER_ROOT, manufacturer_ca), (CS_ROOT, cpo_ca)], ids=["075_1", "075_2"])
def test_tc_075_install_then_list(kind: str, ca: Callable[[], CertificateAuthority]) -> None:
    sim = booted()
    assert ids(sim, kind) == {"status": "NotFound"}  # M03.FR.02
    assert install(sim, ca(), kind) == {"status": "Accepted"}
    expected = certificate_hash_data(ca().certificate).to_ocpp()
    assert ids(sim, kind) == {"status": "Accepted", "certificateHashData": [expected]}
    other = MAKER_ROOT if kind == CS_ROOT else CS_ROOT
    assert ids(sim, other) == {"status": "NotFound"}
    assert shown(sim) == []  # installing is no event the station sends by default
    assert sim.cp.security_log[-1].event_type == "ReconfigurationOfSecurityParameters"


def test_installing_the_same_root_twice_keeps_one() -> None:
    sim = booted()
    install(sim, cpo_ca())
    assert install(sim, cpo_ca()) == {"status": "Accepted"}
    assert len(ids(sim)["certificateHashData"]) == 1


@pytest.mark.parametrize("algorithm", ["SHA256", "SHA384", "SHA512"])
def test_tc_076_delete_with_the_reported_algorithm(algorithm: str) -> None:
    sim = booted(config={"SimCertificateHashAlgorithm": algorithm})
    install(sim, cpo_ca())
    install(sim, other_ca())  # "Root 2"
    listed = ids(sim)["certificateHashData"]
    assert [entry["hashAlgorithm"] for entry in listed] == [algorithm, algorithm]
    root_2 = certificate_hash_data(other_ca().certificate, hash_algorithm=algorithm).to_ocpp()
    assert listed[1] == root_2
    shouting = {key: value.upper() for key, value in root_2.items()}  # CiStrings (§6.5, §6.6)
    assert sim.call("DeleteCertificate", {"certificateHashData": shouting}) == {"status": "Accepted"}
    assert ids(sim)["certificateHashData"] == [listed[0]]
    assert sim.call("DeleteCertificate", {"certificateHashData": root_2}) == {"status": "NotFound"}


def test_delete_with_another_algorithm_than_reported_is_not_found() -> None:
    """M04.FR.07: the Central System uses the algorithm the station reported; a station finds nothing else."""
    sim = booted()
    install(sim, cpo_ca())
    other = certificate_hash_data(cpo_ca().certificate, hash_algorithm="SHA384").to_ocpp()
    assert sim.call("DeleteCertificate", {"certificateHashData": other}) == {"status": "NotFound"}


def test_the_last_central_system_root_in_use_is_not_deleted() -> None:
    """M04.FR.06: on a TLS profile the only CentralSystemRootCertificate validates the connection: Failed."""
    sim = booted(
        config={"SecurityProfile": "2", "AuthorizationKey": "00" * 16}, central_system_roots=(root_pem(cpo_ca()),)
    )
    data = certificate_hash_data(cpo_ca().certificate).to_ocpp()
    assert sim.call("DeleteCertificate", {"certificateHashData": data}) == {"status": "Failed"}
    install(sim, other_ca())
    assert sim.call("DeleteCertificate", {"certificateHashData": data}) == {"status": "Accepted"}
    assert ids(sim)["certificateHashData"] == [certificate_hash_data(other_ca().certificate).to_ocpp()]


def test_a_manufacturer_root_may_go_even_on_tls() -> None:
    sim = booted(
        config={"SecurityProfile": "2", "AuthorizationKey": "00" * 16},
        manufacturer_roots=(root_pem(manufacturer_ca()),),
    )
    data = certificate_hash_data(manufacturer_ca().certificate).to_ocpp()
    assert sim.call("DeleteCertificate", {"certificateHashData": data}) == {"status": "Accepted"}
    assert ids(sim, MAKER_ROOT) == {"status": "NotFound"}


def test_delete_answer_override_deletes_only_what_the_station_would() -> None:
    sim = booted()
    install(sim, cpo_ca())
    data = certificate_hash_data(cpo_ca().certificate).to_ocpp()
    assert sim.call("DeleteCertificate", {"certificateHashData": data}, answer={"status": "Failed"}) == {
        "status": "Failed"
    }
    assert ids(sim)["status"] == "Accepted"
    absent = certificate_hash_data(other_ca().certificate).to_ocpp()
    assert (
        sim.call("DeleteCertificate", {"certificateHashData": absent}, answer={"status": "Accepted"})["status"]
        == "Accepted"
    )
    assert len(ids(sim)["certificateHashData"]) == 1


def test_tc_078_invalid_central_system_certificate() -> None:
    """M05.FR.06: a certificate that is not a root CA is Rejected, with InvalidCentralSystemCertificate."""
    sim = booted()
    leaf = cpo_ca().issue_station_certificate(serial_number="CP-1", cpo_name="CPO", now=ISSUED_AT)
    assert install_text(sim, leaf.certificate_pem()) == {"status": "Rejected"}
    assert shown(sim) == ["SecurityEventNotification:InvalidCentralSystemCertificate"]
    assert "not a CA certificate" in (sim.cp.security_log[-1].tech_info or "")
    assert install_text(sim, "garbage") == {"status": "Rejected"}
    assert shown(sim) == ["SecurityEventNotification:InvalidCentralSystemCertificate"]
    assert ids(sim) == {"status": "NotFound"}


def test_an_invalid_manufacturer_root_is_rejected_without_event() -> None:
    sim = booted()
    assert install_text(sim, "garbage", MAKER_ROOT) == {"status": "Rejected"}
    assert shown(sim) == []


def test_tc_078_sim_install_certificate_reject_and_fail() -> None:
    """OCTT's charge point rejects the valid certificate of TC_078; SimInstallCertificate plays it."""
    sim = booted(config={"SimInstallCertificate": "Reject"})
    assert install(sim, cpo_ca()) == {"status": "Rejected"}
    assert shown(sim) == ["SecurityEventNotification:InvalidCentralSystemCertificate"]
    sim = booted(config={"SimInstallCertificate": "Fail"})
    assert install(sim, cpo_ca()) == {"status": "Failed"}
    assert shown(sim) == []
    assert ids(sim) == {"status": "NotFound"}


def test_a_scenario_that_imposes_rejected_gets_the_event_too() -> None:
    sim = booted()
    payload = {"certificateType": CS_ROOT, "certificate": root_pem(cpo_ca())}
    assert sim.call("InstallCertificate", payload, answer={"status": "Rejected"}) == {"status": "Rejected"}
    assert shown(sim) == ["SecurityEventNotification:InvalidCentralSystemCertificate"]
    assert ids(sim) == {"status": "NotFound"}


def test_a_full_store_rejects() -> None:
    """M05.FR.03: CertificateStoreMaxLength certificates already installed, of either type."""
    sim = booted(config={"CertificateStoreMaxLength": "2"})
    assert install(sim, cpo_ca()) == {"status": "Accepted"}
    assert install(sim, manufacturer_ca(), MAKER_ROOT) == {"status": "Accepted"}
    assert install(sim, other_ca()) == {"status": "Rejected"}
    assert shown(sim) == []  # not an invalid certificate


def test_additional_root_certificate_check_replaces_with_fallback() -> None:
    """M05.FR.08-13: the new root must be signed by the old one, replaces it and keeps it as fallback until a
    connection over TLS succeeded."""
    sim = booted(config={"AdditionalRootCertificateCheck": "true"})
    assert install(sim, cpo_ca()) == {"status": "Accepted"}  # the first one: any root
    assert install(sim, other_ca()) == {"status": "Rejected"}  # M05.FR.10
    assert shown(sim) == ["SecurityEventNotification:InvalidCentralSystemCertificate"]
    successor = CertificateAuthority.create(
        common_name="Test CPO Root 2", organization="Test CPO", algorithm="ecdsa", now=ISSUED_AT
    )
    cross = _signed_by(successor, cpo_ca())
    assert install_text(sim, certificate_pem(cross)) == {"status": "Accepted"}  # M05.FR.11
    listed = ids(sim)["certificateHashData"]
    expected_new = certificate_hash_data(cross, issuer=cpo_ca().certificate).to_ocpp()
    assert listed == [expected_new, certificate_hash_data(cpo_ca().certificate).to_ocpp()]
    assert len(sim.cp.connection_settings(sim.now).central_system_roots) == 2
    sim.drop_link()
    sim.connect()  # on profile 0 the root did not serve the connection: the fallback stays
    assert len(ids(sim)["certificateHashData"]) == 2


def test_the_root_fallback_goes_after_a_tls_connection() -> None:
    sim = booted(
        config={"AdditionalRootCertificateCheck": "true", "SecurityProfile": "2", "AuthorizationKey": "11" * 16},
        central_system_roots=(root_pem(cpo_ca()),),
    )
    successor = CertificateAuthority.create(
        common_name="Next Root", organization="Test CPO", algorithm="ecdsa", now=ISSUED_AT
    )
    assert install_text(sim, certificate_pem(_signed_by(successor, cpo_ca()))) == {"status": "Accepted"}
    assert len(ids(sim)["certificateHashData"]) == 2
    sim.drop_link()
    sim.connect()  # M05.FR.12
    assert len(ids(sim)["certificateHashData"]) == 1
    assert "fallback root removed" in (sim.cp.security_log[-1].tech_info or "")


def test_the_fallback_root_may_be_deleted() -> None:
    sim = booted(config={"AdditionalRootCertificateCheck": "true"})
    install(sim, cpo_ca())
    successor = CertificateAuthority.create(
        common_name="Next Root", organization="Test CPO", algorithm="ecdsa", now=ISSUED_AT
    )
    install_text(sim, certificate_pem(_signed_by(successor, cpo_ca())))
    old = certificate_hash_data(cpo_ca().certificate).to_ocpp()
    assert sim.call("DeleteCertificate", {"certificateHashData": old}) == {"status": "Accepted"}
    assert len(ids(sim)["certificateHashData"]) == 1


def test_expired_roots_are_rejected() -> None:
    sim = booted()
    old = CertificateAuthority.create(
        common_name="Old", organization="O", algorithm="ecdsa", valid_days=10, now=ISSUED_AT - dt.timedelta(days=30)
    )
    assert install(sim, old) == {"status": "Rejected"}
    assert "expired" in (sim.cp.security_log[-1].tech_info or "")


def install_text(sim: Sim, text: str, kind: str = CS_ROOT) -> dict[str, Any]:
    return sim.call("InstallCertificate", {"certificateType": kind, "certificate": text})


def _signed_by(successor: CertificateAuthority, old: CertificateAuthority) -> x509.Certificate:
    """``successor``'s root certificate re-issued by ``old`` (M05.FR.09: "signed by the old Root Certificate")."""
    mine = successor.certificate
    builder = (
        x509.CertificateBuilder()
        .subject_name(mine.subject)
        .issuer_name(old.certificate.subject)
        .public_key(mine.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(mine.not_valid_before_utc)
        .not_valid_after(mine.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    return builder.sign(old.credential.private_key, hashes.SHA256())


def test_get_installed_certificate_ids_answer_override() -> None:
    answer = {"status": "NotFound"}
    sim = booted(central_system_roots=(root_pem(cpo_ca()),))
    assert sim.call("GetInstalledCertificateIds", {"certificateType": CS_ROOT}, answer=answer) == answer
