"""Quoted-printable from escaped pieces is byte for byte what binascii.b2a_qp gives."""

from __future__ import annotations

import binascii

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tandem.engagement.sends import qp
from tandem.engagement.sends.message import to_wire

# What moves soft breaks or escapes: dots, spaces and tabs (also before line ends), `=`,
# control bytes, DEL, multi-byte characters, line ends, and runs that cross 75/76 columns.
PIECES = st.sampled_from(
    [".", " ", "\t", "=", "\n", "\x01", "\x0b", "\x7f", "é", "€", "😀", "a", "Z", "<", "&"]
)
RUNS = st.integers(min_value=1, max_value=160).map(lambda n: "x" * n)
TEXT = st.lists(st.one_of(PIECES, RUNS), max_size=40).map("".join)


def _b2a(text: str) -> bytes:
    return binascii.b2a_qp(text.encode("utf-8"), istext=True)


@settings(max_examples=3000, deadline=None)
@given(text=TEXT)
@example(text="x" * 75 + " ")
@example(text="x" * 75 + " \nz")
@example(text="x" * 74 + " \n")
@example(text="x" * 75)
@example(text="x" * 76)
@example(text="x" * 77)
@example(text="x" * 74 + "é")
@example(text="x" * 73 + "é" + "\n")
@example(text="x" * 75 + ".")
@example(text="\n.\n.")
@example(text="x" * 75 + "\t")
@example(text="x" * 74 + "=" + "x" * 75)
@example(text="x" * 73 + "=" + "x" * 76)
@example(text="x" * 150 + "=")
@example(text="x" * 148 + "=x")
@example(text="x" * 147 + "=xx")
def test_escaped_then_wrapped_equals_b2a_qp(text: str) -> None:
    escaped = qp.escape(text)
    assert escaped is not None

    assert qp.wrap(escaped) == _b2a(text)


@settings(max_examples=3000, deadline=None)
@given(text=TEXT)
@example(text=".")
@example(text=".x")
@example(text="a\n.b\n..")
@example(text="x" * 75 + ".x")
@example(text="x" * 75 + "." + "x" * 75 + ".\n.")
def test_wire_form_equals_wrapped_then_put_on_the_wire(text: str) -> None:
    escaped = qp.escape(text)
    assert escaped is not None

    assert qp.wire(escaped) == to_wire(qp.wrap(escaped))


@given(left=TEXT, right=TEXT)
def test_pieces_escaped_apart_join_to_the_whole(left: str, right: str) -> None:
    assert qp.escape(left) + qp.escape(right) == qp.escape(left + right)  # type: ignore[operator]


def test_text_with_a_carriage_return_or_a_nul_is_left_to_b2a_qp() -> None:
    # b2a_qp escapes a dot starting a line before a NUL, which moves the soft breaks.
    assert _b2a(".\x00") == b"=2E=00"
    assert qp.escape("a\r\nb") is None
    assert qp.escape("a\rb") is None
    assert qp.escape("a\x00b") is None
