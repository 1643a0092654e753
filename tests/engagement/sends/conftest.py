"""Fixtures for the sends tests: an account with a sendable audience, an email, SMTP sinks."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tandem.cli.ports import free_port
from tandem.engagement.accounts.models import Account
from tandem.engagement.data.models import DataExtension, DataExtensionField, DataExtensionRow
from tandem.engagement.sends.conf import DeliveryConfig
from tandem.engagement.studio.models import Email


@dataclass
class Sink:
    """An SMTP server that records what it accepted; `reply` may refuse a recipient."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of each message
    mail_reply: Callable[[str], str | None] = lambda address: None
    rcpt_reply: Callable[[str], str | None] = lambda address: None
    data_reply: Callable[[], str | None] = lambda: None
    lock: threading.Lock = field(default_factory=threading.Lock)
    pipelining: bool = False  # offer PIPELINING (RFC 2920) in the EHLO reply

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    @property
    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self.mail_reply(address)
        if refusal:
            return refusal
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self.rcpt_reply(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal = self.data_reply()
        if refusal:
            return refusal
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.original_content or b"")
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(parsed)
            self.arrivals.append(time.monotonic())
        return "250 2.0.0 queued"


# aiosmtpd logs every connection from its own thread, sometimes after a test's output is closed.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@pytest.fixture(params=[True, False], ids=["pipelining", "no-pipelining"])
def sink(request: pytest.FixtureRequest) -> Iterator[Sink]:
    """A well-behaved SMTP server on a free port, offering PIPELINING or not."""
    state = Sink(port=free_port(), pipelining=request.param)
    controller = Controller(state, hostname="127.0.0.1", port=state.port, ready_timeout=10)
    controller.start()
    yield state
    controller.stop()


def config_for(port: int, **overrides: object) -> DeliveryConfig:
    """A small, quick configuration pointing at `port`."""
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "timeout": 5.0,
        "connections": 4,
        "batch_size": 10,
        "messages_per_connection": 7,
        "retry_attempts": 3,
        "retry_backoff": 0.01,
        "max_attempts": 12,
        "breaker_batches": 3,
        "lease_seconds": 120,
        "parallelism": 1,
    }
    values.update(overrides)
    return DeliveryConfig(**values)  # type: ignore[arg-type]


def make_audience(account: Account, count: int, name: str = "Subscribers") -> DataExtension:
    """A sendable data extension of `count` rows: SubscriberKey, EmailAddress, FirstName."""
    audience = DataExtension.objects.create(
        account=account,
        name=name,
        is_sendable=True,
        subscriber_key_field="SubscriberKey",
        email_field="EmailAddress",
    )
    for ordinal, (field_name, kind) in enumerate(
        [("SubscriberKey", "Text"), ("EmailAddress", "EmailAddress"), ("FirstName", "Text")]
    ):
        DataExtensionField.objects.create(
            data_extension=audience,
            name=field_name,
            field_type=kind,
            ordinal=ordinal,
            is_primary_key=field_name == "SubscriberKey",
        )
    DataExtensionRow.objects.bulk_create(
        DataExtensionRow(
            data_extension=audience,
            key=f"S{i:05d}",
            values={
                "SubscriberKey": f"S{i:05d}",
                "EmailAddress": f"user{i}@example.test",
                "FirstName": f"Name{i}",
            },
        )
        for i in range(count)
    )
    return audience


@pytest.fixture
def audience(account: Account) -> DataExtension:
    return make_audience(account, 25)


@pytest.fixture
def email(account: Account) -> Email:
    return Email.objects.create(
        account=account,
        name="Welcome",
        subject="Welcome, %%FirstName%%",
        from_name="Northwind News",
        from_address="news@northwind.test",
        html_body='<html><body><p>Hi %%FirstName%%</p><a href="https://northwind.test/offer?k=%%SubscriberKey%%">Offer</a></body></html>',
        text_body="Hi %%FirstName%%, write to %%emailaddr%%.",
    )
