"""The API-name generator and validator of docs/reference/setup.md."""

from __future__ import annotations

import pytest

from tandem.crm.permissions.api_names import api_name_errors, api_name_from_label

LETTERS = "The API name can contain only letters, digits and underscores."
STARTS = "The API name must begin with a letter."
TRAILING = "The API name can't end with an underscore."
DOUBLE = "The API name can't contain two consecutive underscores."
LONG = "The API name can't be longer than 80 characters."


@pytest.mark.parametrize(
    ("label", "api_name"),
    [
        ("Marketing Cloud Connected App", "Marketing_Cloud_Connected_App"),
        ("Marketing Cloud Connector Admin", "Marketing_Cloud_Connector_Admin"),
        ("A  -  B", "A_B"),  # a run of other characters → one underscore
        ("  Leading spaces", "Leading_spaces"),  # leading non-alphanumerics dropped
        ("--__Sales", "Sales"),
        ("2024 Campaign", "X2024_Campaign"),  # leading digit → X prefix
        ("Café Owners", "Caf_Owners"),  # non-ASCII letters are "other characters"
        ("Trailing!", "Trailing_"),  # trailing underscore left for the validator
        ("already_snake_case", "already_snake_case"),
        ("", ""),
        ("!!!", ""),
    ],
)
def test_api_name_from_label(label: str, api_name: str) -> None:
    assert api_name_from_label(label) == api_name


@pytest.mark.parametrize(
    ("name", "errors"),
    [
        ("Marketing_Cloud_Connected_App", []),
        ("X2024_Campaign", []),
        ("a", []),
        ("A" * 80, []),
        ("Bad__Name_", [TRAILING, DOUBLE]),
        ("Has Space", [LETTERS]),
        ("Dash-Name", [LETTERS]),
        ("1Starts_With_Digit", [STARTS]),
        ("_Leading", [STARTS]),
        ("Ends_", [TRAILING]),
        ("Two__Underscores", [DOUBLE]),
        ("A" * 81, [LONG]),
        ("Café", [LETTERS]),
        ("9 bad__", [LETTERS, STARTS, TRAILING, DOUBLE]),
        ("", ["Enter an API name."]),
    ],
)
def test_api_name_errors_lists_every_violation(name: str, errors: list[str]) -> None:
    assert api_name_errors(name) == errors


@pytest.mark.parametrize(
    "label",
    ["Marketing Cloud Connected App", "2 for 1", "x", "Sales & Service - EMEA", "a-b c_d"],
)
def test_generated_names_of_clean_labels_pass_the_validator(label: str) -> None:
    assert api_name_errors(api_name_from_label(label)) == []
