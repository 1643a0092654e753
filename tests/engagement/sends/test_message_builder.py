"""The wire-form builder sends exactly the bytes the reference builder and the SMTP client sent."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tandem.engagement.sends.message import (
    MEMO_SIZE,
    PreparedEmail,
    Recipient,
    build_wire,
    date_header,
    prepare_email,
)
from tandem.engagement.studio.models import Email
from tests.engagement.sends.reference_message import build_message, data_form

NAMES = ("FirstName", "City", "firstname", "Missing", "emailaddr")
# Characters that matter to quoted-printable, line ends, dot-stuffing and HTML escaping, and
# some plain ones.
TRICKY = st.sampled_from(
    [".", " ", "\t", "=", "\r", "\n", "\r\n", "\x00", "é", "€", "😀", "a", "Z", "-", *"<>\"'&"]
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
@example(subject="", text="", html="%%City%%", values={"City": "O'Neil & <Sons>"}, is_test=True)
@example(subject="%%City%% " * 9, text="", html="", values={"City": "Zürich"}, is_test=False)
@example(subject="S", text="a\n%%City%%", html="", values={"City": ""}, is_test=True)
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


POOL = st.lists(VALUES, min_size=1, max_size=4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEMPLATE, html=TEMPLATE, pool=POOL, picks=st.lists(st.integers(0, 3), max_size=12))
def test_memoized_regions_match_the_reference_for_every_recipient(
    text: str, html: str, pool: list[dict[str, str]], picks: list[int]
) -> None:
    # One prepared email for many recipients, values repeating: a region built from the memo
    # is byte for byte what the reference builds for that recipient.
    prepared = prepare_email(send_id=7, email=_email("S %%City%%", text, html), is_test=False)
    date = date_header()
    for number, pick in enumerate(picks):
        recipient = Recipient(number, f"S{number}", "ada@example.test", pool[pick % len(pool)])
        expected = data_form(build_message(prepared, recipient, date))

        assert build_wire(prepared, recipient, date) == expected


def _memo_of(prepared: PreparedEmail, names: frozenset[str]) -> Any:
    for piece in prepared.body:
        for region in () if isinstance(piece, bytes) else piece.regions:
            if region.template is not None and frozenset(region.template.names) == names:
                assert region.memo is not None
                return region.memo
    raise AssertionError(f"no region uses exactly {sorted(names)}")


def test_lines_are_memoized_by_the_names_they_use() -> None:
    text = "Dear %%FirstName%%,\n" + "News from %%City%%.\n" * 3 + "Bye\n"
    prepared = prepare_email(send_id=1, email=_email("S", text, ""), is_test=True)
    date = date_header()

    for number in range(5):
        values = {"FirstName": f"Name{number}", "City": "Zürich"}
        build_wire(prepared, Recipient(number, "k", "a@example.test", values), date)

    city = _memo_of(prepared, frozenset({"City"}))
    assert city.hits == 4
    assert city.encoded == {("Zürich",): b"News from Z=C3=BCrich.\r\n" * 3}
    assert _memo_of(prepared, frozenset({"FirstName"})).hits == 0


def test_a_memo_that_is_never_reused_stops_and_one_that_pays_starts_afresh() -> None:
    text = "Dear %%FirstName%%,\nNews from %%City%%.\n"
    prepared = prepare_email(send_id=1, email=_email("S", text, ""), is_test=True)
    date = date_header()
    # Every name is new (never reused); every city comes three times in a row (reused twice).
    for number in range(3 * MEMO_SIZE + 1):
        values = {"FirstName": f"Name{number}", "City": f"City{number // 3}"}
        build_wire(prepared, Recipient(number, "k", "a@example.test", values), date)

    assert _memo_of(prepared, frozenset({"FirstName"})).encoded is None
    city = _memo_of(prepared, frozenset({"City"}))
    # Full after MEMO_SIZE cities: emptied, then holds the one city that came after.
    assert city.encoded == {(f"City{MEMO_SIZE}",): f"News from City{MEMO_SIZE}.\r\n".encode()}
