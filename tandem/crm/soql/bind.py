"""Check a parsed query against describe metadata and coerce its literals to field types."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tandem.core.ids import is_valid_id, to_18
from tandem.crm.soql import ast
from tandem.crm.soql.dates import datetime_bounds, day_bounds
from tandem.crm.soql.errors import SoqlError, located
from tandem.crm.soql.parser import LITERAL_PERCENT, LITERAL_UNDERSCORE
from tandem.crm.soql.schema import (
    ID_TYPES,
    NUMBER_TYPES,
    TEXT_TYPES,
    FieldDescribe,
    FieldType,
    ObjectDescribe,
    Registry,
)

MAX_OFFSET = 2000
MAX_SEMI_JOINS = 2
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
RANGE_OPERATORS = frozenset({"<", "<=", ">", ">="})

Scalar = str | int | float | bool | dt.date | dt.datetime | None


@dataclass(frozen=True)
class BoundField:
    """A field path resolved to describe metadata."""

    key: tuple[str, ...]  # canonical API names: ("LastName",) or ("Account", "Name")
    field: FieldDescribe
    relationship: FieldDescribe | None  # the reference field of a parent hop
    parent: ObjectDescribe | None

    @property
    def is_text(self) -> bool:
        return self.field.type in TEXT_TYPES


# SOSL matches whole tokens: these characters separate them, like spaces (see `search_text`).
WORD_SEPARATORS = "@.,-_'\"()/:;!?&+#"


def search_text(text: str) -> str:
    """`text` as SOSL compares it: lower case, separators as spaces, a space at each end."""
    lowered = text.lower()
    for char in WORD_SEPARATORS:
        lowered = lowered.replace(char, " ")
    return f" {lowered} "


@dataclass(frozen=True)
class LikePattern:
    """A LIKE pattern as literal runs and wildcards, already lower-cased."""

    parts: tuple[str, ...]  # "%" = any run, "_" = one character, else a literal run

    def sql(self) -> str:
        """The pattern for SQL `LIKE … ESCAPE '\\'`."""
        escape = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})
        return "".join(p if p in ("%", "_") else p[1:].translate(escape) for p in self.parts)


@dataclass(frozen=True)
class Atom:
    """One test on one field; `value` is coerced to the field's Python type."""

    field: BoundField
    operator: str  # = != < <= > >= LIKE IN NOT IN, or SEARCH (LIKE over `search_text`)
    value: Scalar | tuple[Scalar, ...] | LikePattern | tuple[Scalar, Scalar]
    is_range: bool = False  # value is a [start, end) pair from a date literal


@dataclass(frozen=True)
class SemiJoinAtom:
    """`field [NOT] IN (SELECT select FROM sobject WHERE where)`, on rows of the same org."""

    field: BoundField
    negated: bool
    sobject: ObjectDescribe
    model: Any  # the Django model that stores `sobject`
    select: BoundField
    where: BoundCondition | None


@dataclass(frozen=True)
class BoolOp:
    operator: str  # AND / OR
    items: tuple[BoundCondition, ...]


@dataclass(frozen=True)
class Negation:
    item: BoundCondition


BoundCondition = Atom | SemiJoinAtom | BoolOp | Negation


@dataclass(frozen=True)
class BoundOrder:
    field: BoundField
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class BoundQuery:
    """A query ready to run: every name resolved, every literal typed."""

    sobject: ObjectDescribe
    fields: tuple[BoundField, ...]
    is_count: bool
    where: BoundCondition | None
    order_by: tuple[BoundOrder, ...]
    limit: int | None
    offset: int | None
    children: tuple[BoundChild, ...] = ()


@dataclass(frozen=True)
class BoundChild:
    """A child relationship subquery: `name` (as describe spells it), the child rows' lookup
    to the parent, and the subquery on the child object."""

    name: str
    lookup: FieldDescribe
    query: BoundQuery


MAX_CHILD_QUERIES = 20


