"""An aiosmtpd handler that stores each accepted message in a Maildir."""

from __future__ import annotations

import time
from collections.abc import Callable
from email import policy
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tandem.inbox.maildir import open_maildir, store

MAX_MESSAGE_BYTES = 32 * 1024 * 1024


class MaildirHandler:
    """Accept every message and add it to the Maildir, with the envelope as headers."""

    def __init__(self, path: Path, announce: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.announce = announce

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        """Offer PIPELINING, as a real MTA does: aiosmtpd reads commands from a stream and
        answers them in order, so grouped commands need nothing more (RFC 2920)."""
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        # Delivered-To records the envelope recipients, as a real mailbox would.
        prefix = "".join(f"Delivered-To: {rcpt}\r\n" for rcpt in envelope.rcpt_tos)
        prefix += f"Return-Path: <{envelope.mail_from}>\r\n"
        key = store(self.path, prefix.encode() + content)
        if self.announce:
            self.announce(_summary(key, envelope, content))
        return "250 Message accepted for delivery"


def _summary(key: str, envelope: Envelope, content: bytes) -> str:
    headers = BytesParser(policy=policy.default).parsebytes(content, headersonly=True)
    subject = headers.get("Subject", "")
    stamp = time.strftime("%H:%M:%S")
    return f"{stamp} {envelope.mail_from} -> {', '.join(envelope.rcpt_tos)}: {subject} [{key}]"


def start_inbox(
    path: Path,
    host: str = "127.0.0.1",
    port: int = 2525,
    announce: Callable[[str], None] | None = None,
) -> Controller:
    """Start the SMTP server in a background thread and return its controller."""
    open_maildir(path)
    controller = Controller(
        MaildirHandler(path, announce),
        hostname=host,
        port=port,
        ready_timeout=10,
        data_size_limit=MAX_MESSAGE_BYTES,
    )
    controller.start()
    return controller
