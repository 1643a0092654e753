"""tandem.core.db: the ORM's INSERT without the ORM, and several writes as one statement."""

from __future__ import annotations

import hashlib

import pytest
from django.db import IntegrityError
from django.utils import timezone

from tandem.core.db import insert_statement, write_together
from tandem.crm.oauth.models import AccessToken
from tandem.crm.orgs.models import Org
from tandem.crm.users.models import LoginHistory, User
from tandem.crm.users.services import login_history_row
from tests.crm.oauth.conftest import make_app


def _row(org: Org, user: User, status: str) -> LoginHistory:
    return login_history_row(
        org=org,
        user=user,
        username=user.username,
        source_ip="10.0.0.1",
        login_type="Remote Access 2.0",
        application="App",
        status=status,
        at=timezone.now(),
    )


@pytest.mark.django_db(transaction=True)
def test_rows_written_together_read_back_as_the_orm_would_have_saved_them(org, admin):
    row = _row(org, admin, "Success")

    write_together([insert_statement(row)], wait_for_disk=False)

    saved = LoginHistory.objects.get(pk=row.pk)
    assert (saved.user, saved.source_ip, saved.status, saved.login_time) == (
        admin,
        "10.0.0.1",
        "Success",
        row.login_time,
    )


@pytest.mark.django_db(transaction=True)
def test_pre_save_hooks_run_so_a_token_is_stored_only_as_its_checksum(org, admin):
    app = make_app(org).app
    token = AccessToken(user=admin, application=app, scope="api", expires=timezone.now())
    token._raw_token = "raw-access-token"  # what DOT's set_token_value leaves for pre_save
    token.token = ""

    write_together([insert_statement(token)])

    saved = AccessToken.objects.get(application=app)
    assert saved.token == ""
    assert saved.token_checksum == hashlib.sha256(b"raw-access-token").hexdigest()
    assert saved.created is not None


@pytest.mark.django_db(transaction=True)
def test_one_failing_write_leaves_none_of_them(org, admin):
    first = _row(org, admin, "Success")
    duplicate = _row(org, admin, "Failed")
    duplicate.pk = first.pk
    before = LoginHistory.objects.count()

    with pytest.raises(IntegrityError):
        write_together([insert_statement(first), insert_statement(duplicate)])

    assert LoginHistory.objects.count() == before
