"""Fields Salesforce derives when an opportunity, case, task or event is written.

Each function gets the record (new values already set), the API names the write gave
(lower-cased) and whether the record is new; it sets the derived fields or raises RecordError.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from tandem.crm.records.errors import RecordError
from tandem.crm.records.models import AutoNumber

CASE_NUMBER = "Case.CaseNumber"
FIRST_CASE_NUMBER = 1001
CASE_NUMBER_DIGITS = 8
ALL_DAY_MINUTES = 24 * 60


def next_number(org_id: int, name: str, first: int) -> int:
    """The org's next value of an auto-number field; each call hands out a new one, so a bulk
    insert building many records before saving them still numbers each one apart."""
    counters = AutoNumber.objects.filter(org_id=org_id, name=name)
    if not counters.update(last=F("last") + 1):
        try:
            with transaction.atomic():
                AutoNumber.objects.create(org_id=org_id, name=name, last=first)
            return first
        except IntegrityError:  # another write created it meanwhile
            counters.update(last=F("last") + 1)
    return counters.values_list("last", flat=True).get()


def reserve_numbers(org_id: str, name: str, first: int, count: int) -> int:
    """Take `count` more values of an auto-number field at once (a bulk insert of many
    records); the last value taken. The counter row stays locked until the transaction ends,
    so the values are consecutive with any this transaction took just before."""
    counters = AutoNumber.objects.filter(org_id=org_id, name=name)
    if not counters.update(last=F("last") + count):
        try:
            with transaction.atomic():
                AutoNumber.objects.create(org_id=org_id, name=name, last=first + count - 1)
            return first + count - 1
        except IntegrityError:  # another write created it meanwhile
            counters.update(last=F("last") + count)
    return counters.values_list("last", flat=True).get()


def case_number(number: int) -> str:
    return f"{number:0{CASE_NUMBER_DIGITS}d}"


def _opportunity(record: Any, given: set[str], creating: bool) -> None:
    """IsClosed and IsWon follow the stage; so do Probability and the forecast category, when
    the stage is set and they are not given with it."""
    from tandem.crm.records.describe import OPPORTUNITY_STAGES

    probability, forecast, closed, won = OPPORTUNITY_STAGES[record.stage_name]
    stage_set = creating or "stagename" in given
    if stage_set and "probability" not in given:
        record.probability = probability
    if stage_set and "forecastcategoryname" not in given:
        record.forecast_category_name = forecast
    record.is_closed, record.is_won = closed, won


def _case(record: Any, given: set[str], creating: bool) -> None:
    """A new case gets the org's next CaseNumber; ClosedDate is when it was closed."""
    if creating:
        number = next_number(record.org_id, CASE_NUMBER, FIRST_CASE_NUMBER)
        record.case_number = case_number(number)
    closed = record.status == "Closed"
    if closed and not record.is_closed:
        record.closed_date = timezone.now()
    elif not closed:
        record.closed_date = None
    record.is_closed = closed


def _task(record: Any, given: set[str], creating: bool) -> None:
    record.is_closed = record.status == "Completed"


def _integrity(field: str, message: str) -> RecordError:
    return RecordError("FIELD_INTEGRITY_EXCEPTION", f"{field}: {message}", [field])


def _event_start(record: Any, given: set[str]) -> dt.datetime | None:
    """StartDateTime and ActivityDateTime are one value; the one written wins."""
    if "activitydatetime" in given and "startdatetime" not in given:
        record.start_date_time = record.activity_date_time
    start: dt.datetime | None = record.start_date_time or record.activity_date_time
    if start is None and record.is_all_day_event and record.activity_date is not None:
        start = dt.datetime.combine(record.activity_date, dt.time(), tzinfo=dt.UTC)
    return start


def _event(record: Any, given: set[str], creating: bool) -> None:
    """Start, end and duration agree (the one not written is computed); an all-day event lasts
    a day unless told otherwise; ActivityDate is the start's date."""
    start = _event_start(record, given)
    if start is None:
        missing = "ActivityDate" if record.is_all_day_event else "StartDateTime"
        raise RecordError(
            "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{missing}]", [missing]
        )
    end_written = "enddatetime" in given and "durationinminutes" not in given
    if record.end_date_time is not None and (end_written or record.duration_in_minutes is None):
        if record.end_date_time < start:
            raise _integrity("EndDateTime", "End Date Time cannot be earlier than Start Date Time")
        record.duration_in_minutes = int((record.end_date_time - start).total_seconds() // 60)
    if record.duration_in_minutes is None and record.is_all_day_event:
        record.duration_in_minutes = ALL_DAY_MINUTES
    if record.duration_in_minutes is None:
        raise RecordError(
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [DurationInMinutes]",
            ["DurationInMinutes"],
        )
    if record.duration_in_minutes < 0:
        raise _integrity("DurationInMinutes", "the duration cannot be negative")
    record.start_date_time = record.activity_date_time = start
    record.end_date_time = start + dt.timedelta(minutes=record.duration_in_minutes)
    record.activity_date = start.date()


OBJECT_DERIVATIONS: dict[str, Callable[[Any, set[str], bool], None]] = {
    "Opportunity": _opportunity,
    "Case": _case,
    "Task": _task,
    "Event": _event,
}
