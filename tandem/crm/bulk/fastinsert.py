"""The PostgreSQL fast path of insert chunks: rows typed and checked in bulk, written by COPY.

A chunk's rows are checked column by column with converters prepared once per job for its
columns. A row every converter accepts is, by construction, a row `record_build` would accept
with the same values: the converters only take values whose check is plain (text within its
length and picklist, booleans, numbers, dates and dateTimes through the records service's own
`coerce`, lookups found in the org in one query per column). Any other row goes through
`record_build` itself, so it fails with exactly the error the generic path gives, or is built
and written with the rest. The chunk's records and its per-row results are written with COPY in
the caller's transaction, which keeps the guarded, all-or-nothing chunk of ADR 0540.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from tandem.core.ids import new_ids
from tandem.crm.records import derive
from tandem.crm.records import services as records
from tandem.crm.records.describe import REGISTRY, model_for
from tandem.crm.records.errors import RecordError
from tandem.crm.records.selectors import normalize_id, record_queryset
from tandem.crm.soql.schema import ID_TYPES, TEXT_TYPES, FieldDescribe, FieldType

if TYPE_CHECKING:
    from tandem.crm.bulk.models import BulkJob
    from tandem.crm.bulk.processing import ParentIds, Plan, RowOutcome

NULL = "#N/A"
# Objects whose only derived value is a person's Name (records.services._derive): the fast
# path computes it; other objects keep the generic path.
PERSON_OBJECTS = frozenset({"Contact", "Lead"})
PLAIN_OBJECTS = frozenset({"Account"})
# Objects whose derived values (records.derive) the fast path computes as the generic path
# does: the table columns each one fills beside the upload's.
DERIVED_COLUMNS = {
    "Opportunity": frozenset({"probability", "forecast_category_name", "is_closed", "is_won"}),
    "Case": frozenset({"case_number", "is_closed", "closed_date"}),
}
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
SLOW = object()  # a converter's answer: this row goes through record_build
Converter = Callable[[str], Any]
Derivation = Callable[[list[Any], Sequence[str]], None]  # (COPY row, upload row)


def _text(field: FieldDescribe) -> Converter:
    limit = field.length or None
    allowed = frozenset(field.picklist_values) if field.type == FieldType.PICKLIST else None

    def convert(value: str) -> Any:
        if value == NULL or "\x00" in value or (limit is not None and len(value) > limit):
            return SLOW
        if allowed and value not in allowed:
            return SLOW
        return value

    return convert


def _boolean(field: FieldDescribe) -> Converter:
    def convert(value: str) -> Any:
        return BOOLEANS.get(value.strip().lower(), SLOW)

    return convert


def _coerced(org: Any, field: FieldDescribe) -> Converter:
    from tandem.crm.bulk.processing import typed_value

    def convert(value: str) -> Any:
        if value == NULL:
            return SLOW
        try:
            return records.coerce(org, field, typed_value(field, value))
        except RecordError:
            return SLOW

    return convert


class _Unwritable(Exception):
    """A row the chunk cannot write at once (an unexpected error, or a built value in a column
    COPY leaves out): the chunk runs row by row instead."""


@dataclass
class Column:
    index: int  # in the upload row
    slot: int  # in the COPY row
    field: FieldDescribe
    convert: Converter | None  # None: a lookup, checked per chunk in one query
    parent: bool = False  # a Relationship.ExternalIdField column


@dataclass
class FastInsert:
    """What the fast path needs for one job: the table's columns and each upload column's
    converter."""

    model: Any
    attnames: list[str]
    db_columns: list[str]
    columns: list[Column]
    required_slots: list[int]  # required fields: a row that leaves one empty fails
    name_slots: tuple[int, int, int] | None  # first, last, name
    omitted: list[str]  # columns left NULL: a row built with a value there takes the generic path
    derive: Derivation | None = None  # the object's derived values (records.derive)
    number_slot: int | None = None  # CaseNumber: numbered per chunk, in row order


def _model_ready(model: Any) -> bool:
    """No unique value made by a default (one template serves a chunk)."""
    pk = model._meta.pk
    return not any(
        f.unique and f is not pk and f.has_default() for f in model._meta.concrete_fields
    )


def prepare(job: BulkJob, plan: Plan) -> FastInsert | None:
    """The fast path for an insert job on PostgreSQL, or None when the job takes the generic
    one (SQLite, an object with other derived values, a column the converters do not cover)."""
    if connection.vendor != "postgresql" or job.operation != "insert":
        return None
    return fast_plan(job, plan)


def fast_plan(job: BulkJob, plan: Plan) -> FastInsert | None:
    """The converters of an insert job's columns (any database), or None when the object or a
    column needs the generic path."""
    sobject = plan.sobject
    if sobject.name not in PERSON_OBJECTS | PLAIN_OBJECTS | set(DERIVED_COLUMNS):
        return None
    model = model_for(sobject.name)
    if not _model_ready(model):
        return None
    concrete = _written(job, plan, model)
    attnames = [f.attname for f in concrete]
    columns: list[Column] = []
    for index, field in enumerate(plan.columns):
        attname = f"{field.orm}_id" if field.reference_to else field.orm
        if not field.createable or field.name == "OwnerId" or attname not in attnames:
            return None
        slot = attnames.index(attname)
        if index in plan.parents:
            columns.append(Column(index, slot, field, None, parent=True))
        elif field.type in ID_TYPES:
            columns.append(Column(index, slot, field, None))
        elif field.type in TEXT_TYPES:
            columns.append(Column(index, slot, field, _text(field)))
        elif field.type == FieldType.BOOLEAN:
            columns.append(Column(index, slot, field, _boolean(field)))
        else:
            columns.append(Column(index, slot, field, _coerced(job.org, field)))
    required = [
        f
        for f in sobject.fields
        if not f.nillable
        and f.createable
        and not f.default_on_create
        and f.type != FieldType.BOOLEAN
    ]
    slots = {f.name: f"{f.orm}_id" if f.reference_to else f.orm for f in required}
    if not set(slots.values()) <= set(attnames):
        return None
    name_slots = None
    if sobject.name in PERSON_OBJECTS:
        name_slots = (
            attnames.index("first_name"),
            attnames.index("last_name"),
            attnames.index("name"),
        )
    omitted = [f.attname for f in model._meta.concrete_fields if f.attname not in attnames]
    derivations = {"Opportunity": _opportunity, "Case": _case}
    derive = derivations[sobject.name](attnames, plan) if sobject.name in derivations else None
    return FastInsert(
        model,
        attnames,
        [str(f.column) for f in concrete],
        columns,
        [attnames.index(attname) for attname in slots.values()],
        name_slots,
        omitted,
        derive,
        attnames.index("case_number") if sobject.name == "Case" else None,
    )


def _given(plan: Plan, name: str) -> int | None:
    """The upload column of field `name`, if the upload has one."""
    return next((i for i, f in enumerate(plan.columns) if f.name == name), None)


def _opportunity(attnames: list[str], plan: Plan) -> Derivation:
    """As records.derive: IsClosed and IsWon follow the stage, and so do Probability and the
    forecast category unless the row gives them."""
    from tandem.crm.records.describe import OPPORTUNITY_STAGES

    stage, probability, forecast, closed, won = (
        attnames.index(a)
        for a in ("stage_name", "probability", "forecast_category_name", "is_closed", "is_won")
    )
    given_probability = _given(plan, "Probability")
    given_forecast = _given(plan, "ForecastCategoryName")

    def derive(values: list[Any], row: Sequence[str]) -> None:
        derived = OPPORTUNITY_STAGES[values[stage]]
        if given_probability is None or row[given_probability] == "":
            values[probability] = derived[0]
        if given_forecast is None or row[given_forecast] == "":
            values[forecast] = derived[1]
        values[closed], values[won] = derived[2], derived[3]

    return derive


def _case(attnames: list[str], plan: Plan) -> Derivation:
    """As records.derive: IsClosed follows the status; a case created Closed was closed when it
    was created. Its CaseNumber is given per chunk (typed_chunk)."""
    status, closed, closed_date, created = (
        attnames.index(a) for a in ("status", "is_closed", "closed_date", "created_date")
    )

    def derive(values: list[Any], row: Sequence[str]) -> None:
        values[closed] = values[status] == "Closed"
        values[closed_date] = values[created] if values[closed] else None

    return derive


def _written(job: BulkJob, plan: Plan, model: Any) -> list[Any]:
    """The table columns COPY writes: the ones the upload, a default or a derived value can
    fill (the others are NULL, as COPY leaves a column it is not given)."""
    now = timezone.now()
    probe = model(
        org=job.org,
        owner=job.created_by,
        created_date=now,
        last_modified_date=now,
        system_modstamp=now,
    )
    wanted = {model._meta.pk.attname, "first_name", "last_name", "name"}
    wanted |= DERIVED_COLUMNS.get(plan.sobject.name, frozenset())
    wanted |= {
        f"{f.orm}_id" if f.reference_to else f.orm
        for f in plan.sobject.fields
        if f in plan.columns or not f.nillable
    }
    return [
        f
        for f in model._meta.concrete_fields
        if f.attname in wanted or getattr(probe, f.attname) is not None
    ]


def _lookups(job: BulkJob, column: Column, chunk: list[list[str]]) -> dict[str, str]:
    """The column's values that name a live record of the org: value → its 18-character id."""
    target = REGISTRY.get(column.field.reference_to or "")
    if target is None:
        return {}
    normal = {}
    for value in {row[column.index] for row in chunk} - {"", NULL}:
        found = normalize_id(value)
        if found is not None:
            normal[value] = found
    live = _live(job, target, set(normal.values()))
    return {value: found for value, found in normal.items() if found in live}


