"""Errors of the sends app; each carries a message fit to show the user."""

from __future__ import annotations


class SendError(Exception):
    """Base class; `field` names the form field the problem belongs to, when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class SendInvalidError(SendError):
    """The send cannot be created or changed as asked."""


class SendStateError(SendError):
    """The send is not in a state that allows this action."""


class SendNotFoundError(SendError):
    """No such send in the actor's account."""
