"""`tandem demo --script`: the upgrade to Connected App authentication, performed unattended
against the running demo through the pages an administrator uses, in the documented order.

Two browsers (HTTP clients with their own cookies, forms posted with their CSRF tokens): the
Engagement admin's, which also logs in to the CRM as the system user when Connect sends it there
(steps 1-11), and the CRM admin's (steps 12-23). Then the users Connect could not reconnect at
step 10 are reconnected by Connect's periodic retry, with no action in Engagement, and a test
email is sent through Connect. Every step prints its number, its label and what happened; the
exit code is 0 only if every step held.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from rich.console import Console

from tandem.cli.demo_crm import read_demo_json
from tandem.cli.errors import CliError
from tandem.cli.html_page import Form, Page, parse_page
from tandem.crm.permissions.api_names import api_name_from_label
from tandem.inbox.maildir import StoredMessage, list_messages

APP = "Salesforce Marketing Cloud"
PERMISSION_SET = "Marketing Cloud Connected App"
CONNECTED = "Connected (Connected App)"
RETRY_WAIT_SECONDS = 180.0
INBOX_WAIT_SECONDS = 60.0
AGAIN = "`tandem demo --reset` returns the demo to legacy for another rehearsal"
OUTSIDER = "olga@acme.demo"  # the demo's user the CRM admin does not pre-authorize


class StepFailed(Exception):
    """A step did not hold; its message says what was seen instead."""


class _LocalNames(httpx.BaseTransport):
    """`localhost` and `*.localhost` (the org's My Domain) reach 127.0.0.1, as in Chromium; the
    Host header keeps the name, so each service sees the host the browser asked for."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host == "localhost" or host.endswith(".localhost"):
            request = httpx.Request(
                request.method,
                request.url.copy_with(host="127.0.0.1"),
                headers=request.headers,
                stream=request.stream,
                extensions=request.extensions,
            )
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class Browser:
    """One person's browser: cookies, redirects followed, pages parsed."""

    def __init__(self) -> None:
        self.client = httpx.Client(transport=_LocalNames(), follow_redirects=True, timeout=60)

    def get(self, url: str) -> Page:
        return self._page(self.client.get(url))

    def submit(self, page: Page, form: Form, button: str | None) -> Page:
        data = form.data(button)
        url = page.form_url(form)
        if form.method == "get":
            return self._page(self.client.get(url, params=data))
        return self._page(self.client.post(url, data=data, headers={"Referer": page.url}))

    def _page(self, response: httpx.Response) -> Page:
        if response.status_code >= 500:
            raise StepFailed(f"{response.request.url} answered {response.status_code}")
        page = parse_page(str(response.url), response.text)
        page.status = response.status_code
        return page

    def close(self) -> None:
        self.client.close()


def log_in(browser: Browser, login_url: str, username: str, password: str) -> Page:
    page = browser.get(login_url)
    form = page.form("Log In")
    form.fill("Username", username)
    form.fill("Password", password)
    done = browser.submit(page, form, "Log In")
    if "/login/" in urlsplit(done.url).path:
        raise StepFailed(f"{username} could not log in at {login_url}")
    return done


def _has(page: Page, button: str) -> bool:
    return any(form.has_button(button) for form in page.forms)


@dataclass
class Rehearsal:
    """The state carried from step to step."""

    demo: dict[str, Any]
    mail_dir: Path
    engagement: Browser = field(default_factory=Browser)
    crm_admin: Browser = field(default_factory=Browser)
    page: Page | None = None
    refused: list[str] = field(default_factory=list)
    assigned: list[str] = field(default_factory=list)

    @property
    def crm(self) -> dict[str, Any]:
        return self.demo["crm"]

    def crm_user(self, role: str) -> dict[str, Any]:
        return next(u for u in self.crm["users"] if u["role"] == role)

    @property
    def current(self) -> Page:
        assert self.page is not None
        return self.page

    def click(self, browser: Browser, label: str) -> Page:
        self.page = browser.get(self.current.link(label))
        return self.page

    def press(self, browser: Browser, button: str, form: Form | None = None) -> Page:
        chosen = form or self.current.form(button)
        self.page = browser.submit(self.current, chosen, button)
        return self.page


Step = tuple[str, str, Callable[[Rehearsal], str]]


def _expect(condition: bool, seen: str) -> None:
    if not condition:
        raise StepFailed(seen)


# --- Before the upgrade -----------------------------------------------------------------------


def schedule_outage(r: Rehearsal) -> str:
    admin = next(u for u in r.demo["engagement"]["users"] if u["role"] == "administrator")
    r.page = log_in(
        r.engagement, r.demo["engagement"]["login_url"], admin["username"], admin["password"]
    )
    r.page = r.engagement.get(_engagement(r, "/email/admin/salesforce-integration/"))
    mode = r.current.texts.get("mode")
    _expect(mode == "Legacy", f"authentication mode {mode!r}, not Legacy: {AGAIN}")
    form = r.current.form("Schedule Outage")
    start = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")
    form.fill("Start (UTC)", start)
    form.fill("Duration (hours)", "2")
    r.press(r.engagement, "Schedule Outage", form)
    _expect("Outage scheduled." in _notes(r.current), _notes(r.current) or r.current.url)
    return f"2 hours from {start} UTC; CRM-audience sends fail (or are held) meanwhile"


def _engagement(r: Rehearsal, path: str) -> str:
    return str(r.demo["engagement"]["url"]).rstrip("/") + path


def _notes(page: Page) -> str:
    return " ".join(page.notes)


# --- Engagement admin: steps 1-11 --------------------------------------------------------------


def step_email_studio(r: Rehearsal) -> str:
    r.click(r.engagement, "Email Studio")
    _expect(r.current.h1 == "Email Studio", r.current.h1)
    return r.current.url


def step_admin(r: Rehearsal) -> str:
    r.click(r.engagement, "Admin")
    return r.current.url


def step_integration(r: Rehearsal) -> str:
    r.click(r.engagement, "Salesforce Integration")
    mode = r.current.texts.get("mode", "")
    _expect(mode == "Legacy", f"authentication mode {mode!r}, not Legacy: {AGAIN}")
    users = [row for row in r.current.tables.get("connected-users", [])[1:] if row[1]]
    legacy = [row for row in users if row[2] == "Connected (legacy)"]
    return f"mode Legacy, {len(legacy)} users connected under legacy authentication"


def step_upgrade(r: Rehearsal) -> str:
    r.click(r.engagement, "Upgrade to Connected App")
    _expect(r.current.h1 == "Upgrade to Connected App", r.current.h1)
    return "what the upgrade changes"


def step_connect_account(r: Rehearsal) -> str:
    r.click(r.engagement, "Connect Account")
    _expect(_has(r.current, "Continue"), "no acknowledgement")
    return "the acknowledgement: what changes, the outage, the active-session warning, My Domain"


def step_acknowledge(r: Rehearsal) -> str:
    form = r.current.form("Continue")
    form.choose("I understand what changes, and that Connect is unavailable during the upgrade.")
    form.choose("Log in again to the CRM (ignore a CRM session this browser already has)")
    r.press(r.engagement, "Continue", form)
    host = urlsplit(r.current.url).netloc
    _expect(_has(r.current, "Log In"), f"no CRM login at {r.current.url}")
    return f"the account is upgrading; the CRM asks for a login at {host}"


def step_crm_login(r: Rehearsal) -> str:
    system = r.crm_user("system_user")
    form = r.current.form("Log In")
    form.fill("Username", system["username"])
    form.fill("Password", system["password"])
    r.press(r.engagement, "Log In", form)
    asked = _has(r.current, "Allow")
    _expect(asked or _has(r.current, "Connect"), f"neither consent nor Connect: {r.current.url}")
    return f"logged in as {system['username']}" + (
        f"; the CRM asks to allow {APP}" if asked else ""
    )


def step_allow(r: Rehearsal) -> str:
    if not _has(r.current, "Allow"):
        return "not asked (the system user approved the app before, or is pre-authorized)"
    r.press(r.engagement, "Allow")
    _expect(_has(r.current, "Connect"), f"not back at Connect: {r.current.url}")
    return "back in Engagement: the org and the system user checked"


def step_migrate_users(r: Rehearsal) -> str:
    form = r.current.form("Connect")
    form.choose("Migrate Existing Users")
    return "ticked"


def step_connect(r: Rehearsal) -> str:
    r.press(r.engagement, "Connect")
    mode = r.current.texts.get("mode", "")
    _expect(mode == "Connected App", f"authentication mode {mode!r}")
    return "the account uses the Connected App"


RESULTS_WAIT_SECONDS = 300


def _results_awaited(r: Rehearsal) -> None:
    """While the worker migrates, the popup says how far it is; a person's browser polls and
    reloads the page for the results, and so does the script."""
    deadline = time.monotonic() + RESULTS_WAIT_SECONDS
    while "Migrating" in r.current.texts.get("migration-results-summary", ""):
        _expect(time.monotonic() < deadline, "the migration did not finish in 5 minutes")
        time.sleep(0.5)
        r.page = r.engagement.get(r.current.url)


def step_results(r: Rehearsal) -> str:
    _expect(bool(r.current.dialogs), "no results popup")
    _results_awaited(r)
    failures = r.current.tables.get("migration-failures", [])[1:]
    r.refused = [row[1] for row in failures]
    summary = r.current.texts.get("migration-results-summary", "")
    reasons = "; ".join(f"{row[1]}: {row[2]}" for row in failures)
    form = r.current.form("OK")
    if form.method != "dialog":
        r.press(r.engagement, "OK", form)
    return f"{summary} {reasons} → OK".strip()


# --- CRM admin: steps 12-23 -------------------------------------------------------------------


def step_setup(r: Rehearsal) -> str:
    admin = r.crm_user("admin")
    r.page = log_in(r.crm_admin, r.crm["org"]["login_url"], admin["username"], admin["password"])
    r.click(r.crm_admin, "Setup")
    return f"{admin['username']} on {urlsplit(r.current.url).netloc}"


def _quick_find(r: Rehearsal, words: str) -> str:
    form = r.current.form_with("Quick Find")
    form.fill("Quick Find", words)
    r.page = r.crm_admin.submit(r.current, form, None)
    r.click(r.crm_admin, words)
    _expect(r.current.h1 == words, r.current.h1)
    return f"Quick Find {words!r} → {words}"


def step_quick_find_apps(r: Rehearsal) -> str:
    return _quick_find(r, "Connected Apps")


def step_app(r: Rehearsal) -> str:
    r.click(r.crm_admin, APP)
    _expect(r.current.h1 == APP, r.current.h1)
    return "the app's page (listed since Connect first used it)"


def step_edit(r: Rehearsal) -> str:
    r.click(r.crm_admin, "Edit")
    _expect(_has(r.current, "Save"), "no policy form")
    return r.current.h1


def _choose(r: Rehearsal, label: str) -> str:
    r.current.form("Save").choose(label)
    return "selected"


def step_save_policies(r: Rehearsal) -> str:
    r.press(r.crm_admin, "Save")
    _expect(r.current.h1 == APP, f"not saved: {r.current.h1} {_notes(r.current)}")
    return "the app's OAuth policies saved (recorded in Setup Audit Trail)"


def step_quick_find_permsets(r: Rehearsal) -> str:
    return _quick_find(r, "Permission Sets")


def step_new_permission_set(r: Rehearsal) -> str:
    r.click(r.crm_admin, "New")
    form = r.current.form("Save")
    api_name = api_name_from_label(PERMISSION_SET)  # what the page generates as the label is typed
    form.fill("Label", PERMISSION_SET)
    form.fill("API Name", api_name)
    r.press(r.crm_admin, "Save", form)
    _expect(r.current.h1 == PERMISSION_SET, f"not created: {r.current.h1} {_notes(r.current)}")
    return f"{PERMISSION_SET} (API Name {api_name})"


def step_assign(r: Rehearsal) -> str:
    r.click(r.crm_admin, "Manage Assignments")
    r.click(r.crm_admin, "Add Assignments")
    form = r.current.form("Assign")
    offered = {control.label for control in form.controls if control.kind == "checkbox"}
    # The system user and every Connect user the page offers (active users only), but the one
    # the demo's CRM admin leaves out, so that a refusal remains to be seen.
    chosen = [
        u
        for u in r.crm["users"]
        if u["role"] in ("system_user", "marketing_user")
        and u["username"] != OUTSIDER
        and u["name"] in offered
    ]
    for user in chosen:
        form.choose(user["name"])
    r.press(r.crm_admin, "Assign", form)
    _expect(r.current.h1 == "Assignment Summary", r.current.h1)
    r.assigned = [u["username"] for u in chosen]
    r.click(r.crm_admin, "Done")
    return "assigned " + ", ".join(r.assigned) + " → Done"


def step_link_permission_set(r: Rehearsal) -> str:
    _quick_find(r, "Connected Apps")
    r.click(r.crm_admin, APP)
    r.click(r.crm_admin, "Manage Permission Sets")
    form = r.current.form("Save")
    form.choose(PERMISSION_SET)
    r.press(r.crm_admin, "Save", form)
    _expect(r.current.h1 == APP, f"not saved: {r.current.h1} {_notes(r.current)}")
    return f"{APP} ← {PERMISSION_SET}"


STEPS: list[Step] = [
    ("0", "Schedule Outage", schedule_outage),
    ("1", "Email Studio", step_email_studio),
    ("2", "Admin", step_admin),
    ("3", "Salesforce Integration", step_integration),
    ("4", "Upgrade to Connected App", step_upgrade),
    ("5", "Connect Account", step_connect_account),
    ("6", "Acknowledge the changes and begin the upgrade", step_acknowledge),
    ("7", "Log in to the CRM as the system user", step_crm_login),
    ("8", "Allow", step_allow),
    ("9", "Migrate Existing Users", step_migrate_users),
    ("10", "Connect", step_connect),
    ("11", "Results popup → OK", step_results),
    ("12", "Setup", step_setup),
    ("13", "Quick Find: Connected Apps", step_quick_find_apps),
    ("14", APP, step_app),
    ("15", "Edit", step_edit),
    (
        "16",
        "Admin approved users are pre-authorized",
        lambda r: _choose(r, "Admin approved users are pre-authorized"),
    ),
    ("17", "Relax IP restrictions", lambda r: _choose(r, "Relax IP restrictions")),
    (
        "18",
        "Immediately expire refresh token",
        lambda r: _choose(r, "Immediately expire refresh token"),
    ),
    ("19", "Save", step_save_policies),
    ("20", "Quick Find: Permission Sets", step_quick_find_permsets),
    ("21", f"New: {PERMISSION_SET} → Save", step_new_permission_set),
    ("22", "Manage Assignments → Add Assignments → Assign → Done", step_assign),
    ("23", "Manage Permission Sets → Save", step_link_permission_set),
]


def run_steps(r: Rehearsal, steps: list[Step], console: Console) -> bool:
    """Run `steps` in order, printing each; stop at the first that does not hold."""
    for number, label, run in steps:
        try:
            outcome = run(r)
        except (StepFailed, LookupError, httpx.HTTPError) as exc:
            console.print(
                f"{number:>3}  {label}: [red]FAILED[/] {exc}", soft_wrap=True, highlight=False
            )
            return False
        console.print(
            f"{number:>3}  {label}: [green]ok[/] {outcome}", soft_wrap=True, highlight=False
        )
    return True


def run_script(path: Path, console: Console, retry_now: Callable[[], None]) -> int:
    """The whole procedure against the running demo described by demo.json at `path` (its
    inbox beside it, in mail/)."""
    r = Rehearsal(read_demo_json(path), path.parent / "mail")
    steps = [
        *STEPS,
        (
            "24",
            "Auto-connection of the refused users (periodic retry)",
            lambda r: step_auto_connection(r, retry_now),
        ),
        ("25", "Send Test Email", step_test_email),
    ]
    try:
        held = run_steps(r, steps, console)
    finally:
        r.engagement.close()
        r.crm_admin.close()
    console.print("[green]Every step held.[/]" if held else "[red]A step did not hold.[/]")
    return 0 if held else 1


def step_auto_connection(r: Rehearsal, retry_now: Callable[[], None]) -> str:
    expected = [name for name in r.refused if name in r.assigned]
    try:
        retry_now()  # the periodic retry, run by the worker now; returns once it has finished
    except CliError as exc:
        raise StepFailed(str(exc)) from exc
    deadline = time.monotonic() + RETRY_WAIT_SECONDS
    while True:
        r.page = r.engagement.get(_engagement(r, "/email/admin/salesforce-integration/"))
        rows = {row[1]: row for row in r.current.tables.get("connected-users", [])[1:] if row[1]}
        waiting = [name for name in expected if rows.get(name, ["", "", ""])[2] != CONNECTED]
        if not waiting:
            break
        if time.monotonic() > deadline:
            raise StepFailed("not reconnected: " + ", ".join(waiting))
        time.sleep(1)
    others = [
        f"{name}: {rows[name][2]} ({rows[name][3]})"
        for name in r.refused
        if name not in expected and name in rows
    ]
    return f"reconnected {', '.join(expected)}; still refused: {'; '.join(others) or 'none'}"


def step_test_email(r: Rehearsal) -> str:
    email = r.demo["engagement"].get("email", {}).get("name", "")
    before = {m.key for m in list_messages(r.mail_dir)} if r.mail_dir.exists() else set()
    form = r.current.form("Send Test Email")
    form.select("Email", email)
    r.press(r.engagement, "Send Test Email", form)
    status = _notes(r.current)
    sent = re.search(r"Test email sent to (\S+);", status)
    _expect(sent is not None, status or r.current.url)
    assert sent is not None
    address = sent.group(1)
    deadline = time.monotonic() + INBOX_WAIT_SECONDS
    while not [m for m in _new_mail(r.mail_dir, before) if address in m.recipients]:
        if time.monotonic() > deadline:
            raise StepFailed(f"{status} But nothing for {address} arrived in {r.mail_dir}.")
        time.sleep(0.5)
    return f"{status} It is in the inbox ({r.mail_dir})."


def _new_mail(mail_dir: Path, before: set[str]) -> list[StoredMessage]:
    if not mail_dir.exists():
        return []
    return [m for m in list_messages(mail_dir) if m.key not in before]
