"""Quoted-printable from pieces escaped once: what `binascii.b2a_qp(data, istext=True)` gives.

A personalized region is a long run of constant text with values between. b2a_qp re-reads all
of it for every recipient; here the constant pieces are escaped once per send, each value once
per recipient, and only the soft line breaks are placed per recipient. It covers text without a
carriage return or a NUL (the caller uses b2a_qp otherwise).

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
    None when it holds a carriage return or a NUL (b2a_qp escapes a `.` starting a line
    before a NUL, which moves the soft breaks)."""
    data = text.encode("utf-8")
    if _NEEDS_ESCAPE.search(data) is None:
        return data
    if b"\r" in data or b"\x00" in data:
        return None
    escaped = _ESCAPED
    return b"".join([escaped[byte] for byte in data])


def wrap(escaped: bytes) -> bytes:
    """The escaped text with b2a_qp's soft line breaks, line ends as LF."""
    return _wrap(escaped, b"\n")


def wire(escaped: bytes) -> bytes:
    """`wrap(escaped)` as SMTP DATA carries text that starts a line: line ends and soft breaks
    CRLF, a `.` that starts a line doubled (RFC 5321 §4.5.2)."""
    data = _LINE_START_DOT.sub(b"\n..", _wrap(escaped, b"\r\n"))
    return b"." + data if data[:1] == b"." else data


_LINE_START_DOT = re.compile(rb"\n\.")  # a regex search: twice as fast as `in` here


def _wrap(escaped: bytes, line_end: bytes) -> bytes:
    """The escaped text soft-broken, its line ends and soft breaks written with `line_end`."""
    soft_break = b"=" + line_end
    if b"\n" not in escaped:
        return _wrap_line(escaped, True, soft_break)
    lines = escaped.split(b"\n")
    last = len(lines) - 1
    return line_end.join(
        [_wrap_line(line, index == last, soft_break) for index, line in enumerate(lines)]
    )


def _wrap_line(line: bytes, ends_text: bool, soft_break: bytes) -> bytes:
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
        line = _soft_break(line, soft_break)
    if tail in _WHITESPACE_ESCAPED:
        # Before a line end: written plain, then escaped in place (no re-wrap).
        return line[:-1] + _WHITESPACE_ESCAPED[tail]
    return line


# The pieces of a soft-broken line: 75 characters, or 74 or 73 where an `=XX` would be split
# (escapes are the only `=`, and never two in a row); then what is left, under 73 characters.
# Matched by the regex engine, not a loop.
_FULL = MAX_LINE - 2
_PIECE = re.compile(rb".{%d}[^=]{0,2}|.+" % _FULL, re.DOTALL)


def _soft_break(line: bytes, soft_break: bytes) -> bytes:
    """`line` (longer than MAX_LINE) with soft breaks. The regex cuts pieces while 73
    characters are left; the loop of b2a_qp stops earlier, when the rest fits on one line (or
    is a 76th single character), which only the last full piece can change."""
    pieces = _PIECE.findall(line)
    left = pieces[-1]
    if len(left) < _FULL:
        rest = len(pieces[-2]) + len(left)
        if rest <= MAX_LINE or (rest == MAX_LINE + 1 and _single_at_end(line)):
            pieces[-2:] = [pieces[-2] + left]
    return soft_break.join(pieces)


def _single_at_end(line: bytes) -> bool:
    return line[-2] != _EQUALS and line[-3] != _EQUALS
