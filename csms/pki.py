"""The bundled CSMS's certificate authority, and the test PKI ``ocpp-harness certs`` writes.

Security profiles 2 and 3 of the OCPP 1.6 security whitepaper (edition 3) need a CPO hierarchy (§2.6.2): a root
that signs the CSMS server certificates and the charge points' client certificates, and a way to turn a charge
point's CSR into a certificate chain (use cases A02/A03). Shapes follow §2.6.1 "Certificate Properties":

* keys: RSA >= 2048 bits (A00.FR.502) or EC >= 224 bits (A00.FR.503); the test PKI uses RSA 2048 and P-256;
* SHA-256 signatures (A00.FR.506). An RSA CA signs with PKCS#1 v1.5 (SHA256withRSA), not the RSA-PSS that
  A00.FR.505 recommends: OCTT does not accept a PSS-signed chain in TC_074_CSMS (reference §0 item 7, §5.6);
  an EC CA signs with ECDSA-SHA256 as A00.FR.505 asks;
* a positive random serial number (A00.FR.508, RFC 5280 §4.1.2.2); O = the owner's organisation (A00.FR.509);
* CSMS certificate: CN = the host stations connect to (A00.FR.510), serverAuth;
* charge point certificate: CN = its serial number, which is not a URL or an IP address (A00.FR.511), O = the
  CPO name (A00.FR.404/405), clientAuth, one per station (A00.FR.427);
* firmware signing certificate (use case L01): codeSigning, its key signs firmware images with RSA-PSS (L01.FR.04);
* key usage restricted to what the certificate is for (A00.FR.512).

SubjectAltName. The A00.FR.511 note says a dNSName SAN SHOULD NOT be used, because RFC 2818 clients take the SAN
instead of the CN as the identity, and allows it for a CSMS reached over several network paths. CSMS certificates
here carry one anyway, listing the CN's host first and every other host: RFC 9525 §6 (and RFC 6125 before it)
has clients match SAN entries only, as Go, browsers and ``cryptography.x509.verification`` do; Python's ``ssl``
falls back to the CN for a host name but never for an IP address, so a station connecting to ``127.0.0.1``
(every test and the bundled CSMS) needs an iPAddress SAN. Since the SAN always names the CN's host, a client that
prefers it sees the same identity an OCPP client reads from the CN, which is the incompatibility the note warns
of, and the several hosts are the note's "multiple network paths". ``subject_alt_names=False`` gives the strict
whitepaper shape. Charge point certificates never carry a SAN: their identity is the CN (A00.FR.511).

PEM from a charge point is normalised first: OCTT sends CRLF or percent-encoded line endings (reference §0
item 7, §5.6).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import os
import re
import ssl
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KeyAlgorithm = Literal["rsa", "ecdsa"]
HashAlgorithm = Literal["SHA256", "SHA384", "SHA512"]

CSR_MAX_CHARS = 5500  # SignCertificate.req csr: string[0..5500] (whitepaper §4, A02.FR.03)
CERTIFICATE_MAX_CHARS = 5500  # InstallCertificate.req certificate: string[0..5500]
CHAIN_MAX_CHARS = 10000  # CertificateSigned.req certificateChain: string[0..10000]; CertificateSignedMaxChainSize
SIGNATURE_MAX_CHARS = 800  # SignedUpdateFirmware.req firmware.signature: string[0..800], base64
RSA_MIN_BITS = 2048  # A00.FR.502 (RSA and DSA)
EC_MIN_BITS = 224  # A00.FR.503
RSA_BITS = 2048
CA_VALID_DAYS = 5 * 365
LEAF_VALID_DAYS = 365
CLOCK_SKEW = dt.timedelta(minutes=5)  # not_before lies this far back, so a station whose clock lags accepts it

DEFAULT_HOSTS = ("localhost", "127.0.0.1")
DEFAULT_CPO_NAME = "ocpp-harness Test CPO"
DEFAULT_STATION_IDS = ("CP_1",)
MANIFEST = "manifest.json"
WRONG_HOST = "wrong-host.invalid"  # RFC 2606 reserves .invalid: it never resolves

# The four suites of A00.FR.317/421 in OpenSSL's names, then the ECDHE-RSA suites (forward secrecy with the RSA
# certificate). Python's default cipher list leaves out TLS_RSA_* (static RSA key exchange), so a server that must
# offer them sets the list itself. TLS 1.3 suites are configured apart by OpenSSL and stay enabled.
SERVER_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "AES128-GCM-SHA256",
        "AES256-GCM-SHA384",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
    )
)

_HASHES: Mapping[str, str] = {"SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512"}  # hashlib's names
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
_DNS_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_STATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # a file name everywhere, and a CN (ub-common-name 64)


class PkiError(Exception):
    """A PKI request that cannot be fulfilled; the message is one line, fit for ``error: ...``."""


class PemError(PkiError, ValueError):
    """Text that is not the PEM it should be."""


class CsrRejected(PkiError, ValueError):
    """A CSR the CA will not sign: the CSMS answers ``SignCertificate.conf`` Rejected (A02.FR.12)."""


# --- keys -----------------------------------------------------------------------------------------------------


def new_private_key(algorithm: KeyAlgorithm = "ecdsa", *, rsa_bits: int = RSA_BITS) -> PrivateKey:
    """A fresh key: ECDSA on P-256, or RSA of ``rsa_bits`` (generating RSA takes tens of milliseconds)."""
    if algorithm == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    return ec.generate_private_key(ec.SECP256R1())


def describe_key(key: CertificatePublicKeyTypes) -> str:
    """``RSA 2048``, ``EC secp256r1 (256 bits)``: what a report shows of a public key."""
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name} ({key.key_size} bits)"
    return type(key).__name__.removeprefix("_").removesuffix("PublicKey") or "unknown key"


def key_strength_problem(key: CertificatePublicKeyTypes) -> str | None:
    """None when the key meets A00.FR.501-503 (112-bit security: RSA/DSA >= 2048 bits, EC >= 224 bits), else why
    not. Other key types are refused: the whitepaper names no other, and the four suites of A00.FR.317 need RSA or
    ECDSA."""
    if isinstance(key, rsa.RSAPublicKey | dsa.DSAPublicKey):
        if key.key_size < RSA_MIN_BITS:
            return f"{describe_key(key)} is shorter than {RSA_MIN_BITS} bits (A00.FR.502)"
        return None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.key_size < EC_MIN_BITS:
            return f"{describe_key(key)} is shorter than {EC_MIN_BITS} bits (A00.FR.503)"
        return None
    return f"{describe_key(key)} keys are not allowed: A00.FR.501-503 name RSA, DSA and EC keys"


# --- PEM ------------------------------------------------------------------------------------------------------


def normalize_pem(text: str) -> str:
    """Every PEM block of ``text`` in the strict form of RFC 7468 §2: LF line endings, 64-character lines, nothing
    around the blocks. OCTT sends CRLF and percent-encoded line endings (reference §5.6); a percent sign never
    occurs in PEM armour or base64, so a text that has one is percent-decoded whole. Raises :class:`PemError` when
    there is no block."""
    if "%" in text:
        text = unquote(text)
    blocks = []
    for label, body in _PEM_BLOCK.findall(text):
        data = "".join(body.split())
        lines = [data[i : i + 64] for i in range(0, len(data), 64)]
        blocks.append("\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n")
    if not blocks:
        raise PemError("no PEM block (-----BEGIN ...-----) found")
    return "".join(blocks)


def load_certificates(text: str) -> list[x509.Certificate]:
    """The certificates of a PEM text (a chain, leaf first, as ``CertificateSigned.req`` carries it)."""
    try:
        certificates = x509.load_pem_x509_certificates(normalize_pem(text).encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise PemError(f"not a PEM certificate: {exc}") from exc
    return certificates


def load_certificate(text: str) -> x509.Certificate:
    """Exactly one PEM certificate, as ``InstallCertificate.req`` carries it."""
    certificates = load_certificates(text)
    if len(certificates) != 1:
        raise PemError(f"expected one certificate, got {len(certificates)}")
    return certificates[0]


def load_csr(text: str) -> x509.CertificateSigningRequest:
    """A PKCS#10 CSR (RFC 2986) in PEM, as ``SignCertificate.req`` carries it (A02.FR.03)."""
    try:
        return x509.load_pem_x509_csr(normalize_pem(text).encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise PemError(f"not a PEM certificate signing request: {exc}") from exc


def certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def private_key_pem(key: PrivateKey) -> str:
    """Unencrypted PKCS#8: test material, read by ``ssl.SSLContext.load_cert_chain`` without a password."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


# --- CertificateHashData --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateHashData:
    """``CertificateHashDataType`` (whitepaper ed. 3 §6.1), as GetInstalledCertificateIds.conf reports a
    certificate and DeleteCertificate.req names it. The fields are CiStrings (§6.5, §6.6): compare them with
    :meth:`matches`, not ``==``."""

    hash_algorithm: HashAlgorithm
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str

    def to_ocpp(self) -> dict[str, str]:
        return {
            "hashAlgorithm": self.hash_algorithm,
            "issuerNameHash": self.issuer_name_hash,
            "issuerKeyHash": self.issuer_key_hash,
            "serialNumber": self.serial_number,
        }

    def matches(self, other: CertificateHashData | Mapping[str, Any]) -> bool:
        """Whether ``other`` (this type or its OCPP payload) names the same certificate, case-insensitively."""
        theirs = other.to_ocpp() if isinstance(other, CertificateHashData) else other
        return all(str(theirs.get(key, "")).casefold() == value.casefold() for key, value in self.to_ocpp().items())


def certificate_hash_data(
    certificate: x509.Certificate, *, issuer: x509.Certificate | None = None, hash_algorithm: HashAlgorithm = "SHA256"
) -> CertificateHashData:
    """The CertificateHashData of ``certificate``, as OCTT recomputes it in TC_076_CSMS (reference §5.10).

    As in an OCSP CertID (RFC 6960 §4.1.1), which §6.1 refers to: ``issuerNameHash`` over the DER of the issuer
    name as the certificate encodes it, ``issuerKeyHash`` over the value of the issuer's subjectPublicKey BIT STRING
    (without tag, length and unused-bits octet), both as lowercase hex; ``serialNumber`` as hex without leading
    zeroes, in capitals as §6.1's example ("FFF" for 4095). Both DER pieces are taken from the certificates' own
    bytes, not re-encoded. ``issuer`` defaults to the certificate itself, which must then be self-issued (a root, as
    InstallCertificate installs).
    """
    if hash_algorithm not in _HASHES:
        raise ValueError(f"hash algorithm {hash_algorithm!r}: expected one of {', '.join(_HASHES)}")
    issuer = certificate if issuer is None else issuer
    if issuer.subject != certificate.issuer:
        raise ValueError(
            f"the issuer given ({issuer.subject.rfc4514_string()}) did not issue this certificate (issued by "
            f"{certificate.issuer.rfc4514_string()})"
        )
    digest = _HASHES[hash_algorithm]
    return CertificateHashData(
        hash_algorithm=hash_algorithm,
        issuer_name_hash=hashlib.new(digest, _tbs_fields(certificate).issuer).hexdigest(),
        issuer_key_hash=hashlib.new(digest, _tbs_fields(issuer).subject_public_key).hexdigest(),
        serial_number=format(certificate.serial_number, "X"),
    )


@dataclass(frozen=True)
class _TbsFields:
    issuer: bytes  # the whole DER element of the issuer Name
    subject_public_key: bytes  # the bits of the subjectPublicKey BIT STRING


def _der_element(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, start, end) of the value of the DER element at ``offset`` (X.690 §8.1: one-octet tags, definite
    lengths, as DER requires)."""
    tag, length = data[offset], data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    return tag, start, start + length


def _tbs_fields(certificate: x509.Certificate) -> _TbsFields:
    """TBSCertificate (RFC 5280 §4.1): [0] version (optional), serialNumber, signature, issuer, validity, subject,
    subjectPublicKeyInfo, ..."""
    tbs = certificate.tbs_certificate_bytes
    _, position, _ = _der_element(tbs, 0)
    elements: list[tuple[int, int, int, int]] = []  # (tag, element start, value start, value end)
    while len(elements) < 7 and position < len(tbs):
        tag, start, end = _der_element(tbs, position)
        elements.append((tag, position, start, end))
        position = end
    if elements and elements[0][0] == 0xA0:
        elements = elements[1:]
    _, issuer_at, _, issuer_end = elements[2]
    _, _, spki_start, spki_end = elements[5]
    _, _, algorithm_end = _der_element(tbs, spki_start)
    tag, bits_start, bits_end = _der_element(tbs, algorithm_end)
    if tag != 0x03 or bits_end > spki_end:
        raise ValueError("subjectPublicKeyInfo without a BIT STRING")
    return _TbsFields(issuer=tbs[issuer_at:issuer_end], subject_public_key=tbs[bits_start + 1 : bits_end])


# --- issuing --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credential:
    """A certificate with its private key."""

    certificate: x509.Certificate
    private_key: PrivateKey

    def certificate_pem(self) -> str:
        return certificate_pem(self.certificate)

    def private_key_pem(self) -> str:
        return private_key_pem(self.private_key)


@dataclass(frozen=True)
class SignedCertificate:
    """What signing a CSR gives: the leaf, and ``CertificateSigned.req``'s certificateChain (leaf first, then its
    issuer; whitepaper A02 step 9)."""

    certificate: x509.Certificate
    chain_pem: str


def _name(common_name: str, organization: str) -> x509.Name:
    organization_attribute = x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)
    return x509.Name([organization_attribute, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, digital_signature: bool = False, key_encipherment: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _sign(builder: x509.CertificateBuilder, key: PrivateKey) -> x509.Certificate:
    """SHA-256 (A00.FR.506); PKCS#1 v1.5 for an RSA key, the OCTT quirk (reference §5.6), ECDSA otherwise."""
    if isinstance(key, rsa.RSAPrivateKey):
        return builder.sign(key, hashes.SHA256(), rsa_padding=padding.PKCS1v15())
    return builder.sign(key, hashes.SHA256())


def _spki(key: CertificatePublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _now(now: dt.datetime | None) -> dt.datetime:
    return dt.datetime.now(dt.UTC) if now is None else now


def host_names(hosts: Iterable[str]) -> list[x509.GeneralName]:
    """SAN entries: an iPAddress for an IP address, a dNSName otherwise. Raises :class:`PkiError` for a value that
    is neither (a URL, a host with a port)."""
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
            continue
        except ValueError:
            pass
        labels = host.removesuffix(".").split(".")
        if len(host) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
            raise PkiError(f"host {host!r}: expected a host name or an IP address, without scheme, port or path")
        names.append(x509.DNSName(host.lower()))
    return names


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA: the root of the CPO hierarchy (whitepaper §2.6.2, A00.FR.601) that issues the CSMS and charge point
    certificates and signs CSRs (A02, A03)."""

    credential: Credential

    @property
    def certificate(self) -> x509.Certificate:
        return self.credential.certificate

    @classmethod
    def create(
        cls,
        *,
        common_name: str,
        organization: str,
        algorithm: KeyAlgorithm = "rsa",
        valid_days: int = CA_VALID_DAYS,
        now: dt.datetime | None = None,
    ) -> CertificateAuthority:
        """A self-signed root. RSA by default: the kind whose signature OCTT is picky about (reference §5.6)."""
        key = new_private_key(algorithm)
        name = _name(common_name, organization)
        start = _now(now) - CLOCK_SKEW
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True, ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        return cls(Credential(_sign(builder, key), key))

    @classmethod
    def from_pem(cls, certificate_text: str, private_key_text: str) -> CertificateAuthority:
        certificate = load_certificate(certificate_text)
        key = serialization.load_pem_private_key(private_key_text.encode("ascii"), password=None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise PkiError(f"CA key: expected an RSA or EC key, got {type(key).__name__}")
        if _spki(key.public_key()) != _spki(certificate.public_key()):
            raise PkiError("CA key does not belong to the CA certificate")
        return cls(Credential(certificate, key))

    @classmethod
    def from_files(cls, certificate_path: Path, private_key_path: Path) -> CertificateAuthority:
        return cls.from_pem(certificate_path.read_text(encoding="ascii"), private_key_path.read_text(encoding="ascii"))

    def _leaf(
        self, subject: x509.Name, public_key: CertificatePublicKeyTypes, *, valid_days: int, now: dt.datetime | None
    ) -> x509.CertificateBuilder:
        start = _now(now) - CLOCK_SKEW
        issuer_key = self.credential.private_key.public_key()
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key), critical=False)
        )

    def issue_server_certificate(
        self,
        *,
        hosts: Sequence[str],
        organization: str,
        algorithm: KeyAlgorithm = "rsa",
        private_key: PrivateKey | None = None,
        subject_alt_names: bool = True,
        valid_days: int = LEAF_VALID_DAYS,
        now: dt.datetime | None = None,
    ) -> Credential:
        """A CSMS server certificate: CN = ``hosts[0]`` (A00.FR.510), O = ``organization`` (A00.FR.509), a SAN of
        every host unless ``subject_alt_names`` is false (see the module docstring), serverAuth. An RSA key is also
        for key encipherment: the TLS_RSA_* suites of A00.FR.317 encrypt the premaster secret with it."""
        if not hosts:
            raise PkiError("a server certificate needs at least one host")
        names = host_names(hosts)
        key = new_private_key(algorithm) if private_key is None else private_key
        builder = (
            self._leaf(_name(hosts[0], organization), key.public_key(), valid_days=valid_days, now=now)
            .add_extension(
                _key_usage(digital_signature=True, key_encipherment=isinstance(key, rsa.RSAPrivateKey)), critical=True
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        )
        if subject_alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return Credential(_sign(builder, self.credential.private_key), key)

    def issue_station_certificate(
        self,
        *,
        serial_number: str,
        cpo_name: str,
        algorithm: KeyAlgorithm = "ecdsa",
        private_key: PrivateKey | None = None,
        valid_days: int = LEAF_VALID_DAYS,
        now: dt.datetime | None = None,
    ) -> Credential:
        """A charge point client certificate for profile 3: CN = the station's serial number (A00.FR.405/511),
        O = the CPO name (A00.FR.404), clientAuth, no SAN."""
        key = new_private_key(algorithm) if private_key is None else private_key
        builder = (
            self._leaf(_name(serial_number, cpo_name), key.public_key(), valid_days=valid_days, now=now)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        )
        return Credential(_sign(builder, self.credential.private_key), key)

    def issue_firmware_signing_certificate(
        self,
        *,
        organization: str,
        common_name: str = "ocpp-harness Firmware Signing",
        algorithm: KeyAlgorithm = "rsa",
        valid_days: int = LEAF_VALID_DAYS,
        now: dt.datetime | None = None,
    ) -> Credential:
        """The certificate whose key signs firmware images (SignedUpdateFirmware.req signingCertificate, which the
        Central System SHALL send, L01.FR.11): codeSigning, digitalSignature. A station accepts it only when it is
        issued by one of its ManufacturerRootCertificates (L01.FR.12/23), so this CA is installed as one
        (InstallCertificate, TC_075_1) before a signed update (TC_080). RSA by default: L01.FR.04 names RSA-PSS."""
        key = new_private_key(algorithm)
        builder = (
            self._leaf(_name(common_name, organization), key.public_key(), valid_days=valid_days, now=now)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        )
        return Credential(_sign(builder, self.credential.private_key), key)

    def sign_csr(
        self,
        csr_text: str,
        *,
        expected_common_name: str | None = None,
        expected_organization: str | None = None,
        valid_days: int = LEAF_VALID_DAYS,
        max_chain_chars: int = CHAIN_MAX_CHARS,
        now: dt.datetime | None = None,
    ) -> SignedCertificate:
        """A charge point's CSR (``SignCertificate.req`` csr, PEM, at most 5500 characters) signed into the chain
        ``CertificateSigned.req`` carries: the leaf, then this CA (at most ``max_chain_chars``, the station's
        CertificateSignedMaxChainSize, 10000 at most).

        The CSR must be self-signed by its key (proof of possession, RFC 2986 §3) with a key of A00.FR.501-503 and
        a CN. ``expected_common_name`` and ``expected_organization``, when given, must be contained in the CSR's CN
        (the station's serial number, A00.FR.405) and O (the CpoName, A02.FR.13, A00.FR.404). They are optional
        because OCTT supplies no reference data for them (reference §5.6). The subject is kept as the station
        wrote it; the extensions are the CA's (clientAuth), never the ones the CSR asks for. Raises
        :class:`CsrRejected`.
        """
        if len(csr_text) > CSR_MAX_CHARS:
            raise CsrRejected(f"CSR of {len(csr_text)} characters; SignCertificate.req allows {CSR_MAX_CHARS}")
        try:
            csr = load_csr(csr_text)
        except PemError as exc:
            raise CsrRejected(str(exc)) from exc
        if not csr.is_signature_valid:
            raise CsrRejected("the CSR's signature does not verify with its own public key")
        public_key = csr.public_key()
        problem = key_strength_problem(public_key)
        if problem is not None:
            raise CsrRejected(problem)
        common_names = [str(a.value) for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        organizations = [str(a.value) for a in csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        if not common_names:
            raise CsrRejected("the CSR's subject has no CN (A00.FR.511: the charge point's serial number)")
        if expected_common_name is not None and not any(expected_common_name in cn for cn in common_names):
            raise CsrRejected(f"CN {common_names!r} does not contain the serial number {expected_common_name!r}")
        if expected_organization is not None and not any(expected_organization in o for o in organizations):
            raise CsrRejected(f"O {organizations!r} does not contain the CPO name {expected_organization!r}")
        builder = (
            self._leaf(csr.subject, public_key, valid_days=valid_days, now=now)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        )
        leaf = _sign(builder, self.credential.private_key)
        chain = certificate_pem(leaf) + certificate_pem(self.certificate)
        if len(chain) > max_chain_chars:
            raise CsrRejected(f"the chain has {len(chain)} characters; the station takes at most {max_chain_chars}")
        return SignedCertificate(leaf, chain)


def sign_firmware(image: bytes, key: PrivateKey) -> str:
    """``SignedUpdateFirmware.req`` firmware.signature: the base64 signature of ``image`` over its SHA-256, with
    RSA-PSS (MGF1-SHA256, salt as long as the digest) for an RSA key as L01.FR.04 names, or ECDSA for an EC key
    (L01.FR.04's other scheme, ECSchnorr, is in no common library). A station verifies it over the image it
    downloaded, with the signing certificate's key (L01.FR.04)."""
    if isinstance(key, rsa.RSAPrivateKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
        signature = key.sign(image, pss, hashes.SHA256())
    else:
        signature = key.sign(image, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode("ascii")


def server_ssl_context(certificates: Sequence[CertFiles], *, client_ca: Path | None = None) -> ssl.SSLContext:
    """A TLS server context for a CSMS listener: TLS 1.2 or above (A00.FR.312/416), :data:`SERVER_CIPHERS`, no
    compression (A00.FR.320/424). Give it an RSA and an ECDSA certificate: the four suites of A00.FR.317/421 need
    both (its note). With ``client_ca`` (profile 3) a client certificate chaining to that CA is required
    (A00.FR.403, A00.FR.407); the O and CN checks of A00.FR.404/405 are the application's, after the handshake.

    Python's default security level (2) refuses to load a key below 112-bit strength, so this context cannot serve
    the ``bad/weak-key-server`` certificate.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION
    context.set_ciphers(SERVER_CIPHERS)
    for files in certificates:
        context.load_cert_chain(files.certificate, files.private_key)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=client_ca)
    return context


# --- the test PKI on disk -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertFiles:
    """A certificate file and its private key file."""

    certificate: Path
    private_key: Path


@dataclass(frozen=True)
class BadFiles:
    """Certificates a conforming peer must refuse, for the negative tests (TC_086/TC_087 and their whitepaper
    rules); the station ones are for the first station id."""

    untrusted_ca: CertFiles  # a root nobody was told to trust
    untrusted_server: CertFiles  # the CSMS host's certificate, issued by the untrusted root (A00.FR.307/411)
    untrusted_station: CertFiles  # a station certificate, issued by the untrusted root (A00.FR.403/407)
    expired_server: CertFiles  # A00.FR.309/413
    expired_station: CertFiles  # A00.FR.407
    wrong_cn_server: CertFiles  # CN and SAN name another host (A00.FR.308/412, A00.FR.510)
    wrong_cn_station: CertFiles  # CN without the station's serial number (A00.FR.405)
    weak_key_server: CertFiles  # RSA 1024 (A00.FR.502)


@dataclass(frozen=True)
class PkiFiles:
    """Where a test PKI lives (the layout of ``ocpp-harness certs``; ``certs/README.md``)."""

    folder: Path
    hosts: tuple[str, ...]
    cpo_name: str
    ca: CertFiles
    csms_rsa: CertFiles
    csms_ecdsa: CertFiles
    firmware_signing: CertFiles
    stations: Mapping[str, CertFiles]
    bad: BadFiles

    @property
    def manifest(self) -> Path:
        return self.folder / MANIFEST

    @classmethod
    def layout(cls, folder: Path, *, hosts: Sequence[str], cpo_name: str, station_ids: Sequence[str]) -> PkiFiles:
        def pair(name: str) -> CertFiles:
            return CertFiles(folder / f"{name}.pem", folder / f"{name}.key")

        return cls(
            folder=folder,
            hosts=tuple(hosts),
            cpo_name=cpo_name,
            ca=pair("ca"),
            csms_rsa=pair("csms-rsa"),
            csms_ecdsa=pair("csms-ecdsa"),
            firmware_signing=pair("firmware-signing"),
            stations={station: pair(f"stations/{station}") for station in station_ids},
            bad=BadFiles(
                untrusted_ca=pair("bad/untrusted-ca"),
                untrusted_server=pair("bad/untrusted-server"),
                untrusted_station=pair("bad/untrusted-station"),
                expired_server=pair("bad/expired-server"),
                expired_station=pair("bad/expired-station"),
                wrong_cn_server=pair("bad/wrong-cn-server"),
                wrong_cn_station=pair("bad/wrong-cn-station"),
                weak_key_server=pair("bad/weak-key-server"),
            ),
        )

    @classmethod
    def read(cls, folder: Path) -> PkiFiles:
        """The PKI ``ocpp-harness certs`` wrote in ``folder``, from its manifest."""
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            return cls.layout(
                folder, hosts=manifest["hosts"], cpo_name=manifest["cpo_name"], station_ids=manifest["stations"]
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PkiError(f"{folder / MANIFEST}: not a manifest of ocpp-harness certs ({exc})") from exc

    def authority(self) -> CertificateAuthority:
        return CertificateAuthority.from_files(self.ca.certificate, self.ca.private_key)

    def all_files(self) -> list[CertFiles]:
        bad = self.bad
        return [
            self.ca,
            self.csms_rsa,
            self.csms_ecdsa,
            self.firmware_signing,
            *self.stations.values(),
            *(getattr(bad, name) for name in bad.__dataclass_fields__),
        ]


def validate_station_id(station_id: str) -> str:
    """A station id becomes a file name and a CN that is not an IP address (A00.FR.511)."""
    if not _STATION_ID.fullmatch(station_id) or station_id in (".", ".."):
        raise PkiError(
            f"station id {station_id!r}: expected 1-64 letters, digits, '.', '_' or '-', starting with a letter or "
            "digit"
        )
    try:
        ipaddress.ip_address(station_id)
    except ValueError:
        return station_id
    raise PkiError(f"station id {station_id!r}: a charge point's CN must not be an IP address (A00.FR.511)")


def _wrong_common_name(station_id: str) -> str:
    """A CN that does not contain ``station_id``: the two candidates share no character, so one never does."""
    for candidate in ("WRONG_CN", "QQQQ-1234"):
        if station_id.casefold() not in candidate.casefold():
            return candidate
    raise AssertionError("unreachable: the candidates share no character")


@dataclass(frozen=True)
class _Entry:
    files: CertFiles
    credential: Credential
    role: str
    profiles: tuple[int, ...]
    description: str


def write_test_pki(
    folder: Path,
    *,
    hosts: Sequence[str] = DEFAULT_HOSTS,
    cpo_name: str = DEFAULT_CPO_NAME,
    station_ids: Sequence[str] = DEFAULT_STATION_IDS,
    force: bool = False,
    now: dt.datetime | None = None,
) -> PkiFiles:
    """Write a complete test PKI in ``folder`` (layout: :meth:`PkiFiles.layout`) with a ``manifest.json`` that
    describes every file. Private keys are written 0600. Nothing is overwritten unless ``force``; with it, the
    files of the previous manifest go first, so no stale station is left behind. Raises :class:`PkiError`."""
    hosts = list(dict.fromkeys(hosts))
    station_ids = list(dict.fromkeys(station_ids))
    host_names(hosts)
    if not hosts:
        raise PkiError("give at least one host")
    for station in station_ids:
        validate_station_id(station)
    if not station_ids:
        raise PkiError("give at least one station id")
    if not cpo_name.strip() or len(cpo_name) > 64:
        raise PkiError(f"CPO name {cpo_name!r}: expected 1-64 characters (X.520 ub-organization-name)")
    files = PkiFiles.layout(folder, hosts=hosts, cpo_name=cpo_name, station_ids=station_ids)
    targets = [files.manifest, *(path for pair in files.all_files() for path in (pair.certificate, pair.private_key))]
    if not force:
        for path in targets:
            if path.exists():
                raise PkiError(f"{path} exists; pass --force to replace the test PKI in {folder}")
    moment = _now(now)
    entries = _generate(files, moment)
    if force:
        _remove_previous(folder)
    for entry in entries:
        _write(entry.files.certificate, entry.credential.certificate_pem(), private=False)
        _write(entry.files.private_key, entry.credential.private_key_pem(), private=True)
    manifest = _manifest(files, entries, moment)
    _write(files.manifest, json.dumps(manifest, indent=2) + "\n", private=False)
    return files


def _generate(files: PkiFiles, now: dt.datetime) -> list[_Entry]:
    cpo, hosts, bad = files.cpo_name, list(files.hosts), files.bad
    shown = ", ".join(hosts)
    station = next(iter(files.stations))
    ca = CertificateAuthority.create(common_name="ocpp-harness Test Root CA", organization=cpo, now=now)
    untrusted = CertificateAuthority.create(
        common_name="ocpp-harness Untrusted Test CA", organization=cpo, algorithm="ecdsa", now=now
    )
    expired_at = now - dt.timedelta(days=30)  # with valid_days=29: ended a day ago
    entries: list[_Entry] = []

    def add(pair: CertFiles, credential: Credential, role: str, profiles: tuple[int, ...], description: str) -> None:
        entries.append(_Entry(pair, credential, role, profiles, description))

    add(
        files.ca,
        ca.credential,
        "ca",
        (2, 3),
        "Central System root CA (CentralSystemRootCertificate): issues every certificate outside bad/ and signs the "
        "stations' CSRs (A02, TC_074/TC_077). Stations trust it (A00.FR.307/411; InstallCertificate, TC_075_2); the "
        "CSMS verifies profile-3 client certificates against it (A00.FR.403).",
    )
    servers: tuple[tuple[KeyAlgorithm, CertFiles, str, str], ...] = (
        ("rsa", files.csms_rsa, f"RSA {RSA_BITS}", "TLS_RSA_WITH_AES_*_GCM"),
        ("ecdsa", files.csms_ecdsa, "ECDSA P-256", "TLS_ECDHE_ECDSA_WITH_AES_*_GCM"),
    )
    for algorithm, pair, what, suites in servers:
        add(
            pair,
            ca.issue_server_certificate(hosts=hosts, organization=cpo, algorithm=algorithm, now=now),
            "csms-server",
            (2, 3),
            f"CSMS server certificate, {what}, CN={hosts[0]}, SAN {shown}: the {suites} suites (A00.FR.317/421, "
            "A00.FR.510).",
        )
    add(
        files.firmware_signing,
        ca.issue_firmware_signing_certificate(organization=cpo, now=now),
        "firmware-signing",
        (1, 2, 3),
        "firmware signing certificate, RSA 2048, codeSigning: the CSMS signs firmware images with its key (RSA-PSS, "
        "L01.FR.04) and sends it as SignedUpdateFirmware's signingCertificate (L01.FR.11, TC_080/TC_081); stations "
        "accept it once ca.pem is installed as a ManufacturerRootCertificate (L01.FR.12, TC_075_1).",
    )
    for station_id, pair in files.stations.items():
        add(
            pair,
            ca.issue_station_certificate(serial_number=station_id, cpo_name=cpo, now=now),
            "station",
            (3,),
            f"client certificate of station {station_id}: CN={station_id}, O={cpo}, ECDSA P-256 (A00.FR.401-405, "
            "A00.FR.427).",
        )
    add(
        bad.untrusted_ca,
        untrusted.credential,
        "bad-ca",
        (2, 3),
        "a root CA nobody is told to trust: what it issues must be refused (A00.FR.307/403/411).",
    )
    add(
        bad.untrusted_server,
        untrusted.issue_server_certificate(hosts=hosts, organization=cpo, algorithm="ecdsa", now=now),
        "bad-server",
        (2, 3),
        f"server certificate for {shown} issued by bad/untrusted-ca: a station must refuse it "
        "(A00.FR.307/309/411/413).",
    )
    add(
        bad.untrusted_station,
        untrusted.issue_station_certificate(serial_number=station, cpo_name=cpo, now=now),
        "bad-station",
        (3,),
        f"client certificate of {station} issued by bad/untrusted-ca: the CSMS must terminate the connection "
        "(A00.FR.403/407).",
    )
    add(
        bad.expired_server,
        ca.issue_server_certificate(hosts=hosts, organization=cpo, algorithm="ecdsa", valid_days=29, now=expired_at),
        "bad-server",
        (2, 3),
        f"server certificate for {shown} that expired a day ago: a station must refuse it (A00.FR.309/413).",
    )
    add(
        bad.expired_station,
        ca.issue_station_certificate(serial_number=station, cpo_name=cpo, valid_days=29, now=expired_at),
        "bad-station",
        (3,),
        f"client certificate of {station} that expired a day ago: the CSMS must terminate the connection (A00.FR.407).",
    )
    add(
        bad.wrong_cn_server,
        ca.issue_server_certificate(hosts=[WRONG_HOST], organization=cpo, algorithm="ecdsa", now=now),
        "bad-server",
        (2, 3),
        f"server certificate with CN and SAN {WRONG_HOST}, not the host stations connect to (A00.FR.308/412, "
        "A00.FR.510; TC_086_CSMS).",
    )
    add(
        bad.wrong_cn_station,
        ca.issue_station_certificate(serial_number=_wrong_common_name(station), cpo_name=cpo, now=now),
        "bad-station",
        (3,),
        f"client certificate whose CN does not contain {station}'s serial number (A00.FR.405).",
    )
    add(
        bad.weak_key_server,
        ca.issue_server_certificate(
            hosts=hosts, organization=cpo, private_key=new_private_key("rsa", rsa_bits=1024), now=now
        ),
        "bad-server",
        (2, 3),
        f"server certificate for {shown} with an RSA 1024 key (A00.FR.502; TC_086_CSMS).",
    )
    return entries


def _relative(files: PkiFiles, path: Path) -> str:
    return path.relative_to(files.folder).as_posix()


def _manifest(files: PkiFiles, entries: Sequence[_Entry], now: dt.datetime) -> dict[str, Any]:
    described: list[dict[str, Any]] = []
    for entry in entries:
        certificate = entry.credential.certificate
        described.append(
            {
                "path": _relative(files, entry.files.certificate),
                "kind": "certificate",
                "role": entry.role,
                "security_profiles": list(entry.profiles),
                "description": entry.description,
                "subject": certificate.subject.rfc4514_string(),
                "issuer": certificate.issuer.rfc4514_string(),
                "serial_number": format(certificate.serial_number, "X"),
                "not_before": certificate.not_valid_before_utc.isoformat(),
                "not_after": certificate.not_valid_after_utc.isoformat(),
                "key": describe_key(certificate.public_key()),
                "sha256_fingerprint": certificate.fingerprint(hashes.SHA256()).hex(),
                "private_key": _relative(files, entry.files.private_key),
            }
        )
        described.append(
            {
                "path": _relative(files, entry.files.private_key),
                "kind": "private key",
                "role": entry.role,
                "for": _relative(files, entry.files.certificate),
                "format": "PKCS#8 PEM, unencrypted",
                "mode": "0600",
            }
        )
    return {
        "generator": "ocpp-harness certs",
        "note": "Test material only: these keys are not secret. Never use them outside a test.",
        "created": now.isoformat(),
        "hosts": list(files.hosts),
        "cpo_name": files.cpo_name,
        "stations": list(files.stations),
        "files": described,
    }


def _remove_previous(folder: Path) -> None:
    """Remove the files a previous manifest lists: only those, and only inside ``folder``."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        listed = [str(entry["path"]) for entry in manifest["files"]]
    except (OSError, ValueError, KeyError, TypeError):
        return
    root = folder.resolve()
    for name in listed:
        path = (folder / name).resolve()
        if path.is_relative_to(root) and path.is_file():
            path.unlink()


def _write(path: Path, text: str, *, private: bool) -> None:
    """Atomic: a temporary file in the same folder (created 0600 by ``mkstemp``), then renamed over ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as stream:
                stream.write(text)
            os.chmod(temporary, 0o600 if private else 0o644)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise PkiError(f"cannot write {path}: {exc.strerror or exc}") from exc
