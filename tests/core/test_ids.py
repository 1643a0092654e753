"""Salesforce-style 18-character record ids."""

from __future__ import annotations

import pytest

from tandem.core.ids import KEY_PREFIXES, id18, is_valid_id, new_id, to_18


# Published Salesforce pairs (salesforce.stackexchange.com question 27686 and client libraries).
@pytest.mark.parametrize(
    ("id15", "id18"),
    [
        ("001A0000006Vm9r", "001A0000006Vm9rIAC"),
        ("003A0000005QB3A", "003A0000005QB3AIAW"),
        ("003A0000008qb1s", "003A0000008qb1sIAA"),
        ("006E200000aIb6Z", "006E200000aIb6ZIAS"),
        # worked by hand: no uppercase → AAA; every character uppercase → mask 31 → "5"
        ("000000000000000", "000000000000000AAA"),
        ("AAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAA555"),
    ],
)
def test_to_18_appends_salesforce_checksum(id15: str, id18: str) -> None:
    assert to_18(id15) == id18


@pytest.mark.parametrize("bad", ["", "001A0000006Vm9", "001A0000006Vm9rI", "001A0000006Vm9-"])
def test_to_18_refuses_anything_but_15_alphanumerics(bad: str) -> None:
    with pytest.raises(ValueError):
        to_18(bad)


@pytest.mark.parametrize("prefix", sorted(KEY_PREFIXES.values()))
def test_new_id_has_prefix_length_and_valid_checksum(prefix: str) -> None:
    made = new_id(prefix)

    assert len(made) == 18
    assert made.startswith(prefix)
    assert is_valid_id(made, prefix)


def test_new_ids_differ() -> None:
    assert len({new_id("005") for _ in range(200)}) == 200


@pytest.mark.parametrize(
    ("value", "prefix", "valid"),
    [
        ("001A0000006Vm9rIAC", None, True),
        ("001A0000006Vm9rIAC", "001", True),
        ("001A0000006Vm9rIAC", "005", False),
        ("001A0000006Vm9rIAD", None, False),  # wrong checksum
        ("001a0000006Vm9rIAC", None, False),  # case changed: checksum no longer matches
        ("001A0000006Vm9r", None, False),  # 15 characters
        ("001A0000006Vm9rIA!", None, False),
        (None, None, False),
    ],
)
def test_is_valid_id(value: object, prefix: str | None, valid: bool) -> None:
    assert is_valid_id(value, prefix) is valid


def test_key_prefixes_cover_the_crm_entities() -> None:
    assert KEY_PREFIXES["org"] == "00D"
    assert KEY_PREFIXES["user"] == "005"
    assert KEY_PREFIXES["profile"] == "00e"
    assert KEY_PREFIXES["permission_set"] == "0PS"
    assert KEY_PREFIXES["connected_app"] == "0H4"
    assert KEY_PREFIXES["setup_audit_trail"] == "0Ym"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("001A0000006Vm9r", "001A0000006Vm9rIAC"),
        (" 001A0000006Vm9r ", "001A0000006Vm9rIAC"),
        ("003000000000001AAA", "003000000000001AAA"),  # 18 characters: kept as given
    ],
)
def test_id18_gives_the_18_character_form(value: str, expected: str) -> None:
    assert id18(value) == expected


@pytest.mark.parametrize("value", ["", "001A0000006Vm9", "001A0000006Vm9rI", "001A0000006Vm9-"])
def test_id18_refuses_what_is_not_a_15_or_18_character_id(value: str) -> None:
    with pytest.raises(ValueError, match="not a 15-character record id"):
        id18(value)
