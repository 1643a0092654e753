"""The API versions Tandem answers to, labelled with Salesforce's release names.

From 31.0 (the oldest version Salesforce still serves) to 67.0 (Summer '26).
"""

from __future__ import annotations

OLDEST, NEWEST = 31, 67
SEASONS = ("Winter", "Spring", "Summer")


def label(major: int) -> str:
    """Release name of API version `major`.0 (59.0 is Winter '24)."""
    step = major - 59
    return f"{SEASONS[step % 3]} '{24 + step // 3}"


def versions() -> list[dict[str, str]]:
    return [
        {"label": label(n), "url": f"/services/data/v{n}.0", "version": f"{n}.0"}
        for n in range(OLDEST, NEWEST + 1)
    ]


def is_supported(version: str) -> bool:
    major, dot, minor = version.partition(".")
    return dot == "." and minor == "0" and major.isdigit() and OLDEST <= int(major) <= NEWEST