def _live(job: BulkJob, target: Any, ids: set[str]) -> set[str]:
    """Which of the ids are the org's live records of `target`: on PostgreSQL one query with
    the ids as one array (thousands of parameters cost more to build than to run)."""
    live = record_queryset(org=job.org, sobject=target).values_list("pk", flat=True)
    if connection.vendor != "postgresql":
        return set(live.filter(pk__in=ids))
    sql, params = live.query.sql_with_params()  # Django's SQL; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT q.pk FROM ({sql}) AS q(pk) WHERE q.pk = ANY(%s)",  # noqa: S608
            [*params, list(ids)],
        )
        return {row[0] for row in cursor.fetchall()}


def _template(fast: FastInsert, job: BulkJob) -> list[Any]:
    now = timezone.now()
    record = fast.model(
        org=job.org,
        owner=job.created_by,
        created_date=now,
        last_modified_date=now,
        system_modstamp=now,
    )
    return [getattr(record, attname) for attname in fast.attnames]


def fast_row_values(
    fast: FastInsert, template: list[Any], row: list[str], lookups: dict[int, dict[str, str]]
) -> list[Any] | None:
    """The COPY row of an upload row, or None when the row needs record_build."""
    values = template[:]
    for column in fast.columns:
        text = row[column.index]
        if text == "":
            continue
        if column.convert is None:
            value = lookups[column.index].get(text, SLOW)
        else:
            value = column.convert(text)
        if value is SLOW:
            return None
        values[column.slot] = value
    for slot in fast.required_slots:
        if values[slot] in (None, ""):
            return None
    if fast.name_slots is not None:
        first, last, name = fast.name_slots
        values[name] = " ".join(p for p in (values[first], values[last]) if p)
    return values


