"""Operator routes for the five other certified profiles: the CSMS builds the OCPP message from what the operator
wants, from its own tokens, transactions and records, and sends it the way the raw trigger contract does.

Each route validates its intent (400 with one sentence; 409 when the CSMS's state forbids it), builds the payload
and hands it to the same path as ``POST /api/octt/1.6/{station_id}/{action}`` (``relay``): 200 with the
CALLRESULT payload, 502 for a relayed CALLERROR, 504 for a timeout, 409 where OCPP 1.6 §4.2 forbids the CALL, 400
with the violations for a payload that would break the schema, 404 for an unknown or unconnected station. What
the answer teaches is recorded by :mod:`csms.tracking`, as for any CALL. Ids the CSMS chose come back in headers:
``X-Reservation-Id``, ``X-List-Version``, ``X-Charging-Profile-Id``, ``X-Job-Id`` (with ``X-OCPP-Message-Id``).

Views of what the CSMS keeps, per station (``GET``): ``reservations``, ``local-list``, ``charging-profiles``,
``composite-schedule``, ``firmware``, ``diagnostics``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from csms import handlers
from csms.api import ApiError, int_field, json_object, known_fields, required_string, string_field, time_field
from csms.files import DEFAULT_FIRMWARE_NAME, DIAGNOSTICS_PATH, FIRMWARE_PATH
from csms.profile_store import JobKind, ProfileStore
from csms.store import Station, Store
from ocppj.timefmt import format_time

Relay = Callable[[str, str, dict[str, Any]], Awaitable[web.Response]]

MAX_ID_TAG_LENGTH = 20  # IdToken is CiString20Type (OCPP 1.6 §7 IdToken)
_UNITS = ("A", "W")  # §7.9 ChargingRateUnitType
_PURPOSES = ("TxDefaultProfile", "TxProfile", "ChargePointMaxProfile")  # §7.10 ChargingProfilePurposeType
_KINDS = ("Absolute", "Relative")  # §7.8 ChargingProfileKindType, without Recurring
_UPDATE_TYPES = ("Full", "Differential")  # §7.44 UpdateType
# §7.38 MessageTrigger
_TRIGGERS = (
    "BootNotification",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
)
_MAX_NUMBER_PHASES = 3


async def known_station(store: Store, station_id: str) -> Station:
    station = await store.get_station(station_id)
    if station is None:
        raise ApiError(404, f"Station {station_id!r} is not provisioned.")
    return station


def choice(body: dict[str, Any], key: str, choices: tuple[str, ...], *, default: str | None = None) -> str:
    value = body.get(key, default)
    if value not in choices:
        raise ApiError(400, f"'{key}' must be one of {', '.join(choices)}.")
    assert isinstance(value, str)
    return value


def optional_int(body: dict[str, Any], key: str, *, minimum: int, maximum: int | None = None) -> int | None:
    value = body.get(key)
    return None if value is None else int_field(value, key, minimum=minimum, maximum=maximum)


def _required_int(body: dict[str, Any], key: str, *, minimum: int) -> int:
    if body.get(key) is None:
        raise ApiError(400, f"'{key}' is required and must be an integer >= {minimum}.")
    return int_field(body[key], key, minimum=minimum)


def _tags(body: dict[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(tag, str) and tag for tag in value):
        raise ApiError(400, f"'{key}' must be a list of id tags.")
    too_long = [tag for tag in value if len(tag) > MAX_ID_TAG_LENGTH]
    if too_long:
        raise ApiError(400, f"'{key}' holds id tags longer than {MAX_ID_TAG_LENGTH} characters: {', '.join(too_long)}.")
    return list(value)


def location_field(body: dict[str, Any], default: str) -> str:
    """§5.6, §5.19: a URI the station can reach; without one, this CSMS's own file server."""
    location = string_field(body, "location", required=False) or default
    parts = urlsplit(location)
    if not parts.scheme or not parts.netloc:
        raise ApiError(400, f"'location' must be an absolute URI such as ftp://host/path, got {location!r}.")
    return location


def add_retries(body: dict[str, Any], payload: dict[str, Any]) -> None:
    for key, field in (("retries", "retries"), ("retry_interval_s", "retryInterval")):
        value = optional_int(body, key, minimum=0)
        if value is not None:
            payload[field] = value


def origin(request: web.Request) -> str:
    """This CSMS as the operator reached it: the stations it serves are expected to reach it there too."""
    return f"{request.scheme}://{request.host}"


