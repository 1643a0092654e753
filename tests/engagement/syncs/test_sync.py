"""Synchronized data sources: setup checked against the CRM, then exact incremental runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect.models import (
    ApiCallDay,
    ConnectionState,
    CrmConnection,
    Outage,
)
from tandem.engagement.data.models import DataExtension, DataExtensionRow, FieldType
from tandem.engagement.syncs.errors import SyncError
from tandem.engagement.syncs.models import RunOutcome, SyncSource
from tandem.engagement.syncs.run import lease_claim, source_run
from tandem.engagement.syncs.setup import source_setup
from tests.engagement.syncs.conftest import SyncCrm

FIELDS = ["Email", "FirstName", "LastName"]


def contact_id(n: int) -> str:
    return f"003{n:015d}"


@pytest.fixture
def crm_contacts(legacy: CrmConnection, sync_crm: SyncCrm) -> SyncCrm:
    for n in range(1, 11):
        sync_crm.put(
            "Contact", contact_id(n), Email=f"c{n}@example.com", FirstName=f"F{n}", LastName="Smith"
        )
    return sync_crm


@pytest.fixture
def source(crm_contacts: SyncCrm, account: Account) -> SyncSource:
    return source_setup(account=account, object_name="Contact", fields=FIELDS)


def table(source: SyncSource) -> dict[str, dict[str, str]]:
    rows = DataExtensionRow.objects.filter(data_extension_id=source.data_extension_id)
    return dict(rows.values_list("key", "values"))


def crm_table(crm: SyncCrm) -> dict[str, dict[str, str]]:
    return {
        rid: {"Id": rid, **{f: str(r.get(f) or "") for f in FIELDS}}
        for rid, r in crm.data["Contact"].items()
        if not r["IsDeleted"] and rid not in crm.hidden
    }


def test_setup_makes_a_sendable_data_extension_keyed_by_id(source: SyncSource) -> None:
    de = DataExtension.objects.get(pk=source.data_extension_id)
    assert de.name == "Contact_Salesforce"
    assert (de.is_sendable, de.subscriber_key_field, de.email_field) == (True, "Id", "Email")
    columns = list(de.fields.values_list("name", "field_type", "is_primary_key"))
    assert columns == [
        ("Id", FieldType.TEXT, True),
        ("Email", FieldType.EMAIL_ADDRESS, False),
        ("FirstName", FieldType.TEXT, False),
        ("LastName", FieldType.TEXT, False),
    ]
    assert source.schedule == "15m"


def test_setup_names_each_unknown_or_compound_field_and_saves_nothing(
    crm_contacts: SyncCrm, account: Account
) -> None:
    with pytest.raises(SyncError) as caught:
        source_setup(
            account=account, object_name="Contact", fields=["Email", "Nope__c", "MailingAddress"]
        )
    assert set(caught.value.fields) == {"Nope__c", "MailingAddress"}
    assert not SyncSource.objects.exists()
    assert not DataExtension.objects.filter(name="Contact_Salesforce").exists()


def test_setup_refuses_an_object_the_crm_does_not_offer(
    crm_contacts: SyncCrm, account: Account
) -> None:
    with pytest.raises(SyncError) as caught:
        source_setup(account=account, object_name="Invoice__c", fields=["Id"])
    assert caught.value.field == "object_name"
    assert not SyncSource.objects.exists()


def test_first_sync_copies_every_record_and_sets_last_sync(
    source: SyncSource, crm_contacts: SyncCrm, legacy: CrmConnection
) -> None:
    result = source_run(source_id=source.pk)
    assert (result.outcome, result.added, result.updated, result.deleted) == ("done", 10, 0, 0)
    assert table(source) == crm_table(crm_contacts)
    source.refresh_from_db()
    assert source.high_water == crm_contacts.clock
    assert source.outcome == RunOutcome.DONE
    assert source.rows_added == 10
    legacy.refresh_from_db()
    assert legacy.last_sync_at == source.last_success_at


def test_calls_are_counted_in_api_usage(source: SyncSource, legacy: CrmConnection) -> None:
    before = sum(ApiCallDay.objects.values_list("calls", flat=True))
    source_run(source_id=source.pk)
    after = sum(ApiCallDay.objects.values_list("calls", flat=True))
    assert after - before >= 4  # queryAll deletes, then the copy's 4 pages of 3


def test_next_sync_applies_exactly_the_changes(source: SyncSource, crm_contacts: SyncCrm) -> None:
    source_run(source_id=source.pk)
    for n in (1, 2, 3):
        crm_contacts.put("Contact", contact_id(n), LastName="Changed")
    for n in (4, 5):
        crm_contacts.delete("Contact", contact_id(n))
    for n in range(11, 15):
        crm_contacts.put("Contact", contact_id(n), Email=f"c{n}@example.com", FirstName="New")
    result = source_run(source_id=source.pk)
    assert (result.added, result.updated, result.deleted) == (4, 3, 2)
    assert table(source) == crm_table(crm_contacts)
    # Read from the mark less the overlap window, not from the start.
    assert "SystemModstamp >= " in crm_contacts.soql[-1]
    again = source_run(source_id=source.pk)
    assert (again.added, again.updated, again.deleted) == (0, 0, 0)


def test_outage_pauses_the_sync_then_it_catches_up(
    source: SyncSource, crm_contacts: SyncCrm, account: Account, admin: User
) -> None:
    source_run(source_id=source.pk)
    now = timezone.now()
    outage = Outage.objects.create(
        account=account,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
        created_by=admin,
    )
    crm_contacts.put("Contact", contact_id(1), LastName="DuringOutage")
    crm_contacts.delete("Contact", contact_id(2))
    calls = len(crm_contacts.soql)
    paused = source_run(source_id=source.pk)
    assert (paused.ran, paused.outcome) == (False, RunOutcome.WAITING)
    assert len(crm_contacts.soql) == calls  # no CRM call during the outage
    assert table(source)[contact_id(1)]["LastName"] == "Smith"
    outage.ends_at = now - timedelta(seconds=1)
    outage.save()
    caught_up = source_run(source_id=source.pk)
    assert (caught_up.updated, caught_up.deleted) == (1, 1)
    assert table(source) == crm_table(crm_contacts)


def test_upgrading_pauses_the_sync(source: SyncSource, legacy: CrmConnection) -> None:
    CrmConnection.objects.filter(pk=legacy.pk).update(state=ConnectionState.UPGRADING)
    assert source_run(source_id=source.pk).outcome == RunOutcome.WAITING
    assert not table(source)


def test_crm_down_mid_copy_resumes_after_the_last_committed_page(
    source: SyncSource, crm_contacts: SyncCrm
) -> None:
    crm_contacts.fail_after = 4  # queryAll, the newest stamp, two pages of the copy, then down
    failed = source_run(source_id=source.pk)
    assert failed.outcome == RunOutcome.FAILED
    assert "down" in failed.message
    source.refresh_from_db()
    assert len(table(source)) == 6
    assert source.copy_after_id == contact_id(6)
    assert source.lease_token == ""  # released
    crm_contacts.fail_after = None
    resumed = source_run(source_id=source.pk)
    assert (resumed.added, resumed.updated) == (4, 0)  # the 6 applied rows are not read again
    assert f"WHERE Id > '{contact_id(6)}'" in crm_contacts.soql[-1]
    assert table(source) == crm_table(crm_contacts)
    source.refresh_from_db()
    assert (source.copy_after_id, source.high_water) == ("", crm_contacts.clock)


def test_crm_down_mid_increment_resumes_from_the_committed_mark(
    source: SyncSource, crm_contacts: SyncCrm
) -> None:
    source_run(source_id=source.pk)
    for n in range(1, 8):
        crm_contacts.put("Contact", contact_id(n), LastName=f"Changed{n}")
    # queryAll, a page of the unchanged 8-10 (the overlap), two pages of changes, then down
    crm_contacts.fail_after = 4
    assert source_run(source_id=source.pk).outcome == RunOutcome.FAILED
    source.refresh_from_db()
    assert source.rows_updated == 6
    crm_contacts.fail_after = None
    resumed = source_run(source_id=source.pk)
    assert (resumed.added, resumed.updated) == (0, 1)  # only the one not applied yet
    assert table(source) == crm_table(crm_contacts)


def test_a_record_changed_during_the_first_copy_is_read_next_run(
    source: SyncSource, crm_contacts: SyncCrm
) -> None:
    original = crm_contacts.query_more

    def changing(**kwargs: object) -> object:
        crm_contacts.put("Contact", contact_id(1), LastName="DuringCopy")  # already copied
        crm_contacts.query_more = original  # type: ignore[method-assign]
        return original(**kwargs)  # type: ignore[arg-type]

    crm_contacts.query_more = changing  # type: ignore[method-assign]
    source_run(source_id=source.pk)
    assert table(source)[contact_id(1)]["LastName"] == "Smith"
    assert source_run(source_id=source.pk).updated == 1
    assert table(source)[contact_id(1)]["LastName"] == "DuringCopy"


def test_two_runs_of_one_source_never_overlap(source: SyncSource, crm_contacts: SyncCrm) -> None:
    assert lease_claim(source.pk) is not None
    calls = len(crm_contacts.soql)
    second = source_run(source_id=source.pk)
    assert (second.ran, second.outcome) == (False, RunOutcome.RUNNING)
    assert len(crm_contacts.soql) == calls
    assert not table(source)


def test_a_dead_runs_lease_lapses(source: SyncSource, crm_contacts: SyncCrm) -> None:
    lease_claim(source.pk)
    SyncSource.objects.filter(pk=source.pk).update(lease_until=timezone.now() - timedelta(1))
    assert source_run(source_id=source.pk).added == 10


def test_a_field_added_later_is_backfilled(
    source: SyncSource, crm_contacts: SyncCrm, account: Account
) -> None:
    source_run(source_id=source.pk)
    crm_contacts.data["Contact"][contact_id(1)]["HasOptedOutOfEmail"] = True  # no new stamp
    source_setup(account=account, object_name="Contact", fields=[*FIELDS, "HasOptedOutOfEmail"])
    result = source_run(source_id=source.pk)
    assert result.updated == 10
    rows = table(source)
    assert rows[contact_id(1)]["HasOptedOutOfEmail"] == "true"
    assert rows[contact_id(2)]["HasOptedOutOfEmail"] == ""  # null in the CRM
    assert source_run(source_id=source.pk).updated == 0


def test_records_no_longer_visible_are_removed(source: SyncSource, crm_contacts: SyncCrm) -> None:
    source_run(source_id=source.pk)
    crm_contacts.hidden.add(contact_id(7))
    SyncSource.objects.filter(pk=source.pk).update(reconciled_at=None)
    result = source_run(source_id=source.pk)
    assert result.deleted == 1
    assert contact_id(7) not in table(source)


def test_a_record_changed_while_paging_is_caught_next_run(
    source: SyncSource, crm_contacts: SyncCrm
) -> None:
    source_run(source_id=source.pk)
    crm_contacts.put("Contact", contact_id(1), LastName="Before")
    crm_contacts.batch = 1
    original = crm_contacts.query_more

    def changing(**kwargs: object) -> object:
        crm_contacts.put("Contact", contact_id(9), LastName="WhilePaging")
        crm_contacts.query_more = original  # type: ignore[method-assign]
        return original(**kwargs)  # type: ignore[arg-type]

    crm_contacts.query_more = changing  # type: ignore[method-assign]
    source_run(source_id=source.pk)
    source_run(source_id=source.pk)
    assert table(source)[contact_id(9)]["LastName"] == "WhilePaging"


def test_due_sources_are_the_active_scheduled_unleased_ones(
    source: SyncSource, crm_contacts: SyncCrm
) -> None:
    from tandem.engagement.syncs.selectors import sources_due

    assert sources_due() == [source.pk]  # never ran
    source_run(source_id=source.pk)
    assert sources_due() == []  # ran within its 15 minutes
    SyncSource.objects.filter(pk=source.pk).update(
        last_success_at=timezone.now() - timedelta(minutes=16)
    )
    assert sources_due() == [source.pk]
    lease_claim(source.pk)
    assert sources_due() == []
    SyncSource.objects.filter(pk=source.pk).update(lease_until=None, schedule="manual")
    assert sources_due() == []


def test_the_synchronized_de_is_read_only_to_users(source: SyncSource, admin: User) -> None:
    from tandem.engagement.data.services import DataExtensionError, row_create

    de = DataExtension.objects.get(pk=source.data_extension_id)
    with pytest.raises(DataExtensionError, match="read-only"):
        row_create(actor=admin, data_extension=de, cells={"Id": "003x", "Email": "a@b.test"})
    assert not table(source)


def test_runs_under_connected_app_authentication(
    source: SyncSource, crm_contacts: SyncCrm, legacy: CrmConnection
) -> None:
    from tandem.engagement.connect.tokens import tokens_forget

    CrmConnection.objects.filter(pk=legacy.pk).update(state=ConnectionState.CONNECTED_APP)
    tokens_forget(legacy.account_id)
    result = source_run(source_id=source.pk)
    assert (result.outcome, result.added) == ("done", 10)
    assert "jwt system@acme.test" in crm_contacts.calls


def test_a_run_whose_lease_lapsed_shows_as_interrupted(source: SyncSource) -> None:
    from tandem.engagement.syncs.selectors import source_row

    SyncSource.objects.filter(pk=source.pk).update(
        outcome=RunOutcome.RUNNING, lease_until=timezone.now() - timedelta(seconds=1)
    )
    source.refresh_from_db()
    assert source_row(source)["outcome"] == "interrupted"
    SyncSource.objects.filter(pk=source.pk).update(lease_until=timezone.now() + timedelta(1))
    source.refresh_from_db()
    assert source_row(source)["outcome"] == "running"


@pytest.mark.django_db(transaction=True)
def test_first_copy_outside_a_transaction_commits_every_page(
    source: SyncSource, crm_contacts: SyncCrm
) -> None:
    """Outside a transaction (as a worker runs) on PostgreSQL, pages are committed on the
    writer's thread while the next one is read; the result is the same."""
    result = source_run(source_id=source.pk)
    assert (result.added, result.updated) == (10, 0)
    assert table(source) == crm_table(crm_contacts)
    source.refresh_from_db()
    assert (source.copy_after_id, source.high_water) == ("", crm_contacts.clock)
    assert source.rows_added == 10
