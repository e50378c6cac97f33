"""HTTP Basic authentication of charge points (security profiles 1 and 2) and the AuthorizationKey that carries its
password (security whitepaper §2.3-2.4, A00.FR.202-205, A01).

The CSMS keeps a salted scrypt hash of each password and nothing else (A01.FR.08), never logs one (A01.FR.09), and
keeps none in its exchange log either: :func:`redacted` blanks the AuthorizationKey of a logged ChangeConfiguration
or GetConfiguration answer.

Encoding (reference §0 item 8, §5.8): the password is 16 to 20 bytes (A00.FR.205); ``ChangeConfiguration`` carries
it as the AuthorizationKey in hexadecimal, at most 40 hex digits; the station puts the decoded password, not the hex,
in its ``Authorization: Basic`` header.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from typing import Any

AUTHORIZATION_KEY = "AuthorizationKey"
PASSWORD_MIN_BYTES = 16  # A00.FR.205
PASSWORD_MAX_BYTES = 20  # A00.FR.205: "represented as a string of up to 40 hexadecimal digits"
REDACTED = "<redacted>"
# A hash no password verifies against: what a station gets whose accepted AuthorizationKey the CSMS cannot use.
UNUSABLE_HASH = "unusable"

_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")


def hash_password(password: str) -> str:
    """A salted scrypt hash: the CSMS keeps no password it could leak (A01.FR.08)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time comparison, so the answer time does not tell how much of a guess was right."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest_hex)
        digest = hashlib.scrypt(
            password.encode("utf-8"),
            salt=bytes.fromhex(salt_hex),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest, expected)


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(username, password) of an ``Authorization: Basic`` header (RFC 7617), None when absent or
    malformed."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def password_problem(password: str) -> str | None:
    """None for a password a station can be given (A00.FR.205: 16 to 20 bytes, as UTF-8 since it travels in a
    UTF-8 Basic header, RFC 7617 §2.1), else why not, in one sentence."""
    size = len(password.encode("utf-8"))
    if not PASSWORD_MIN_BYTES <= size <= PASSWORD_MAX_BYTES:
        return (
            f"The password must be {PASSWORD_MIN_BYTES} to {PASSWORD_MAX_BYTES} bytes long (A00.FR.205), "
            f"this one has {size}."
        )
    if ":" in password:
        return "The password must not contain ':', which ends the user id in a Basic header (RFC 7617 §2)."
    return None


def authorization_key(password: str) -> str:
    """The AuthorizationKey value of a password: its UTF-8 bytes in upper-case hexadecimal, as OCTT writes it
    (``4F43415F...`` is "OCA_..."), at most 40 digits for a valid password."""
    return password.encode("utf-8").hex().upper()


def password_of_key(value: str) -> str | None:
    """The password a station uses on the wire after accepting ``value`` as its AuthorizationKey, or None when it
    cannot be sent in a Basic header.

    The rule is OCTT's (D25 TC_085; reference §5.8): 32 to 40 hex digits are the hexadecimal form and are decoded;
    anything else is the password as it stands (a raw trigger may send one unencoded). Decoded bytes that are not
    UTF-8 cannot travel in a UTF-8 Basic header (RFC 7617 §2.1): None.
    """
    if 2 * PASSWORD_MIN_BYTES <= len(value) <= 2 * PASSWORD_MAX_BYTES and _HEX.fullmatch(value):
        try:
            return bytes.fromhex(value).decode("utf-8")
        except UnicodeDecodeError:
            return None
    return value or None


def _is_authorization_key(key: object) -> bool:
    return isinstance(key, str) and key.casefold() == AUTHORIZATION_KEY.casefold()


def redacted(action: str, payload: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``payload`` as the exchange log may keep it: the AuthorizationKey value of a ChangeConfiguration request or
    of a GetConfiguration answer (a station SHOULD NOT report it, but one may) replaced with ``<redacted>``
    (A01.FR.08/09). Everything else is kept as it is."""
    if payload is None:
        return None
    copy = dict(payload)
    if action == "ChangeConfiguration" and _is_authorization_key(copy.get("key")) and "value" in copy:
        copy["value"] = REDACTED
    keys = copy.get("configurationKey")
    if action == "GetConfiguration" and isinstance(keys, list):
        copy["configurationKey"] = [
            {**item, "value": REDACTED}
            if isinstance(item, dict) and _is_authorization_key(item.get("key")) and "value" in item
            else item
            for item in keys
        ]
    return copy