def _built(
    fast: FastInsert, job: BulkJob, plan: Plan, row: list[str], parents: ParentIds
) -> list[Any] | RecordError:
    """The generic build of one row (as processing.rows_inserted does): its values or its error."""
    from tandem.crm.bulk.processing import row_values

    try:
        values = row_values(plan, row, None, parents)
        record = records.record_build(
            org=job.org, owner=job.created_by, sobject=plan.sobject, values=values
        )
    except RecordError as error:
        return error
    except Exception:  # as in processing.rows_inserted: the row-by-row path reports it
        raise _Unwritable from None
    if any(getattr(record, attname) is not None for attname in fast.omitted):
        raise _Unwritable
    return [getattr(record, attname) for attname in fast.attnames]


def insert_chunk(
    fast: FastInsert, job: BulkJob, plan: Plan, chunk: list[list[str]], parents: ParentIds
) -> list[RowOutcome] | None:
    """Type, check and COPY a chunk of an insert job; its outcomes in row order. None when the
    COPY fails (a unique value taken): the caller applies the rows one by one instead."""
    try:
        rows, outcomes = typed_chunk(fast, job, plan, chunk, parents)
    except _Unwritable:
        return None
    if rows and not _copy(fast, rows):
        return None
    return outcomes


def typed_chunk(
    fast: FastInsert, job: BulkJob, plan: Plan, chunk: list[list[str]], parents: ParentIds
) -> tuple[list[list[Any]], list[RowOutcome]]:
    """The table rows of a chunk's valid rows (every column, in `attnames` order) and each
    row's outcome."""
    lookups = {
        c.index: (parents.get(c.index, {}) if c.parent else _lookups(job, c, chunk))
        for c in fast.columns
        if c.convert is None
    }
    template = _template(fast, job)
    pk = fast.attnames.index(fast.model._meta.pk.attname)
    ids = iter(new_ids(plan.sobject.key_prefix, len(chunk)))
    rows: list[list[Any]] = []
    outcomes: list[RowOutcome] = []
    built_rows = 0
    for row in chunk:
        values = fast_row_values(fast, template, row, lookups)
        if values is None:
            built = _built(fast, job, plan, row, parents)
            if isinstance(built, RecordError):
                outcomes.append(("", False, built))
                continue
            values = built
            built_rows += 1
        elif fast.derive is not None:
            fast.derive(values, row)
        values[pk] = next(ids)
        rows.append(values)
        outcomes.append((values[pk], True, None))
    if fast.number_slot is not None:
        _number(fast.number_slot, job, rows, built_rows)
    return rows, outcomes


