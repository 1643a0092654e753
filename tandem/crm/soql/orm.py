"""Run a bound query on the Django ORM: Q objects and expressions, values always parameters.

The null and case rules are those of `reference.py`, which the property tests hold it to.
Parent fields in WHERE become `fk IN (subquery)`, so no join can drop or duplicate a row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from django.db.models import (
    BigIntegerField,
    BooleanField,
    CharField,
    Expression,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Model,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.fields import Field
from django.db.models.functions import Concat, Lower, Replace
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    LessThan,
    LessThanOrEqual,
    Lookup,
)

from tandem.crm.soql.bind import (
    WORD_SEPARATORS,
    Atom,
    BoolOp,
    BoundChild,
    BoundCondition,
    BoundField,
    BoundQuery,
    LikePattern,
    Negation,
    SemiJoinAtom,
)
from tandem.crm.soql.reference import atom_holds
from tandem.crm.soql.schema import FieldType, ObjectDescribe

# Conditions joined by one AND or OR are grouped in chunks of this many (see `_combined`).
CHUNK = 64
BIGINT = BigIntegerField()
_COMPARISONS: dict[str, type[Lookup[Any]]] = {
    "=": Exact,
    "!=": Exact,
    "<": LessThan,
    "<=": LessThanOrEqual,
    ">": GreaterThan,
    ">=": GreaterThanOrEqual,
}


@Field.register_lookup
class SoqlLike(Lookup):
    """`lhs LIKE %s ESCAPE '\\'` with the pattern as a parameter (Salesforce's LIKE)."""

    lookup_name = "soql_like"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", [*lhs_params, *rhs_params]


def _column(field: BoundField) -> Expression | F:
    return Lower(field.field.orm) if field.is_text else F(field.field.orm)


def _norm(field: BoundField, value: Any) -> Any:
    """The right-hand side for `field`: lower-cased text; a number compared with an int column
    typed as itself (PostgreSQL would otherwise bind it as the column's int4, truncating 4.5 and
    wrapping 3,000,000,000)."""
    if field.is_text and isinstance(value, str):
        return value.lower()
    if field.field.type == FieldType.INT and isinstance(value, int | float):
        return Value(value, output_field=FloatField() if isinstance(value, float) else BIGINT)
    return value


def _search_text(path: str) -> Concat:
    """The database's `bind.search_text` of a column."""
    text: Any = Lower(path, output_field=TextField())
    for char in WORD_SEPARATORS:
        text = Replace(text, Value(char), Value(" "), output_field=TextField())
    return Concat(Value(" "), text, Value(" "), output_field=TextField())


def _test(atom: Atom) -> Q:
    """The positive test of an atom, for a non-null column."""
    column, op = _column(atom.field), atom.operator
    if op in ("LIKE", "SEARCH"):
        assert isinstance(atom.value, LikePattern)
        path = atom.field.field.orm
        column = _search_text(path) if op == "SEARCH" else Lower(path)
        return Q(SoqlLike(column, atom.value.sql()))
    if op in ("IN", "NOT IN"):
        assert isinstance(atom.value, tuple)
        return Q(In(column, [_norm(atom.field, v) for v in atom.value]))
    if atom.is_range:
        assert isinstance(atom.value, tuple)
        start, end = atom.value
        return {
            "=": Q(GreaterThanOrEqual(column, start)) & Q(LessThan(column, end)),
            "!=": Q(GreaterThanOrEqual(column, start)) & Q(LessThan(column, end)),
            "<": Q(LessThan(column, start)),
            "<=": Q(LessThan(column, end)),
            ">": Q(GreaterThanOrEqual(column, end)),
            ">=": Q(GreaterThanOrEqual(column, start)),
        }[op]
    return Q(_COMPARISONS[op](column, _norm(atom.field, atom.value)))


def _local(atom: Atom) -> Q:
    """An atom on a field of the queried object itself: never NULL, so NOT stays two-valued."""
    path = atom.field.field.orm
    if atom.value is None:
        return Q(**{f"{path}__isnull": atom.operator == "="})
    positive = Q(**{f"{path}__isnull": False}) & _test(atom)
    return ~positive if atom.operator in ("!=", "NOT IN") else positive


def _parent(atom: Atom, model: type[Model]) -> Q:
    """An atom on a parent's field: the reference must hold a parent that passes it."""
    assert atom.field.relationship is not None
    if atom.field.relationship.polymorphic_parent is not None:
        return _polymorphic(atom, model)
    fk = atom.field.relationship.orm
    parent_model = model._meta.get_field(fk).related_model
    assert isinstance(parent_model, type)
    parent_atom = Atom(
        BoundField(atom.field.key[1:], atom.field.field, None, None),
        atom.operator,
        atom.value,
        atom.is_range,
    )
    parents = parent_model._default_manager.all()
    if atom.field.parent is not None and atom.field.field.expression is not None:
        parents = parents.annotate(**computed_annotations(atom.field.parent))
    passing = parents.filter(_local(parent_atom)).values("pk")
    inside = Q(**{f"{fk}__in": passing})
    if atom_holds(atom, None):  # an empty reference counts as a null value
        return Q(**{f"{fk}__isnull": True}) | inside
    return Q(**{f"{fk}__isnull": False}) & inside


def _polymorphic(atom: Atom, model: type[Model]) -> Q:
    """An atom on a polymorphic hop's field (`Who.Name`): computed for each row by its own
    expression, then tested as a field of the row itself (an empty lookup gives null)."""
    assert atom.field.relationship is not None
    expression = atom.field.field.expression
    assert expression is not None
    path = field_path(atom.field)
    local = Atom(
        BoundField(atom.field.key[1:], replace(atom.field.field, orm=path), None, None),
        atom.operator,
        atom.value,
        atom.is_range,
    )
    rows = model._default_manager.annotate(**{path: expression(f"{atom.field.relationship.orm}__")})
    return Q(pk__in=rows.filter(_local(local)).values("pk"))


def _semi_join(atom: SemiJoinAtom, outer_org_field: str) -> Q:
    """`field [NOT] IN (subquery)`: the subquery sees live rows of the outer row's org only, and
    never a null (SQL's `NOT IN` with a null inside would hold for no row)."""
    inner = atom.model._default_manager.filter(
        **{atom.sobject.org_field: OuterRef(outer_org_field)}
    ).annotate(**computed_annotations(atom.sobject))
    if atom.sobject.field("IsDeleted") is not None:
        inner = inner.filter(is_deleted=False)
    if atom.where is not None:
        inner = inner.filter(condition_q(atom.where, atom.model, atom.sobject.org_field))
    selected = inner.filter(**{f"{atom.select.field.orm}__isnull": False})
    path = atom.field.field.orm
    positive = Q(
        **{f"{path}__isnull": False, f"{path}__in": selected.values(atom.select.field.orm)}
    )
    return ~positive if atom.negated else positive


# `f = a OR f = b` is `f IN (a, b)`; `f != a AND f != b` is `f NOT IN (a, b)` (null included:
# it fails every `=` and `IN`, and passes every `!=` and `NOT IN`).
_MERGEABLE = {"OR": ("=", "IN"), "AND": ("!=", "NOT IN")}


def _merged(items: tuple[BoundCondition, ...], operator: str) -> list[BoundCondition]:
    """`items` with the comparisons of one field to single values merged into one IN or NOT IN:
    a WHERE of thousands of ORs on one field becomes one lookup instead of thousands."""
    single, merged_op = _MERGEABLE[operator]
    groups: dict[tuple[str, ...], list[Atom]] = {}
    for item in items:
        if isinstance(item, Atom) and item.operator == single and _is_plain(item):
            groups.setdefault(item.field.key, []).append(item)
    grouped = {id(a): group for group in groups.values() if len(group) > 1 for a in group}
    out: list[BoundCondition] = []
    for item in items:
        group = grouped.get(id(item))
        if group is None:
            out.append(item)
        elif item is group[0]:
            values = tuple(a.value for a in group)
            out.append(Atom(item.field, merged_op, values))  # type: ignore[arg-type]
    return out


def _is_plain(atom: Atom) -> bool:
    return not atom.is_range and atom.value is not None and not isinstance(atom.value, LikePattern)


def _flat(parts: list[Q], operator: str) -> Q:
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if operator == "AND" else combined | part
    return combined


def _combined(parts: list[Q], operator: str) -> Q:
    """`parts` joined by AND or OR. SQLite parses `a OR b OR c …` into a tree as deep as the
    list is long and refuses one deeper than 1,000, so a long list is grouped in parenthesized
    chunks (depth about CHUNK times the levels); Django would flatten nested Q objects of one
    connector, so each chunk is a boolean expression of its own."""
    if len(parts) <= CHUNK:
        return _flat(parts, operator)
    groups = [
        Q(ExpressionWrapper(_flat(parts[i : i + CHUNK], operator), output_field=BooleanField()))
        for i in range(0, len(parts), CHUNK)
    ]
    return _combined(groups, operator)


def condition_q(condition: BoundCondition, model: type[Model], org_field: str = "org") -> Q:
    """The Q object of a WHERE condition (`org_field`: how the model's rows name their org)."""
    if isinstance(condition, BoolOp):
        items = _merged(condition.items, condition.operator)
        parts = [condition_q(item, model, org_field) for item in items]
        return _combined(parts, condition.operator)
    if isinstance(condition, Negation):
        return ~condition_q(condition.item, model, org_field)
    if isinstance(condition, SemiJoinAtom):
        return _semi_join(condition, org_field)
    if condition.field.relationship is None:
        return _local(condition)
    return _parent(condition, model)


def computed_annotations(sobject: ObjectDescribe) -> dict[str, Any]:
    """The annotations of an object's computed fields, on its own queryset."""
    return {f.orm: f.expression("") for f in sobject.fields if f.expression is not None}


def _parent_computed(query: BoundQuery) -> dict[str, Any]:
    """Annotations for the parents' computed fields the query selects or orders by
    (`Owner.Name` is `owner__sf_name`, built from the owner's columns)."""
    out: dict[str, Any] = {}
    for field in (*query.fields, *(o.field for o in query.order_by)):
        expression = field.field.expression
        if field.relationship is not None and expression is not None:
            out[field_path(field)] = expression(f"{field.relationship.orm}__")
    return out


def field_path(field: BoundField) -> str:
    if field.relationship is None:
        return field.field.orm
    return f"{field.relationship.orm}__{field.field.orm}"


def filtered(query: BoundQuery, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """`queryset` narrowed by WHERE and ordered by ORDER BY, then by primary key."""
    parents = _parent_computed(query)
    if parents:
        queryset = queryset.annotate(**parents)
    if query.where is not None:
        where = condition_q(query.where, queryset.model, query.sobject.org_field)
        queryset = queryset.filter(where)
    ordering: list[Any] = []
    for order in query.order_by:
        path = field_path(order.field)
        column = Lower(path) if order.field.is_text else F(path)
        if order.descending:
            ordering.append(
                column.desc(
                    nulls_first=order.nulls_first or None,
                    nulls_last=(not order.nulls_first) or None,
                )
            )
        else:
            ordering.append(
                column.asc(
                    nulls_first=order.nulls_first or None,
                    nulls_last=(not order.nulls_first) or None,
                )
            )
    return queryset.order_by(*ordering, "pk")


def total_size(query: BoundQuery, queryset: QuerySet[Any]) -> int:
    """How many records the whole query returns (LIMIT and OFFSET applied)."""
    count = filtered(query, queryset).order_by().count()
    count = max(count - (query.offset or 0), 0)
    return count if query.limit is None else min(count, query.limit)


def selected_paths(query: BoundQuery) -> list[str]:
    paths = ["pk"]
    for field in query.fields:
        if field.relationship is not None and field.relationship.orm not in paths:
            paths.append(field.relationship.orm)
        paths.append(field_path(field))
    return paths


def records(rows: Iterator[Sequence[Any]], query: BoundQuery) -> Iterator[dict[str, Any]]:
    """Nested dicts (`{"Account": {"Name": …}}`) from flat value rows of `selected_paths`."""
    paths = selected_paths(query)
    index = {p: i for i, p in enumerate(paths)}
    plan = []
    for field in query.fields:
        rel = field.relationship
        plan.append((field.key, index[field_path(field)], index[rel.orm] if rel else None))
    for row in rows:
        record: dict[str, Any] = {"__pk__": row[0]}
        for key, position, fk_position in plan:
            if fk_position is None:
                record[key[0]] = row[position]
            elif row[fk_position] is None:
                record[key[0]] = None
            else:
                record.setdefault(key[0], {})[key[1]] = row[position]
        yield record


class SalesforceDateTime(Func):
    """A timestamp as Salesforce's JSON text (`2026-11-29T08:00:00.000+0000`), made by the
    database: parsing timestamps into Python and formatting them again costs more than the
    rest of a batch."""

    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            function="to_char",
            template="to_char(%(expressions)s AT TIME ZONE 'UTC', "
            '\'YYYY-MM-DD"T"HH24:MI:SS.MS"+0000"\')',
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # %%%% → %% here → % once the SQLite backend unescapes its parameter markers.
        template = "strftime('%%%%Y-%%%%m-%%%%dT%%%%H:%%%%M:%%%%f+0000', %(expressions)s)"
        return self.as_sql(compiler, connection, function="strftime", template=template, **extra)


def formatted_columns(query: BoundQuery) -> dict[str, Any]:
    """Annotations that select each dateTime field already formatted, keyed by its path."""
    return {
        field_path(f): SalesforceDateTime(field_path(f))
        for f in query.fields
        if f.field.type == FieldType.DATETIME
    }


def formatted_name(path: str) -> str:
    return f"sf_text__{path}"


def page(
    query: BoundQuery,
    queryset: QuerySet[Any],
    *,
    position: int,
    size: int,
    after_pk: Any = None,
) -> list[dict[str, Any]]:
    """Records `position` … `position + size` of the query, as nested dicts (see `page_rows`)."""
    rows = page_rows(query, queryset, position=position, size=size, after_pk=after_pk)
    return list(records(iter(rows), query))


def page_rows(
    query: BoundQuery,
    queryset: QuerySet[Any],
    *,
    position: int,
    size: int,
    after_pk: Any = None,
    text_datetimes: bool = False,
) -> list[tuple[Any, ...]]:
    """Value rows (`selected_paths` order) of records `position` … `position + size` of the
    query (after its OFFSET, within its LIMIT).

    With `after_pk` (the key of the record just before `position`) and no ORDER BY, the page
    is found by key rather than by OFFSET, so walking a million rows stays linear. With
    `text_datetimes`, dateTime fields come back as Salesforce's JSON text.
    """
    paths = selected_paths(query)
    annotations: dict[str, Any] = {}
    if text_datetimes:
        annotations = {formatted_name(p): e for p, e in formatted_columns(query).items()}
        paths = [formatted_name(p) if formatted_name(p) in annotations else p for p in paths]
    window = query_window(
        query, queryset, position=position, size=size, after_pk=after_pk, annotations=annotations
    )
    return [] if window is None else list(window.values_list(*paths))


def query_window(
    query: BoundQuery,
    queryset: QuerySet[Any],
    *,
    position: int,
    size: int,
    after_pk: Any = None,
    annotations: dict[str, Any] | None = None,
) -> QuerySet[Any] | None:
    """The sliced queryset of records `position` … `position + size` (None when empty)."""
    if query.limit is not None:
        size = max(min(size, query.limit - position), 0)
    if size == 0:
        return None
    ordered = filtered(query, queryset)
    if annotations:
        ordered = ordered.annotate(**annotations)
    if after_pk is not None and not query.order_by:
        return ordered.filter(pk__gt=after_pk)[:size]
    start = (query.offset or 0) + position
    return ordered[start : start + size]


# Parent ids per child statement: well under every database's limit of bound parameters.
CHILD_PARENT_CHUNK = 1000


def child_rows(
    child: BoundChild, queryset: QuerySet[Any], parent_ids: Sequence[Any]
) -> dict[Any, list[tuple[Any, ...]]]:
    """The rows (`selected_paths` order, dateTimes as Salesforce's text) of one child
    subquery for each parent id: ordered by its ORDER BY, cut at its LIMIT per parent."""
    query = child.query
    lookup = child.lookup.attname
    annotations = {formatted_name(p): e for p, e in formatted_columns(query).items()}
    paths = [
        formatted_name(p) if formatted_name(p) in annotations else p for p in selected_paths(query)
    ]
    found: dict[Any, list[tuple[Any, ...]]] = {}
    ordered = filtered(query, queryset)
    if annotations:
        ordered = ordered.annotate(**annotations)
    for start in range(0, len(parent_ids), CHILD_PARENT_CHUNK):
        chunk = list(parent_ids[start : start + CHILD_PARENT_CHUNK])
        for parent, *row in ordered.filter(**{f"{lookup}__in": chunk}).values_list(lookup, *paths):
            rows = found.setdefault(parent, [])
            if query.limit is None or len(rows) < query.limit:
                rows.append(tuple(row))
    return found
