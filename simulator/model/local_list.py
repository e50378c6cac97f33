"""Local Auth List Management profile (OCPP 1.6 §3.5.2, §5.10 GetLocalListVersion, §5.15 SendLocalList, §9.2).

The list authorizes before the cache (§3.5: "the Local Authorization List ... first"): online when
LocalPreAuthorize lets the station start without waiting for Authorize.conf, offline when LocalAuthorizeOffline
lets it decide alone. An entry whose status is not Accepted, or whose expiryDate has passed, refuses locally. A
station whose SupportedFeatureProfiles lacks the profile answers as one without it (TC_042_1, TC_043_1), and with
LocalAuthListEnabled false the list is kept but not used (§9.2.1).
"""

from __future__ import annotations

from typing import Any

from simulator.model.auth import IdTagInfo, same_tag
from simulator.model.base import Handler, status_reply
from simulator.model.config import LOCAL_AUTH_LIST_MANAGEMENT
from simulator.model.machine import StationMachine


def parse_update(items: list[dict[str, Any]], *, full: bool) -> list[tuple[str, IdTagInfo | None]] | None:
    """The (idTag, idTagInfo or None) changes of a SendLocalList.req; None when the update is invalid: an idTag
    given twice, or an entry of a Full update without idTagInfo (§5.15: "Required when UpdateType is Full")."""
    changes: list[tuple[str, IdTagInfo | None]] = []
    for item in items:
        id_tag: str = item["idTag"]
        if any(same_tag(id_tag, seen) for seen, _ in changes):
            return None
        raw_info = item.get("idTagInfo")
        if raw_info is None:
            if full:
                return None
            changes.append((id_tag, None))
            continue
        info = IdTagInfo.from_payload(raw_info)
        if info is None:
            return None
        changes.append((id_tag, info))
    return changes


class LocalListCalls(StationMachine):
    def _local_list_handlers(self) -> dict[str, Handler]:
        return {"GetLocalListVersion": self._on_get_local_list_version, "SendLocalList": self._on_send_local_list}

    def _local_list_in_use(self) -> bool:
        return self._config.supports(LOCAL_AUTH_LIST_MANAGEMENT) and self._config.get_bool("LocalAuthListEnabled")

    def _on_get_local_list_version(
        self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """§5.10: the list's version, 0 for an empty list (TC_042_2), -1 without the profile (TC_042_1)."""
        if answer is not None:
            return answer
        supported = self._config.supports(LOCAL_AUTH_LIST_MANAGEMENT)
        return {"listVersion": self._local_list.version if supported else -1}

    def _on_send_local_list(self, payload: dict[str, Any], now: float, answer: dict[str, Any] | None) -> dict[str, Any]:
        """§5.15: NotSupported without the profile (TC_043_1); VersionMismatch for a Differential update whose
        listVersion is not above the current one (TC_043_2); Failed for an invalid update (TC_043_3): more
        entries than SendLocalListMaxLength, a result longer than LocalAuthListMaxLength, a malformed entry, or a
        version that cannot name the result (negative, or 0 for a non-empty list: §5.10 reserves 0 for "empty"
        and -1 for "not supported"). An imposed Accepted applies the update whenever it can be applied, a
        version mismatch notwithstanding."""
        full = payload["updateType"] == "Full"
        version: int = payload["listVersion"]
        items: list[dict[str, Any]] = payload.get("localAuthorizationList", [])
        supported = self._config.supports(LOCAL_AUTH_LIST_MANAGEMENT)
        changes = parse_update(items, full=full)
        result = None
        if supported and changes is not None and len(items) <= self._config.get_int("SendLocalListMaxLength"):
            updated = self._local_list.updated(full=full, changes=changes)
            fits = len(updated) <= self._config.get_int("LocalAuthListMaxLength")
            if fits and version >= 0 and (version > 0 or not updated):
                result = updated
        if not supported:
            decided = "NotSupported"
        elif not full and version <= self._local_list.version:
            decided = "VersionMismatch"
        else:
            decided = "Accepted" if result is not None else "Failed"
        reply = status_reply(answer, decided)
        if result is not None and reply.get("status") == "Accepted":
            self._local_list.install(version, result)
        return reply

    def _cached(self, id_tag: str) -> IdTagInfo | None:
        """What the station knows of ``id_tag`` without asking: the Local Authorization List when in use and it
        holds the tag, else the Authorization Cache (§3.5.3: list entries have priority over cache entries)."""
        if self._local_list_in_use():
            info = self._local_list.lookup(id_tag)
            if info is not None:
                return info
        return super()._cached(id_tag)

    def _remember(self, id_tag: str, info: IdTagInfo) -> None:
        """§3.5.3: identifiers known in the Local Authorization List are not added to the Authorization Cache."""
        if self._local_list_in_use() and self._local_list.lookup(id_tag) is not None:
            return
        super()._remember(id_tag, info)
