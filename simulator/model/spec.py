"""What the engine tells the model about one simulated station (from the target file's station table)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from simulator.model import certificates
from simulator.model.config import Configuration


@dataclass(frozen=True, kw_only=True)
class StationSpec:
    """Identity and hardware of a simulated charge point.

    ``vendor``/``model``/``serial_number``/``firmware_version`` go into BootNotification and are checked against
    the field lengths of its schema (OCPP 1.6 §6.2: CiString20/20/25/50), so a bad target file fails when the
    spec is built rather than as a schema violation on the wire. ``config`` overrides configuration key values
    (OCPP 1.6 §9.1); an unknown key or an invalid value is a ValueError here for the same reason.
    """

    station_id: str
    vendor: str = "ocpp-harness"
    model: str = "Simulator"
    serial_number: str | None = None
    firmware_version: str = "1.0.0"
    connectors: int = 1
    fixed_cable: bool = False
    meter_start_wh: int = 0
    power_w: float = 7400.0
    config: Mapping[str, str] = field(default_factory=dict)
    optional_fields: bool = True  # False: every message carries only what it must (payloads.required_only)
    # The security whitepaper (edition 3): what the station was given at installation (§2.6.4). The password of
    # HTTP Basic authentication as text (the target file's basic_auth_password; stored as the hexadecimal
    # AuthorizationKey, A00.FR.205), the PEM roots of its trust store (M05), and its own certificate chain (leaf
    # first) with the PEM private key for security profile 3 (A00.FR.401).
    basic_auth_password: str | None = field(default=None, repr=False)
    central_system_roots: tuple[str, ...] = ()
    manufacturer_roots: tuple[str, ...] = ()
    client_certificate: str | None = None
    client_private_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        problems = []
        if not self.station_id:
            problems.append("station_id must not be empty")
        for name, value, limit in (
            ("vendor", self.vendor, 20),
            ("model", self.model, 20),
            ("serial_number", self.serial_number, 25),
            ("firmware_version", self.firmware_version, 50),
        ):
            if value is not None and len(value) > limit:
                problems.append(f"{name} {value!r} is longer than {limit} characters (OCPP 1.6 §6.2)")
        if not self.vendor:
            problems.append("vendor must not be empty (BootNotification.chargePointVendor is required)")
        if not self.model:
            problems.append("model must not be empty (BootNotification.chargePointModel is required)")
        if isinstance(self.connectors, bool) or self.connectors < 1:
            problems.append(f"connectors must be at least 1, got {self.connectors!r}")
        if self.meter_start_wh < 0:
            problems.append(f"meter_start_wh must not be negative, got {self.meter_start_wh}")
        if self.power_w < 0:
            problems.append(f"power_w must not be negative, got {self.power_w}")
        problems += security_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        Configuration(connectors=self.connectors, overrides=self.config)


def security_problems(spec: StationSpec) -> list[str]:
    """What is wrong with the security material of a spec: roots that are not self-signed CA certificates, a
    client certificate without its key or with another one, a password given twice."""
    problems: list[str] = []
    if spec.basic_auth_password is not None:
        if not spec.basic_auth_password:
            problems.append("basic_auth_password must not be empty")
        if any(key.casefold() == "authorizationkey" for key in spec.config):
            problems.append("give basic_auth_password or the AuthorizationKey configuration key, not both")
    for field_name, roots in (
        ("central_system_roots", spec.central_system_roots),
        ("manufacturer_roots", spec.manufacturer_roots),
    ):
        for index, text in enumerate(roots):
            try:
                root = certificates.read_certificate(text)
            except certificates.CertificateError as exc:
                problems.append(f"{field_name}[{index}]: {exc}")
                continue
            if not certificates.is_ca(root) or not certificates.issued_by(root, root):
                problems.append(f"{field_name}[{index}]: {certificates.describe(root)} is not a self-signed root CA")
    if (spec.client_certificate is None) != (spec.client_private_key is None):
        problems.append("client_certificate and client_private_key go together")
    elif spec.client_certificate is not None and spec.client_private_key is not None:
        try:
            chain = certificates.read_certificates(spec.client_certificate)
            key = certificates.read_private_key(spec.client_private_key)
        except certificates.CertificateError as exc:
            problems.append(f"client certificate: {exc}")
        else:
            if not certificates.same_public_key(chain[0].public_key(), key.public_key()):
                problems.append("client_private_key is not the key of client_certificate")
    return problems
