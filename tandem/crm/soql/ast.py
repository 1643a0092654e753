"""The typed syntax tree of a parsed query (before names are checked against describe)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal as TypingLiteral


@dataclass(frozen=True)
class Position:
    """Where a node starts in the query text (1-based)."""

    line: int
    column: int


@dataclass(frozen=True)
class FieldPath:
    """`Name` or one parent hop, `Account.Name`, as written."""

    parts: tuple[str, ...]
    position: Position

    @property
    def text(self) -> str:
        return ".".join(self.parts)


ValueKind = TypingLiteral["string", "number", "date", "datetime", "date_range", "null", "boolean"]


@dataclass(frozen=True)
class DateRange:
    """A relative date literal (`TODAY`, `LAST_N_DAYS:7`): unit, offset and length in units."""

    name: str
    unit: TypingLiteral["day", "week", "month", "year"]
    start: int
    length: int


@dataclass(frozen=True)
class Value:
    """A literal in a filter."""

    kind: ValueKind
    value: str | Decimal | dt.date | dt.datetime | DateRange | bool | None
    text: str
    position: Position


@dataclass(frozen=True)
class Comparison:
    """`field op value` with op one of = != < <= > >= LIKE."""

    field: FieldPath
    operator: str
    value: Value


@dataclass(frozen=True)
class InList:
    """`field IN (…)` or `field NOT IN (…)`."""

    field: FieldPath
    values: tuple[Value, ...]
    negated: bool


@dataclass(frozen=True)
class SubQuery:
    """The inner query of a semi-join: `SELECT field FROM sobject [WHERE …]`."""

    field: FieldPath
    sobject: str
    sobject_position: Position
    where: Condition | None


@dataclass(frozen=True)
class SemiJoin:
    """`field IN (SELECT …)` or, negated, the anti-join `field NOT IN (SELECT …)`."""

    field: FieldPath
    query: SubQuery
    negated: bool


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Comparison | InList | SemiJoin | And | Or | Not


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY key; `nulls_first` already holds Salesforce's default when not written."""

    field: FieldPath
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class ChildQuery:
    """`(SELECT … FROM Relationship …)` in a SELECT list: the rows of a child relationship."""

    relationship: str
    position: Position
    fields: tuple[FieldPath, ...]
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None


@dataclass(frozen=True)
class Query:
    """A whole SELECT statement."""

    fields: tuple[FieldPath, ...]
    is_count: bool
    sobject: str
    sobject_position: Position
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None
    text: str
    children: tuple[ChildQuery, ...] = ()


@dataclass(frozen=True)
class SearchObject:
    """One object of a SOSL RETURNING clause, with its SOQL-like field list and clauses."""

    sobject: str
    position: Position
    fields: tuple[FieldPath, ...]
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


@dataclass(frozen=True)
class Search:
    """A whole SOSL statement; `term` is the text inside the braces, still escaped."""

    term: str
    term_position: Position
    scope: str  # ALL, NAME, EMAIL, PHONE or SIDEBAR
    objects: tuple[SearchObject, ...]  # empty: every searchable object, Id only
    limit: int | None
    text: str
