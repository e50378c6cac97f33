"""What the CSMS learns from the answer to each of its CALLs, whoever asked for the CALL.

The outbox (:meth:`csms.commands.Outbox.call`) hands every answered CALL here once, right after logging the
exchange and before the station's next message is processed, so a CALL sent through the raw trigger contract
(``POST /api/octt/1.6/...``) and one built by an operator route leave the same record, and a station that reacts to
an answer at once (StatusNotification(Reserved), FirmwareStatusNotification(Downloading)) finds it in place.

Per action (OCPP 1.6 §5): SendLocalList (Accepted: the list the CSMS holds), GetLocalListVersion (what the station
reports), ReserveNow (a reservation, active or refused), CancelReservation (Accepted: cancelled), SetChargingProfile
(Accepted: installed), RemoteStartTransaction (Accepted with a chargingProfile: installed for the transaction it
starts, §5.11), ClearChargingProfile (Accepted: removed), GetCompositeSchedule (the last answer per
connector), UpdateFirmware and GetDiagnostics (a job). A CALLERROR teaches nothing but a refused reservation; a
timed-out CALL teaches nothing (the exchange log keeps it). The security whitepaper's CALLs (and the
AuthorizationKey, SecurityProfile and CertificateSignedMaxChainSize a ChangeConfiguration sets) are
:mod:`csms.security_tracking`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from csms.profile_store import Answered, JobKind, ProfileStore
from csms.security_tracking import SECURITY_ON_ANSWERED
from csms.store import Store
from ocppj.frames import CallError

log = logging.getLogger(__name__)


async def _send_local_list(profiles: ProfileStore, answered: Answered) -> None:
    if answered.status is not None:
        await profiles.local_list_answered(answered, answered.status)


async def _get_local_list_version(profiles: ProfileStore, answered: Answered) -> None:
    version = (answered.result or {}).get("listVersion")
    if isinstance(version, int) and not isinstance(version, bool):
        await profiles.list_version_reported(answered, version)


async def _reserve_now(profiles: ProfileStore, answered: Answered) -> None:
    """A refusal is kept too, with the station's answer (TC_048_1-4: Faulted, Occupied, Unavailable, Rejected)."""
    if isinstance(answered.answer, CallError):
        station_answer = f"CALLERROR {answered.answer.error_code}"
    else:
        station_answer = answered.status or "no status"
    await profiles.reservation_answered(answered, station_answer)


async def _cancel_reservation(profiles: ProfileStore, answered: Answered) -> None:
    if answered.status == "Accepted":
        await profiles.reservation_cancelled(
            answered.station_id, answered.request["reservationId"], now_s=answered.answered_at_s
        )


async def _set_charging_profile(profiles: ProfileStore, answered: Answered) -> None:
    if answered.status == "Accepted":
        await profiles.charging_profile_installed(answered)


async def _remote_start_transaction(profiles: ProfileStore, answered: Answered) -> None:
    if answered.status == "Accepted":
        await profiles.remote_start_accepted(answered)


async def _clear_charging_profile(profiles: ProfileStore, answered: Answered) -> None:
    if answered.status == "Accepted":
        await profiles.charging_profiles_cleared(answered.station_id, answered.request)


async def _get_composite_schedule(profiles: ProfileStore, answered: Answered) -> None:
    if answered.result is not None:
        await profiles.composite_schedule_answered(answered, answered.result)


async def _update_firmware(profiles: ProfileStore, answered: Answered) -> None:
    await _job(profiles, answered, "firmware")


async def _get_diagnostics(profiles: ProfileStore, answered: Answered) -> None:
    await _job(profiles, answered, "diagnostics")


async def _job(profiles: ProfileStore, answered: Answered, kind: JobKind) -> None:
    if answered.result is not None:
        await profiles.job_answered(answered, kind, answered.result)


_ON_ANSWERED: Mapping[str, Callable[[ProfileStore, Answered], Awaitable[None]]] = {
    "SendLocalList": _send_local_list,
    "GetLocalListVersion": _get_local_list_version,
    "ReserveNow": _reserve_now,
    "CancelReservation": _cancel_reservation,
    "SetChargingProfile": _set_charging_profile,
    "RemoteStartTransaction": _remote_start_transaction,
    "ClearChargingProfile": _clear_charging_profile,
    "GetCompositeSchedule": _get_composite_schedule,
    "UpdateFirmware": _update_firmware,
    "GetDiagnostics": _get_diagnostics,
}


async def track(store: Store, answered: Answered) -> None:
    """Record what ``answered`` teaches. A failure is logged, not raised: the station's answer stands and is in
    the exchange log, and the caller (an API request, a strict-mode follow-up task) relays it either way."""
    hook = _ON_ANSWERED.get(answered.action)
    security_hook = SECURITY_ON_ANSWERED.get(answered.action)
    try:
        if hook is not None:
            await hook(store.profiles, answered)
        if security_hook is not None:
            await security_hook(store, answered)
    except Exception:
        log.exception(
            "could not record the answer of station %r to %s (message %s)",
            answered.station_id,
            answered.action,
            answered.message_id,
        )
