"""Record services on opportunities, cases, tasks and events: derived fields, per-org case
numbers, polymorphic lookups, and what deleting an account does to them."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.records import services
from tandem.crm.records.describe import REGISTRY
from tandem.crm.records.errors import RecordError
from tandem.crm.records.models import Account, Case, Event, Opportunity, Task
from tandem.crm.soql.schema import ObjectDescribe

pytestmark = pytest.mark.django_db


def _o(name: str) -> ObjectDescribe:
    found = REGISTRY.get(name)
    assert found is not None
    return found


def _create(user: Any, sobject: str, **values: Any) -> Any:
    return services.record_create(org=user.org, owner=user, sobject=_o(sobject), values=values)


def _update(user: Any, record: Any, **values: Any) -> Any:
    return services.record_update(
        org=user.org, sobject=_o(type(record).__name__), record_id=record.pk, values=values
    )


@pytest.mark.parametrize(
    ("stage", "probability", "forecast", "closed", "won"),
    [
        ("Prospecting", 10, "Pipeline", False, False),
        ("Value Proposition", 50, "Pipeline", False, False),
        ("Negotiation/Review", 90, "Pipeline", False, False),
        ("Closed Won", 100, "Closed", True, True),
        ("Closed Lost", 0, "Omitted", True, False),
    ],
)
def test_opportunity_stage_sets_derived_fields(
    admin: Any, stage: str, probability: int, forecast: str, closed: bool, won: bool
) -> None:
    opp = _create(admin, "Opportunity", Name="D", StageName=stage, CloseDate="2026-12-31")

    assert (opp.probability, opp.forecast_category_name) == (probability, forecast)
    assert (opp.is_closed, opp.is_won) == (closed, won)


def test_opportunity_update_without_stage_keeps_probability(admin: Any) -> None:
    opp = _create(
        admin,
        "Opportunity",
        Name="D",
        StageName="Prospecting",
        CloseDate="2026-12-31",
        Probability=42,
    )

    _update(admin, opp, Amount=10)

    assert Opportunity.objects.get(pk=opp.pk).probability == 42


def test_opportunity_derived_fields_are_read_only(admin: Any) -> None:
    with pytest.raises(RecordError) as caught:
        _create(
            admin,
            "Opportunity",
            Name="D",
            StageName="Prospecting",
            CloseDate="2026-12-31",
            IsWon=True,
        )

    assert caught.value.status_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert Opportunity.objects.count() == 0


def test_case_numbers_are_per_org(admin: Any, outsider: Any) -> None:
    mine = [_create(admin, "Case", Subject=f"S{n}").case_number for n in range(2)]
    theirs = _create(outsider, "Case", Subject="Other").case_number

    assert mine == ["00001001", "00001002"]
    assert theirs == "00001001"


def test_case_reopened_clears_closed_date(admin: Any) -> None:
    case = _create(admin, "Case", Status="Closed")
    assert case.is_closed
    assert case.closed_date is not None

    _update(admin, case, Status="Working")

    reopened = Case.objects.get(pk=case.pk)
    assert (reopened.is_closed, reopened.closed_date) == (False, None)


def test_case_status_cannot_be_emptied(admin: Any) -> None:
    case = _create(admin, "Case")

    with pytest.raises(RecordError) as caught:
        _update(admin, case, Status=None)

    assert caught.value.status_code == "REQUIRED_FIELD_MISSING"
    assert Case.objects.get(pk=case.pk).status == "New"


def test_task_who_must_be_a_contact_or_lead(admin: Any) -> None:
    account = _create(admin, "Account", Name="Acme")

    with pytest.raises(RecordError) as caught:
        _create(admin, "Task", WhoId=account.pk)

    assert caught.value.status_code == "FIELD_INTEGRITY_EXCEPTION"
    assert caught.value.fields == ["WhoId"]
    assert Task.objects.count() == 0


def test_task_what_of_each_allowed_type(admin: Any) -> None:
    targets = [
        _create(admin, "Account", Name="Acme"),
        _create(admin, "Opportunity", Name="D", StageName="Prospecting", CloseDate="2026-12-31"),
        _create(admin, "Case"),
        _create(admin, "Campaign", Name="Spring"),
    ]

    tasks = [_create(admin, "Task", WhatId=t.pk) for t in targets]

    assert [t.what_id for t in tasks] == [t.pk for t in targets]


def test_event_update_of_end_recomputes_duration(admin: Any) -> None:
    event = _create(admin, "Event", StartDateTime="2026-12-01T10:00:00Z", DurationInMinutes=30)

    _update(admin, event, EndDateTime="2026-12-01T12:00:00Z")

    assert Event.objects.get(pk=event.pk).duration_in_minutes == 120


def test_event_negative_duration_refused(admin: Any) -> None:
    with pytest.raises(RecordError) as caught:
        _create(admin, "Event", StartDateTime="2026-12-01T10:00:00Z", DurationInMinutes=-5)

    assert caught.value.status_code == "FIELD_INTEGRITY_EXCEPTION"
    assert Event.objects.count() == 0


def test_deleting_an_account_leaves_its_children(admin: Any) -> None:
    account = _create(admin, "Account", Name="Acme")
    opp = _create(
        admin,
        "Opportunity",
        Name="D",
        StageName="Prospecting",
        CloseDate="2026-12-31",
        AccountId=account.pk,
    )
    case = _create(admin, "Case", AccountId=account.pk)
    task = _create(admin, "Task", WhatId=account.pk)

    services.record_delete(org=admin.org, sobject=_o("Account"), record_id=account.pk)

    assert Account.objects.get(pk=account.pk).is_deleted
    assert Opportunity.objects.get(pk=opp.pk).account_id == account.pk
    assert Case.objects.get(pk=case.pk).account_id == account.pk
    assert Task.objects.get(pk=task.pk).what_id == account.pk


def test_hard_deleting_an_account_empties_the_lookups(admin: Any) -> None:
    account = _create(admin, "Account", Name="Acme")
    opp = _create(
        admin,
        "Opportunity",
        Name="D",
        StageName="Prospecting",
        CloseDate="2026-12-31",
        AccountId=account.pk,
    )
    case = _create(admin, "Case", AccountId=account.pk)

    services.record_hard_delete(org=admin.org, sobject=_o("Account"), record_id=account.pk)

    assert Opportunity.objects.get(pk=opp.pk).account_id is None
    assert Case.objects.get(pk=case.pk).account_id is None
