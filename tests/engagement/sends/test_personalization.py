"""Personalization strings: compile once, render per recipient."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tandem.engagement.studio.personalization import PersonalizationError, compile_template


def test_renders_first_name_and_email_address() -> None:
    template = compile_template("Hi %%FirstName%%, this is %%emailaddr%%.", html=False)

    rendered = template.render({"FirstName": "Ada", "emailaddr": "ada@example.test"})

    assert rendered == "Hi Ada, this is ada@example.test."


def test_fields_lists_each_name_once() -> None:
    template = compile_template("%%A%% %%B%% %%A%%", html=False)

    assert template.fields == frozenset({"A", "B"})


def test_names_match_ignoring_case() -> None:
    template = compile_template("%%firstname%%", html=False)

    assert template.render({"FirstName": "Ada"}) == "Ada"


def test_a_column_name_with_spaces_is_a_name() -> None:
    template = compile_template("%%First Name%%", html=False)

    assert template.render({"First Name": "Ada"}) == "Ada"


def test_missing_value_renders_empty() -> None:
    template = compile_template("[%%Nickname%%]", html=False)

    assert template.render({}) == "[]"


def test_html_escapes_values() -> None:
    template = compile_template("<p>%%FirstName%%</p>", html=True)

    rendered = template.render({"FirstName": '<script>alert("x")</script>'})

    assert rendered == "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>"


def test_text_does_not_escape_values() -> None:
    template = compile_template("%%FirstName%%", html=False)

    assert template.render({"FirstName": "<b>&"}) == "<b>&"


def test_adjacent_strings_render() -> None:
    template = compile_template("%%A%%%%B%%", html=False)

    assert template.render({"A": "1", "B": "2"}) == "12"


def test_text_without_strings_is_static() -> None:
    template = compile_template("Hello 50% off", html=False)

    assert template.is_static
    assert template.render({"A": "x"}) == "Hello 50% off"


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("Hi %%FirstName", 3, "unclosed"),
        ("Hi %%%%", 3, "empty"),
        ("x %%1abc%% y", 2, "invalid"),
        ("%%First<Name%%", 0, "invalid"),
        ("%% FirstName%%", 0, "invalid"),
    ],
)
def test_malformed_strings_raise_with_position(text: str, position: int, words: str) -> None:
    with pytest.raises(PersonalizationError) as caught:
        compile_template(text, html=False)

    assert caught.value.position == position
    assert words in str(caught.value)


def test_an_overlong_name_is_refused() -> None:
    with pytest.raises(PersonalizationError):
        compile_template("%%" + "a" * 101 + "%%", html=False)


@given(st.text(alphabet=st.characters(blacklist_characters="%")))
def test_text_without_delimiters_renders_unchanged(text: str) -> None:
    assert compile_template(text, html=True).render({"x": "y"}) == text


@given(st.text())
def test_html_rendering_never_leaks_markup(value: str) -> None:
    template = compile_template("<p>%%V%%</p>", html=True)

    rendered = template.render({"V": value})

    assert "<" not in rendered[3:-4]
    assert ">" not in rendered[3:-4]
