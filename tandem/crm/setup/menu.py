"""The Setup menu: each app registers its pages in its AppConfig.ready()."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class MenuEntry:
    """One Setup page: its visible label, URL name and section heading."""

    label: str
    url_name: str
    section: str

    @property
    def url(self) -> str:
        try:
            return reverse(self.url_name)
        except NoReverseMatch:
            return "#"


REGISTRY: dict[str, MenuEntry] = {}


def register(label: str, url_name: str, section: str) -> None:
    """Add (or replace, keyed by label) a Setup page; safe to call twice."""
    REGISTRY[label] = MenuEntry(label=label, url_name=url_name, section=section)


def entries() -> list[MenuEntry]:
    """Every entry, by section then label."""
    return sorted(REGISTRY.values(), key=lambda e: (e.section.lower(), e.label.lower()))


def sections() -> list[tuple[str, list[MenuEntry]]]:
    """Entries grouped by section, for the left menu."""
    grouped: dict[str, list[MenuEntry]] = {}
    for entry in entries():
        grouped.setdefault(entry.section, []).append(entry)
    return list(grouped.items())


def matching(query: str) -> list[MenuEntry]:
    """Entries whose label or section contains `query` (case-insensitive), as Quick Find does."""
    needle = query.strip().lower()
    return [e for e in entries() if needle in e.label.lower() or needle in e.section.lower()]
