"""Log In and Log Out pages: generic and My Domain hosts, errors, Login History, sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from tandem.crm.orgs.models import Org
from tandem.crm.users.models import LoginHistory, ProfileLoginIpRange, User, UserSession
from tests.crm.conftest import PASSWORD

pytestmark = pytest.mark.django_db
GENERIC_ERROR = "Please check your username and password."


def post_login(
    client: Client, username: str, password: str = PASSWORD, host: str = "localhost", **extra: str
) -> object:
    data = {"username": username, "password": password, **extra}
    return client.post("/login/", data, HTTP_HOST=host, REMOTE_ADDR="203.0.113.7")


def test_login_page_shows_the_form(db: None) -> None:
    response = Client().get("/login/")

    assert response.status_code == 200
    assert b"Log In" in response.content


def test_generic_host_logs_in_users_of_any_org(standard_user: User, outsider: User) -> None:
    for user in (standard_user, outsider):
        client = Client()

        response = post_login(client, user.username)

        assert response.status_code == 302  # type: ignore[attr-defined]
        assert client.get("/").context["user"] == user


def test_my_domain_host_logs_in_only_its_own_org(standard_user: User, outsider: User) -> None:
    own = post_login(Client(), standard_user.username, host="acme.my.localhost:8001")
    foreign = post_login(Client(), outsider.username, host="acme.my.localhost:8001")

    assert own.status_code == 302  # type: ignore[attr-defined]
    assert foreign.status_code == 400  # type: ignore[attr-defined]
    assert GENERIC_ERROR in foreign.content.decode()  # type: ignore[attr-defined]
    assert not LoginHistory.objects.filter(user=outsider).exists()


def test_unknown_my_domain_is_404(db: None) -> None:
    assert Client().get("/login/", HTTP_HOST="nobody.my.localhost").status_code == 404


def test_wrong_password_shows_the_error_and_records_history(standard_user: User) -> None:
    response = post_login(Client(), standard_user.username, "wrong")

    assert response.status_code == 400  # type: ignore[attr-defined]
    assert GENERIC_ERROR in response.content.decode()  # type: ignore[attr-defined]
    row = LoginHistory.objects.get()
    assert (row.status, row.source_ip, row.login_type, row.application) == (
        "Invalid Password",
        "203.0.113.7",
        "Application",
        "Browser",
    )
    assert not UserSession.objects.exists()


def test_ip_restriction_gives_the_salesforce_error(standard_user: User) -> None:
    ProfileLoginIpRange.objects.create(
        profile=standard_user.profile, start_address="10.0.0.0", end_address="10.0.0.255"
    )

    response = post_login(Client(), standard_user.username)

    assert "IP restricted or invalid login hours" in response.content.decode()  # type: ignore[attr-defined]
    assert LoginHistory.objects.get().status == "Failed: IP restricted"


@time_machine.travel(datetime(2026, 3, 2, 20, 0, tzinfo=UTC), tick=False)
def test_login_hours_give_the_salesforce_error(standard_user: User) -> None:
    standard_user.profile.login_hours.create(weekday=0, start_minutes=540, end_minutes=1020)

    response = post_login(Client(), standard_user.username)

    assert "IP restricted or invalid login hours" in response.content.decode()  # type: ignore[attr-defined]
    assert LoginHistory.objects.get().status == "Failed: Login hours restricted"


def test_successful_login_records_a_session(standard_user: User) -> None:
    post_login(Client(), standard_user.username, HTTP_USER_AGENT="pytest")

    session = UserSession.objects.get()
    assert session.user == standard_user
    assert session.source_ip == "203.0.113.7"
    assert LoginHistory.objects.get().status == "Success"


@pytest.mark.parametrize(
    ("next_url", "landing"),
    [("/setup/", "/setup/"), ("https://evil.example/", "/"), ("//evil.example/", "/")],
)
def test_login_follows_only_local_next_urls(admin: User, next_url: str, landing: str) -> None:
    response = post_login(Client(), admin.username, next=next_url)

    assert response["Location"] == landing  # type: ignore[index]


def test_logout_ends_the_session(standard_user: User) -> None:
    client = Client()
    post_login(client, standard_user.username)

    client.post("/logout/")

    assert not UserSession.objects.exists()
    assert not client.get("/").context["user"].is_authenticated


def test_ended_session_is_logged_out_on_its_next_request(standard_user: User) -> None:
    client = Client()
    post_login(client, standard_user.username)

    UserSession.objects.all().delete()

    assert not client.get("/").context["user"].is_authenticated


def test_idle_session_expires_after_the_org_timeout(standard_user: User, org: Org) -> None:
    org.session_timeout_minutes = 30
    org.save()
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    client = Client()
    with time_machine.travel(start, tick=False):
        post_login(client, standard_user.username)
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert client.get("/").context["user"] == standard_user
    with time_machine.travel(start + timedelta(minutes=58), tick=False):
        assert client.get("/").context["user"] == standard_user  # activity renewed it
    with time_machine.travel(start + timedelta(minutes=89), tick=False):
        assert not client.get("/").context["user"].is_authenticated


def test_deactivated_user_is_logged_out(standard_user: User) -> None:
    client = Client()
    post_login(client, standard_user.username)

    User.objects.filter(id=standard_user.id).update(is_frozen=True)

    assert not client.get("/").context["user"].is_authenticated


def test_session_of_another_org_is_refused_on_a_my_domain_host(outsider: User, org: Org) -> None:
    client = Client()
    post_login(client, outsider.username)

    response = client.get("/", HTTP_HOST="acme.my.localhost")

    assert not response.context["user"].is_authenticated


def test_ip_ranges_on_every_request_end_a_session_that_moves_away(
    standard_user: User, org: Org
) -> None:
    ProfileLoginIpRange.objects.create(
        profile=standard_user.profile, start_address="203.0.113.0", end_address="203.0.113.255"
    )
    client = Client()
    post_login(client, standard_user.username)

    stays = client.get("/", REMOTE_ADDR="203.0.113.8").context["user"]
    moved_without_enforcement = client.get("/", REMOTE_ADDR="198.51.100.1").context["user"]
    org.enforce_ip_ranges_every_request = True
    org.save()
    moved_with_enforcement = client.get("/", REMOTE_ADDR="198.51.100.1").context["user"]

    assert stays == standard_user
    assert moved_without_enforcement == standard_user
    assert not moved_with_enforcement.is_authenticated


def test_logout_returns_to_the_login_page_with_its_next_url(standard_user: User) -> None:
    client = Client()
    post_login(client, standard_user.username)

    response = client.post("/logout/", {"next": "/setup/?a=1&b=2"})

    assert response["Location"] == "/login/?next=%2Fsetup%2F%3Fa%3D1%26b%3D2"
