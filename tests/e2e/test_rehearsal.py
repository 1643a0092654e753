"""The whole upgrade to Connected App authentication in a real browser, in the documented order,
on the demo as `make demo` leaves it (`tandem demo`: real CRM, Engagement, worker and inbox).

The account starts on legacy authentication with five previously connected users. The
Engagement admin schedules the outage, then does steps 1-11 in a browser that already holds
another CRM user's session (the CRM's page names that user: the admin notices and switches to
the system user). The results popup is a modal dialog closed by OK, and the migration files in
My Documents are read cell by cell. The CRM admin then does steps 12-23 in their own browser.
Connect's periodic retry reconnects the users the CRM now pre-authorizes, with nobody acting in
Engagement, and Send Test Email reaches the inbox with its IndividualEmailResult in the CRM.
Every step leaves a screenshot under var/test/screenshots/rehearsal/.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tandem.core.paths import PROJECT_ROOT
from tandem.inbox.maildir import list_messages
from tests.conftest import SCREENSHOTS
from tests.e2e.demo_tools import demo_json, running_demo
from tests.e2e.stack import RunningStack
from tests.e2e.upgrade_flow import tool
from tests.e2e.waiting import wait_for

pytestmark = pytest.mark.e2e

SHOTS = SCREENSHOTS / "rehearsal"
APP = "Salesforce Marketing Cloud"
PERMISSION_SET = "Marketing Cloud Connected App"
COLUMNS = [
    "engagement_username",
    "crm_username",
    "crm_user_id",
    "status",
    "error_code",
    "error_message",
    "attempted_at",
]
NOT_APPROVED = ["invalid_grant", "user hasn't approved this consumer"]
INACTIVE = ["inactive_user", "user is inactive"]
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
TIMEOUT = 30_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_demo(tmp_path_factory.mktemp("rehearsal")) as stack:
        yield stack


class Shots:
    """A screenshot of every step, kept as NN-label.png."""

    def __init__(self) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        for old in SHOTS.glob("*.png"):
            old.unlink()
        self.taken: list[Path] = []

    def __call__(self, page: Page, number: int, label: str) -> None:
        name = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        path = SHOTS / f"{number:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)


def browser_of(browser: Any) -> Page:
    """A person's own browser (cookies of their own)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT)
    return context.new_page()  # type: ignore[no-any-return]


