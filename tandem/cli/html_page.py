"""Just enough of a browser for `tandem demo --script`: a page's links, forms, tables and
dialogs read with the standard library's HTML parser, and a form filled in and submitted by
its visible labels, as an administrator would."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

_SPACE = re.compile(r"\s+")
_VOID = {"input", "br", "img", "hr", "meta", "link"}
_INLINE = {"a", "b", "code", "em", "i", "small", "span", "strong"}


def _text(value: str) -> str:
    return _SPACE.sub(" ", value).strip()


def _label(value: str) -> str:
    """A label as it reads, without the colon Django's label_tag appends."""
    return _text(value).removesuffix(":").strip()


@dataclass
class Control:
    """An input, select, textarea or button of a form."""

    tag: str
    name: str
    kind: str = "text"
    value: str = ""
    checked: bool = False
    id: str = ""
    label: str = ""
    options: list[tuple[str, str, bool]] = field(default_factory=list)  # value, text, selected


@dataclass
class Form:
    action: str
    method: str
    controls: list[Control] = field(default_factory=list)
    text: str = ""

    def buttons(self) -> list[Control]:
        return [c for c in self.controls if c.tag == "button" or c.kind == "submit"]

    def has_button(self, label: str) -> bool:
        return any(b.label == label for b in self.buttons())

    def control(self, label: str) -> Control:
        """The control whose label is `label` (for a radio or a checkbox: that choice)."""
        for control in self.controls:
            if control.label == label and control.tag != "button":
                return control
        raise LookupError(f"no field labelled {label!r}")

    def fill(self, label: str, value: str) -> None:
        self.control(label).value = value

    def choose(self, label: str) -> None:
        """Tick a checkbox, or select a radio button (the others of its group are cleared)."""
        chosen = self.control(label)
        if chosen.kind == "radio":
            for control in self.controls:
                if control.kind == "radio" and control.name == chosen.name:
                    control.checked = False
        chosen.checked = True

    def select(self, label: str, option_text: str) -> None:
        control = self.control(label)
        if not any(text == option_text for _value, text, _selected in control.options):
            raise LookupError(f"{label!r} offers no {option_text!r}")
        control.options = [(v, t, t == option_text) for v, t, _s in control.options]

    def data(self, button: str | None) -> dict[str, list[str]]:
        """What the browser sends when `button` is pressed (None: Enter in a search box)."""
        if button is not None and not self.has_button(button):
            raise LookupError(f"no button {button!r}")
        sent: dict[str, list[str]] = {}
        for control in self.controls:
            for value in _values(control, button):
                sent.setdefault(control.name, []).append(value)
        return sent


def _values(control: Control, button: str | None) -> list[str]:
    if not control.name:
        return []
    if control.tag == "button" or control.kind == "submit":
        return [control.value] if control.label == button else []
    if control.kind in ("checkbox", "radio"):
        return [control.value or "on"] if control.checked else []
    if control.tag == "select":
        chosen = [v for v, _t, s in control.options if s] or [
            v for v, _t, _s in control.options[:1]
        ]
        return chosen
    return [control.value]


