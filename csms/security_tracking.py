"""What the CSMS learns from the answers to its security CALLs (whitepaper edition 3), whoever asked for the CALL:
the raw trigger contract and the operator routes (:mod:`csms.security_routes`) leave the same record. Part of
:func:`csms.tracking.track`, so recorded before the station's next message is processed.

* ChangeConfiguration(AuthorizationKey) Accepted: the new password replaces the old one, which is refused from then
  on (A01.FR.03); any other answer keeps the old one (A01.FR.04). The key's hex is decoded (reference §5.8).
* ChangeConfiguration(SecurityProfile) Accepted: the station's profile goes up (A05), never down (A00.FR.005).
* ChangeConfiguration or GetConfiguration telling CertificateSignedMaxChainSize: the chain size the CSMS signs to.
* CertificateSigned: the station's answer for the certificate the CSMS issued (TC_074 Accepted, TC_077 Rejected).
* InstallCertificate, GetInstalledCertificateIds, DeleteCertificate: the certificates the CSMS knows on the station.
* GetLog, SignedUpdateFirmware: a job (:mod:`csms.profile_store`), which the notifications follow by requestId.

"RebootRequired" counts as the station taking the value (OCPP 1.6 §5.3: changed, effective after a reboot): a
station that reboots with the new password must not find the CSMS still holding the old one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

from csms import credentials, pki
from csms.credentials import hash_password
from csms.pki import CertificateHashData, HashAlgorithm
from csms.profile_store import Answered
from csms.security_store import InstalledCertificate
from csms.store import Store
from ocppj.frames import CallError

log = logging.getLogger(__name__)

TAKEN = frozenset({"Accepted", "RebootRequired"})
SECURITY_PROFILE_KEY = "SecurityProfile"
MAX_CHAIN_SIZE_KEY = "CertificateSignedMaxChainSize"


def _same_key(key: object, name: str) -> bool:
    return isinstance(key, str) and key.casefold() == name.casefold()


async def _change_configuration(store: Store, answered: Answered) -> None:
    key, value = answered.request["key"], answered.request["value"]
    if answered.status not in TAKEN:
        if _same_key(key, credentials.AUTHORIZATION_KEY):
            log.info(
                "station %r answered %s to a new AuthorizationKey: its password is unchanged (A01.FR.04)",
                answered.station_id,
                answered.status or "a CALLERROR",
            )
        return
    if _same_key(key, credentials.AUTHORIZATION_KEY):
        await _password_changed(store, answered, value)
    elif _same_key(key, SECURITY_PROFILE_KEY):
        await _profile_changed(store, answered, value)
    elif _same_key(key, MAX_CHAIN_SIZE_KEY) and value.isdigit():
        await store.security.set_max_chain_chars(answered.station_id, int(value))


async def _password_changed(store: Store, answered: Answered, value: str) -> None:
    password = credentials.password_of_key(value)
    if password is None:
        password_hash = credentials.UNUSABLE_HASH
        log.warning(
            "station %r accepted an AuthorizationKey that decodes to no UTF-8 password: no password opens its Basic "
            "authentication until a new one is set",
            answered.station_id,
        )
    else:
        password_hash = await asyncio.to_thread(hash_password, password)
    await store.set_password_hash(answered.station_id, password_hash)
    await store.security.password_changed(answered.station_id, now_s=answered.answered_at_s)
    log.info(
        "station %r accepted a new AuthorizationKey: its Basic authentication password changed, the previous one is "
        "refused from now on (A01.FR.03)",
        answered.station_id,
    )


async def _profile_changed(store: Store, answered: Answered, value: str) -> None:
    if not value.isdigit() or not 0 <= int(value) <= 3:
        log.warning("station %r accepted SecurityProfile %r, which is no profile: ignored", answered.station_id, value)
        return
    wanted = int(value)
    current = (await store.security.station(answered.station_id)).security_profile
    if wanted < current:
        log.warning(
            "station %r accepted SecurityProfile %d below its profile %d: the CSMS keeps %d, a profile is never "
            "lowered over OCPP (A00.FR.005)",
            answered.station_id,
            wanted,
            current,
            current,
        )
    elif wanted > current:
        await store.security.set_profile(answered.station_id, wanted, now_s=answered.answered_at_s)
        log.info(
            "station %r moves to security profile %d: connections of profile %d are refused from now on (A05)",
            answered.station_id,
            wanted,
            current,
        )


async def _get_configuration(store: Store, answered: Answered) -> None:
    for item in (answered.result or {}).get("configurationKey", []):
        if isinstance(item, dict) and _same_key(item.get("key"), MAX_CHAIN_SIZE_KEY):
            value = item.get("value")
            if isinstance(value, str) and value.isdigit():
                await store.security.set_max_chain_chars(answered.station_id, int(value))


async def _certificate_signed(store: Store, answered: Answered) -> None:
    """The leaf of the chain names the certificate (its serial number); a CALLERROR is kept as the answer."""
    try:
        leaf = pki.load_certificates(answered.request["certificateChain"])[0]
    except pki.PkiError:
        return
    if isinstance(answered.answer, CallError):
        answer = f"CALLERROR {answered.answer.error_code}"
    else:
        answer = answered.status or "no status"
    status = "accepted" if answered.status == "Accepted" else "rejected"
    serial_number = format(leaf.serial_number, "X")
    found = await store.security.certificate_answered(
        answered.station_id,
        serial_number,
        status=status,
        answer=answer,
        message_id=answered.message_id,
        now_s=answered.answered_at_s,
    )
    if found:
        log.info(
            "station %r answered %s to the certificate %s the CSMS issued", answered.station_id, answer, serial_number
        )


def names(entry: InstalledCertificate, data: CertificateHashData) -> bool:
    """Whether ``data`` names the certificate of ``entry``: compared as given when the algorithms agree, else over
    the PEM the CSMS installed (hash data over another algorithm is another text for the same certificate)."""
    if entry.hash_algorithm == data.hash_algorithm and entry.hash_data.matches(data):
        return True
    if entry.certificate is None:
        return False
    try:
        return pki.certificate_hash_data(
            pki.load_certificate(entry.certificate), hash_algorithm=data.hash_algorithm
        ).matches(data)
    except (pki.PkiError, ValueError):
        return False


def hash_data_of(payload: Mapping[str, Any]) -> CertificateHashData:
    return CertificateHashData(
        hash_algorithm=cast(HashAlgorithm, payload["hashAlgorithm"]),
        issuer_name_hash=str(payload["issuerNameHash"]),
        issuer_key_hash=str(payload["issuerKeyHash"]),
        serial_number=str(payload["serialNumber"]),
    )


async def _install_certificate(store: Store, answered: Answered) -> None:
    """Accepted: the station holds the certificate (M05); a certificate that does not parse is not kept."""
    if answered.status != "Accepted":
        return
    certificate_type = answered.request["certificateType"]
    try:
        certificate = pki.load_certificate(answered.request["certificate"])
        data = pki.certificate_hash_data(certificate)
    except (pki.PkiError, ValueError) as exc:
        log.warning("station %r installed a certificate the CSMS cannot read: %s", answered.station_id, exc)
        return
    known = await store.security.installed_certificates(answered.station_id, certificate_type)
    await store.security.replace_installed(
        answered.station_id,
        removed=[entry.id for entry in known if names(entry, data)],
        added=[(certificate_type, data, pki.certificate_pem(certificate), "installed")],
        now_s=answered.answered_at_s,
    )


async def _get_installed_certificate_ids(store: Store, answered: Answered) -> None:
    """The station's list of a type replaces what the CSMS knew of it, keeping the PEM of those it installed
    (NotFound: it holds none)."""
    if answered.status not in ("Accepted", "NotFound"):
        return
    certificate_type = answered.request["certificateType"]
    reported = [hash_data_of(item) for item in (answered.result or {}).get("certificateHashData", [])]
    if answered.status == "NotFound":
        reported = []
    known = await store.security.installed_certificates(answered.station_id, certificate_type)
    added = []
    for data in reported:
        pem = next((entry.certificate for entry in known if entry.certificate and names(entry, data)), None)
        added.append((certificate_type, data, pem, "reported"))
    await store.security.replace_installed(
        answered.station_id, removed=[entry.id for entry in known], added=added, now_s=answered.answered_at_s
    )


async def _delete_certificate(store: Store, answered: Answered) -> None:
    """Accepted or NotFound: the station no longer holds the certificate (M04)."""
    if answered.status not in ("Accepted", "NotFound"):
        return
    data = hash_data_of(answered.request["certificateHashData"])
    known = await store.security.installed_certificates(answered.station_id)
    await store.security.replace_installed(
        answered.station_id,
        removed=[entry.id for entry in known if names(entry, data)],
        added=[],
        now_s=answered.answered_at_s,
    )


async def _get_log(store: Store, answered: Answered) -> None:
    if answered.result is not None:
        await store.profiles.job_answered(answered, "log", answered.result)


async def _signed_update_firmware(store: Store, answered: Answered) -> None:
    if answered.result is not None:
        await store.profiles.job_answered(answered, "signed_firmware", answered.result)


SECURITY_ON_ANSWERED: Mapping[str, Callable[[Store, Answered], Awaitable[None]]] = {
    "ChangeConfiguration": _change_configuration,
    "GetConfiguration": _get_configuration,
    "CertificateSigned": _certificate_signed,
    "InstallCertificate": _install_certificate,
    "GetInstalledCertificateIds": _get_installed_certificate_ids,
    "DeleteCertificate": _delete_certificate,
    "GetLog": _get_log,
    "SignedUpdateFirmware": _signed_update_firmware,
}