async def jobs_view(profiles: ProfileStore, station_id: str, kind: JobKind) -> web.Response:
    """A station's jobs of one kind with their notifications, and the notifications that belong to none."""
    jobs = await profiles.jobs(station_id, kind)
    outside = await profiles.notifications_outside_jobs(station_id, kind)
    return web.json_response(
        {
            "station_id": station_id,
            "jobs": [job.as_json() for job in jobs],
            "notifications_outside_jobs": [n.as_json() for n in outside],
        }
    )


async def with_job_header(profiles: ProfileStore, station_id: str, response: web.Response) -> web.Response:
    """``X-Job-Id``: the job the answered CALL became (:mod:`csms.tracking`)."""
    message_id = response.headers.get("X-OCPP-Message-Id")
    job = None if message_id is None else await profiles.job_for_message(station_id, message_id)
    if job is not None:
        response.headers["X-Job-Id"] = str(job.id)
    return response


class OperatorRoutes:
    """The routes above; ``relay`` is the raw trigger contract's way of sending a CALL and answering for it."""

    def __init__(self, *, store: Store, clock: Callable[[], float], relay: Relay) -> None:
        self._store = store
        self._profiles = store.profiles
        self._clock = clock
        self._relay = relay

    def add_routes(self, router: web.UrlDispatcher) -> None:
        base = "/api/stations/{station_id}"
        router.add_get(base + "/reservations", self._list_reservations)
        router.add_post(base + "/reservations", self._reserve)
        router.add_delete(base + "/reservations/{reservation_id}", self._cancel_reservation)
        router.add_get(base + "/local-list", self._get_local_list)
        router.add_post(base + "/local-list", self._send_local_list)
        router.add_get(base + "/charging-profiles", self._list_charging_profiles)
        router.add_delete(base + "/charging-profiles", self._clear_charging_profiles)
        router.add_post(base + "/charging-limit", self._set_charging_limit)
        router.add_get(base + "/composite-schedule", self._list_composite_schedules)
        router.add_post(base + "/composite-schedule", self._get_composite_schedule)
        router.add_get(base + "/firmware", self._list_firmware_jobs)
        router.add_post(base + "/firmware", self._update_firmware)
        router.add_get(base + "/diagnostics", self._list_diagnostics_jobs)
        router.add_post(base + "/diagnostics", self._get_diagnostics)
        router.add_post(base + "/trigger", self._trigger)

    async def _station(self, request: web.Request) -> Station:
        return await known_station(self._store, request.match_info["station_id"])

    async def _send(
        self, station: Station, action: str, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> web.Response:
        response = await self._relay(station.id, action, payload)
        response.headers.update(headers or {})
        return response

    # -- Reservation (OCPP 1.6 §5.13 ReserveNow, §5.1 CancelReservation) ----------------------------------------

    async def _list_reservations(self, request: web.Request) -> web.Response:
        """Every reservation the station answered, oldest first: ``[{reservation_id, station_id, connector_id,
        id_tag, parent_id_tag, expiry_date, status, station_answer, transaction_id, message_id, requested_at,
        answered_at, ended_at}]``; status is active, used, cancelled, expired, refused or replaced."""
        station = await self._station(request)
        now_s = self._clock()
        return web.json_response([r.as_json(now_s) for r in await self._profiles.reservations(station.id)])

    async def _reserve(self, request: web.Request) -> web.Response:
        """``{connector_id, id_tag, expires_in_s | expiry_date, reservation_id?}`` -> ReserveNow for a token of
        the CSMS, with its parentIdTag when it belongs to a group (TC_053); connector 0 reserves the station
        (TC_049). Without a reservation_id the CSMS picks a fresh one."""
        station = await self._station(request)
        body = await json_object(request)
        known_fields(
            body, {"connector_id", "id_tag", "expires_in_s", "expiry_date", "reservation_id"}, what="reservation"
        )
        connector_id = _required_int(body, "connector_id", minimum=0)
        id_tag = required_string(body, "id_tag", max_length=MAX_ID_TAG_LENGTH)
        now_s = self._clock()
        expires_in_s = optional_int(body, "expires_in_s", minimum=1)
        expiry_at_s = time_field(body, "expiry_date")
        if (expires_in_s is None) == (expiry_at_s is None):
            raise ApiError(400, "Give the reservation one of 'expires_in_s' or 'expiry_date'.")
        if expires_in_s is not None:
            expiry_at_s = now_s + expires_in_s
        assert expiry_at_s is not None
        if expiry_at_s <= now_s:
            raise ApiError(400, "'expiry_date' must lie in the future.")
        reservation_id = optional_int(body, "reservation_id", minimum=0)
        token = await self._store.get_token(id_tag)
        if token is None:
            raise ApiError(400, f"Token {id_tag!r} is not known to the CSMS; add it with POST /api/tokens first.")
        status = handlers.effective_token_status(token, now_s)
        if status != "Accepted":
            raise ApiError(409, f"Token {token.id_tag!r} is {status}, so the CSMS reserves nothing for it.")
        if reservation_id is None:
            reservation_id = await self._profiles.next_reservation_id()
        payload: dict[str, Any] = {
            "connectorId": connector_id,
            "expiryDate": format_time(expiry_at_s),
            "idTag": token.id_tag,
            "reservationId": reservation_id,
        }
        if token.parent_id_tag:
            payload["parentIdTag"] = token.parent_id_tag
        return await self._send(station, "ReserveNow", payload, {"X-Reservation-Id": str(reservation_id)})

    async def _cancel_reservation(self, request: web.Request) -> web.Response:
        """CancelReservation of one of the CSMS's active reservations (TC_051). An arbitrary id (TC_052) goes
        through the raw trigger contract."""
        station = await self._station(request)
        text = request.match_info["reservation_id"]
        if not text.isdigit():
            raise ApiError(400, f"The reservation id must be an integer >= 0, got {text!r}.")
        reservation = await self._profiles.reservation(station.id, int(text))
        if reservation is None:
            raise ApiError(404, f"Station {station.id!r} has no reservation {text} made by this CSMS.")
        status = reservation.status(self._clock())
        if status != "active":
            raise ApiError(409, f"Reservation {text} of station {station.id!r} is {status}, not active.")
        return await self._send(station, "CancelReservation", {"reservationId": reservation.reservation_id})

    # -- Local Authorization List Management (§5.10 GetLocalListVersion, §5.15 SendLocalList) -------------------

    async def _get_local_list(self, request: web.Request) -> web.Response:
        """The list the CSMS holds for the station: ``{station_id, list_version, updated_at, message_id,
        last_answer, last_answer_at, reported_version, reported_at, entries: [{id_tag, id_tag_info}]}``."""
        station = await self._station(request)
        return web.json_response((await self._profiles.local_list(station.id)).as_json())

    async def _send_local_list(self, request: web.Request) -> web.Response:
        """``{update_type: Full|Differential, tags?: [...], remove?: [...]}`` -> SendLocalList with listVersion
        one above the CSMS's current and every entry's idTagInfo from the CSMS's tokens (TC_043_4, TC_043_5).
        Full: the given tags, or every token the CSMS knows. Differential: the given tags are added or updated,
        those under ``remove`` are sent without idTagInfo and so deleted (§5.15)."""
        station = await self._station(request)
        body = await json_object(request)
        known_fields(body, {"update_type", "tags", "remove"}, what="local list")
        update_type = choice(body, "update_type", _UPDATE_TYPES)
        tags, remove = _tags(body, "tags"), _tags(body, "remove")
        if update_type == "Full" and remove is not None:
            raise ApiError(400, "A Full update replaces the whole list; 'remove' belongs to a Differential one.")
        if update_type == "Differential" and not tags and not remove:
            raise ApiError(400, "A Differential update needs 'tags' to add or update or 'remove' to delete.")
        both = sorted({t.casefold() for t in tags or []} & {t.casefold() for t in remove or []})
        if both:
            raise ApiError(400, f"An id tag cannot be both added and removed: {', '.join(both)}.")
        if tags is None:
            tokens = await self._store.list_tokens()
        else:
            found = [(tag, await self._store.get_token(tag)) for tag in tags]
            unknown = [tag for tag, token in found if token is None]
            if unknown:
                raise ApiError(400, f"Token(s) not known to the CSMS: {', '.join(unknown)}.")
            tokens = [token for _, token in found if token is not None]
        now_s = self._clock()
        entries: list[dict[str, Any]] = [
            {"idTag": token.id_tag, "idTagInfo": await handlers.id_tag_info(self._store, token.id_tag, now_s)}
            for token in tokens
        ]
        entries += [{"idTag": tag} for tag in remove or []]
        version = (await self._profiles.local_list(station.id)).next_version
        payload: dict[str, Any] = {"listVersion": version, "updateType": update_type}
        if entries:
            payload["localAuthorizationList"] = entries
        return await self._send(station, "SendLocalList", payload, {"X-List-Version": str(version)})

    # -- Smart Charging (§5.16 SetChargingProfile, §5.5 ClearChargingProfile, §5.7 GetCompositeSchedule) -------

    async def _list_charging_profiles(self, request: web.Request) -> web.Response:
        """The profiles the station accepted and still has: ``[{station_id, connector_id, charging_profile_id,
        stack_level, purpose, kind, transaction_id, profile, message_id, installed_at}]``."""
        station = await self._station(request)
        return web.json_response([p.as_json() for p in await self._profiles.charging_profiles(station.id)])

    async def _set_charging_limit(self, request: web.Request) -> web.Response:
        """``{connector_id, limit, unit: A|W, purpose?, kind?, stack_level?, duration_s?, number_phases?}`` ->
        SetChargingProfile with a fresh chargingProfileId and one period from 0 s (TC_056): purpose
        TxDefaultProfile by default; TxProfile for the transaction the CSMS has running on the connector
        (TC_057); ChargePointMaxProfile on connector 0 (§3.13.1). Absolute (default) starts now, with validFrom
        and, given a duration, validTo; Relative starts with the transaction."""
        station = await self._station(request)
        body = await json_object(request)
        known_fields(
            body,
            {"connector_id", "limit", "unit", "purpose", "kind", "stack_level", "duration_s", "number_phases"},
            what="charging limit",
        )
        connector_id = _required_int(body, "connector_id", minimum=0)
        limit = body.get("limit")
        if isinstance(limit, bool) or not isinstance(limit, int | float) or limit <= 0:
            raise ApiError(400, "'limit' is required and must be a number > 0.")
        unit = choice(body, "unit", _UNITS)
        purpose = choice(body, "purpose", _PURPOSES, default="TxDefaultProfile")
        kind = choice(body, "kind", _KINDS, default="Absolute")
        stack_level = optional_int(body, "stack_level", minimum=0) or 0
        duration_s = optional_int(body, "duration_s", minimum=1)
        number_phases = optional_int(body, "number_phases", minimum=1, maximum=_MAX_NUMBER_PHASES)
        if purpose == "ChargePointMaxProfile" and connector_id != 0:
            raise ApiError(400, "A ChargePointMaxProfile limits the whole station: 'connector_id' must be 0.")
        if purpose == "TxProfile" and connector_id == 0:
            raise ApiError(400, "A TxProfile is for the transaction on a connector: 'connector_id' must be >= 1.")
        transaction_id = None
        if purpose == "TxProfile":
            transaction_id = await self._profiles.open_transaction(station.id, connector_id)
            if transaction_id is None:
                raise ApiError(
                    409, f"The CSMS knows no transaction running on connector {connector_id} of {station.id!r}."
                )
        now_s = self._clock()
        period: dict[str, Any] = {"startPeriod": 0, "limit": float(limit)}
        if number_phases is not None:
            period["numberPhases"] = number_phases
        schedule: dict[str, Any] = {"chargingRateUnit": unit, "chargingSchedulePeriod": [period]}
        if duration_s is not None:
            schedule["duration"] = duration_s
        profile_id = await self._profiles.next_charging_profile_id()
        profile: dict[str, Any] = {
            "chargingProfileId": profile_id,
            "stackLevel": stack_level,
            "chargingProfilePurpose": purpose,
            "chargingProfileKind": kind,
            "validFrom": format_time(now_s),
        }
        if transaction_id is not None:
            profile["transactionId"] = transaction_id
        if kind == "Absolute":
            schedule["startSchedule"] = format_time(now_s)
            if duration_s is not None:
                profile["validTo"] = format_time(now_s + duration_s)
        profile["chargingSchedule"] = schedule
        payload = {"connectorId": connector_id, "csChargingProfiles": profile}
        return await self._send(station, "SetChargingProfile", payload, {"X-Charging-Profile-Id": str(profile_id)})

    async def _clear_charging_profiles(self, request: web.Request) -> web.Response:
        """``?id=`` clears one profile; ``?connector_id=&purpose=&stack_level=`` (any of them) clears those that
        match them all; no parameter clears every profile (§5.5, TC_067)."""
        station = await self._station(request)
        query = dict(request.query)
        known_fields(query, {"id", "connector_id", "purpose", "stack_level"}, what="clear")
        if "id" in query and len(query) > 1:
            raise ApiError(400, "'id' clears one profile: give it alone, or give criteria without it.")
        payload: dict[str, Any] = {}
        for key, field in (("id", "id"), ("connector_id", "connectorId"), ("stack_level", "stackLevel")):
            if key in query:
                text = query[key]
                if not text.isdigit():
                    raise ApiError(400, f"'{key}' must be an integer >= 0, got {text!r}.")
                payload[field] = int(text)
        if "purpose" in query:
            payload["chargingProfilePurpose"] = choice(query, "purpose", _PURPOSES)
        return await self._send(station, "ClearChargingProfile", payload)

    async def _list_composite_schedules(self, request: web.Request) -> web.Response:
        """The last GetCompositeSchedule answer per connector: ``[{station_id, connector_id, request, answer,
        message_id, received_at}]``."""
        station = await self._station(request)
        return web.json_response([s.as_json() for s in await self._profiles.composite_schedules(station.id)])

    async def _get_composite_schedule(self, request: web.Request) -> web.Response:
        """``{connector_id, duration_s, unit?}`` -> GetCompositeSchedule (TC_066)."""
        station = await self._station(request)
        body = await json_object(request)
        known_fields(body, {"connector_id", "duration_s", "unit"}, what="composite schedule")
        payload: dict[str, Any] = {
            "connectorId": _required_int(body, "connector_id", minimum=0),
            "duration": _required_int(body, "duration_s", minimum=1),
        }
        if body.get("unit") is not None:
            payload["chargingRateUnit"] = choice(body, "unit", _UNITS)
        return await self._send(station, "GetCompositeSchedule", payload)

    # -- Firmware Management (§5.19 UpdateFirmware, §5.6 GetDiagnostics) ---------------------------------------

    async def _jobs(self, request: web.Request, kind: JobKind) -> web.Response:
        return await jobs_view(self._profiles, (await self._station(request)).id, kind)

    async def _list_firmware_jobs(self, request: web.Request) -> web.Response:
        """``{station_id, jobs: [{id, kind, state, status, request, answer, message_id, requested_at,
        answered_at, superseded_by, notifications: [{status, received_at}], ...}], notifications_outside_jobs}``;
        state is requested, in_progress, succeeded, failed or superseded."""
        return await self._jobs(request, "firmware")

    async def _list_diagnostics_jobs(self, request: web.Request) -> web.Response:
        """As the firmware jobs, with ``file_name`` (the GetDiagnostics answer's) and the ``uploads`` received
        under that name; state nothing_to_upload when the station had no diagnostics (§5.6)."""
        return await self._jobs(request, "diagnostics")

    async def _with_job(self, station: Station, action: str, payload: dict[str, Any]) -> web.Response:
        return await with_job_header(self._profiles, station.id, await self._send(station, action, payload))

    async def _update_firmware(self, request: web.Request) -> web.Response:
        """``{location?, retrieve_date?, retries?, retry_interval_s?}`` -> UpdateFirmware (TC_044): by default the
        image this CSMS serves, retrieved at once."""
        station = await self._station(request)
        body = await json_object(request, empty={})
        known_fields(body, {"location", "retrieve_date", "retries", "retry_interval_s"}, what="firmware update")
        location = location_field(body, origin(request) + FIRMWARE_PATH + DEFAULT_FIRMWARE_NAME)
        retrieve_at_s = time_field(body, "retrieve_date")
        payload: dict[str, Any] = {
            "location": location,
            "retrieveDate": format_time(self._clock() if retrieve_at_s is None else retrieve_at_s),
        }
        add_retries(body, payload)
        return await self._with_job(station, "UpdateFirmware", payload)

    async def _get_diagnostics(self, request: web.Request) -> web.Response:
        """``{location?, start_time?, stop_time?, retries?, retry_interval_s?}`` -> GetDiagnostics (TC_045): by
        default uploaded to this CSMS's ``/files/diagnostics/``."""
        station = await self._station(request)
        body = await json_object(request, empty={})
        known_fields(body, {"location", "start_time", "stop_time", "retries", "retry_interval_s"}, what="diagnostics")
        payload: dict[str, Any] = {"location": location_field(body, origin(request) + DIAGNOSTICS_PATH)}
        start_s, stop_s = time_field(body, "start_time"), time_field(body, "stop_time")
        if start_s is not None and stop_s is not None and stop_s < start_s:
            raise ApiError(400, "'stop_time' must not lie before 'start_time'.")
        if start_s is not None:
            payload["startTime"] = format_time(start_s)
        if stop_s is not None:
            payload["stopTime"] = format_time(stop_s)
        add_retries(body, payload)
        return await self._with_job(station, "GetDiagnostics", payload)

    # -- Remote Trigger (§5.17 TriggerMessage) ----------------------------------------------------------------

    async def _trigger(self, request: web.Request) -> web.Response:
        """``{message, connector_id?}`` -> TriggerMessage (TC_054, TC_055: any connector may be asked for)."""
        station = await self._station(request)
        body = await json_object(request)
        known_fields(body, {"message", "connector_id"}, what="trigger")
        payload: dict[str, Any] = {"requestedMessage": choice(body, "message", _TRIGGERS)}
        connector_id = optional_int(body, "connector_id", minimum=0)
        if connector_id is not None:
            payload["connectorId"] = connector_id
        return await self._send(station, "TriggerMessage", payload)
