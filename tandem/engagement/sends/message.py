"""Build each recipient's MIME message, as sent in SMTP DATA, from parts prepared once per send.

Everything that does not depend on the recipient is encoded once per send, in its final form on
the wire: quoted-printable, CRLF line ends, leading dots doubled (RFC 5321 §4.5.2). A body is cut
into regions of whole lines, neighbouring lines sharing a region when they use the same names; a
region without personalization slots is bytes, prepared once; a region with slots is rendered
per recipient and only it is encoded, and its encoding is memoized by its values while they
repeat (a city, an offer code). Quoted-printable keeps no
state across a line end, so the regions encode independently and their bytes join to exactly
what encoding the whole rendered body at once gives (tests/engagement/sends/test_message_builder.py
compares with the reference builder on generated templates and values).
"""

from __future__ import annotations

import binascii
import html
import operator
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate
from typing import Any, NamedTuple, TypeVar

from django.conf import settings

from tandem.engagement.sends import qp
from tandem.engagement.sends.tracking import record_token
from tandem.engagement.studio.models import Email
from tandem.engagement.studio.personalization import CompiledTemplate, compile_template

TRACKING_FIELD = "_tandem_t"
RESERVED_PREFIX = "_tandem"
BUILTIN_FIELDS = frozenset({"emailaddr", "subscriberkey", "_subscriberkey"})
_LINK = re.compile(r"""(\bhref\s*=\s*)(["'])(https?://[^"'\s>]+)\2""", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_HEADER_BREAKS = re.compile(r"[\r\n\t]+")
# What SMTP clients do to a message before DATA: every line end is CRLF (a lone CR or LF too).
_LINE_ENDS = re.compile(rb"\r\n|\n|\r(?!\n)")
_HTML_SPECIAL = re.compile("[&<>\"']")
_QP_HEADERS = b'; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
END_OF_DATA = b".\r\n"


T = TypeVar("T", str, bytes)


class Recipient(NamedTuple):
    """What the builder needs of one send record (a tuple: a batch makes a thousand)."""

    record_id: int
    subscriber_key: str
    email: str
    values: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Slots:
    """Lines with personalization slots: their literals with a gap for each slot, and which
    name fills each slot."""

    parts: tuple[str, ...]  # literals at even indexes, a gap ("") at odd ones
    names: tuple[str, ...]  # each name once, in order of first use
    html: bool
    # `parts` quoted-printable escaped once (qp.escape); None when a literal holds a CR or NUL.
    escaped: tuple[bytes, ...] | None
    # By operator.itemgetter (no Python loop): the values of `names` out of a recipient's, and
    # per slot its name's value out of those.
    lookup: Callable[[Mapping[str, str]], tuple[str, ...]]
    pick: Callable[[Sequence[Any]], tuple[Any, ...]]

    @classmethod
    def of(cls, parts: list[str], html: bool) -> Slots:
        names = tuple(dict.fromkeys(parts[1::2]))
        order = tuple(names.index(part) for part in parts[1::2])
        gapped = list(parts)
        gapped[1::2] = [""] * len(order)
        escaped = _all_or_none(tuple(map(qp.escape, gapped)))
        return cls(tuple(gapped), names, html, escaped, _picker(names), _picker(order))

    def encode(self, values: tuple[str, ...]) -> bytes | None:
        """The region in wire form from its escaped literals and values, or None where only
        b2a_qp of the rendered text is exact (a CR or a NUL)."""
        parts = self.escaped
        if parts is None:
            return None
        escaped = _all_or_none(tuple(map(_escape_html if self.html else qp.escape, values)))
        if escaped is None:
            return None
        return qp.wire(b"".join(self._fill(parts, escaped)))

    def values(self, filled: _Filled) -> tuple[str, ...]:
        """The value of each name (not yet escaped for HTML: encode and render do that)."""
        return self.lookup(filled)

    def render(self, values: tuple[str, ...]) -> str:
        if self.html:
            values = tuple(html.escape(value, quote=True) for value in values)
        return "".join(self._fill(self.parts, values))

    def _fill(self, parts: tuple[T, ...], values: Sequence[T]) -> list[T]:
        """`parts` with each slot's value in its gap, by slice assignment (no format string
        parsed per recipient)."""
        out = list(parts)
        out[1::2] = self.pick(values)
        return out


def _picker(keys: tuple[Any, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """operator.itemgetter(*keys), answering a tuple for one key too."""
    if len(keys) == 1:
        (key,) = keys
        return lambda items: (items[key],)
    return operator.itemgetter(*keys)


def _escape_html(value: str) -> bytes | None:
    """qp.escape of the value escaped for HTML (html.escape changes only `&<>"'`)."""
    if not value.isalnum() and _HTML_SPECIAL.search(value) is not None:
        value = html.escape(value, quote=True)
    return qp.escape(value)


def _all_or_none(items: tuple[bytes | None, ...]) -> tuple[bytes, ...] | None:
    return None if None in items else items  # type: ignore[return-value]


# Looks values up as personalization does (exact name, then ignoring case), without escaping.
_PLAIN = CompiledTemplate(parts=("",), html=False)


class _Filled(dict[str, str]):
    """One recipient's values by name. A name that is not one of them is looked up as
    personalization does (ignoring case, else "") once, then kept: as it comes after the
    recipient's own names, a later lookup finds what it would without it."""

    __slots__ = ()

    def __missing__(self, name: str) -> str:
        value = self[name] = _PLAIN.value(name, self)
        return value


class _Memo:
    """A region's encoded bytes by its values, while that pays: a field with few distinct
    values (a city, an offer) is encoded once per value; a unique one (a name) stops the memo
    after MEMO_SIZE entries that were never reused."""

    __slots__ = ("encoded", "hits")

    def __init__(self) -> None:
        self.encoded: dict[tuple[str, ...], bytes] | None = {}
        self.hits = 0

    def get(self, key: tuple[str, ...]) -> bytes | None:
        encoded = self.encoded
        if encoded is None:
            return None
        found = encoded.get(key)
        if found is not None:
            self.hits += 1
        return found

    def put(self, key: tuple[str, ...], wire: bytes) -> None:
        encoded = self.encoded
        if encoded is None:
            return
        if len(encoded) >= MEMO_SIZE:
            # Full: keep memoizing (afresh) only if it was reused more often than not.
            reused, self.hits = self.hits > MEMO_SIZE, 0
            if not reused:
                self.encoded = None
                return
            encoded = self.encoded = {}
        encoded[key] = wire


MEMO_SIZE = 256


@dataclass(frozen=True, slots=True)
class Region:
    """Whole lines of a body: `wire` bytes when nothing in them varies, else their slots and
    the memo of their encodings."""

    wire: bytes
    template: Slots | None
    memo: _Memo | None = None


@dataclass(frozen=True, slots=True)
class PreparedPart:
    """A text or HTML part's regions, and the whole template for text holding a lone CR.

    Quoted-printable writes every line end as the text's first one (CRLF or LF); a lone CR
    just before a line end is then one line end on the wire or two. Only there does a region's
    encoding depend on the rest of the part, so such a part is encoded whole.
    """

    regions: tuple[Region, ...]
    template: CompiledTemplate
    lone_cr: bool


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
    # The body in wire form: constant bytes and the regions of the text and HTML parts.
    body: tuple[bytes | PreparedPart, ...]


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
    text = compile_template(email.text_body, html=False) if email.text_body else None
    rich = compile_template(html_body, html=True) if html_body else None
    return PreparedEmail(
        send_id=send_id,
        sender=email.from_address,
        fixed_headers=("\r\n".join(fixed) + "\r\n").encode(),
        subject=compile_template(email.subject, html=False),
        text=text,
        html=rich,
        boundary=boundary,
        id_domain=id_domain,
        tracking_base=str(settings.ENGAGEMENT_URL or "").rstrip("/") + "/t/",
        links=links,
        is_test=is_test,
        body=prepare_body(text, rich, boundary),
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


def build_wire(prepared: PreparedEmail, recipient: Recipient, date: bytes) -> bytes:
    """One recipient's message as DATA carries it, ending with the final `.` line.

    `date` is a wire-form Date header line (date_header()).
    """
    token = record_token(recipient.record_id)
    values = recipient_values(prepared, recipient, token)
    head = b"".join(
        (
            b"To: ",
            recipient.email.encode("ascii", "strict"),
            b"\r\nSubject: ",
            subject_header(prepared.subject.render(values)),
            b"\r\nMessage-ID: ",
            message_id(prepared.send_id, recipient.record_id, prepared.id_domain).encode(),
            b"\r\n" if prepared.is_test else _unsubscribe(prepared, token),
        )
    )
    # Already in wire form unless a value brought a line end of its own (a folded subject):
    # then there are more LFs or CRs than the head's own line ends.
    line_ends = 3 if prepared.is_test else 4
    if head.count(b"\n") != line_ends or head.count(b"\r") != line_ends:
        head = to_wire(head)
    out = [prepared.fixed_headers, date, head]
    filled = _Filled(values)
    for piece in prepared.body:
        if isinstance(piece, bytes):
            out.append(piece)
        else:
            out.extend(_render_part(piece, filled))
    ending = out[-1] or b"".join(out)  # the last piece, or all when that is empty
    out.append(END_OF_DATA if ending.endswith(b"\r\n") else b"\r\n" + END_OF_DATA)
    return b"".join(out)


def prepare_body(
    text: CompiledTemplate | None, rich: CompiledTemplate | None, boundary: bytes
) -> tuple[bytes | PreparedPart, ...]:
    """The body's constant bytes and regions, in the order they are sent."""
    if text is None or rich is None:
        only = text or rich
        kind = b"text/plain" if only is None or only is text else b"text/html"
        head = b"Content-Type: " + kind + _QP_HEADERS
        return (head, prepare_part(only)) if only is not None else (head,)
    marker = b"--" + boundary
    return (
        b'Content-Type: multipart/alternative; boundary="'
        + boundary
        + b'"\r\n\r\n'
        + marker
        + b"\r\nContent-Type: text/plain"
        + _QP_HEADERS,
        prepare_part(text),
        b"\r\n" + marker + b"\r\nContent-Type: text/html" + _QP_HEADERS,
        prepare_part(rich),
        b"\r\n" + marker + b"--\r\n",
    )


def prepare_part(template: CompiledTemplate) -> PreparedPart:
    """A part's regions, encoded where constant."""
    literal = "".join(template.parts[::2])
    return PreparedPart(regions(template), template, _has_lone_cr(literal))


def regions(template: CompiledTemplate) -> tuple[Region, ...]:
    """Cut a template into runs of whole lines, each either constant or holding slots.

    Every run but the last ends with a line end of the template's own text, so each starts a
    line: its encoding does not depend on what came before it. Neighbouring lines share a run
    when they use the same names, so a run's encoding depends on those names' values only.
    """
    lines: list[tuple[frozenset[str], list[str]]] = []  # (names used, literal/name parts)
    current: list[str] = [""]
    for index, part in enumerate(template.parts):
        if index % 2:
            current.extend((part, ""))
            continue
        *complete, rest = part.split("\n")
        for piece in complete:
            current[-1] += piece + "\n"
            lines.append((frozenset(current[1::2]), current))
            current = [""]
        current[-1] += rest
    if current != [""]:
        lines.append((frozenset(current[1::2]), current))
    return tuple(_merge(lines, template.html))


def _merge(lines: list[tuple[frozenset[str], list[str]]], html: bool) -> list[Region]:
    """Join neighbouring lines that use the same names into one region."""
    merged: list[tuple[frozenset[str], list[str]]] = []
    for names, parts in lines:
        if merged and merged[-1][0] == names:
            last = merged[-1][1]
            last[-1] += parts[0]
            last.extend(parts[1:])
        else:
            merged.append((names, list(parts)))
    out = []
    for names, parts in merged:
        if names:
            out.append(Region(b"", Slots.of(parts, html), _Memo()))
        else:
            out.append(Region(_encode("".join(parts)), None))
    return out


def _render_part(part: PreparedPart, filled: _Filled) -> list[bytes]:
    """The part's bytes: constant regions as prepared, the others rendered and encoded."""
    if part.lone_cr:
        return [_encode(part.template.render(filled))]
    out = []
    for region in part.regions:
        slots, memo = region.template, region.memo
        if slots is None or memo is None:
            out.append(region.wire)
            continue
        values = slots.values(filled)
        wire = memo.get(values)
        if wire is None:
            wire = slots.encode(values) or _encode_rendered(slots.render(values))
            if wire is None:
                return [_encode(part.template.render(filled))]
            memo.put(values, wire)
        out.append(wire)
    return out


def _encode_rendered(text: str) -> bytes | None:
    """b2a_qp of a rendered region; None when a lone CR makes it depend on the whole part."""
    if "\r" in text and _has_lone_cr(text):
        return None
    return _encode(text)


def _has_lone_cr(text: str) -> bool:
    return text.count("\r") != text.count("\r\n")


def _encode(text: str) -> bytes:
    """Quoted-printable, in wire form, of text that starts a line."""
    return to_wire(binascii.b2a_qp(text.encode("utf-8"), istext=True))


def to_wire(data: bytes) -> bytes:
    """CRLF line ends and doubled leading dots, for bytes that start a line (no regex unless
    the content holds a lone CR)."""
    if b"\r" in data:
        crlf = data.replace(b"\r\n", b"\n")
        data = _LINE_ENDS.sub(b"\r\n", data) if b"\r" in crlf else crlf.replace(b"\n", b"\r\n")
    else:
        data = data.replace(b"\n", b"\r\n")
    if b"\n." in data:
        data = data.replace(b"\n.", b"\n..")
    if data[:1] == b".":
        data = b"." + data
    return data


def _unsubscribe(prepared: PreparedEmail, token: str) -> bytes:
    return b"".join(
        (b"\r\nList-Unsubscribe: <", (prepared.tracking_base + token + "/u").encode(), b">\r\n")
    )


def _one_line(text: str) -> str:
    """Header values never carry line breaks (no header injection)."""
    if "\r" in text or "\n" in text or "\t" in text:
        text = _HEADER_BREAKS.sub(" ", text)
    return text.strip()


def subject_header(text: str) -> bytes:
    line = _one_line(text)
    if line.isascii() and len(line) < 900:
        return line.encode("ascii")
    return Header(line, "utf-8", header_name="Subject").encode().encode("ascii")
