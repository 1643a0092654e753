"""The pieces of `tandem demo --script` and `tandem connect` that need no service: reading a
page's forms by their labels, the local Connect keys, and which ports the running demo is on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tandem.cli.demo_connect import demo_stack
from tandem.cli.html_page import parse_page
from tandem.cli.mc_keys import ensure_mc_keys, local_mc_env_setdefault
from tandem.cli.up import Stack

PAGE = """<html><head><title>Edit · Tandem</title></head><body>
<h1>Connected App Edit</h1>
<ul class="messages"><li role="status">Saved.</li></ul>
<a href="/setup/">Setup</a> <a href="apps/1/">Salesforce <strong>Marketing</strong> Cloud</a>
<form method="post" action="/save/">
  <input type="hidden" name="csrfmiddlewaretoken" value="tok">
  <label for="">Permitted Users</label>
  <div><label for="id_p_0"><input type="radio" name="p" value="all" id="id_p_0" checked>
    All users may self-authorize</label></div>
  <div><label for="id_p_1"><input type="radio" name="p" value="admin" id="id_p_1">
    Admin approved users are pre-authorized</label></div>
  <p><input type="checkbox" name="migrate" id="id_migrate">
    <label for="id_migrate">Migrate Existing Users:</label></p>
  <input type="checkbox" name="user" value="u1" aria-label="Select Maria Marketer">
  <p><label for="id_email">Email:</label><select name="email" id="id_email">
    <option value="">---------</option><option value="7">Spring Newsletter</option></select></p>
  <p><label for="id_label">Label</label>
    <input type="text" name="label" id="id_label" value="old"></p>
  <button type="submit" name="allow" value="Authorize">Allow</button>
  <button type="submit">Deny</button>
</form>
<form method="dialog"><button type="submit" value="ok">OK</button></form>
<table id="users"><thead><tr><th>User</th><th>State</th></tr></thead>
<tbody><tr><td>maria</td><td><code>pending</code>: waiting</td></tr></tbody></table>
<dialog id="results"><p>0 reconnected</p></dialog>
</body></html>"""


def test_a_form_is_filled_by_its_labels_and_sends_what_a_browser_sends() -> None:
    page = parse_page("http://crm.localhost/setup/apps/", PAGE)
    form = page.form("Allow")

    form.choose("Admin approved users are pre-authorized")
    form.choose("Migrate Existing Users")
    form.choose("Select Maria Marketer")
    form.select("Email", "Spring Newsletter")
    form.fill("Label", "Marketing Cloud Connected App")

    assert form.data("Allow") == {
        "csrfmiddlewaretoken": ["tok"],
        "p": ["admin"],
        "migrate": ["on"],
        "user": ["u1"],
        "email": ["7"],
        "label": ["Marketing Cloud Connected App"],
        "allow": ["Authorize"],
    }
    assert "allow" not in form.data("Deny")
    assert page.form_url(form) == "http://crm.localhost/save/"


def test_unticked_boxes_and_unknown_labels_or_buttons() -> None:
    form = parse_page("http://x/", PAGE).form("Allow")

    assert form.data(None)["p"] == ["all"]
    assert "migrate" not in form.data(None)
    assert form.data(None)["email"] == [""]
    with pytest.raises(LookupError, match="no field labelled 'Nope'"):
        form.choose("Nope")
    with pytest.raises(LookupError, match="no button 'Nope'"):
        form.data("Nope")
    with pytest.raises(LookupError, match="offers no 'Winter'"):
        form.select("Email", "Winter")


def test_links_headings_notes_tables_and_dialogs_are_read() -> None:
    page = parse_page("http://crm.localhost/setup/", PAGE)

    assert page.link("Salesforce Marketing Cloud") == "http://crm.localhost/setup/apps/1/"
    assert page.h1 == "Connected App Edit"
    assert page.title == "Edit · Tandem"
    assert page.notes == ["Saved."]
    assert page.tables["users"] == [["User", "State"], ["maria", "pending: waiting"]]
    assert page.dialogs == ["0 reconnected"]
    assert page.form("OK").method == "dialog"
    with pytest.raises(LookupError, match="no link 'Nope'"):
        page.link("Nope")


def test_tandem_connect_takes_the_local_keys_only_when_none_are_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "TANDEM_MC_CONSUMER_KEY",
        "TANDEM_CONNECT_PRIVATE_KEY_FILE",
        "TANDEM_MC_CALLBACK_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TANDEM_ENGAGEMENT_URL", "http://localhost:18102")

    assert local_mc_env_setdefault(tmp_path / "connect") is False
    assert "TANDEM_MC_CONSUMER_KEY" not in os.environ

    keys = ensure_mc_keys(tmp_path / "connect")
    assert local_mc_env_setdefault(tmp_path / "connect") is True
    assert os.environ["TANDEM_MC_CONSUMER_KEY"] == keys.consumer_key
    assert os.environ["TANDEM_CONNECT_PRIVATE_KEY_FILE"] == str(keys.private_key_file)
    assert os.environ["TANDEM_MC_CALLBACK_URL"] == (
        "http://localhost:18102/email/admin/salesforce-integration/callback/"
    )

    monkeypatch.setenv("TANDEM_MC_CONSUMER_KEY", "3MVG9own")
    monkeypatch.setenv("TANDEM_CONNECT_PRIVATE_KEY_FILE", "/own/key.pem")
    assert local_mc_env_setdefault(tmp_path / "connect") is False
    assert os.environ["TANDEM_CONNECT_PRIVATE_KEY_FILE"] == "/own/key.pem"


DEMO = {"crm": {"url": "http://localhost:18101"}, "engagement": {"url": "http://localhost:18102"}}


def test_reset_and_script_reach_the_demo_on_the_ports_demo_json_recorded() -> None:
    stack = demo_stack(Stack(inbox_port=12625), DEMO, given=set())

    assert (stack.crm_port, stack.engagement_port, stack.inbox_port) == (18101, 18102, 12625)


def test_ports_given_on_the_command_line_win_over_demo_json() -> None:
    stack = demo_stack(Stack(crm_port=9001, engagement_port=9002), DEMO, given={"crm_port"})

    assert (stack.crm_port, stack.engagement_port) == (9001, 18102)


def test_without_demo_json_the_ports_stay_as_given() -> None:
    assert demo_stack(Stack(), {}, given=set()) == Stack()