def _number(slot: int, job: BulkJob, rows: list[list[Any]], built_rows: int) -> None:
    """Give the chunk's cases the org's next CaseNumbers in row order, as the generic path
    does. The rows built by record_build took theirs already, one by one: consecutive ones
    (the counter stays locked in this transaction), so the chunk takes the rest at once and
    numbers every row from the first of its range."""
    if len(rows) == built_rows:
        return  # every row was built, numbered in order
    last = derive.reserve_numbers(
        job.org_id, derive.CASE_NUMBER, derive.FIRST_CASE_NUMBER, len(rows) - built_rows
    )
    for number, values in enumerate(rows, start=last - len(rows) + 1):
        values[slot] = derive.case_number(number)


def _copy(fast: FastInsert, rows: Sequence[Sequence[Any]]) -> bool:
    """COPY the rows into the object's table in a savepoint; False on a constraint error."""
    import psycopg

    table = fast.model._meta.db_table
    columns = ", ".join(f'"{name}"' for name in fast.db_columns)
    try:
        with transaction.atomic(), connection.cursor() as wrapper:
            raw = wrapper.cursor
            with raw.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
                for values in rows:
                    copy.write_row(values)
    except psycopg.errors.IntegrityError:
        return False
    return True


ANALYZE_AFTER = 10_000


def analyze(fast: FastInsert, inserted: int) -> None:
    """Refresh the table's planner statistics after a large load: until autovacuum does, the
    planner takes the org's rows for a handful and sorts them all for each page of a query."""
    if inserted >= ANALYZE_AFTER:
        with connection.cursor() as cursor:
            cursor.execute(f'ANALYZE "{fast.model._meta.db_table}"')


def copy_results(
    job_id: str,
    position: int,
    outcomes: Sequence[RowOutcome],
    error_text: Callable[[RecordError], str],
) -> None:
    """The chunk's per-row results (BulkRowResult rows) by COPY."""
    from tandem.crm.bulk.models import BulkRowResult

    meta = BulkRowResult._meta
    with (
        connection.cursor() as wrapper,
        wrapper.cursor.copy(
            f'COPY "{meta.db_table}" (job_id, "row", success, record_id, created, error) FROM STDIN'
        ) as copy,
    ):
        for offset, (record_id, created, error) in enumerate(outcomes):
            copy.write_row(
                (
                    job_id,
                    position + offset,
                    error is None,
                    record_id,
                    created,
                    error_text(error) if error else "",
                )
            )