def log_in(page: Page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log In").click()
    page.wait_for_url(re.compile(r"^(?!.*/login/)"))


def users_by_role(demo: RunningStack) -> tuple[dict[str, Any], dict[str, Any]]:
    saved = demo_json(demo)
    crm = {
        u["role"] if u["role"] != "marketing_user" else u["username"]: u
        for u in saved["crm"]["users"]
    }
    engagement = {u["crm_username"] or "admin": u for u in saved["engagement"]["users"]}
    return crm, engagement


def integration(page: Page) -> None:
    expect(page.get_by_role("heading", name="Salesforce Integration", exact=True)).to_be_visible()


def user_states(page: Page) -> dict[str, str]:
    rows = page.locator("#connected-users tbody tr").all()
    cells = [row.locator("td").all_inner_texts() for row in rows]
    return {c[1]: c[2] for c in cells if len(c) > 2 and c[1]}


def read_csv(page: Page, name: str) -> list[list[str]]:
    """Open the file in Content → My Documents and read it as CSV."""
    page.get_by_role("link", name=name, exact=True).click()
    href = page.get_by_role("link", name="Download").get_attribute("href")
    assert href is not None
    body = page.request.get(urljoin(page.url, href))
    assert body.ok
    page.go_back()
    return list(csv.reader(io.StringIO(body.text())))


@dataclass
class Rehearsal:
    """Who is where: the Engagement admin's browser, the CRM admin's, the demo's logins."""

    demo: RunningStack
    admin: Page
    crm: Page
    shots: Shots
    crm_users: dict[str, Any]
    eng_users: dict[str, Any]

    @property
    def password(self) -> str:
        return str(self.crm_users["admin"]["password"])

    @property
    def my_domain(self) -> str:
        return f"http://acme.my.localhost:{urlsplit(self.demo.crm_url).port}"

    @property
    def studio(self) -> str:
        return f"http://localhost:{urlsplit(self.demo.engagement_url).port}"


def test_the_seed_procedure_in_a_browser(demo: RunningStack, browser: Any) -> None:
    crm_users, eng_users = users_by_role(demo)
    r = Rehearsal(demo, browser_of(browser), browser_of(browser), Shots(), crm_users, eng_users)

    legacy_then_outage(r)
    engagement_steps_1_to_11(r)
    migration_files_cell_by_cell(r)
    crm_admin_steps_12_to_23(r)
    refused_users_reconnected_automatically(r)
    send_test_email(r)

    taken = sorted(int(path.name[:2]) for path in r.shots.taken)
    assert sorted(set(taken)) == list(range(26))
    assert all(path.stat().st_size > 0 for path in r.shots.taken)


def legacy_then_outage(r: Rehearsal) -> None:
    """Legacy, as the demo comes, in a browser holding another user's CRM session; then
    Schedule Outage, two hours from now."""
    admin = r.admin
    log_in(admin, f"{r.my_domain}/login/", "maria@acme.demo", r.password)
    log_in(admin, f"{r.studio}/login/", r.eng_users["admin"]["username"], r.password)
    admin.goto(f"{r.studio}/email/admin/salesforce-integration/")
    integration(admin)
    expect(admin.locator("#mode")).to_have_text("Legacy")
    assert set(user_states(admin).values()) == {"Connected (legacy)"}
    assert len(user_states(admin)) == 5
    r.shots(admin, 0, "legacy")
    start = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")
    admin.get_by_label("Start (UTC)").fill(start)
    expect(admin.get_by_label("Duration (hours)")).to_have_value("2")
    admin.get_by_role("button", name="Schedule Outage").click()
    expect(admin.get_by_role("status").filter(has_text="Outage scheduled.")).to_be_visible()
    r.shots(admin, 0, "schedule outage")


def engagement_steps_1_to_11(r: Rehearsal) -> None:
    admin = r.admin
    admin.get_by_role("link", name="Email Studio", exact=True).first.click()
    expect(admin.get_by_role("heading", name="Email Studio", exact=True)).to_be_visible()
    r.shots(admin, 1, "email studio")
    admin.get_by_role("navigation", name="Email Studio").get_by_role("link", name="Admin").click()
    r.shots(admin, 2, "admin")
    admin.get_by_role("link", name="Salesforce Integration").click()
    integration(admin)
    r.shots(admin, 3, "salesforce integration")
    admin.get_by_role("link", name="Upgrade to Connected App").click()
    r.shots(admin, 4, "upgrade to connected app")
    admin.get_by_role("link", name="Connect Account").click()
    expect(admin.get_by_text("Active session warning.")).to_be_visible()
    r.shots(admin, 5, "connect account")
    admin.get_by_label("I understand").check()
    admin.get_by_label("Log in again").uncheck()  # this admin keeps the browser's CRM session
    r.shots(admin, 6, "acknowledge")
    admin.get_by_role("button", name="Continue").click()
    crm_login_noticing_another_user(r)
    expect(admin.get_by_text("as mc-system@acme.demo, the system user")).to_be_visible()
    admin.get_by_label("Migrate Existing Users").check()
    r.shots(admin, 9, "migrate existing users")
    admin.get_by_role("button", name="Connect", exact=True).click()
    r.shots(admin, 10, "connect")
    results_popup(r)


def crm_login_noticing_another_user(r: Rehearsal) -> None:
    """Steps 7-8: the CRM (on the org's My Domain) uses the open session and names its user;
    the admin switches to the system user, then Allows."""
    admin = r.admin
    expect(admin.get_by_role("heading", name="Allow Access?")).to_be_visible()
    assert urlsplit(admin.url).hostname == "acme.my.localhost"
    expect(admin.get_by_text("maria@acme.demo")).to_be_visible()
    r.shots(admin, 7, "the crm names another user")
    admin.get_by_role("button", name="Not you? Log in as someone else").click()
    admin.get_by_label("Username").fill("mc-system@acme.demo")
    admin.get_by_label("Password").fill(r.password)
    r.shots(admin, 7, "log in as the system user")
    admin.get_by_role("button", name="Log In").click()
    expect(admin.get_by_role("heading", name="Allow Access?")).to_be_visible()
    expect(admin.get_by_text("mc-system@acme.demo")).to_be_visible()
    r.shots(admin, 8, "allow")
    admin.get_by_role("button", name="Allow").click()


def results_popup(r: Rehearsal) -> None:
    """Step 11: a modal dialog; while the worker migrates the users it says how far it is
    (its poll reloads the page when the run is done); then the results: before the CRM
    admin's steps nobody is pre-authorized, so each user is refused with the CRM's reason.
    OK closes it."""
    admin = r.admin
    expect(admin.get_by_role("dialog")).to_be_visible()  # the progress, or already the results
    dialog = admin.get_by_role("dialog", name="Migrate Existing Users: results")
    expect(dialog).to_be_visible(timeout=120_000)
    expect(dialog).to_contain_text("0 users reconnected, 5 failed.")
    failures = dialog.locator("#migration-failures tbody tr")
    expect(failures).to_have_count(5)
    reasons = {
        row.locator("td").nth(1).inner_text(): row.locator("td").nth(2).inner_text()
        for row in failures.all()
    }
    assert reasons["ivan@acme.demo"] == "inactive_user: user is inactive"
    assert reasons["olga@acme.demo"] == "invalid_grant: user hasn't approved this consumer"
    r.shots(admin, 11, "results popup")
    dialog.get_by_role("button", name="OK").click()
    expect(admin.get_by_role("dialog")).to_have_count(0)
    # The dialog's close event (queued after it closes) drops ?run= from the address.
    expect(admin).not_to_have_url(re.compile(r"[?&]run="))
    expect(admin.locator("#mode")).to_have_text("Connected App")
    r.shots(admin, 11, "ok")


def migration_files_cell_by_cell(r: Rehearsal) -> None:
    """Content → My Documents: the day's success file (header only) and failures file."""
    admin = r.admin
    admin.get_by_role("link", name="Content").click()
    admin.get_by_role("link", name="My Documents").first.click()
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    r.shots(admin, 11, "my documents")
    success = read_csv(admin, f"{day}_migrationsuccess.csv")
    failed = read_csv(admin, f"{day}_migrationfailures.csv")
    assert success == [COLUMNS]
    assert failed[0] == COLUMNS
    expected = {
        name: INACTIVE if name == "ivan@acme.demo" else NOT_APPROVED
        for name in (
            "ivan@acme.demo",
            "maria@acme.demo",
            "mark@acme.demo",
            "mina@acme.demo",
            "olga@acme.demo",
        )
    }
    assert sorted(row[1] for row in failed[1:]) == sorted(expected)
    for row in failed[1:]:
        assert row[0] == r.eng_users[row[1]]["username"]
        assert row[2] == r.crm_users[row[1]]["user_id"]
        assert row[3] == "failure"
        assert row[4:6] == expected[row[1]]
        assert ISO_UTC.fullmatch(row[6]), row


def crm_admin_steps_12_to_23(r: Rehearsal) -> None:
    crm = r.crm
    log_in(crm, f"{r.my_domain}/login/", "admin@acme.demo", r.password)
    crm.get_by_role("link", name="Setup").click()
    expect(crm.get_by_role("heading", name="Setup", exact=True)).to_be_visible()
    r.shots(crm, 12, "setup")
    quick_find(r, "Connected Apps", 13)
    crm.get_by_role("link", name=APP).click()
    expect(crm.get_by_role("heading", name=APP, exact=True)).to_be_visible()
    r.shots(crm, 14, "salesforce marketing cloud")
    crm.get_by_role("link", name="Edit", exact=True).click()
    r.shots(crm, 15, "edit")
    crm.get_by_label("Admin approved users are pre-authorized").check()
    r.shots(crm, 16, "admin approved users are pre-authorized")
    crm.get_by_label("Relax IP restrictions", exact=True).check()
    r.shots(crm, 17, "relax ip restrictions")
    crm.get_by_label("Immediately expire refresh token").check()
    r.shots(crm, 18, "immediately expire refresh token")
    crm.get_by_role("button", name="Save").click()
    expect(crm.get_by_role("heading", name=APP, exact=True)).to_be_visible()
    expect(crm.get_by_text("Admin approved users are pre-authorized")).to_be_visible()
    r.shots(crm, 19, "save")
    permission_set_steps_20_to_22(r)
    quick_find(r, "Connected Apps", 23)
    crm.get_by_role("link", name=APP).click()
    crm.get_by_role("link", name="Manage Permission Sets").click()
    crm.get_by_label(PERMISSION_SET).check()
    r.shots(crm, 23, "manage permission sets")
    crm.get_by_role("button", name="Save").click()
    expect(crm.get_by_role("listitem").filter(has_text=PERMISSION_SET)).to_be_visible()
    r.shots(crm, 23, "save")


def quick_find(r: Rehearsal, entry: str, step: int) -> None:
    """Type in Quick Find: the menu keeps the matching entries; open `entry`."""
    menu = r.crm.get_by_role("navigation", name="Setup menu")
    r.crm.get_by_label("Quick Find").press_sequentially(entry)
    expect(menu.get_by_role("link", name="Users", exact=True)).to_be_hidden()
    r.shots(r.crm, step, f"quick find {entry}")
    menu.get_by_role("link", name=entry, exact=True).click()
    expect(r.crm.get_by_role("heading", name=entry, exact=True)).to_be_visible()


def permission_set_steps_20_to_22(r: Rehearsal) -> None:
    crm = r.crm
    quick_find(r, "Permission Sets", 20)
    crm.get_by_role("link", name="New", exact=True).click()
    crm.get_by_label("Label").press_sequentially(PERMISSION_SET)
    expect(crm.get_by_label("API Name")).to_have_value("Marketing_Cloud_Connected_App")
    r.shots(crm, 21, "new permission set")
    crm.get_by_role("button", name="Save").click()
    expect(crm.get_by_role("heading", name=PERMISSION_SET, exact=True)).to_be_visible()
    r.shots(crm, 21, "saved")
    crm.get_by_role("link", name="Manage Assignments").click()
    crm.get_by_role("link", name="Add Assignments").click()
    # Every active Connect user but Olga, whom this CRM admin leaves out; Ivan, inactive, is
    # not offered.
    expect(crm.get_by_label("Select Ivan Former")).to_have_count(0)
    for name in ("Sam System", "Maria Marketer", "Mark Mailer", "Mina Campaigns"):
        crm.get_by_label(f"Select {name}").check()
    r.shots(crm, 22, "add assignments")
    crm.get_by_role("button", name="Assign").click()
    expect(crm.get_by_role("heading", name="Assignment Summary")).to_be_visible()
    r.shots(crm, 22, "assign")
    crm.get_by_role("link", name="Done").click()
    r.shots(crm, 22, "done")


def refused_users_reconnected_automatically(r: Rehearsal) -> None:
    """Within the window, Connect's periodic retry reconnects the users the CRM now
    pre-authorizes; nobody acts in Engagement (the retry is queued now, not in 15 minutes)."""
    queue_periodic_retry(r.demo)
    reconnected = ["maria@acme.demo", "mark@acme.demo", "mina@acme.demo"]
    wait_for(lambda: all(eng_user_state(r.demo, n) == "connected" for n in reconnected), 120)
    r.admin.goto(f"{r.studio}/email/admin/salesforce-integration/")
    states = user_states(r.admin)
    connected = dict.fromkeys(reconnected, "Connected (Connected App)")
    assert {name: states[name] for name in reconnected} == connected
    assert states["olga@acme.demo"].startswith("Awaiting auto-connection")
    assert states["ivan@acme.demo"].startswith("Awaiting auto-connection")
    r.shots(r.admin, 24, "users reconnected automatically")


def send_test_email(r: Rehearsal) -> None:
    """Through Connect, into the inbox, its IndividualEmailResult written to the CRM."""
    admin = r.admin
    admin.get_by_label(re.compile(r"^Email:?$")).select_option(label="Spring Newsletter")
    admin.get_by_role("button", name="Send Test Email").click()
    sent = admin.get_by_role("status").filter(has_text="Test email sent to mc-system@acme.demo")
    expect(sent).to_be_visible()
    r.shots(admin, 25, "send test email")
    inbox = r.demo.var_dir / "mail"
    mail = wait_for(
        lambda: [m for m in list_messages(inbox) if "mc-system@acme.demo" in m.recipients], 60
    )
    assert len(mail) == 1
    assert mail[0].subject.endswith("spring is here")
    results = tool(r.demo, "crm", "crm-ier")["results"]
    assert [row["email"] for row in results] == ["mc-system@acme.demo"]


def eng_user_state(demo: RunningStack, crm_username: str) -> str:
    state = tool(demo, "engagement", "eng-state", "admin@mc.acme.demo")
    return str(state["users"][crm_username]["state"])


def queue_periodic_retry(demo: RunningStack) -> None:
    """Connect's periodic task, queued for the worker now (tandem engagement connect_retry_now)."""
    done = subprocess.run(
        [sys.executable, "-m", "tandem", "engagement", "connect_retry_now", "--wait", "120"],
        env={**demo.env, "TANDEM_SERVICE": "engagement"},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
