"""Quoted-printable from escaped pieces is byte for byte what binascii.b2a_qp gives."""

from __future__ import annotations

import binascii

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tandem.engagement.sends import qp

# What moves soft breaks or escapes: dots, spaces and tabs (also before line ends), `=`,
# control bytes, NUL, DEL, multi-byte characters, line ends, and runs that cross 75/76 columns.
PIECES = st.sampled_from(
    [".", " ", "\t", "=", "\n", "\x00", "\x0b", "\x7f", "é", "€", "😀", "a", "Z", "<", "&"]
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
@example(text=".\x00")
@example(text="x" * 75 + "\t")
def test_escaped_then_wrapped_equals_b2a_qp(text: str) -> None:
    escaped = qp.escape(text)
    assert escaped is not None
    wrapped = qp.wrap(escaped)

    if wrapped is None:
        # Left to b2a_qp only where a dot starting a line comes before a NUL.
        assert ".\x00" in text
    else:
        assert wrapped == _b2a(text)


@given(left=TEXT, right=TEXT)
def test_pieces_escaped_apart_join_to_the_whole(left: str, right: str) -> None:
    assert qp.escape(left) + qp.escape(right) == qp.escape(left + right)  # type: ignore[operator]


def test_text_with_a_carriage_return_is_left_to_b2a_qp() -> None:
    assert qp.escape("a\r\nb") is None
    assert qp.escape("a\rb") is None
