"""API names (developer names): generated from a label, and validated (docs/reference/setup.md)."""

from __future__ import annotations

import re

MAX_LENGTH = 80
_OTHER_RUNS = re.compile(r"[^A-Za-z0-9]+")


def api_name_from_label(label: str) -> str:
    """Letters and digits kept, each run of other characters → one `_`, leading ones dropped,
    and a leading digit prefixed with `X` ("Marketing Cloud Connected App" →
    "Marketing_Cloud_Connected_App"). Trailing `_` and length are left to the validator.
    """
    name = _OTHER_RUNS.sub("_", label).lstrip("_")
    if name[:1].isdigit():
        name = "X" + name
    return name


def api_name_errors(name: str) -> list[str]:
    """Every rule the API name breaks (uniqueness in the org is checked by the service)."""
    if not name:
        return ["Enter an API name."]
    errors = []
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        errors.append("The API name can contain only letters, digits and underscores.")
    if not (name[0].isascii() and name[0].isalpha()):
        errors.append("The API name must begin with a letter.")
    if name.endswith("_"):
        errors.append("The API name can't end with an underscore.")
    if "__" in name:
        errors.append("The API name can't contain two consecutive underscores.")
    if len(name) > MAX_LENGTH:
        errors.append(f"The API name can't be longer than {MAX_LENGTH} characters.")
    return errors
