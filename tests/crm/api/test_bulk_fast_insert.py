"""The fast insert path (fastinsert: bulk typing, then COPY on PostgreSQL) gives every row the
outcome the generic path gives it: the same error for a bad row, the same stored values for a
good one. Both run here on the same mixes of good and bad rows; the COPY itself is covered by
the PostgreSQL runs (bench/bulk, the e2e suite on PostgreSQL)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tandem.crm.bulk import fastinsert
from tandem.crm.bulk.csvio import parse
from tandem.crm.bulk.models import BulkJob, JobState, JobType
from tandem.crm.bulk.processing import ingest_plan, parent_ids, rows_inserted, sf_error
from tandem.crm.records.describe import model_for
from tandem.crm.records.models import Account, AutoNumber

pytestmark = pytest.mark.django_db

SKIP = {"id", "created_date", "last_modified_date", "system_modstamp"}


def _pools(mine: Account, theirs: Account) -> dict[str, list[str]]:
    """Per column: values the fast converters accept and values only record_build can judge."""
    return {
        "FirstName": ["Ada", "", "#N/A", "x" * 40, "x" * 41, 'Quote "me", please', "Zoë"],
        "LastName": ["Lovelace", "", "#N/A", "y" * 80, "y" * 81, "O'Brien"],
        "Email": ["ada@x.test", "", "#N/A", "not-an-email", "e" * 81],
        "LeadSource": ["Web", "", "#N/A", "Nope", "web"],
        "HasOptedOutOfEmail": ["true", "FALSE", " 1 ", "0", "", "#N/A", "yes"],
        "Birthdate": ["1815-12-10", "", "#N/A", "1815-13-10", "2026-01-02T03:04:05Z", "soon"],
        "AccountId": [
            mine.pk,
            mine.pk[:15],
            mine.pk.lower(),
            "",
            "#N/A",
            theirs.pk,
            "001000000000000AAA",
            "garbage",
        ],
        "Account.External_Id__c": ["ACC-1", "", "#N/A", "NOPE", "THEIRS"],
    }


def _job(admin: Any, sobject: str) -> BulkJob:
    return BulkJob.objects.create(
        org=admin.org,
        created_by=admin,
        job_type=JobType.INGEST,
        operation="insert",
        object=sobject,
        api_version="62.0",
        state=JobState.IN_PROGRESS,
    )


def _outcomes(admin: Any, sobject: str, data: str) -> tuple[list[Any], list[Any]]:
    """(generic, fast): per row, ("ok", stored values) or ("error", sf__Error)."""
    table = parse(data.encode(), "COMMA")
    job = _job(admin, sobject)
    plan = ingest_plan(job, table.header)
    parents = parent_ids(job, plan, table.rows)
    fast = fastinsert.fast_plan(job, plan)
    assert fast is not None
    counters = list(AutoNumber.objects.filter(org=job.org).values("name", "last"))
    rows, fast_outcomes = fastinsert.typed_chunk(fast, job, plan, table.rows, parents)
    # The generic path starts from the same auto-number counters (CaseNumber) as the fast one.
    AutoNumber.objects.filter(org=job.org).delete()
    AutoNumber.objects.bulk_create(AutoNumber(org=job.org, **c) for c in counters)
    written = iter(
        dict(zip(fast.attnames, row, strict=True)) | dict.fromkeys(fast.omitted) for row in rows
    )
    fast_side = [
        ("error", sf_error(error)) if error else ("ok", _comparable(next(written)))
        for _, _, error in fast_outcomes
    ]
    generic = rows_inserted(job, plan, table.rows, parents)
    assert generic is not None
    model = model_for(sobject)
    stored = {r.pk: r for r in model.objects.filter(pk__in=[o[0] for o in generic if o[0]])}
    every = [*fast.attnames, *fast.omitted]
    generic_side = [
        ("error", sf_error(error))
        if error
        else ("ok", _comparable({a: getattr(stored[pk], a) for a in every}))
        for pk, _, error in generic
    ]
    return generic_side, fast_side


def _comparable(values: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in values.items() if k not in SKIP}
    if "closed_date" in kept:  # "now" when the row is built: whether it is set is what counts
        kept["closed_date"] = kept["closed_date"] is not None
    return kept


def _csv(header: list[str], rows: list[list[str]]) -> str:
    def quoted(value: str) -> str:
        return '"' + value.replace('"', '""') + '"'

    return "\n".join(",".join(quoted(v) for v in row) for row in [header, *rows]) + "\n"


@pytest.fixture
def accounts(admin: Any, outsider: Any) -> tuple[Account, Account]:
    mine = Account.objects.create(org=admin.org, owner=admin, name="Mine", external_id="ACC-1")
    theirs = Account.objects.create(
        org=outsider.org, owner=outsider, name="Theirs", external_id="THEIRS"
    )
    return mine, theirs


@pytest.mark.parametrize("lookup", ["AccountId", "Account.External_Id__c"])
@pytest.mark.parametrize("seed", range(6))
def test_fast_and_generic_contact_inserts_agree_row_by_row(
    admin: Any, accounts: tuple[Account, Account], seed: int, lookup: str
) -> None:
    pools = _pools(*accounts)
    header = [
        "FirstName",
        "LastName",
        "Email",
        "LeadSource",
        "HasOptedOutOfEmail",
        "Birthdate",
        lookup,
    ]
    rng = random.Random(seed)
    # Mostly good rows, as uploads are; every bad value appears across the seeds.
    rows = [
        [rng.choice(pools[c][:2] if rng.random() < 0.5 else pools[c]) for c in header]
        for _ in range(80)
    ]

    generic, fast = _outcomes(admin, "Contact", _csv(header, rows))

    assert fast == generic
    assert {kind for kind, _ in generic} == {"ok", "error"}  # the mix holds both


def test_fast_and_generic_lead_and_account_inserts_agree(admin: Any) -> None:
    lead = _csv(
        ["LastName", "Company", "Status"],
        [
            ["Ada", "Acme", ""],
            ["Bob", "", "Working - Contacted"],
            ["Cy", "Acme", "#N/A"],
            ["Di", "Acme", "Closed - Converted"],
            ["Ed", "Acme", "Bogus"],
        ],
    )
    account = _csv(
        ["Name", "Industry", "NumberOfEmployees", "AnnualRevenue"],
        [
            ["Acme", "Retail", "12", "1.5e3"],
            ["", "Retail", "", ""],
            ["Big", "Mining", "", ""],
            ["Huge", "", "99999999999", ""],
            ["Half", "", "1.5", "-2.5"],
            ["Rich", "", "", "1e400"],
        ],
    )

    for sobject, data in (("Lead", lead), ("Account", account)):
        generic, fast = _outcomes(admin, sobject, data)
        assert fast == generic, sobject
        assert {kind for kind, _ in generic} == {"ok", "error"}


def _sales_pools(mine: Account, theirs: Account) -> dict[str, list[str]]:
    return {
        "Name": ["Renewal", "", "#N/A", "n" * 120, "n" * 121],
        "StageName": [
            "Prospecting",
            "Closed Won",
            "Closed Lost",
            "Negotiation/Review",
            "",
            "#N/A",
            "Dreaming",
            "closed won",
        ],
        "CloseDate": ["2026-12-31", "", "#N/A", "2026-02-30", "soon"],
        "Amount": ["1200.50", "", "#N/A", "-3", "1e400", "lots"],
        "Probability": ["", "", "35", "#N/A", "x"],
        "ForecastCategoryName": ["", "", "Commit", "#N/A", "Maybe"],
        "Subject": ["Broken", "", "#N/A", "s" * 255, "s" * 256],
        "Status": ["", "New", "Closed", "Working", "#N/A", "Open?"],
        "Priority": ["", "High", "Low", "#N/A", "Urgent"],
        "Origin": ["", "Web", "Phone", "Fax"],
        "AccountId": [mine.pk, "", "#N/A", theirs.pk, "garbage"],
        "Account.External_Id__c": ["ACC-1", "", "#N/A", "NOPE", "THEIRS"],
    }


SALES_HEADERS = {
    "Opportunity": [
        "Name",
        "StageName",
        "CloseDate",
        "Amount",
        "Probability",
        "ForecastCategoryName",
    ],
    "Case": ["Subject", "Status", "Priority", "Origin"],
}


@pytest.mark.parametrize("lookup", ["AccountId", "Account.External_Id__c"])
@pytest.mark.parametrize("sobject", ["Opportunity", "Case"])
@pytest.mark.parametrize("seed", range(4))
def test_fast_and_generic_opportunity_and_case_inserts_agree_row_by_row(
    admin: Any, accounts: tuple[Account, Account], sobject: str, seed: int, lookup: str
) -> None:
    pools = _sales_pools(*accounts)
    header = [*SALES_HEADERS[sobject], lookup]
    rng = random.Random(seed)
    rows = [
        [rng.choice(pools[c][:2] if rng.random() < 0.6 else pools[c]) for c in header]
        for _ in range(80)
    ]

    generic, fast = _outcomes(admin, sobject, _csv(header, rows))

    assert fast == generic
    assert {kind for kind, _ in generic} == {"ok", "error"}
    if sobject == "Case":  # consecutive numbers in row order, whichever way each row was typed
        numbers = [int(values["case_number"]) for kind, values in fast if kind == "ok"]
        assert numbers == list(range(1001, 1001 + len(numbers)))


def test_derived_values_of_fast_rows_follow_the_stage_and_the_status(admin: Any) -> None:
    """Rows every converter accepts (no record_build): the derivations are the fast path's."""
    opportunities = _csv(
        ["Name", "StageName", "CloseDate", "Probability"],
        [
            ["Won", "Closed Won", "2026-12-31", ""],
            ["Lost", "Closed Lost", "2026-12-31", ""],
            ["Open", "Value Proposition", "2026-12-31", "35"],
        ],
    )
    generic, fast = _outcomes(admin, "Opportunity", opportunities)
    assert fast == generic
    assert [
        (v["probability"], v["forecast_category_name"], v["is_closed"], v["is_won"])
        for _, v in fast
    ] == [
        (100, "Closed", True, True),
        (0, "Omitted", True, False),
        (35, "Pipeline", False, False),
    ]

    cases = _csv(["Subject", "Status"], [["A", "Closed"], ["B", ""], ["C", "Working"]])
    generic, fast = _outcomes(admin, "Case", cases)
    assert fast == generic
    assert [(v["case_number"], v["is_closed"], v["closed_date"], v["status"]) for _, v in fast] == [
        ("00001001", True, True, "Closed"),
        ("00001002", False, False, "New"),
        ("00001003", False, False, "Working"),
    ]
