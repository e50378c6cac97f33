"""X.509 as the station handles it (OCPP 1.6 security whitepaper, edition 3): reading what the CSMS sends, the
checks of §2.6.1 "Certificate Properties", CertificateHashData (§6.1), the station's key pair and CSR (A02/A03)
and the signature of a firmware image (L01).

Computation only, no I/O (DESIGN §5.1): ``cryptography`` parses, hashes and signs; the station model decides.
Every check returns why a certificate is refused, as one line fit for a SecurityEventNotification's techInfo.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias
from urllib.parse import unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

CERTIFICATE_MAX_CHARS = 5500  # InstallCertificate.req certificate, SignedUpdateFirmware signingCertificate
CSR_MAX_CHARS = 5500  # SignCertificate.req csr
RSA_MIN_BITS = 2048  # A00.FR.502 (RSA and DSA)
EC_MIN_BITS = 224  # A00.FR.503

CENTRAL_SYSTEM_ROOT = "CentralSystemRootCertificate"
MANUFACTURER_ROOT = "ManufacturerRootCertificate"

_HASHES: Mapping[str, hashes.HashAlgorithm] = {
    "SHA256": hashes.SHA256(),
    "SHA384": hashes.SHA384(),
    "SHA512": hashes.SHA512(),
}
HASH_DATA_FIELDS = ("hashAlgorithm", "issuerNameHash", "issuerKeyHash", "serialNumber")


class CertificateError(ValueError):
    """Why the station refuses a certificate, a chain or a signature."""


# ------------------------------------------------------------------ reading


def read_certificates(text: str, *, count: int | None = None) -> list[x509.Certificate]:
    """The certificates of a PEM text, leaf first for a chain; ``count`` of them when given. A CSMS may send CRLF or
    percent-encoded line endings (OCTT does, reference §5.6): ``%`` never occurs in PEM, so a text that has one is
    percent-decoded first."""
    try:
        found = x509.load_pem_x509_certificates((unquote(text) if "%" in text else text).encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise CertificateError(f"not a PEM X.509 certificate (A00.FR.507): {exc}") from exc
    if count is not None and len(found) != count:
        raise CertificateError(f"expected {count} certificate(s), got {len(found)}")
    return found


def read_certificate(text: str) -> x509.Certificate:
    """Exactly one certificate, as InstallCertificate.req and SignedUpdateFirmware.req carry it."""
    return read_certificates(text, count=1)[0]


def read_private_key(text: str) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
        raise CertificateError(f"not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CertificateError(f"expected an RSA or EC private key, got {type(key).__name__}")
    return key


def certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def describe(certificate: x509.Certificate) -> str:
    """``CN=Root,O=CPO (serial 1F2E)``: how techInfo and the security log name a certificate."""
    return f"{certificate.subject.rfc4514_string()} (serial {format(certificate.serial_number, 'X')})"


# ------------------------------------------------------------------ properties (§2.6.1)


def key_problem(key: CertificatePublicKeyTypes) -> str | None:
    """A00.FR.501-503: security equal to 112 symmetric bits, so RSA/DSA of 2048 bits and EC of 224 at least."""
    if isinstance(key, rsa.RSAPublicKey | dsa.DSAPublicKey):
        return None if key.key_size >= RSA_MIN_BITS else f"a {key.key_size}-bit key, under {RSA_MIN_BITS} (A00.FR.502)"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return None if key.key_size >= EC_MIN_BITS else f"a {key.key_size}-bit EC key, under {EC_MIN_BITS} (A00.FR.503)"
    return f"a {type(key).__name__.lstrip('_')} key: A00.FR.501-503 name RSA, DSA and EC keys"


def validity_problem(certificate: x509.Certificate, at: float) -> str | None:
    if certificate.not_valid_after_utc.timestamp() < at:
        return f"{describe(certificate)} expired at {certificate.not_valid_after_utc.isoformat()}"
    if certificate.not_valid_before_utc.timestamp() > at:
        return f"{describe(certificate)} is not valid before {certificate.not_valid_before_utc.isoformat()}"
    return None


def properties_problem(certificate: x509.Certificate, at: float) -> str | None:
    """The checks of §2.6.1 a station can make of any certificate: key strength, a serial number (A00.FR.508),
    the validity period."""
    problem = key_problem(certificate.public_key())
    if problem is not None:
        return f"{describe(certificate)} has {problem}"
    if certificate.serial_number <= 0:
        return f"{describe(certificate)} has no positive serial number (A00.FR.508)"
    return validity_problem(certificate, at)


def is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return constraints.ca


def issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` names and signed ``certificate`` (RFC 5280 §6.1.3 (a)(1), (a)(4))."""
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def root_problem(certificate: x509.Certificate, at: float, *, issuer: x509.Certificate | None = None) -> str | None:
    """None when ``certificate`` may go into the trust store as a root (InstallCertificate, M05.FR.06): a CA
    certificate of sound properties, self-signed, or signed by ``issuer`` (the root it replaces under
    AdditionalRootCertificateCheck, M05.FR.09)."""
    problem = properties_problem(certificate, at)
    if problem is not None:
        return problem
    if not is_ca(certificate):
        return f"{describe(certificate)} is not a CA certificate (no basicConstraints cA)"
    signer = certificate if issuer is None else issuer
    if not issued_by(certificate, signer):
        if issuer is None:
            return f"{describe(certificate)} is not a self-signed root certificate"
        return f"{describe(certificate)} is not signed by the root it replaces, {describe(issuer)} (M05.FR.10)"
    return None