@dataclass
class Page:
    """A parsed page: where it came from, its links, forms, tables and dialogs."""

    url: str
    links: list[tuple[str, str]] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    tables: dict[str, list[list[str]]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # element id -> its text
    dialogs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # role=status and role=alert texts
    h1: str = ""
    title: str = ""
    status: int = 200

    def link(self, label: str) -> str:
        """The absolute URL of the first link whose text is `label`."""
        for text, href in self.links:
            if text == label:
                return urljoin(self.url, href)
        raise LookupError(f"no link {label!r} on {self.url}")

    def form_with(self, label: str) -> Form:
        """The first form with a field labelled `label`."""
        for form in self.forms:
            if any(c.label == label and c.tag != "button" for c in form.controls):
                return form
        raise LookupError(f"no field {label!r} on {self.url}")

    def form(self, button: str) -> Form:
        """The first form with a button labelled `button`."""
        for form in self.forms:
            if form.has_button(button):
                return form
        raise LookupError(f"no button {button!r} on {self.url}")

    def form_url(self, form: Form) -> str:
        return urljoin(self.url, form.action or self.url)


class _Parser(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.form: Form | None = None
        self.open: list[dict[str, object]] = []  # elements whose text is being collected
        self.labels: list[tuple[str, str]] = []  # (for-id, text)
        self.label_stack: list[tuple[str, list[Control]]] = []
        self.select: Control | None = None
        self.option: tuple[str | None, bool] | None = None  # value (None: its text), selected
        self.table: str | None = None
        self.row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.form = Form(a.get("action", ""), a.get("method", "get").lower())
            self.page.forms.append(self.form)
        elif tag in ("input", "textarea", "select", "button"):
            self._control(tag, a)
        elif tag == "option" and self.select is not None:
            self.option = (a.get("value"), "selected" in a)
        elif tag == "label":
            self.label_stack.append((a.get("for", ""), []))
        elif tag == "table":
            self.table = a.get("id", "") or f"table{len(self.page.tables)}"
            self.page.tables[self.table] = []
        elif tag == "tr" and self.table is not None:
            self.row = []
        if tag not in _VOID:
            self.open.append({"tag": tag, "attrs": a, "text": []})

    def _control(self, tag: str, a: dict[str, str]) -> None:
        kind = a.get("type", "submit" if tag == "button" else "text").lower()
        control = Control(
            tag,
            a.get("name", ""),
            kind,
            a.get("value", ""),
            "checked" in a,
            a.get("id", ""),
            _label(a.get("aria-label", "")),
        )
        if tag == "select":
            self.select = control
        if self.form is not None:
            self.form.controls.append(control)
        for _for, inside in self.label_stack:
            inside.append(control)

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            element = self.open.pop()
            text = _text("".join(element["text"]))  # type: ignore[arg-type]
            if self.open:
                pad = "" if element["tag"] in _INLINE else " "
                self.open[-1]["text"].append(pad + text + pad)  # type: ignore[attr-defined]
            self._closed(str(element["tag"]), element["attrs"], text)  # type: ignore[arg-type]
            if element["tag"] == tag:
                break

    def _closed(self, tag: str, attrs: dict[str, str], text: str) -> None:
        if attrs.get("id"):
            self.page.texts[attrs["id"]] = text
        if attrs.get("role") in ("status", "alert"):
            self.page.notes.append(text)
        if tag == "h1" and not self.page.h1:
            self.page.h1 = text
        if tag == "a" and "href" in attrs:
            self.page.links.append((text, attrs["href"]))
        elif tag == "title":
            self.page.title = text
        elif tag == "dialog":
            self.page.dialogs.append(text)
        elif tag == "button" and self.form is not None:
            buttons = [c for c in self.form.controls if c.tag == "button"]
            if buttons:
                buttons[-1].label = text
        elif tag == "label" and self.label_stack:
            target, inside = self.label_stack.pop()
            self.labels.append((target, _label(text)))
            for control in inside:
                control.label = control.label or _label(text)
        elif tag == "option" and self.option is not None and self.select is not None:
            value, selected = self.option
            self.select.options.append((text if value is None else value, text, selected))
            self.option = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.form is not None:
            areas = [c for c in self.form.controls if c.tag == "textarea"]
            if areas:
                areas[-1].value = text
        elif tag in ("td", "th") and self.row is not None:
            self.row.append(text)
        elif tag == "tr" and self.row is not None and self.table is not None:
            self.page.tables[self.table].append(self.row)
            self.row = None
        elif tag == "table":
            self.table = None
        elif tag == "form" and self.form is not None:
            self.form.text = text
            self.form = None

    def handle_data(self, data: str) -> None:
        if self.open:
            self.open[-1]["text"].append(data)  # type: ignore[attr-defined]

    def labelled(self) -> None:
        """Give each control the text of the <label for> naming its id."""
        by_id = dict((target, text) for target, text in self.labels if target)
        for form in self.page.forms:
            for control in form.controls:
                if control.id in by_id and by_id[control.id] and control.tag != "button":
                    control.label = by_id[control.id]
                elif control.kind == "submit" and control.tag == "input" and not control.label:
                    control.label = control.value


def parse_page(url: str, html: str) -> Page:
    page = Page(url)
    parser = _Parser(page)
    parser.feed(html)
    parser.close()
    parser.labelled()
    return page