class _Binder:
    def __init__(self, query: ast.Query, registry: Registry, today: dt.date) -> None:
        self.query = query
        self.registry = registry
        self.today = today
        self.semi_joins = 0

    def error(self, code: str, position: ast.Position, text: str) -> SoqlError:
        return SoqlError(code, located(self.query.text, position.line, position.column, text))

    def bind(self) -> BoundQuery:
        query = self.query
        sobject = self.registry.get(query.sobject)
        if sobject is None:
            raise self.unknown_type(query.sobject, query.sobject_position)
        fields = tuple(self.field(sobject, path) for path in query.fields)
        seen: set[tuple[str, ...]] = set()
        for path, bound in zip(query.fields, fields, strict=True):
            if bound.key in seen:
                raise self.error(
                    "MALFORMED_QUERY", path.position, f"duplicate field selected: {path.text}"
                )
            seen.add(bound.key)
        if query.offset is not None and query.offset > MAX_OFFSET:
            raise SoqlError(
                "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            )
        return BoundQuery(
            sobject=sobject,
            fields=fields,
            is_count=query.is_count,
            where=self.condition(sobject, query.where) if query.where else None,
            order_by=tuple(
                BoundOrder(self.field(sobject, o.field), o.descending, o.nulls_first)
                for o in query.order_by
            ),
            limit=query.limit,
            offset=query.offset,
            children=self.children(sobject, query.children),
        )

    def children(
        self, sobject: ObjectDescribe, queries: tuple[ast.ChildQuery, ...]
    ) -> tuple[BoundChild, ...]:
        """Each child subquery bound on its child object, under Salesforce's rules: a known
        relationship of the queried object, each at most once, at most 20."""
        if len(queries) > MAX_CHILD_QUERIES:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"Maximum of {MAX_CHILD_QUERIES} child relationship subqueries are allowed",
            )
        bound: list[BoundChild] = []
        for child in queries:
            found = self.registry.child(sobject.name, child.relationship)
            if found is None:
                raise self.error(
                    "INVALID_TYPE",
                    child.position,
                    f"Didn't understand relationship '{child.relationship}' in FROM part of "
                    "query call. If you are attempting to use a custom relationship, be sure to "
                    "append the '__r' after the custom relationship name. Please reference your "
                    "WSDL or the describe call for the appropriate names.",
                )
            child_object, lookup = found
            name = lookup.child_relationship or child.relationship
            if any(b.name == name for b in bound):
                raise self.error(
                    "MALFORMED_QUERY",
                    child.position,
                    f"duplicate child relationship selected: {name}",
                )
            inner = ast.Query(
                fields=child.fields,
                is_count=False,
                sobject=child_object.name,
                sobject_position=child.position,
                where=child.where,
                order_by=child.order_by,
                limit=child.limit,
                offset=None,
                text=self.query.text,
            )
            bound.append(BoundChild(name, lookup, _Binder(inner, self.registry, self.today).bind()))
        return tuple(bound)

    def unknown_type(self, name: str, position: ast.Position) -> SoqlError:
        return self.error(
            "INVALID_TYPE",
            position,
            f"sObject type '{name}' is not supported. If you are attempting to use "
            "a custom object, be sure to append the '__c' after the entity name. Please "
            "reference your WSDL or the describe call for the appropriate names.",
        )

    def field(self, sobject: ObjectDescribe, path: ast.FieldPath) -> BoundField:
        if len(path.parts) == 1:
            found = sobject.field(path.parts[0])
            if found is None:
                raise self.no_such_column(path, sobject)
            return BoundField((found.name,), found, None, None)
        relation_name, name = path.parts
        relation = sobject.relationship(relation_name)
        parent = None
        if relation is not None and relation.polymorphic_parent is not None:
            parent = relation.polymorphic_parent
        elif relation is not None and relation.reference_to:
            parent = self.registry.get(relation.reference_to)
        if relation is None or parent is None:
            raise self.error(
                "INVALID_FIELD",
                path.position,
                f"Didn't understand relationship '{relation_name}' in field path. If you are "
                "attempting to use a custom relationship, be sure to append the '__r' after the "
                "custom relationship name. Please reference your WSDL or the describe call for "
                "the appropriate names.",
            )
        found = parent.field(name)
        if found is None:
            raise self.no_such_column(path, parent, shown=name)
        assert relation.relationship_name is not None
        return BoundField((relation.relationship_name, found.name), found, relation, parent)

    def no_such_column(
        self, path: ast.FieldPath, sobject: ObjectDescribe, shown: str | None = None
    ) -> SoqlError:
        return self.error(
            "INVALID_FIELD",
            path.position,
            f"No such column '{shown or path.text}' on entity '{sobject.name}'. If you are "
            "attempting to use a custom field, be sure to append the '__c' after the custom "
            "field name. Please reference your WSDL or the describe call for the appropriate "
            "names.",
        )

    # --- conditions -----------------------------------------------------------------------
    def condition(
        self, sobject: ObjectDescribe, node: ast.Condition, context: str = ""
    ) -> BoundCondition:
        """Bind a WHERE condition; `context` names the operator (OR, NOT) or the subquery that
        encloses it, where Salesforce allows no semi-join."""
        if isinstance(node, ast.And | ast.Or):
            operator = "AND" if isinstance(node, ast.And) else "OR"
            inner = context or ("OR" if operator == "OR" else "")
            return BoolOp(operator, tuple(self.condition(sobject, i, inner) for i in node.items))
        if isinstance(node, ast.Not):
            return Negation(self.condition(sobject, node.item, context or "NOT"))
        if isinstance(node, ast.SemiJoin):
            return self.semi_join(sobject, node, context)
        field = self.field(sobject, node.field)
        if isinstance(node, ast.InList):
            values = tuple(self.scalar(field, v, in_list=True) for v in node.values)
            return Atom(field, "NOT IN" if node.negated else "IN", values)
        return self.comparison(field, node)

    def semi_join(self, sobject: ObjectDescribe, node: ast.SemiJoin, context: str) -> SemiJoinAtom:
        """Salesforce's semi-join rules: not nested, not under OR or NOT, at most two, ID fields
        on both sides, and another object inside."""
        self.semi_join_allowed(node.field.position, context)
        field = self.id_field(sobject, node.field, "Semi join sub-selects are only allowed on")
        inner_query = node.query
        inner = self.registry.get(inner_query.sobject)
        if inner is None:
            raise self.unknown_type(inner_query.sobject, inner_query.sobject_position)
        if inner.name == sobject.name:
            raise self.error(
                "INVALID_TYPE",
                inner_query.sobject_position,
                "The inner and outer selects should not be on the same object type",
            )
        select = self.id_field(inner, inner_query.field, "A semi join sub-select can only select")
        where = inner_query.where
        return SemiJoinAtom(
            field=field,
            negated=node.negated,
            sobject=inner,
            model=self.registry.model(inner),
            select=select,
            where=self.condition(inner, where, "subquery") if where else None,
        )

    def semi_join_allowed(self, position: ast.Position, context: str) -> None:
        if context == "subquery":
            text = "Nesting of semi join sub-selects is not supported"
        elif context:
            text = f"Semi join sub-selects are not allowed with the '{context}' operator"
        elif self.semi_joins >= MAX_SEMI_JOINS:
            text = f"Maximum of {MAX_SEMI_JOINS} semi join sub-selects are allowed"
        else:
            self.semi_joins += 1
            return
        raise self.error("MALFORMED_QUERY", position, text)

    def id_field(self, sobject: ObjectDescribe, path: ast.FieldPath, rule: str) -> BoundField:
        """A field of `sobject` itself whose type is an ID (its Id or a reference)."""
        field = self.field(sobject, path)
        if field.field.type not in ID_TYPES or field.relationship is not None:
            raise self.error("INVALID_FIELD", path.position, f"{rule} ID fields: {path.text}")
        return field

    def comparison(self, field: BoundField, node: ast.Comparison) -> Atom:
        operator, value = node.operator, node.value
        kind = field.field.type
        if value.kind == "null":
            if operator not in ("=", "!="):
                raise self.error(
                    "MALFORMED_QUERY", value.position, f"invalid operator on null: {operator}"
                )
            return Atom(field, operator, None)
        if operator == "LIKE":
            if kind not in TEXT_TYPES and kind not in ID_TYPES:
                raise self.error(
                    "INVALID_FIELD",
                    value.position,
                    f"invalid operator on {field.field.type_word} field: LIKE",
                )
            if value.kind != "string":
                raise self.wrong_type(field, value)
            assert isinstance(value.value, str)
            return Atom(field, "LIKE", like_pattern(value.value))
        if kind == FieldType.BOOLEAN and operator in RANGE_OPERATORS:
            raise self.error(
                "INVALID_FIELD", value.position, f"invalid operator on boolean field: {operator}"
            )
        if value.kind == "date_range":
            return self.date_range_atom(field, operator, value)
        return Atom(field, operator, self.scalar(field, value))

    def date_range_atom(self, field: BoundField, operator: str, value: ast.Value) -> Atom:
        assert isinstance(value.value, ast.DateRange)
        if field.field.type not in (FieldType.DATE, FieldType.DATETIME):
            raise self.wrong_type(field, value)
        bounds_of = day_bounds if field.field.type == FieldType.DATE else datetime_bounds
        try:
            bounds: tuple[Scalar, Scalar] = bounds_of(value.value, self.today)
        except (ValueError, OverflowError):  # NEXT_N_YEARS:9000 ends after the year 9999
            raise self.out_of_range(value) from None
        return Atom(field, operator, bounds, is_range=True)

    def scalar(self, field: BoundField, value: ast.Value, *, in_list: bool = False) -> Scalar:
        kind = field.field.type
        if value.kind == "null" and in_list:
            raise self.error("MALFORMED_QUERY", value.position, "unexpected token: 'null'")
        if kind in TEXT_TYPES and value.kind == "string":
            assert isinstance(value.value, str)
            return plain_text(value.value)
        if kind in ID_TYPES and value.kind == "string":
            assert isinstance(value.value, str)
            return self.record_id(field, value, value.value)
        if kind == FieldType.BOOLEAN and value.kind == "boolean":
            return bool(value.value)
        if kind in NUMBER_TYPES and value.kind == "number":
            return self.number(kind, value)
        if kind == FieldType.DATE and value.kind == "date":
            assert isinstance(value.value, dt.date)
            return value.value
        if kind == FieldType.DATETIME and value.kind == "datetime":
            assert isinstance(value.value, dt.datetime)
            try:
                return value.value.astimezone(dt.UTC)
            except OverflowError:  # 0001-01-01T00:00:00+14:00 is before the first UTC instant
                raise self.out_of_range(value) from None
        raise self.wrong_type(field, value)

    def number(self, kind: FieldType, value: ast.Value) -> int | float:
        """A number literal as an int (whole, for int fields) or a float; one that no 64-bit
        column can hold is Salesforce's NUMBER_OUTSIDE_VALID_RANGE, not a database error."""
        assert isinstance(value.value, Decimal)
        number = value.value
        if kind == FieldType.INT and number == number.to_integral_value():
            if not INT64_MIN <= number <= INT64_MAX:
                raise self.out_of_range(value)
            return int(number)
        result = float(number)
        if not math.isfinite(result):
            raise self.out_of_range(value)
        return result

    def out_of_range(self, value: ast.Value) -> SoqlError:
        return self.error(
            "NUMBER_OUTSIDE_VALID_RANGE",
            value.position,
            f"Value outside the valid range: {value.text}",
        )

    def record_id(self, field: BoundField, value: ast.Value, text: str) -> str:
        candidate = plain_text(text)
        if len(candidate) == 15 and candidate.isascii() and candidate.isalnum():
            candidate = to_18(candidate)
        if not is_valid_id(candidate):
            raise self.error(
                "INVALID_QUERY_FILTER_OPERATOR", value.position, f"invalid ID field: {text}"
            )
        return candidate

    def wrong_type(self, field: BoundField, value: ast.Value) -> SoqlError:
        name = ".".join(field.key)
        if field.field.type in TEXT_TYPES or field.field.type in ID_TYPES:
            text = (
                f"value of filter criterion for field '{name}' must be of type string"
                " and should be enclosed in quotes"
            )
        else:
            text = (
                f"value of filter criterion for field '{name}' must be of type "
                f"{field.field.type_word} and should not be enclosed in quotes"
            )
        return self.error("INVALID_FIELD", value.position, text)


def plain_text(text: str) -> str:
    """A string literal outside LIKE: escaped wildcards are just the characters."""
    return text.replace(LITERAL_PERCENT, "%").replace(LITERAL_UNDERSCORE, "_")


def like_pattern(text: str) -> LikePattern:
    """Split a LIKE literal into wildcards and lower-cased literal runs (each prefixed "=")."""
    parts: list[str] = []
    run: list[str] = []
    for char in text.lower():
        if char in ("%", "_"):
            if run:
                parts.append("=" + "".join(run))
                run = []
            parts.append(char)
        else:
            run.append(plain_text(char))
    if run:
        parts.append("=" + "".join(run))
    return LikePattern(tuple(parts))


def bind(query: ast.Query, registry: Registry, *, today: dt.date) -> BoundQuery:
    """Resolve names and types in `query`, or raise `SoqlError`."""
    return _Binder(query, registry, today).bind()
