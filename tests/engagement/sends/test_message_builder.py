"""The wire-form builder sends exactly the bytes the reference builder and the SMTP client sent."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tandem.engagement.sends.message import Recipient, build_wire, date_header, prepare_email
from tandem.engagement.studio.models import Email
from tests.engagement.sends.reference_message import build_message, data_form

NAMES = ("FirstName", "City", "firstname", "Missing", "emailaddr")
# Characters that matter to quoted-printable, line ends and dot-stuffing, and some plain ones.
TRICKY = st.sampled_from(
    [".", " ", "\t", "=", "\r", "\n", "\r\n", "é", "€", "😀", "a", "Z", "-", "<", '"', "&", "\x00"]
)
LONG = st.integers(min_value=1, max_value=160).map(lambda n: "x" * n)
TEXT = st.lists(st.one_of(TRICKY, LONG), max_size=30).map("".join)
LINKS = st.sampled_from(['<a href="https://shop.test/a?b=1">', "</body>", "<p>", "\n.\n"])
SLOT = st.sampled_from(NAMES).map(lambda name: f"%%{name}%%")
TEMPLATE = st.lists(st.one_of(TEXT, SLOT, LINKS), max_size=12).map("".join)
VALUES = st.fixed_dictionaries({"FirstName": TEXT, "City": TEXT})


def _email(subject: str, text: str, html: str) -> Email:
    return Email(
        name="Generated",
        subject=subject,
        from_name="Shop",
        from_address="news@shop.test",
        text_body=text,
        html_body=html,
    )


def _both(email: Email, values: dict[str, str], *, is_test: bool = False) -> tuple[bytes, bytes]:
    prepared = prepare_email(send_id=7, email=email, is_test=is_test)
    recipient = Recipient(41, "S41", "ada@example.test", values)
    date = date_header()
    return build_wire(prepared, recipient, date), data_form(
        build_message(prepared, recipient, date)
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=TEMPLATE, text=TEMPLATE, html=TEMPLATE, values=VALUES, is_test=st.booleans())
@example(subject="Hi", text=".\n.x\n", html="", values={}, is_test=False)
@example(subject="Hi", text="a\r", html="b\r", values={}, is_test=False)
@example(
    subject="%%City%%", text="x" * 75 + ".%%City%%", html="", values={"City": "."}, is_test=True
)
@example(subject="", text="%%City%%\n", html="", values={"City": "a\rb\r\n.c \n"}, is_test=False)
def test_wire_builder_matches_the_reference_byte_for_byte(
    subject: str, text: str, html: str, values: dict[str, str], is_test: bool
) -> None:
    new, old = _both(_email(subject, text, html), values, is_test=is_test)

    assert new == old


def test_the_benchmark_email_matches_and_parses() -> None:
    html = "<html><body>" + "<p>Dear %%FirstName%% in %%City%%.</p>" * 30 + "</body></html>"
    text = "Dear %%FirstName%%,\n" + "What is new in %%City%%.\n" * 30
    email = _email("Offers, %%FirstName%%", text, html)

    new, old = _both(email, {"FirstName": "Zoë", "City": "Zürich"})

    assert new == old
    parsed = BytesParser(policy=policy.default).parsebytes(new[: -len(b".\r\n")])
    assert parsed["Subject"] == "Offers, Zoë"
    body = parsed.get_body(("plain",))
    assert body is not None
    assert "What is new in Zürich." in body.get_content()


def test_only_lines_with_slots_are_rendered_per_recipient() -> None:
    email = _email("S", "static line\nHi %%FirstName%%\nanother static line\n", "")
    prepared = prepare_email(send_id=1, email=email, is_test=True)

    (text_part,) = [piece for piece in prepared.body if not isinstance(piece, bytes)]
    text_regions = text_part.regions

    assert [region.template is not None for region in text_regions] == [False, True, False]
    assert text_regions[0].wire == b"static line\r\n"
    assert text_regions[2].wire == b"another static line\r\n"
