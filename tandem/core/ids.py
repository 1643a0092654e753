"""Salesforce-style record ids: a 3-character key prefix, 12 random characters, a checksum."""

from __future__ import annotations

import secrets
import string

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
# The 15→18 suffix alphabet: one character per 5-bit uppercase mask.
CHECKSUM_ALPHABET = string.ascii_uppercase + "012345"

KEY_PREFIXES: dict[str, str] = {
    "org": "00D",
    "user": "005",
    "profile": "00e",
    "permission_set": "0PS",
    "permission_set_assignment": "0Pa",
    "connected_app": "0H4",
    "account": "001",
    "contact": "003",
    "lead": "00Q",
    "campaign": "701",
    "campaign_member": "00v",
    "report": "00O",
    "login_history": "0Ya",
    "setup_audit_trail": "0Ym",
}


def _checksum(id15: str) -> str:
    """Three characters recording which of each 5-character chunk's letters are uppercase."""
    suffix = []
    for start in (0, 5, 10):
        mask = 0
        for bit, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                mask |= 1 << bit
        suffix.append(CHECKSUM_ALPHABET[mask])
    return "".join(suffix)


def to_18(id15: str) -> str:
    """The case-insensitive-safe 18-character form of a 15-character id."""
    if len(id15) != 15 or not id15.isascii() or not id15.isalnum():
        raise ValueError(f"{id15!r} is not a 15-character record id")
    return id15 + _checksum(id15)


def id18(value: str) -> str:
    """The 18-character form of a 15- or 18-character id (surrounding spaces ignored).

    An 18-character id is returned as given: its suffix is not checked, as the CRM reads it.
    """
    value = value.strip()
    if len(value) == 18 and value.isascii() and value.isalnum():
        return value
    return to_18(value)


def new_id(prefix: str) -> str:
    """A fresh 18-character id with the given 3-character key prefix."""
    if len(prefix) != 3 or not prefix.isascii() or not prefix.isalnum():
        raise ValueError(f"{prefix!r} is not a 3-character key prefix")
    return to_18(prefix + "".join(secrets.choice(BASE62) for _ in range(12)))


def is_valid_id(value: object, prefix: str | None = None) -> bool:
    """True for an 18-character id whose checksum matches (and whose prefix, when given)."""
    if not isinstance(value, str) or len(value) != 18:
        return False
    if not value.isascii() or not value.isalnum():
        return False
    if prefix is not None and not value.startswith(prefix):
        return False
    return _checksum(value[:15]) == value[15:]


# Named per entity so that model defaults and migrations can refer to them.
def new_org_id() -> str:
    return new_id(KEY_PREFIXES["org"])


def new_user_id() -> str:
    return new_id(KEY_PREFIXES["user"])


def new_profile_id() -> str:
    return new_id(KEY_PREFIXES["profile"])


def new_permission_set_id() -> str:
    return new_id(KEY_PREFIXES["permission_set"])


def new_permission_set_assignment_id() -> str:
    return new_id(KEY_PREFIXES["permission_set_assignment"])


def new_connected_app_id() -> str:
    return new_id(KEY_PREFIXES["connected_app"])


def new_login_history_id() -> str:
    return new_id(KEY_PREFIXES["login_history"])


def new_setup_audit_trail_id() -> str:
    return new_id(KEY_PREFIXES["setup_audit_trail"])


# Random bytes → base-62 characters; bytes 248… are dropped so that each character is uniform.
_BASE62_OF_BYTE = bytes((BASE62 * 5)[:248], "ascii") + bytes(8)
_DROPPED_BYTES = bytes(range(248, 256))
_UPPER_BITS = str.maketrans(
    {c: "1" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"} | {c: "0" for c in BASE62 if not "A" <= c <= "Z"}
)


def new_ids(prefix: str, count: int) -> list[str]:
    """`count` fresh 18-character ids with the prefix, as `new_id` makes them, at once."""
    new_id(prefix)  # checks the prefix
    chars = b""
    while len(chars) < 12 * count:
        random = secrets.token_bytes(13 * count + 64)
        chars += random.translate(_BASE62_OF_BYTE, _DROPPED_BYTES)
    text = chars.decode("ascii")
    ids = []
    for n in range(count):
        id15 = prefix + text[12 * n : 12 * n + 12]
        bits = id15.translate(_UPPER_BITS)
        ids.append(
            id15
            + CHECKSUM_ALPHABET[int(bits[4::-1], 2)]
            + CHECKSUM_ALPHABET[int(bits[9:4:-1], 2)]
            + CHECKSUM_ALPHABET[int(bits[14:9:-1], 2)]
        )
    return ids
