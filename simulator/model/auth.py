"""Authorization Cache (OCPP 1.6 §3.5.1) and Local Authorization List (§3.5.2): the idTagInfo a charge point
knows without asking.

The cache remembers the CSMS's answers; the list is what the CSMS sent with SendLocalList. They are distinct
stores (§3.5.3) answering the same question, ``lookup``; the list is consulted first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ocppj.timefmt import parse_time

ACCEPTED = "Accepted"
_STATUSES = frozenset({"Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"})


def same_tag(a: str, b: str) -> bool:
    """idTags are CiString20 (OCPP 1.6 §7.27 IdToken): compared without regard to case."""
    return a.casefold() == b.casefold()


@dataclass(frozen=True)
class IdTagInfo:
    """OCPP 1.6 §7.28 IdTagInfo with the expiry as POSIX seconds."""

    status: str
    expiry: float | None = None
    parent_id_tag: str | None = None

    @classmethod
    def from_payload(cls, data: object) -> IdTagInfo | None:
        """Read an idTagInfo from a CSMS answer; None when it is not one (a CSMS under test may send anything)."""
        if not isinstance(data, dict):
            return None
        status = data.get("status")
        if not isinstance(status, str) or status not in _STATUSES:
            return None
        expiry: float | None = None
        raw_expiry = data.get("expiryDate")
        if isinstance(raw_expiry, str):
            try:
                expiry = parse_time(raw_expiry)
            except ValueError:
                expiry = None
        parent = data.get("parentIdTag")
        return cls(status, expiry, parent if isinstance(parent, str) and parent else None)

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED

    def valid_at(self, now: float) -> bool:
        """Accepted and not past its expiryDate: a cached entry that may authorize locally (§3.5.1)."""
        return self.accepted and (self.expiry is None or self.expiry > now)


class AuthorizationCache:
    """Latest idTagInfo per idTag, from Authorize, StartTransaction and StopTransaction answers (§3.5.1)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[str, IdTagInfo]] = {}

    def update(self, id_tag: str, info: IdTagInfo) -> None:
        self._entries[id_tag.casefold()] = (id_tag, info)

    def lookup(self, id_tag: str) -> IdTagInfo | None:
        found = self._entries.get(id_tag.casefold())
        return None if found is None else found[1]

    def clear(self) -> None:
        """ClearCache (OCPP 1.6 §5.4, TC_061)."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class LocalAuthList:
    """The Local Authorization List (§3.5.2): idTagInfo per idTag and the version the CSMS gave the list.

    The version is 0 whenever the list is empty, whatever version the update that emptied it carried: §5.10
    makes 0 the version that says "empty".
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[str, IdTagInfo]] = {}
        self._version = 0

    @property
    def version(self) -> int:
        return self._version

    def lookup(self, id_tag: str) -> IdTagInfo | None:
        found = self._entries.get(id_tag.casefold())
        return None if found is None else found[1]

    def updated(
        self, *, full: bool, changes: Iterable[tuple[str, IdTagInfo | None]]
    ) -> dict[str, tuple[str, IdTagInfo]]:
        """The entries after an update, without applying it: a Full update replaces the list, a Differential one
        adds or updates each tag with an idTagInfo and removes each tag without one (§5.15)."""
        entries = {} if full else dict(self._entries)
        for id_tag, info in changes:
            if info is None:
                entries.pop(id_tag.casefold(), None)
            else:
                entries[id_tag.casefold()] = (id_tag, info)
        return entries

    def install(self, version: int, entries: dict[str, tuple[str, IdTagInfo]]) -> None:
        self._entries = dict(entries)
        self._version = version if entries else 0

    def __len__(self) -> int:
        return len(self._entries)