def chain_problem(chain: Sequence[x509.Certificate], roots: Sequence[x509.Certificate], at: float) -> str | None:
    """RFC 5280 §6 path validation, as far as a station needs it for its own certificate (A02.FR.06): every
    certificate valid now and of sound properties, each issued by the next one, which is a CA, and the last one
    issued by (or being) one of ``roots``."""
    if not chain:
        return "the chain holds no certificate"
    for position, certificate in enumerate(chain):
        problem = properties_problem(certificate, at)
        if problem is not None:
            return problem
        if position + 1 == len(chain):
            break
        issuer = chain[position + 1]
        if not is_ca(issuer):
            return f"{describe(issuer)} follows {describe(certificate)} in the chain but is not a CA certificate"
        if not issued_by(certificate, issuer):
            return f"{describe(certificate)} is not issued by the next certificate of the chain, {describe(issuer)}"
    last = chain[-1]
    for root in roots:
        if last == root or issued_by(last, root):
            return None
    if not roots:
        return "no CentralSystemRootCertificate is installed to verify the chain against"
    return f"{describe(last)} is not issued by an installed CentralSystemRootCertificate"


# ------------------------------------------------------------------ CertificateHashData (§6.1)


def hash_data(certificate: x509.Certificate, issuer: x509.Certificate, algorithm: str) -> dict[str, str]:
    """CertificateHashDataType as an OCSP CertID (RFC 6960 §4.1.1), which §6.1 (edition 3) refers to: built by
    ``cryptography``'s OCSP request builder, so issuerNameHash is over the DER of the certificate's issuer name and
    issuerKeyHash over the issuer's subjectPublicKey BIT STRING value; serialNumber in hexadecimal without leading
    zeroes ("FFF" for 4095)."""
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, _HASHES[algorithm]).build()
    return {
        "hashAlgorithm": algorithm,
        "issuerNameHash": request.issuer_name_hash.hex(),
        "issuerKeyHash": request.issuer_key_hash.hex(),
        "serialNumber": format(request.serial_number, "X"),
    }


def hash_data_matches(ours: Mapping[str, str], theirs: Mapping[str, object]) -> bool:
    """The fields are CiStrings (§6.5, §6.6): compared without regard to case."""
    return all(str(theirs.get(key, "")).casefold() == ours[key].casefold() for key in HASH_DATA_FIELDS)


@dataclass(frozen=True, eq=False)
class InstalledCertificate:
    """A root in the station's store, with its hash data under each algorithm, computed when it was installed: the
    issuer of a root installed under AdditionalRootCertificateCheck is the root it replaced, which may be gone
    when the CSMS asks (M03, M04)."""

    certificate_type: str
    certificate: x509.Certificate
    hashes: Mapping[str, Mapping[str, str]]

    @classmethod
    def of(
        cls, certificate_type: str, certificate: x509.Certificate, *, issuer: x509.Certificate | None = None
    ) -> InstalledCertificate:
        signer = certificate if issuer is None else issuer
        return cls(certificate_type, certificate, {name: hash_data(certificate, signer, name) for name in _HASHES})


