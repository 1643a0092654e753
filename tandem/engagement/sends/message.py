"""Build each recipient's MIME message from parts prepared once per send.

Only what varies per recipient (To, Message-ID, unsubscribe and tracking URLs, the personalized
subject and bodies) is rendered per message; the rest is bytes computed once.
"""

from __future__ import annotations

import binascii
import html
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate

from django.conf import settings

from tandem.engagement.sends.tracking import record_token
from tandem.engagement.studio.models import Email
from tandem.engagement.studio.personalization import CompiledTemplate, compile_template

TRACKING_FIELD = "_tandem_t"
RESERVED_PREFIX = "_tandem"
BUILTIN_FIELDS = frozenset({"emailaddr", "subscriberkey", "_subscriberkey"})
_LINK = re.compile(r"""(\bhref\s*=\s*)(["'])(https?://[^"'\s>]+)\2""", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_HEADER_BREAKS = re.compile(r"[\r\n\t]+")


@dataclass(frozen=True)
class Recipient:
    """What the builder needs of one send record."""

    record_id: int
    subscriber_key: str
    email: str
    values: Mapping[str, str]


@dataclass(frozen=True)
class PreparedEmail:
    """The invariant parts of a send's messages."""

    send_id: int
    sender: str
    fixed_headers: bytes
    subject: CompiledTemplate
    text: CompiledTemplate | None
    html: CompiledTemplate | None
    boundary: bytes
    id_domain: str
    tracking_base: str
    links: tuple[str, ...]
    is_test: bool


def compile_email(email: Email) -> tuple[CompiledTemplate, CompiledTemplate, CompiledTemplate]:
    """Compile subject, text and HTML; raises PersonalizationError naming the bad part."""
    return (
        compile_template(email.subject, html=False),
        compile_template(email.text_body, html=False),
        compile_template(email.html_body, html=True),
    )


def track_links(html_body: str) -> tuple[str, tuple[str, ...]]:
    """Point every http(s) link at the click redirect and add the open pixel."""
    links: list[str] = []

    def rewrite(match: re.Match[str]) -> str:
        links.append(html.unescape(match.group(3)))
        quote = match.group(2)
        return f"{match.group(1)}{quote}%%{TRACKING_FIELD}%%/c/{len(links) - 1}{quote}"

    tracked = _LINK.sub(rewrite, html_body)
    pixel = f'<img src="%%{TRACKING_FIELD}%%/o.gif" width="1" height="1" alt="">'
    if _BODY_END.search(tracked):
        tracked = _BODY_END.sub(lambda m: pixel + m.group(0), tracked, count=1)
    else:
        tracked += pixel
    return tracked, tuple(links)


def prepare_email(*, send_id: int, email: Email, is_test: bool) -> PreparedEmail:
    """Compile templates and encode the headers that every recipient shares."""
    html_body = email.html_body
    links: tuple[str, ...] = ()
    if html_body and not is_test:
        html_body, links = track_links(html_body)
    boundary = f"=_tandem_{secrets.token_hex(12)}".encode()
    id_domain = email.from_address.rpartition("@")[2] or "tandem.invalid"
    from_header = formataddr((_one_line(email.from_name), email.from_address), "utf-8")
    fixed = [f"From: {from_header}", "MIME-Version: 1.0"]
    # A test send carries no list headers (docs/reference/sending.md): there is no list to leave.
    if is_test:
        fixed.append("X-Tandem-Test-Send: yes")
    else:
        fixed.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    return PreparedEmail(
        send_id=send_id,
        sender=email.from_address,
        fixed_headers=("\r\n".join(fixed) + "\r\n").encode(),
        subject=compile_template(email.subject, html=False),
        text=compile_template(email.text_body, html=False) if email.text_body else None,
        html=compile_template(html_body, html=True) if html_body else None,
        boundary=boundary,
        id_domain=id_domain,
        tracking_base=str(settings.ENGAGEMENT_URL or "").rstrip("/") + "/t/",
        links=links,
        is_test=is_test,
    )


def message_id(send_id: int, record_id: int, domain: str) -> str:
    """The Message-ID of one recipient's message: the same every time it is built."""
    return f"<tandem.{send_id}.{record_id}@{domain}>"


def date_header() -> bytes:
    """A Date header for messages built now."""
    return f"Date: {formatdate(usegmt=True)}\r\n".encode()


def recipient_values(prepared: PreparedEmail, recipient: Recipient, token: str) -> dict[str, str]:
    """The values personalization strings draw on, built-ins included."""
    values = dict(recipient.values)
    values["emailaddr"] = recipient.email
    # A test send's record is keyed by its address; the chosen row may name the subscriber.
    for name in ("subscriberkey", "_subscriberkey"):
        if not prepared.is_test or name not in values:
            values[name] = recipient.subscriber_key
    values[TRACKING_FIELD] = prepared.tracking_base + token
    return values


def build_message(prepared: PreparedEmail, recipient: Recipient, date: bytes) -> bytes:
    """The complete RFC 5322 message for one recipient."""
    token = record_token(recipient.record_id)
    values = recipient_values(prepared, recipient, token)
    head = b"".join(
        (
            prepared.fixed_headers,
            date,
            b"To: ",
            recipient.email.encode("ascii", "strict"),
            b"\r\nSubject: ",
            _subject(prepared.subject.render(values)),
            b"\r\nMessage-ID: ",
            message_id(prepared.send_id, recipient.record_id, prepared.id_domain).encode(),
            b"\r\n" if prepared.is_test else _unsubscribe(prepared, token),
        )
    )
    return head + _body(prepared, values)


def _unsubscribe(prepared: PreparedEmail, token: str) -> bytes:
    return b"".join(
        (b"\r\nList-Unsubscribe: <", (prepared.tracking_base + token + "/u").encode(), b">\r\n")
    )


def _body(prepared: PreparedEmail, values: Mapping[str, str]) -> bytes:
    text = _part(b"text/plain", prepared.text.render(values)) if prepared.text else None
    rich = _part(b"text/html", prepared.html.render(values)) if prepared.html else None
    if text is None or rich is None:
        return text or rich or _part(b"text/plain", "")
    marker = b"--" + prepared.boundary
    return b"".join(
        (
            b'Content-Type: multipart/alternative; boundary="',
            prepared.boundary,
            b'"\r\n\r\n',
            marker,
            b"\r\n",
            text,
            b"\r\n",
            marker,
            b"\r\n",
            rich,
            b"\r\n",
            marker,
            b"--\r\n",
        )
    )


def _part(content_type: bytes, content: str) -> bytes:
    encoded = binascii.b2a_qp(content.encode("utf-8"), istext=True)
    return b"".join(
        (
            b"Content-Type: ",
            content_type,
            b'; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n',
            encoded,
        )
    )


def _one_line(text: str) -> str:
    """Header values never carry line breaks (no header injection)."""
    return _HEADER_BREAKS.sub(" ", text).strip()


def _subject(text: str) -> bytes:
    line = _one_line(text)
    if line.isascii() and len(line) < 900:
        return line.encode("ascii")
    return Header(line, "utf-8", header_name="Subject").encode().encode("ascii")
