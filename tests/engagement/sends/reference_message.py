"""The message builder as it was before the wire-form builder, kept as the reference it must
match byte for byte: render every part whole, encode it whole, then let the SMTP client put it
in DATA form (what aiosmtplib 5.1 did: CRLF line ends, a final CRLF, leading dots doubled)."""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping

from tandem.engagement.sends.message import (
    PreparedEmail,
    Recipient,
    message_id,
    recipient_values,
    subject_header,
)
from tandem.engagement.sends.tracking import record_token

LINE_ENDINGS_REGEX = re.compile(rb"(?:\r\n|\n|\r(?!\n))")
PERIOD_REGEX = re.compile(rb"(?m)^\.")


def build_message(prepared: PreparedEmail, recipient: Recipient, date: bytes) -> bytes:
    """The complete RFC 5322 message for one recipient (before DATA encoding)."""
    token = record_token(recipient.record_id)
    values = recipient_values(prepared, recipient, token)
    head = b"".join(
        (
            prepared.fixed_headers,
            date,
            b"To: ",
            recipient.email.encode("ascii", "strict"),
            b"\r\nSubject: ",
            subject_header(prepared.subject.render(values)),
            b"\r\nMessage-ID: ",
            message_id(prepared.send_id, recipient.record_id, prepared.id_domain).encode(),
            b"\r\n" if prepared.is_test else _unsubscribe(prepared, token),
        )
    )
    return head + _body(prepared, values)


def data_form(message: bytes) -> bytes:
    """What the SMTP client sent after DATA for `message`."""
    message = LINE_ENDINGS_REGEX.sub(b"\r\n", message)
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    return PERIOD_REGEX.sub(b"..", message) + b".\r\n"


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
