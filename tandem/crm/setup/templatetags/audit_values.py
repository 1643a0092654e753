"""`{{ value|audit_value }}`: an audited old or new value as compact JSON."""

from __future__ import annotations

import json

from django import template

register = template.Library()


@register.filter
def audit_value(value: object) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
