"""Certificate material for the security tests, made with the project's PKI (csms.pki) at the fake time of
sim_kit, so that validity periods mean the same to the station as to the test."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sim_kit import T0, Sim, describe

from csms.pki import CertificateAuthority, certificate_pem

CPO = "Test CPO"
ISSUED_AT = dt.datetime.fromtimestamp(T0 - 86400, dt.UTC)  # a day before the tests' clock starts


@functools.cache
def cpo_ca() -> CertificateAuthority:
    """The CPO root: CentralSystemRootCertificate, signs the station's CSRs."""
    return CertificateAuthority.create(common_name="Test CPO Root", organization=CPO, algorithm="ecdsa", now=ISSUED_AT)


@functools.cache
def other_ca() -> CertificateAuthority:
    """A root nobody installed."""
    return CertificateAuthority.create(common_name="Other Root", organization="Other", algorithm="ecdsa", now=ISSUED_AT)


@functools.cache
def manufacturer_ca() -> CertificateAuthority:
    """The manufacturer's root (RSA, as firmware signing often is)."""
    return CertificateAuthority.create(common_name="Maker Root", organization="Maker", algorithm="rsa", now=ISSUED_AT)


def root_pem(ca: CertificateAuthority) -> str:
    return certificate_pem(ca.certificate)


def install(sim: Sim, ca: CertificateAuthority, kind: str = "CentralSystemRootCertificate") -> dict[str, Any]:
    return sim.call("InstallCertificate", {"certificateType": kind, "certificate": root_pem(ca)})


DETAILED = {
    "SecurityEventNotification": "type",
    "SignedFirmwareStatusNotification": "status",
    "LogStatusNotification": "status",
}


def shown(sim: Sim) -> list[str]:
    """The calls sent since the last take as sim_kit describes them, the whitepaper's notifications with their
    type or status."""
    return [
        f"{sent.action}:{sent.payload[DETAILED[sent.action]]}" if sent.action in DETAILED else describe(sent)
        for sent in sim.take()
    ]


def events(sim: Sim) -> list[str]:
    """The security log's event types, oldest first."""
    return [event.event_type for event in sim.cp.security_log]
