"""What the engine tells the model about one simulated station (from the target file's station table)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
        if problems:
            raise ValueError("; ".join(problems))
        Configuration(connectors=self.connectors, overrides=self.config)
