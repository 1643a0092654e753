"""Quoted-printable from pieces escaped once: what `binascii.b2a_qp(data, istext=True)` gives.

A personalized region is a long run of constant text with values between. b2a_qp re-reads all
of it for every recipient; here the constant pieces are escaped once per send, each value once
per recipient, and only the soft line breaks are placed per recipient. It covers text without a
carriage return (the caller uses b2a_qp otherwise, and where `wrap` answers None).

b2a_qp's rules, for text (RFC 2045 §6.7): bytes above 126, `=` and control bytes other than tab
and line feed become `=XX`; a line holds at most 75 characters before a soft break `=`, and an
`=XX` is never split; the last character of a line may be the 76th; a space or tab that ends a
line is written `=20`/`=09` (without re-wrapping), one that ends the text is escaped like any
other; a `.` alone on a line, or at the start of one and followed by a NUL, is escaped.
"""

from __future__ import annotations

import re

MAX_LINE = 75  # characters before a soft break
_EQUALS = 61
_NEEDS_ESCAPE = re.compile(rb"[\x00-\x08\x0b-\x1f=\x7f-\xff]")
_ESCAPED = [bytes([byte]) for byte in range(256)]
for _byte in (*range(0, 9), *range(11, 32), _EQUALS, *range(127, 256)):
    _ESCAPED[_byte] = b"=%02X" % _byte
_WHITESPACE_ESCAPED = {32: b"=20", 9: b"=09"}


def escape(text: str) -> bytes | None:
    """The UTF-8 of `text` with every byte that must be escaped as `=XX` (no soft breaks);
    None when it holds a carriage return."""
    if "\r" in text:
        return None
    data = text.encode("utf-8")
    if _NEEDS_ESCAPE.search(data) is None:
        return data
    escaped = _ESCAPED
    return b"".join([escaped[byte] for byte in data])


def wrap(escaped: bytes) -> bytes | None:
    """The escaped text with b2a_qp's soft line breaks, line ends as LF; None for the one case
    left to b2a_qp (a `.` starting a line before a NUL, whose escape would move the breaks)."""
    if b".=00" in escaped:
        return None
    lines = escaped.split(b"\n")
    last = len(lines) - 1
    return b"\n".join([_wrap_line(line, index == last) for index, line in enumerate(lines)])


def _wrap_line(line: bytes, ends_text: bool) -> bytes:
    """One line of escaped text, soft-broken; `ends_text`: no line end follows it."""
    if not line:
        return line
    if line == b".":
        return b"=2E"
    tail = line[-1]
    if tail in _WHITESPACE_ESCAPED and ends_text:
        # Escaped like any byte (so it may move to the next line).
        line = line[:-1] + _WHITESPACE_ESCAPED[tail]
        tail = -1
    if len(line) > MAX_LINE:
        line = _soft_break(line)
    if tail in _WHITESPACE_ESCAPED:
        # Before a line end: written plain, then escaped in place (no re-wrap).
        return line[:-1] + _WHITESPACE_ESCAPED[tail]
    return line


def _single_at_end(line: bytes) -> bool:
    return line[-2] != _EQUALS and line[-3] != _EQUALS


# One piece of a soft-broken line: 75 characters, or 74 or 73 where an `=XX` would be split
# (escapes are the only `=`, and never two in a row). Matched by the regex engine, not a loop.
_PIECE = re.compile(rb".{%d}(?:[^=]{2}|[^=]?)" % (MAX_LINE - 2), re.DOTALL)


def _soft_break(line: bytes) -> bytes:
    """`line` (longer than MAX_LINE) with soft breaks. The regex cuts pieces while 73
    characters are left; the loop of b2a_qp stops earlier, when the rest fits on one line (or
    is a 76th single character), which only the last piece can change."""
    pieces = _PIECE.findall(line)
    size = len(line)
    matched = sum(map(len, pieces))
    last_start = matched - len(pieces[-1])
    rest = size - last_start
    if rest <= MAX_LINE or (rest == MAX_LINE + 1 and _single_at_end(line)):
        pieces[-1] = line[last_start:]
    else:
        pieces.append(line[matched:])
    return b"=\n".join(pieces)
