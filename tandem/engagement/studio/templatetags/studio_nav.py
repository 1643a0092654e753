"""The Email Studio navigation: one link per section, marked when the page is inside it."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_link(context: template.Context, path: str, label: str) -> SafeString:
    """A link to `path`, with aria-current when the current page lives under it."""
    request = context.get("request")
    current = request is not None and request.path.startswith(path)
    if current:
        return format_html('<a href="{}" aria-current="page" class="current">{}</a>', path, label)
    return format_html('<a href="{}">{}</a>', path, label)
