"""The station's X.509 checks (simulator.model.certificates): CertificateHashData (whitepaper ed. 3 §6.1),
certificate properties (§2.6.1), path validation for its own certificate (A02.FR.06) and firmware signatures
(L01.FR.04)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from sim_kit import T0
from sim_security_kit import ISSUED_AT, cpo_ca, manufacturer_ca, other_ca, root_pem

from csms.pki import CertificateAuthority, certificate_hash_data, new_private_key
from simulator.model import certificates
from simulator.model.certificates import CertificateError

IMAGE = b"firmware image " * 1000
DIGEST = hashlib.sha256(IMAGE).digest()


@pytest.mark.parametrize("algorithm", ["SHA256", "SHA384", "SHA512"])
def test_hash_data_agrees_with_the_csms_pki_for_roots_and_leaves(algorithm: str) -> None:
    """Two independent computations (cryptography's OCSP CertID here, DER slicing in csms.pki) of §6.1."""
    ca = cpo_ca()
    leaf = ca.issue_station_certificate(serial_number="CP-1", cpo_name="CPO", now=ISSUED_AT).certificate
    for certificate, issuer in ((ca.certificate, ca.certificate), (leaf, ca.certificate)):
        ours = certificates.hash_data(certificate, issuer, algorithm)
        theirs = certificate_hash_data(certificate, issuer=issuer, hash_algorithm=algorithm)
        assert ours == theirs.to_ocpp()
        assert ours["serialNumber"] == format(certificate.serial_number, "X")
        assert not ours["serialNumber"].startswith("0")


def test_hash_data_match_ignores_case_and_needs_every_field() -> None:
    ours = certificates.hash_data(cpo_ca().certificate, cpo_ca().certificate, "SHA256")
    assert certificates.hash_data_matches(ours, {key: value.upper() for key, value in ours.items()})
    assert not certificates.hash_data_matches(ours, {**ours, "serialNumber": "1"})
    assert not certificates.hash_data_matches(ours, {k: v for k, v in ours.items() if k != "issuerKeyHash"})


def test_pem_with_crlf_or_percent_encoded_line_endings_is_read() -> None:
    """OCTT sends both (reference §5.6)."""
    text = root_pem(cpo_ca())
    assert certificates.read_certificate(text.replace("\n", "\r\n")) == cpo_ca().certificate
    assert certificates.read_certificate(text.replace("\n", "%0A")) == cpo_ca().certificate


@pytest.mark.parametrize(
    "text", ["", "not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"]
)
def test_what_is_not_a_pem_certificate_is_refused(text: str) -> None:
    with pytest.raises(CertificateError, match="not a PEM X.509 certificate"):
        certificates.read_certificates(text)


def test_one_certificate_is_expected_where_one_is_sent() -> None:
    with pytest.raises(CertificateError, match=r"expected 1 certificate\(s\), got 2"):
        certificates.read_certificate(root_pem(cpo_ca()) + root_pem(other_ca()))


def test_private_keys_are_read_or_refused() -> None:
    key = cpo_ca().credential.private_key_pem()
    assert isinstance(certificates.read_private_key(key), ec.EllipticCurvePrivateKey)
    with pytest.raises(CertificateError, match="not an unencrypted PEM private key"):
        certificates.read_private_key("nope")


def test_root_problems() -> None:
    ca = cpo_ca()
    assert certificates.root_problem(ca.certificate, T0) is None
    leaf = ca.issue_station_certificate(serial_number="CP-1", cpo_name="CPO", now=ISSUED_AT).certificate
    assert "not a CA certificate" in (certificates.root_problem(leaf, T0) or "")
    assert "expired" in (certificates.root_problem(ca.certificate, T0 + 10 * 365 * 86400) or "")
    assert "not valid before" in (certificates.root_problem(ca.certificate, T0 - 10 * 86400) or "")
    # a CA certificate issued by another root is not a root, unless that root is the one it replaces (M05.FR.09)
    sub = _sub_ca(ca, other_ca())
    assert "not a self-signed root" in (certificates.root_problem(sub, T0) or "")
    assert certificates.root_problem(sub, T0, issuer=ca.certificate) is None
    assert "not signed by the root it replaces" in (
        certificates.root_problem(sub, T0, issuer=other_ca().certificate) or ""
    )


def test_weak_keys_are_refused() -> None:
    weak = CertificateAuthority.create(common_name="Weak", organization="W", now=ISSUED_AT)
    strong_leaf = weak.issue_server_certificate(
        hosts=["x.example"], organization="W", private_key=new_private_key("rsa", rsa_bits=1024), now=ISSUED_AT
    ).certificate
    assert "under 2048 (A00.FR.502)" in (certificates.properties_problem(strong_leaf, T0) or "")
    small_ec = ec.generate_private_key(ec.SECP192R1()).public_key()
    assert "under 224 (A00.FR.503)" in (certificates.key_problem(small_ec) or "")
    assert "name RSA, DSA and EC keys" in (
        certificates.key_problem(ed25519.Ed25519PrivateKey.generate().public_key()) or ""
    )


def test_chain_problems() -> None:
    ca = cpo_ca()
    leaf = ca.issue_station_certificate(serial_number="CP-1", cpo_name="CPO", now=ISSUED_AT).certificate
    roots = [ca.certificate]
    assert certificates.chain_problem([leaf], roots, T0) is None
    assert certificates.chain_problem([leaf, ca.certificate], roots, T0) is None
    assert certificates.chain_problem([], roots, T0) == "the chain holds no certificate"
    assert "no CentralSystemRootCertificate is installed" in (certificates.chain_problem([leaf], [], T0) or "")
    assert "not issued by an installed" in (certificates.chain_problem([leaf], [other_ca().certificate], T0) or "")
    assert "not issued by the next certificate" in (
        certificates.chain_problem([leaf, other_ca().certificate], [other_ca().certificate], T0) or ""
    )
    other_leaf = ca.issue_station_certificate(serial_number="CP-2", cpo_name="CPO", now=ISSUED_AT).certificate
    assert "but is not a CA certificate" in (certificates.chain_problem([leaf, other_leaf], roots, T0) or "")
    assert "expired" in (certificates.chain_problem([leaf], roots, T0 + 400 * 86400) or "")
    sub = _sub_ca(ca, other_ca())
    sub_leaf = _leaf_of(sub, other_ca())
    assert certificates.chain_problem([sub_leaf, sub], roots, T0) is None


def test_csr_names_the_station_and_the_cpo() -> None:
    pending = certificates.new_csr(common_name="SERIAL-1", organization="ACME CPO")
    csr = x509.load_pem_x509_csr(pending.csr_pem.encode())
    assert csr.is_signature_valid
    assert certificates.common_name(csr.subject) == "SERIAL-1"
    assert certificates.organization(csr.subject) == "ACME CPO"
    assert certificates.same_public_key(csr.public_key(), pending.private_key.public_key())
    assert "private_key" not in repr(pending)
    assert len(pending.csr_pem) <= certificates.CSR_MAX_CHARS
    assert certificates.organization(x509.Name([])) is None and certificates.common_name(x509.Name([])) is None


def _rsa_signature(key: rsa.RSAPrivateKey, scheme: padding.AsymmetricPadding) -> str:
    return base64.b64encode(key.sign(IMAGE, scheme, hashes.SHA256())).decode()


def test_firmware_signatures_rsa_pss_and_pkcs1() -> None:
    credential = manufacturer_ca().issue_server_certificate(hosts=["fw.example"], organization="Maker", now=ISSUED_AT)
    key = credential.private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)
    for signature in (_rsa_signature(key, pss), _rsa_signature(key, padding.PKCS1v15())):
        assert certificates.firmware_signature_problem(credential.certificate, signature, DIGEST) is None
    wrong = hashlib.sha256(IMAGE + b"!").digest()
    assert "does not verify with the signing certificate's RSA key" in (
        certificates.firmware_signature_problem(credential.certificate, _rsa_signature(key, pss), wrong) or ""
    )


