"""Configuration keys of the simulated station (OCPP 1.6 §9.1 Core, §9.2-§9.4 the other profiles).

Values are kept as the strings OCPP carries on the wire; typed getters parse them. Key names are matched without
regard to case because ``key`` is a CiString50 (OCPP 1.6 §7.14, "CiString50Type: case insensitive"), and a
GetConfiguration answer always spells keys the way §9.1 does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from ocpp.v16.enums import Measurand

KeyKind = Literal[
    "bool", "int", "measurands", "phase_rotation", "profiles", "rate_units", "choice", "hex_password", "text"
]

# ConfigurationStatus of OCPP 1.6 §6.9 that the model produces itself ("RebootRequired" is never needed: every
# key takes effect at once).
ChangeStatus = Literal["Accepted", "Rejected", "NotSupported"]

CORE = "Core"
FIRMWARE_MANAGEMENT = "FirmwareManagement"
LOCAL_AUTH_LIST_MANAGEMENT = "LocalAuthListManagement"
RESERVATION = "Reservation"
SMART_CHARGING = "SmartCharging"
REMOTE_TRIGGER = "RemoteTrigger"
SUPPORTED_FEATURE_PROFILES = ",".join(
    (CORE, FIRMWARE_MANAGEMENT, LOCAL_AUTH_LIST_MANAGEMENT, RESERVATION, SMART_CHARGING, REMOTE_TRIGGER)
)
# The feature profiles of OCPP 1.6 §3 this station implements; SupportedFeatureProfiles may name fewer of them (a
# target file describing a station without, say, reservations), never others, and always Core.
KNOWN_FEATURE_PROFILES = frozenset(SUPPORTED_FEATURE_PROFILES.split(","))

# OCPP 1.6 §9.4.2 ChargingScheduleAllowedChargingRateUnit: "Current" allows schedules in A, "Power" in W.
_RATE_UNITS = ("Current", "Power")

# The measurands the simulated meter can actually sample. Other §7.31 measurands are valid OCPP but a value
# naming them is Rejected, as a real meter without that sensor would (OCPP 1.6 §9.1.14 "MeterValuesSampledData").
SUPPORTED_MEASURANDS = ("Energy.Active.Import.Register", "Power.Active.Import")
_ALL_MEASURANDS = frozenset(str(m.value) for m in Measurand)

# OCPP 1.6 §9.1.7 ConnectorPhaseRotation values per connector.
_PHASE_ROTATIONS = frozenset({"NotApplicable", "Unknown", "RST", "RTS", "SRT", "STR", "TRS", "TSR"})
_PHASE_ITEM = re.compile(r"^(\d+)\.([A-Za-z]+)$")

# Integer keys are int32 on every CSMS we know of; a larger value is Rejected rather than overflowing one.
_INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class KeySpec:
    """One key of OCPP 1.6 §9.1: its accessibility (R/RW) and how its value is checked."""

    name: str
    kind: KeyKind
    readonly: bool
    default: str
    max_length_key: str | None = None  # for comma-separated lists: the key holding the maximum item count
    choices: tuple[str, ...] = ()  # for kind "choice": the values the key takes
    maximum: int | None = None  # for kind "int": the largest value; for kind "text": the longest
    writeonly: bool = False  # GetConfiguration never reports its value (whitepaper §7.2 AuthorizationKey)


def core_keys(*, connectors: int) -> tuple[KeySpec, ...]:
    """The Core profile keys of OCPP 1.6 §9.1 with sane defaults for a simulated AC station.

    MeterValueSampleInterval and ClockAlignedDataInterval default to 0 (disabled) so that flows are not
    interleaved with MeterValues unless a scenario asks for them (§9.1.15, §9.1.3: 0 disables sampling).
    LocalPreAuthorize defaults to false so an Authorize is always sent unless a scenario enables the cache
    shortcut (TC_007 sets it to true).
    """
    rotation = ",".join(f"{i}.RST" for i in range(connectors + 1))
    return (
        KeySpec("AllowOfflineTxForUnknownId", "bool", False, "false"),
        KeySpec("AuthorizationCacheEnabled", "bool", False, "true"),
        KeySpec("AuthorizeRemoteTxRequests", "bool", False, "true"),
        KeySpec("ClockAlignedDataInterval", "int", False, "0"),
        KeySpec("ConnectionTimeOut", "int", False, "60"),
        KeySpec("ConnectorPhaseRotation", "phase_rotation", False, rotation),
        KeySpec("GetConfigurationMaxKeys", "int", True, "50"),
        KeySpec("HeartbeatInterval", "int", False, "300"),
        KeySpec("LocalAuthorizeOffline", "bool", False, "true"),
        KeySpec("LocalPreAuthorize", "bool", False, "false"),
        KeySpec(
            "MeterValuesAlignedData",
            "measurands",
            False,
            "Energy.Active.Import.Register",
            "MeterValuesAlignedDataMaxLength",
        ),
        KeySpec("MeterValuesAlignedDataMaxLength", "int", True, str(len(SUPPORTED_MEASURANDS))),
        KeySpec(
            "MeterValuesSampledData",
            "measurands",
            False,
            "Energy.Active.Import.Register",
            "MeterValuesSampledDataMaxLength",
        ),
        KeySpec("MeterValuesSampledDataMaxLength", "int", True, str(len(SUPPORTED_MEASURANDS))),
        KeySpec("MeterValueSampleInterval", "int", False, "0"),
        KeySpec("MinimumStatusDuration", "int", False, "0"),
        KeySpec("NumberOfConnectors", "int", True, str(connectors)),
        KeySpec("ResetRetries", "int", False, "3"),
        KeySpec("StopTransactionOnEVSideDisconnect", "bool", False, "true"),
        KeySpec("StopTransactionOnInvalidId", "bool", False, "true"),
        KeySpec("StopTxnAlignedData", "measurands", False, "", "StopTxnAlignedDataMaxLength"),
        KeySpec("StopTxnAlignedDataMaxLength", "int", True, str(len(SUPPORTED_MEASURANDS))),
        KeySpec("StopTxnSampledData", "measurands", False, "", "StopTxnSampledDataMaxLength"),
        KeySpec("StopTxnSampledDataMaxLength", "int", True, str(len(SUPPORTED_MEASURANDS))),
        KeySpec("SupportedFeatureProfiles", "profiles", True, SUPPORTED_FEATURE_PROFILES),
        KeySpec("TransactionMessageAttempts", "int", False, "3"),
        KeySpec("TransactionMessageRetryInterval", "int", False, "60"),
        KeySpec("UnlockConnectorOnEVSideDisconnect", "bool", False, "true"),
        KeySpec("WebSocketPingInterval", "int", False, "60"),
    )


def profile_keys() -> tuple[KeySpec, ...]:
    """The keys of the other feature profiles: Local Auth List Management (§9.2), Reservation (§9.3) and Smart
    Charging (§9.4), all read-only but LocalAuthListEnabled (the CSMS may switch the list off, §9.2.1)."""
    return (
        KeySpec("LocalAuthListEnabled", "bool", False, "true"),
        KeySpec("LocalAuthListMaxLength", "int", True, "1000"),
        KeySpec("SendLocalListMaxLength", "int", True, "100"),
        KeySpec("ReserveConnectorZeroSupported", "bool", True, "true"),
        KeySpec("ChargeProfileMaxStackLevel", "int", True, "10"),
        KeySpec("ChargingScheduleAllowedChargingRateUnit", "rate_units", True, ",".join(_RATE_UNITS)),
        KeySpec("ChargingScheduleMaxPeriods", "int", True, "24"),
        KeySpec("ConnectorSwitch3to1PhaseSupported", "bool", True, "false"),
        KeySpec("MaxChargingProfilesInstalled", "int", True, "20"),
    )


TRANSFER = "Transfer"
FAIL = "Fail"
SUCCEED = "Succeed"


def simulator_keys() -> tuple[KeySpec, ...]:
    """Vendor-specific keys (OCPP 1.6 §9 allows them) that describe how this simulated station's firmware and
    diagnostics flows end, so that a scenario can play a failed download, installation or upload (TC_044_2,
    TC_044_3, TC_045_2) through its ``configuration`` without a broken server. Read-only for the CSMS; the
    target file or scenario sets them. ``Transfer`` performs the real transfer through the runtime; ``Fail``
    makes every attempt fail without one."""
    return (
        KeySpec("SimFirmwareDownload", "choice", True, TRANSFER, choices=(TRANSFER, FAIL)),
        KeySpec("SimFirmwareInstall", "choice", True, SUCCEED, choices=(SUCCEED, FAIL)),
        KeySpec("SimDiagnosticsUpload", "choice", True, TRANSFER, choices=(TRANSFER, FAIL)),
    )


DEFAULT_CPO_NAME = "ocpp-harness Test CPO"
"""CpoName until a target or the CSMS sets another (the organisation of the project's test PKI)."""

SECURITY_PROFILES = ("0", "1", "2", "3")
AUTHORIZATION_KEY_BYTES = (16, 20)  # whitepaper A00.FR.205/304: 16 to 20 bytes, up to 40 hexadecimal digits
CHAIN_MAX_CHARS = 10000  # CertificateSigned.req certificateChain: string[0..10000] (whitepaper §5.1, §7.3)
HASH_ALGORITHMS = ("SHA256", "SHA384", "SHA512")  # HashAlgorithmEnumType (whitepaper §6.12)

VERIFY = "Verify"
REJECT = "Reject"
SUPPORTED = "Supported"
NOT_SUPPORTED = "NotSupported"
NEXT_CONNECTION = "NextConnection"
RECONNECT = "Reconnect"
EVENTS_REQUIRED = "Required"
EVENTS_CRITICAL = "Critical"
EVENTS_ALL = "All"


def security_keys() -> tuple[KeySpec, ...]:
    """The configuration keys of the OCPP 1.6 security whitepaper (edition 3, §7), with what this station does.

    SecurityProfile starts at 0, "no security profile yet configured" (§7.6); it only goes up over OCPP
    (A00.FR.005, A05). AuthorizationKey is write-only (§7.2) and empty until set. CpoName goes into the O of the
    CSR (A02.FR.13); an empty one makes SignChargePointCertificate Rejected (A02 prerequisite).
    """
    return (
        KeySpec("AdditionalRootCertificateCheck", "bool", True, "false"),
        KeySpec("AuthorizationKey", "hex_password", False, "", writeonly=True),
        KeySpec("CertificateSignedMaxChainSize", "int", True, str(CHAIN_MAX_CHARS), maximum=CHAIN_MAX_CHARS),
        KeySpec("CertificateStoreMaxLength", "int", True, "20"),
        KeySpec("CpoName", "text", False, DEFAULT_CPO_NAME, maximum=64),  # X.520 ub-organization-name
        KeySpec("SecurityProfile", "choice", False, "0", choices=SECURITY_PROFILES),
    )


def security_simulator_keys() -> tuple[KeySpec, ...]:
    """Vendor-specific keys that decide how this station plays the whitepaper's flows, read-only for the CSMS:

    * SimCertificateSigned ``Reject``: every CertificateSigned is Rejected with an InvalidChargePointCertificate
      security event (TC_077, where OCTT's charge point rejects a valid chain);
    * SimInstallCertificate ``Reject`` / ``Fail``: every InstallCertificate is Rejected (with an
      InvalidCentralSystemCertificate event for a CentralSystemRootCertificate, TC_078) or Failed;
    * SimCertificateHashAlgorithm: the hashAlgorithm of GetInstalledCertificateIds, which DeleteCertificate must
      then use (M04.FR.07; TC_076 runs with each of the three);
    * SimSecurityEvents: which security events are sent (all are logged, A04.FR.04). ``Required``: those a
      requirement or an OCTT case has the charge point send (InvalidChargePointCertificate, A02.FR.07;
      InvalidCentralSystemCertificate, A00.FR.309/413; InvalidTLSVersion, InvalidTLSCipherSuite, A00.FR.315/322;
      InvalidFirmwareSigningCertificate, InvalidFirmwareSignature, L01.FR.02/03; FirmwareUpdated, TC_080).
      ``Critical``: also every event §8 calls critical (A04.FR.01 to the letter: StartupOfTheDevice at each boot,
      ResetOrReboot, ...). ``All``: every event;
    * SimSecurityProfileSwitch: when an Accepted SecurityProfile takes effect. ``NextConnection``: from the next
      connection the station opens, as OCTT's charge point does in TC_083 (the CSMS follows with Reset(Hard));
      ``Reconnect``: the station closes the connection at once and reconnects with it (A05.FR.06/07);
    * SimUpdateFirmware ``NotSupported``: the plain UpdateFirmware gets CALLERROR NotSupported, as a station that
      installs only signed firmware answers (L01.FR.20).
    """
    return (
        KeySpec("SimCertificateSigned", "choice", True, VERIFY, choices=(VERIFY, REJECT)),
        KeySpec("SimInstallCertificate", "choice", True, VERIFY, choices=(VERIFY, REJECT, FAIL)),
        KeySpec("SimCertificateHashAlgorithm", "choice", True, HASH_ALGORITHMS[0], choices=HASH_ALGORITHMS),
        KeySpec(
            "SimSecurityEvents", "choice", True, EVENTS_REQUIRED, choices=(EVENTS_REQUIRED, EVENTS_CRITICAL, EVENTS_ALL)
        ),
        KeySpec("SimSecurityProfileSwitch", "choice", True, NEXT_CONNECTION, choices=(NEXT_CONNECTION, RECONNECT)),
        KeySpec("SimUpdateFirmware", "choice", True, SUPPORTED, choices=(SUPPORTED, NOT_SUPPORTED)),
    )


def authorization_key_valid(value: str) -> bool:
    """A00.FR.205/304: the hexadecimal form of a password of 16 to 20 bytes (32 to 40 hexadecimal digits)."""
    low, high = AUTHORIZATION_KEY_BYTES
    return re.fullmatch(f"(?:[0-9A-Fa-f]{{2}}){{{low},{high}}}", value) is not None


@functools.lru_cache(maxsize=64)
def key_table(connectors: int) -> tuple[Mapping[str, KeySpec], Mapping[str, str]]:
    """The key specifications of a station with ``connectors`` connectors, by name and by case-folded name.

    Immutable and the same for every station of that size, so a fleet of ten thousand shares one table
    instead of keeping ten thousand copies (some 5 KB each); the cache only memoises this pure function."""
    keys = (
        *core_keys(connectors=connectors),
        *profile_keys(),
        *security_keys(),
        *simulator_keys(),
        *security_simulator_keys(),
    )
    specs = {spec.name: spec for spec in keys}
    return MappingProxyType(specs), MappingProxyType({name.casefold(): name for name in specs})


class Configuration:
    """The station's key/value store: non-volatile, so it survives resets and power cycles.

    ``overrides`` come from :class:`~simulator.model.spec.StationSpec.config` (the target file); they may set
    read-only keys too (they describe the station), except NumberOfConnectors, which follows the spec.
    """

    def __init__(self, *, connectors: int, overrides: Mapping[str, str]) -> None:
        self._connectors = connectors
        self._specs, self._by_folded = key_table(connectors)
        self._values = {name: spec.default for name, spec in self._specs.items()}
        problems = []
        # Lists are checked against their *MaxLength key, so those (plain keys) are applied first.
        ordered = sorted(overrides.items(), key=lambda item: self._is_list(item[0]))
        for key, value in ordered:
            spec = self.lookup(key)
            if spec is None:
                problems.append(f"unknown configuration key {key!r}")
            elif spec.name == "NumberOfConnectors":
                problems.append("NumberOfConnectors follows StationSpec.connectors; do not override it")
            elif not isinstance(value, str):
                problems.append(f"configuration value of {key!r} must be a string, got {value!r}")
            else:
                canonical = self._normalise(spec, value)
                if canonical is None:
                    problems.append(f"invalid value {value!r} for configuration key {spec.name} ({spec.kind})")
                else:
                    self._values[spec.name] = canonical
        if problems:
            raise ValueError("; ".join(problems))

    def _is_list(self, key: str) -> bool:
        spec = self.lookup(key)
        return spec is not None and spec.kind == "measurands"

    def lookup(self, key: str) -> KeySpec | None:
        name = self._by_folded.get(key.casefold())
        return None if name is None else self._specs[name]

    def values(self) -> dict[str, str]:
        """Every key but the write-only ones, whose value never leaves the station (whitepaper §7.2, A01.FR.12)."""
        return {name: value for name, value in self._values.items() if not self._specs[name].writeonly}

    def get(self, name: str) -> str:
        return self._values[name]

    def get_bool(self, name: str) -> bool:
        return self._values[name] == "true"

    def get_int(self, name: str) -> int:
        return int(self._values[name])

    def get_list(self, name: str) -> tuple[str, ...]:
        return tuple(item for item in (part.strip() for part in self._values[name].split(",")) if item)

    def supports(self, profile: str) -> bool:
        """Whether SupportedFeatureProfiles (OCPP 1.6 §9.1) names ``profile``: a station described without a
        profile answers that profile's messages as one that lacks it would."""
        return profile in self.get_list("SupportedFeatureProfiles")

    def set_heartbeat_interval(self, interval_s: int) -> None:
        """BootNotification.conf ``interval`` becomes the heartbeat interval (OCPP 1.6 §4.2, §4.6)."""
        self._values["HeartbeatInterval"] = str(interval_s)

    def check(self, key: str, value: str) -> ChangeStatus:
        """The ChangeConfiguration status for this change, without applying it (OCPP 1.6 §5.3).

        Unknown key -> NotSupported (TC_040_1); read-only key or a value the key cannot take -> Rejected (TC_040_2).
        """
        spec = self.lookup(key)
        if spec is None:
            return "NotSupported"
        if spec.readonly or self._normalise(spec, value) is None:
            return "Rejected"
        return "Accepted"

    def change(self, key: str, value: str) -> str | None:
        """Apply a change that :meth:`check` accepted; the canonical key name, or None when not applicable."""
        spec = self.lookup(key)
        if spec is None or spec.readonly:
            return None
        canonical = self._normalise(spec, value)
        if canonical is None:
            return None
        self._values[spec.name] = canonical
        return spec.name

    def report(self, keys: Iterable[str] | None) -> dict[str, Any]:
        """GetConfiguration.conf (OCPP 1.6 §5.8): every key when ``keys`` is None, else those asked for.

        ``unknownKey`` is present (possibly empty) whenever specific keys were asked for, as OCTT's own
        charge point answers in TC_019_2.
        """
        if keys is None:
            return {"configurationKey": [self._entry(name) for name in self._specs]}
        known: list[dict[str, Any]] = []
        unknown: list[str] = []
        for key in keys:
            spec = self.lookup(key)
            if spec is None:
                unknown.append(key)
            elif all(entry["key"] != spec.name for entry in known):
                known.append(self._entry(spec.name))
        return {"configurationKey": known, "unknownKey": unknown}

    def _entry(self, name: str) -> dict[str, Any]:
        """A KeyValue (§7.23); ``value`` is optional there, so a write-only key is reported without one."""
        spec = self._specs[name]
        if spec.writeonly:
            return {"key": name, "readonly": False}
        return {"key": name, "readonly": spec.readonly, "value": self._values[name]}

    def restore(self, name: str, value: str) -> None:
        """Put back a value the station itself decided on (a security profile fallback, A05.FR.08)."""
        self._values[self._specs[name].name] = value

    def _normalise(self, spec: KeySpec, value: str) -> str | None:
        """The value as stored, or None when the key cannot take it (§9.1 gives each key's type)."""
        if spec.kind == "bool":
            folded = value.strip().casefold()
            return folded if folded in ("true", "false") else None
        if spec.kind == "int":
            text = value.strip()
            if not text.isascii() or not text.isdigit() or int(text) > (spec.maximum or _INT_MAX):
                return None
            return str(int(text))
        if spec.kind == "hex_password":
            return value.upper() if authorization_key_valid(value) else None
        if spec.kind == "text":
            too_long = spec.maximum is not None and len(value) > spec.maximum
            return None if too_long or not value.isprintable() else value
        if spec.kind == "measurands":
            items = [item.strip() for item in value.split(",")]
            items = [item for item in items if item]
            if any(item not in _ALL_MEASURANDS or item not in SUPPORTED_MEASURANDS for item in items):
                return None
            if spec.max_length_key is not None and len(items) > int(self._values[spec.max_length_key]):
                return None
            return ",".join(items)
        if spec.kind == "phase_rotation":
            items = [item.strip() for item in value.split(",")]
            for item in items:
                match = _PHASE_ITEM.match(item)
                if match is None or int(match.group(1)) > self._connectors:
                    return None
                if match.group(2) not in _PHASE_ROTATIONS:
                    return None
            return ",".join(items)
        if spec.kind in ("profiles", "rate_units"):
            allowed = KNOWN_FEATURE_PROFILES if spec.kind == "profiles" else frozenset(_RATE_UNITS)
            items = [item.strip() for item in value.split(",")]
            if any(item not in allowed for item in items) or len(set(items)) != len(items):
                return None
            if spec.kind == "profiles" and CORE not in items:
                return None
            return ",".join(items)
        folded = value.strip().casefold()
        return next((choice for choice in spec.choices if choice.casefold() == folded), None)
