"""`{% setup_menu %}`: the Setup left menu with its Quick Find box."""

from __future__ import annotations

from typing import Any

from django import template

from tandem.crm.setup.menu import sections

register = template.Library()


@register.inclusion_tag("crm/setup/_menu.html", takes_context=True)
def setup_menu(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    current = request.path if request is not None else ""
    return {"sections": sections(), "current": current}