# ------------------------------------------------------------------ the station's own certificate (A02/A03)


def same_public_key(a: CertificatePublicKeyTypes, b: CertificatePublicKeyTypes) -> bool:
    form = serialization.PublicFormat.SubjectPublicKeyInfo
    return a.public_bytes(serialization.Encoding.DER, form) == b.public_bytes(serialization.Encoding.DER, form)


@dataclass(frozen=True, eq=False)
class PendingCsr:
    """A key pair the station generated (A02.FR.02) and the PKCS#10 request it sent for it (A02.FR.03). The key
    never leaves the station through OCPP (A02.FR.05)."""

    csr_pem: str
    common_name: str
    organization: str
    private_key: PrivateKey = field(repr=False)


def new_csr(*, common_name: str, organization: str) -> PendingCsr:
    """A fresh P-256 key (A00.FR.503; one of the key generation functions of RFC 4210 §4.2.1.3, A02.FR.02) and its
    CSR, self-signed with ECDSA-SHA256 (A00.FR.506): CN = the station's serial number (A00.FR.511), O = CpoName
    (A02.FR.13)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return PendingCsr(csr.public_bytes(serialization.Encoding.PEM).decode("ascii"), common_name, organization, key)


@dataclass(frozen=True, eq=False)
class ClientCredential:
    """The station's certificate chain (leaf first) with its private key: what it presents as a TLS client in
    security profile 3 (A00.FR.401/402)."""

    chain: tuple[x509.Certificate, ...]
    private_key: PrivateKey = field(repr=False)

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    def chain_pem(self) -> str:
        return "".join(certificate_pem(certificate) for certificate in self.chain)

    def private_key_pem(self) -> str:
        """Unencrypted PKCS#8, for the runtime's TLS context; never sent, logged or reported (A02.FR.05)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii")

    def valid_at(self, at: float) -> bool:
        return validity_problem(self.leaf, at) is None


def common_name(name: x509.Name) -> str | None:
    attributes = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attributes[0].value) if attributes else None


def organization(name: x509.Name) -> str | None:
    attributes = name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return str(attributes[0].value) if attributes else None


# ------------------------------------------------------------------ firmware signatures (L01)


def firmware_signature_problem(certificate: x509.Certificate, signature: str, sha256: bytes) -> str | None:
    """Whether ``signature`` (base64, SignedUpdateFirmware.req firmware.signature) signs the firmware image whose
    SHA-256 is ``sha256`` with the signing certificate's key (L01.FR.04, L01.FR.12). L01.FR.04 names RSA-PSS (and
    ECSchnorr, which no common library offers); PKCS#1 v1.5 and ECDSA, which signing tools produce by default, are
    accepted too. An ECDSA signature may be DER or the raw r || s."""
    try:
        raw = base64.b64decode("".join(signature.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        return f"the signature is not base64: {exc}"
    if not raw:
        return "the signature is empty"
    key = certificate.public_key()
    prehashed = utils.Prehashed(hashes.SHA256())
    if isinstance(key, rsa.RSAPublicKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
        for scheme in (pss, padding.PKCS1v15()):
            try:
                key.verify(raw, sha256, scheme, prehashed)
            except InvalidSignature:
                continue
            return None
        return "the signature does not verify with the signing certificate's RSA key (RSA-PSS, PKCS#1 v1.5, SHA-256)"
    if isinstance(key, ec.EllipticCurvePublicKey):
        size = (key.key_size + 7) // 8
        candidates = [raw]
        if len(raw) == 2 * size:
            r, s = int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")
            candidates.append(utils.encode_dss_signature(r, s))
        for candidate in candidates:
            try:
                key.verify(candidate, sha256, ec.ECDSA(prehashed))
            except (InvalidSignature, ValueError):
                continue
            return None
        return "the signature does not verify with the signing certificate's EC key (ECDSA, SHA-256)"
    return f"a {type(key).__name__.lstrip('_')} signing key cannot verify firmware"
