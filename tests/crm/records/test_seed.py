"""`tandem crm seed`: realistic records in bulk, each report runnable."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tandem.crm.records.models import CampaignMember, Contact, Lead, Report
from tandem.crm.records.reports import report_run
from tandem.crm.records.seed import records_seed

pytestmark = pytest.mark.django_db


def test_seed_creates_the_asked_numbers(org: Any, admin: Any) -> None:
    counts = records_seed(org=org, owner=admin, contacts=120, leads=30, campaigns=2, seed=1)

    assert Contact.objects.filter(org=org).count() == counts.contacts == 120
    assert Lead.objects.filter(org=org).count() == 30
    assert CampaignMember.objects.filter(org=org).count() == counts.members > 0


def test_every_seeded_report_runs(org: Any, admin: Any) -> None:
    records_seed(org=org, owner=admin, contacts=60, leads=20, campaigns=1, seed=2)

    results = [report_run(org=org, report=r) for r in Report.objects.filter(org=org)]

    assert len(results) == 3
    assert all(result.total > 0 for result in results)


def test_command_refuses_a_negative_count(org: Any, admin: Any) -> None:
    with pytest.raises(CommandError):
        call_command("seed", "--contacts", "-1")

    assert Contact.objects.count() == 0


def test_command_refuses_an_unknown_org(db: None) -> None:
    with pytest.raises(CommandError, match="no org"):
        call_command("seed", "--org", "nowhere")
