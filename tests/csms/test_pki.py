"""The CSMS's certificate authority: certificates shaped as the whitepaper's Certificate Properties ask (§2.6.1),
CSR signing into a CertificateSigned chain, CertificateHashData checked against an independent computation (an
OCSP CertID built by ``cryptography``), PEM normalisation, and the test PKI on disk. Independent validators
(``cryptography.x509.verification``, the OCPP 1.6 security schemas) judge the results where one exists."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import re
import ssl
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from csms import pki
from csms.pki import CertificateAuthority, CsrRejected, PemError, PkiError, PkiFiles
from ocppj import schemas

NOW = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)


def read(path: Path) -> x509.Certificate:
    return pki.load_certificate(path.read_text(encoding="ascii"))


def common_name(certificate: x509.Certificate | x509.CertificateSigningRequest) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def organization(certificate: x509.Certificate) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value)


def extension(certificate: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType:
    return certificate.extensions.get_extension_for_class(kind).value


def csr_pem(
    key: pki.PrivateKey, *, common_name: str | None = "CP_1", organization: str | None = pki.DEFAULT_CPO_NAME
) -> str:
    attributes = []
    if organization is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if common_name is not None:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes)).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM).decode("ascii")


@pytest.fixture(scope="module")
def ca(test_pki: PkiFiles) -> CertificateAuthority:
    return test_pki.authority()


@pytest.fixture(scope="module")
def station_key() -> pki.PrivateKey:
    return pki.new_private_key("ecdsa")


# --- the CA and what it issues ------------------------------------------------------------------------------


def test_the_root_is_a_self_signed_rsa_ca_signing_with_pkcs1v15(ca: CertificateAuthority) -> None:
    root = ca.certificate
    assert root.issuer == root.subject
    assert extension(root, x509.BasicConstraints) == x509.BasicConstraints(ca=True, path_length=None)
    usage = extension(root, x509.KeyUsage)
    assert isinstance(usage, x509.KeyUsage) and usage.key_cert_sign and usage.crl_sign
    assert isinstance(root.public_key(), rsa.RSAPublicKey) and root.public_key().key_size >= 2048
    assert root.signature_algorithm_oid == SignatureAlgorithmOID.RSA_WITH_SHA256
    assert isinstance(root.signature_algorithm_parameters, padding.PKCS1v15)
    root.verify_directly_issued_by(root)


def test_an_ec_ca_signs_with_ecdsa_sha256() -> None:
    authority = CertificateAuthority.create(common_name="EC root", organization="CPO", algorithm="ecdsa")
    leaf = authority.issue_station_certificate(serial_number="CP_9", cpo_name="CPO").certificate
    assert leaf.signature_algorithm_oid == SignatureAlgorithmOID.ECDSA_WITH_SHA256
    leaf.verify_directly_issued_by(authority.certificate)


@pytest.mark.parametrize(
    ("which", "key_type", "bits"), [("rsa", rsa.RSAPublicKey, 2048), ("ecdsa", ec.EllipticCurvePublicKey, 256)]
)
def test_csms_server_certificates_follow_the_certificate_properties(
    test_pki: PkiFiles, ca: CertificateAuthority, which: str, key_type: type, bits: int
) -> None:
    files = test_pki.csms_rsa if which == "rsa" else test_pki.csms_ecdsa
    certificate = read(files.certificate)
    key = certificate.public_key()
    assert isinstance(key, key_type) and key.key_size == bits  # A00.FR.502/503
    assert certificate.serial_number > 0  # A00.FR.508
    assert common_name(certificate) == "localhost"  # A00.FR.510: the first host
    assert organization(certificate) == pki.DEFAULT_CPO_NAME  # A00.FR.509
    assert certificate.signature_algorithm_oid == SignatureAlgorithmOID.RSA_WITH_SHA256
    san = extension(certificate, x509.SubjectAlternativeName)
    assert isinstance(san, x509.SubjectAlternativeName)
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert extension(certificate, x509.ExtendedKeyUsage) == x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
    usage = extension(certificate, x509.KeyUsage)
    assert isinstance(usage, x509.KeyUsage) and usage.digital_signature and not usage.key_cert_sign
    assert usage.key_encipherment is (which == "rsa")  # TLS_RSA_* encrypt the premaster secret with the key
    certificate.verify_directly_issued_by(ca.certificate)


@pytest.mark.parametrize("name", [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
def test_an_independent_verifier_accepts_the_server_certificates_for_every_host(
    test_pki: PkiFiles, ca: CertificateAuthority, name: x509.DNSName | x509.IPAddress
) -> None:
    verifier = PolicyBuilder().store(Store([ca.certificate])).time(dt.datetime.now(dt.UTC)).build_server_verifier(name)
    for files in (test_pki.csms_rsa, test_pki.csms_ecdsa):
        chain = verifier.verify(read(files.certificate), [])
        assert chain[-1] == ca.certificate


def test_the_independent_verifier_refuses_the_wrong_cn_certificate(
    test_pki: PkiFiles, ca: CertificateAuthority
) -> None:
    verifier = PolicyBuilder().store(Store([ca.certificate])).build_server_verifier(x509.DNSName("localhost"))
    with pytest.raises(VerificationError):
        verifier.verify(read(test_pki.bad.wrong_cn_server.certificate), [])


def test_a_server_certificate_can_leave_out_the_subject_alt_name(ca: CertificateAuthority) -> None:
    issued = ca.issue_server_certificate(
        hosts=["csms.example.com"], organization="CPO", algorithm="ecdsa", subject_alt_names=False
    )
    assert common_name(issued.certificate) == "csms.example.com"
    with pytest.raises(x509.ExtensionNotFound):
        issued.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)


@pytest.mark.parametrize("host", ["wss://csms.example.com", "csms.example.com:443", "csms/ocpp", "bad_host", ""])
def test_a_server_certificate_needs_a_host_name_or_an_ip_address(ca: CertificateAuthority, host: str) -> None:
    with pytest.raises(PkiError, match="expected a host name or an IP address"):
        ca.issue_server_certificate(hosts=[host], organization="CPO", algorithm="ecdsa")


def test_station_certificates_name_the_station_and_the_cpo(test_pki: PkiFiles, ca: CertificateAuthority) -> None:
    certificate = read(test_pki.stations["CP_1"].certificate)
    assert common_name(certificate) == "CP_1"  # A00.FR.405
    assert organization(certificate) == pki.DEFAULT_CPO_NAME  # A00.FR.404
    assert extension(certificate, x509.ExtendedKeyUsage) == x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    with pytest.raises(x509.ExtensionNotFound):  # A00.FR.511: the identity is the CN
        certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    certificate.verify_directly_issued_by(ca.certificate)


def test_a_ca_is_loaded_back_only_with_its_own_key(test_pki: PkiFiles) -> None:
    loaded = CertificateAuthority.from_files(test_pki.ca.certificate, test_pki.ca.private_key)
    assert loaded.certificate == read(test_pki.ca.certificate)
    with pytest.raises(PkiError, match="does not belong"):
        CertificateAuthority.from_files(test_pki.ca.certificate, test_pki.csms_rsa.private_key)


# --- signing CSRs -------------------------------------------------------------------------------------------


def test_a_csr_is_signed_into_a_chain_of_the_leaf_then_the_ca(
    ca: CertificateAuthority, station_key: pki.PrivateKey
) -> None:
    signed = ca.sign_csr(csr_pem(station_key), now=NOW)
    leaf, issuer = pki.load_certificates(signed.chain_pem)
    assert leaf == signed.certificate and issuer == ca.certificate
    assert leaf.public_key() == station_key.public_key()
    assert common_name(leaf) == "CP_1" and organization(leaf) == pki.DEFAULT_CPO_NAME
    assert leaf.signature_algorithm_oid == SignatureAlgorithmOID.RSA_WITH_SHA256  # SHA256withRSA, not PSS
    assert isinstance(leaf.signature_algorithm_parameters, padding.PKCS1v15)
    assert extension(leaf, x509.ExtendedKeyUsage) == x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    assert extension(leaf, x509.BasicConstraints) == x509.BasicConstraints(ca=False, path_length=None)
    assert leaf.not_valid_before_utc <= NOW < leaf.not_valid_after_utc
    leaf.verify_directly_issued_by(issuer)
    assert schemas.validate("CertificateSigned", {"certificateChain": signed.chain_pem}, response=False) == []


def test_the_csr_may_come_with_crlf_or_percent_encoded_line_endings(
    ca: CertificateAuthority, station_key: pki.PrivateKey
) -> None:
    text = csr_pem(station_key)
    for variant in (text.replace("\n", "\r\n"), text.replace("\n", "%0D%0A"), text.replace("\n", "%0a"), quote(text)):
        assert ca.sign_csr(variant).certificate.public_key() == station_key.public_key()


def test_the_expected_cn_and_o_are_checked_only_when_given(
    ca: CertificateAuthority, station_key: pki.PrivateKey
) -> None:
    text = csr_pem(station_key, common_name="SN-CP_1-0001", organization="Acme CPO Ltd")
    ca.sign_csr(text)  # OCTT gives no reference data (reference §5.6)
    ca.sign_csr(text, expected_common_name="CP_1", expected_organization="Acme CPO")  # "contains": A00.FR.404/405
    with pytest.raises(CsrRejected, match="does not contain the serial number 'CP_2'"):
        ca.sign_csr(text, expected_common_name="CP_2")
    with pytest.raises(CsrRejected, match="does not contain the CPO name 'Other CPO'"):
        ca.sign_csr(text, expected_organization="Other CPO")


def test_a_csr_is_refused_with_a_reason(
    test_pki: PkiFiles, ca: CertificateAuthority, station_key: pki.PrivateKey
) -> None:
    weak = serialization.load_pem_private_key(test_pki.bad.weak_key_server.private_key.read_bytes(), password=None)
    assert isinstance(weak, rsa.RSAPrivateKey)
    good = csr_pem(station_key)
    der = bytearray(x509.load_pem_x509_csr(good.encode()).public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01  # the last octet of the signature
    tampered = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM).decode()
    cases = {
        "characters; SignCertificate.req allows 5500": good + " " * 5500,
        "no PEM block": "not a CSR",
        "does not verify with its own public key": tampered,
        "shorter than 2048 bits": csr_pem(weak),
        "has no CN": csr_pem(station_key, common_name=None),
    }
    for reason, text in cases.items():
        with pytest.raises(CsrRejected, match=reason):
            ca.sign_csr(text)
    with pytest.raises(CsrRejected, match="the station takes at most 1000"):
        ca.sign_csr(good, max_chain_chars=1000)


def test_an_ed25519_csr_is_refused(ca: CertificateAuthority) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CP_1")])
    text = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, None)
    with pytest.raises(CsrRejected, match="A00.FR.501-503 name RSA, DSA and EC keys"):
        ca.sign_csr(text.public_bytes(serialization.Encoding.PEM).decode())


# --- CertificateHashData ------------------------------------------------------------------------------------


HASHES = {"SHA256": hashes.SHA256(), "SHA384": hashes.SHA384(), "SHA512": hashes.SHA512()}


@pytest.mark.parametrize("algorithm", list(HASHES))
@pytest.mark.parametrize("which", ["csms-rsa", "station", "root", "untrusted-ec-leaf"])
def test_certificate_hash_data_is_the_ocsp_cert_id(
    test_pki: PkiFiles, algorithm: pki.HashAlgorithm, which: str
) -> None:
    certificate, issuer = {
        "csms-rsa": (read(test_pki.csms_rsa.certificate), read(test_pki.ca.certificate)),
        "station": (read(test_pki.stations["CP_1"].certificate), read(test_pki.ca.certificate)),
        "root": (read(test_pki.ca.certificate), read(test_pki.ca.certificate)),
        "untrusted-ec-leaf": (
            read(test_pki.bad.untrusted_server.certificate),
            read(test_pki.bad.untrusted_ca.certificate),
        ),
    }[which]
    data = pki.certificate_hash_data(certificate, issuer=issuer, hash_algorithm=algorithm)
    cert_id = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, HASHES[algorithm]).build()
    assert data.issuer_name_hash == cert_id.issuer_name_hash.hex()
    assert data.issuer_key_hash == cert_id.issuer_key_hash.hex()
    assert int(data.serial_number, 16) == cert_id.serial_number
    assert not data.serial_number.startswith("0") and data.serial_number == data.serial_number.upper()
    assert schemas.validate("DeleteCertificate", {"certificateHashData": data.to_ocpp()}, response=False) == []


def test_a_root_is_its_own_issuer_by_default(test_pki: PkiFiles) -> None:
    root = read(test_pki.ca.certificate)
    assert pki.certificate_hash_data(root) == pki.certificate_hash_data(root, issuer=root)
    with pytest.raises(ValueError, match="did not issue this certificate"):
        pki.certificate_hash_data(read(test_pki.csms_rsa.certificate))
    with pytest.raises(ValueError, match="did not issue this certificate"):
        pki.certificate_hash_data(
            read(test_pki.csms_rsa.certificate), issuer=read(test_pki.bad.untrusted_ca.certificate)
        )


@pytest.mark.parametrize(("serial", "text"), [(4095, "FFF"), (0x0ABC, "ABC"), (1, "1"), (0x00FF00, "FF00")])
def test_the_serial_number_is_hex_without_leading_zeroes(ca: CertificateAuthority, serial: int, text: str) -> None:
    key = pki.new_private_key("ecdsa")
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=1))
        .sign(ca.credential.private_key, hashes.SHA256())
    )
    assert pki.certificate_hash_data(certificate, issuer=ca.certificate).serial_number == text


def test_hash_data_match_case_insensitively(test_pki: PkiFiles) -> None:
    data = pki.certificate_hash_data(read(test_pki.ca.certificate), hash_algorithm="SHA384")
    payload = {key: value.upper() if key != "serialNumber" else value.lower() for key, value in data.to_ocpp().items()}
    assert data.matches(payload) and data.matches(data)
    assert not data.matches({**payload, "serialNumber": "1"})
    assert not data.matches(pki.certificate_hash_data(read(test_pki.ca.certificate), hash_algorithm="SHA256"))
    assert not data.matches({})


def test_an_unknown_hash_algorithm_is_refused(test_pki: PkiFiles) -> None:
    with pytest.raises(ValueError, match="expected one of SHA256, SHA384, SHA512"):
        pki.certificate_hash_data(read(test_pki.ca.certificate), hash_algorithm="SHA1")  # type: ignore[arg-type]


# --- PEM ----------------------------------------------------------------------------------------------------


def test_pem_is_normalised_to_the_strict_form(test_pki: PkiFiles) -> None:
    text = test_pki.ca.certificate.read_text(encoding="ascii")
    body = "".join(text.splitlines()[1:-1])
    variants = [
        text.replace("\n", "\r\n"),
        text.replace("\n", "\r"),
        text.replace("\n", "%0D%0A"),
        text.replace("\n", "%0A"),
        quote(text, safe=""),
        f"-----BEGIN CERTIFICATE-----{body}-----END CERTIFICATE-----",
        f"Subject: the CA\n  {text}  \n\ntrailing words",
    ]
    for variant in variants:
        assert pki.normalize_pem(variant) == text
    assert pki.normalize_pem(text + text) == text + text


def test_text_without_pem_or_with_the_wrong_count_is_refused(test_pki: PkiFiles) -> None:
    text = test_pki.ca.certificate.read_text(encoding="ascii")
    with pytest.raises(PemError, match="no PEM block"):
        pki.load_certificates("MIIB...")
    with pytest.raises(PemError, match="expected one certificate, got 2"):
        pki.load_certificate(text + text)
    with pytest.raises(PemError, match="not a PEM certificate"):
        pki.load_certificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


# --- keys ---------------------------------------------------------------------------------------------------


def test_key_strength_follows_a00_fr_501_to_503(test_pki: PkiFiles) -> None:
    weak = read(test_pki.bad.weak_key_server.certificate).public_key()
    assert pki.key_strength_problem(weak) == "RSA 1024 is shorter than 2048 bits (A00.FR.502)"
    assert pki.key_strength_problem(read(test_pki.csms_rsa.certificate).public_key()) is None
    assert pki.key_strength_problem(read(test_pki.csms_ecdsa.certificate).public_key()) is None
    small = ec.generate_private_key(ec.SECP192R1()).public_key()
    assert pki.key_strength_problem(small) == "EC secp192r1 (192 bits) is shorter than 224 bits (A00.FR.503)"
    assert "not allowed" in str(pki.key_strength_problem(ed25519.Ed25519PrivateKey.generate().public_key()))


# --- the test PKI on disk -----------------------------------------------------------------------------------


def test_every_file_of_the_layout_is_written_and_in_the_manifest(test_pki: PkiFiles) -> None:
    manifest = json.loads(test_pki.manifest.read_text(encoding="utf-8"))
    listed = {entry["path"]: entry for entry in manifest["files"]}
    written = {path.relative_to(test_pki.folder).as_posix() for path in test_pki.folder.rglob("*") if path.is_file()}
    assert written == {*listed, "manifest.json"}
    for pair in test_pki.all_files():
        certificate_path = pair.certificate.relative_to(test_pki.folder).as_posix()
        entry = listed[certificate_path]
        certificate = read(pair.certificate)
        assert entry["sha256_fingerprint"] == certificate.fingerprint(hashes.SHA256()).hex()
        assert entry["serial_number"] == format(certificate.serial_number, "X")
        assert entry["private_key"] == pair.private_key.relative_to(test_pki.folder).as_posix()
        key = serialization.load_pem_private_key(pair.private_key.read_bytes(), password=None)
        assert key.public_key() == certificate.public_key()
        assert pair.private_key.stat().st_mode & 0o777 == 0o600
        assert pair.certificate.stat().st_mode & 0o777 == 0o644
    assert manifest["hosts"] == ["localhost", "127.0.0.1"] and manifest["stations"] == ["CP_1"]
    assert PkiFiles.read(test_pki.folder) == test_pki


def test_the_bad_certificates_are_bad_in_one_way_each(test_pki: PkiFiles, ca: CertificateAuthority) -> None:
    bad, now = test_pki.bad, dt.datetime.now(dt.UTC)
    untrusted = read(bad.untrusted_ca.certificate)
    for pair in (bad.untrusted_server, bad.untrusted_station):
        certificate = read(pair.certificate)
        certificate.verify_directly_issued_by(untrusted)
        with pytest.raises(ValueError):
            certificate.verify_directly_issued_by(ca.certificate)
    for pair in (bad.expired_server, bad.expired_station):
        certificate = read(pair.certificate)
        assert certificate.not_valid_after_utc < now
        certificate.verify_directly_issued_by(ca.certificate)
    assert common_name(read(bad.expired_station.certificate)) == "CP_1"
    assert common_name(read(bad.wrong_cn_server.certificate)) == pki.WRONG_HOST
    assert "CP_1" not in common_name(read(bad.wrong_cn_station.certificate))
    weak = read(bad.weak_key_server.certificate)
    assert isinstance(weak.public_key(), rsa.RSAPublicKey) and weak.public_key().key_size == 1024
    assert common_name(weak) == "localhost"
    for pair in (bad.wrong_cn_server, bad.wrong_cn_station, bad.weak_key_server):
        certificate = read(pair.certificate)
        assert certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc
        certificate.verify_directly_issued_by(ca.certificate)


@pytest.mark.parametrize("station", ["A", "N", "Q", "wrong_cn", "QQQQ-1234", "CP_1"])
def test_the_wrong_cn_never_contains_the_station_id(station: str) -> None:
    assert station.casefold() not in pki._wrong_common_name(station).casefold()


@pytest.mark.parametrize(
    ("station", "message"),
    [
        ("a/b", "expected 1-64 letters"),
        ("..", "expected 1-64 letters"),
        ("", "expected 1-64 letters"),
        ("x" * 65, "expected 1-64 letters"),
        ("10.0.0.1", "must not be an IP address (A00.FR.511)"),
    ],
)
def test_a_station_id_must_make_a_file_name_and_a_cn(station: str, message: str) -> None:
    with pytest.raises(PkiError, match=re.escape(message)):
        pki.validate_station_id(station)


def test_nothing_is_written_when_an_argument_is_wrong(tmp_path: Path) -> None:
    for arguments in ({"station_ids": ["ok", "not/ok"]}, {"hosts": ["https://x"]}, {"cpo_name": " "}, {"hosts": []}):
        with pytest.raises(PkiError):
            pki.write_test_pki(tmp_path / "pki", **arguments)  # type: ignore[arg-type]
        assert not (tmp_path / "pki").exists()


def test_the_listener_context_serves_both_keys_and_refuses_the_weak_one(test_pki: PkiFiles) -> None:
    context = pki.server_ssl_context([test_pki.csms_rsa, test_pki.csms_ecdsa], client_ca=test_pki.ca.certificate)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2 and context.verify_mode == ssl.CERT_REQUIRED
    names = {cipher["name"] for cipher in context.get_ciphers()}
    assert {
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "AES128-GCM-SHA256",
        "AES256-GCM-SHA384",
    } <= names
    with pytest.raises(ssl.SSLError):
        pki.server_ssl_context([test_pki.bad.weak_key_server])


# --- firmware signing (L01) -----------------------------------------------------------------------------------


def test_the_firmware_signing_certificate_is_for_code_signing_only(
    test_pki: PkiFiles, ca: CertificateAuthority
) -> None:
    """L01.FR.11/12: a certificate a station checks against its ManufacturerRootCertificate (here the CA)."""
    certificate = read(test_pki.firmware_signing.certificate)
    certificate.verify_directly_issued_by(ca.certificate)
    assert extension(certificate, x509.ExtendedKeyUsage) == x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING])
    usage = extension(certificate, x509.KeyUsage)
    assert isinstance(usage, x509.KeyUsage) and usage.digital_signature and not usage.key_cert_sign
    assert pki.key_strength_problem(certificate.public_key()) is None
    assert organization(certificate) == pki.DEFAULT_CPO_NAME


@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa"])
def test_a_firmware_signature_verifies_over_the_image_only(
    ca: CertificateAuthority, algorithm: pki.KeyAlgorithm
) -> None:
    """L01.FR.04: RSA-PSS over SHA-256 for an RSA key, ECDSA for an EC key; base64 within string[0..800]."""
    signer = ca.issue_firmware_signing_certificate(organization="CPO", algorithm=algorithm, now=NOW)
    image = b"firmware image bytes"
    signature = pki.sign_firmware(image, signer.private_key)
    assert len(signature) <= pki.SIGNATURE_MAX_CHARS
    raw = base64.b64decode(signature, validate=True)
    key = signer.certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
        key.verify(raw, image, pss, hashes.SHA256())
        with pytest.raises(InvalidSignature):
            key.verify(raw, image + b"x", pss, hashes.SHA256())
    else:
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(raw, image, ec.ECDSA(hashes.SHA256()))
        with pytest.raises(InvalidSignature):
            key.verify(raw, image + b"x", ec.ECDSA(hashes.SHA256()))