def test_firmware_signatures_ecdsa_der_and_raw() -> None:
    credential = cpo_ca().issue_server_certificate(
        hosts=["fw.example"], organization="Maker", algorithm="ecdsa", now=ISSUED_AT
    )
    key = credential.private_key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    der = key.sign(IMAGE, ec.ECDSA(hashes.SHA256()))
    r, s = utils.decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    for signature in (der, raw):
        text = base64.b64encode(signature).decode()
        assert certificates.firmware_signature_problem(credential.certificate, text, DIGEST) is None
    text = base64.b64encode(raw).decode()
    assert "EC key" in (certificates.firmware_signature_problem(credential.certificate, text, bytes(32)) or "")


@pytest.mark.parametrize(("signature", "problem"), [("***", "not base64"), ("", "empty")])
def test_unreadable_signatures(signature: str, problem: str) -> None:
    assert problem in (certificates.firmware_signature_problem(cpo_ca().certificate, signature, DIGEST) or "")


def test_credential_exports_pem_and_hides_its_key() -> None:
    ca = cpo_ca()
    issued = ca.issue_station_certificate(serial_number="CP-1", cpo_name="CPO", now=ISSUED_AT)
    credential = certificates.ClientCredential((issued.certificate, ca.certificate), issued.private_key)
    assert credential.chain_pem() == root_pem_of(issued.certificate) + root_pem(ca)
    assert "PRIVATE KEY" in credential.private_key_pem()
    assert "private_key" not in repr(credential)
    assert credential.valid_at(T0) and not credential.valid_at(T0 + 400 * 86400)


def root_pem_of(certificate: x509.Certificate) -> str:
    return certificates.certificate_pem(certificate)


def _sub_ca(issuer: CertificateAuthority, key_owner: CertificateAuthority) -> x509.Certificate:
    """A CA certificate for ``key_owner``'s key issued by ``issuer`` (an intermediate, or a new root signed by the
    old one)."""
    start = ISSUED_AT - dt.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Sub CA")]))
        .issuer_name(issuer.certificate.subject)
        .public_key(key_owner.credential.private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    return builder.sign(issuer.credential.private_key, hashes.SHA256())


def _leaf_of(sub: x509.Certificate, key_owner: CertificateAuthority) -> x509.Certificate:
    """A leaf issued by ``sub``, signed with ``key_owner``'s key (the key of ``sub``)."""
    start = ISSUED_AT - dt.timedelta(minutes=5)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "CP-9")]))
        .issuer_name(sub.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
    )
    return builder.sign(key_owner.credential.private_key, hashes.SHA256())


def _self_signed(key: ed25519.Ed25519PrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Odd")])
    start = ISSUED_AT - dt.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
    )
    return builder.sign(key, None)


def test_keys_and_certificates_of_kinds_the_whitepaper_does_not_name() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(CertificateError, match="expected an RSA or EC private key"):
        certificates.read_private_key(pem.decode())
    odd = _self_signed(key)
    assert "cannot verify firmware" in (certificates.firmware_signature_problem(odd, "AAAA", DIGEST) or "")
    assert not certificates.is_ca(odd)  # no basicConstraints at all
