"""Read and write the inbox's Maildir."""

from __future__ import annotations

import mailbox
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path


@dataclass(frozen=True)
class StoredMessage:
    """One message in the inbox, numbered from 1 in the order it arrived."""

    number: int
    key: str
    received: float
    sender: str
    recipients: str
    subject: str
    message_id: str


def open_maildir(path: Path) -> mailbox.Maildir:
    """Open the Maildir at `path`, creating whatever part of it is missing."""
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return mailbox.Maildir(path, factory=None, create=False)


def store(path: Path, raw: bytes) -> str:
    """Add a raw RFC 5322 message to the Maildir and return its key."""
    return open_maildir(path).add(raw)


def _parse(data: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(data, headersonly=True)
    assert isinstance(message, EmailMessage)
    return message


def list_messages(path: Path) -> list[StoredMessage]:
    """Every message, oldest first."""
    box = open_maildir(path)
    entries = []
    for key in box.iterkeys():
        item = box.get_message(key)
        entries.append((item.get_date(), key, _parse(item.as_bytes())))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    return [
        StoredMessage(
            number=index,
            key=key,
            received=received,
            sender=str(headers.get("From", "")),
            recipients=str(headers.get("To", "")),
            subject=str(headers.get("Subject", "")),
            message_id=str(headers.get("Message-ID", "")),
        )
        for index, (received, key, headers) in enumerate(entries, start=1)
    ]


def read_message(path: Path, key: str) -> bytes:
    """The raw bytes of one message."""
    return open_maildir(path).get_bytes(key)
