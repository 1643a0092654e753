"""Errors of Connect, each with a message an administrator can act on."""

from __future__ import annotations


class ConnectError(Exception):
    """A Connect operation was refused; `field` names the form field at fault, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field = message, field


class ConnectStateError(ConnectError):
    """The operation does not fit the integration's current state."""


class UpgradeIdentityError(ConnectError):
    """The CRM connected another org, or a user other than the recorded system user."""

    def __init__(self, message: str, *, can_accept: bool) -> None:
        super().__init__(message)
        self.can_accept = can_accept
