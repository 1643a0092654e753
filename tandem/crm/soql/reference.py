"""A plain-Python evaluation of a bound query over dicts: the oracle for the ORM translation.

Semantics shared with `orm.py`: text compares case-insensitively; a null field fails every
test except `= null`, `!= value` and `NOT IN`; ties in ORDER BY fall back to Id ascending.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tandem.crm.soql.bind import (
    Atom,
    BoolOp,
    BoundCondition,
    BoundField,
    BoundQuery,
    LikePattern,
    Negation,
    SemiJoinAtom,
    search_text,
)

Row = Mapping[str, Any]
Record = dict[str, Any]


def like_regex(pattern: LikePattern) -> re.Pattern[str]:
    """The regular expression equivalent of a LIKE pattern."""
    pieces = [".*" if p == "%" else "." if p == "_" else re.escape(p[1:]) for p in pattern.parts]
    return re.compile("".join(pieces), re.DOTALL)


def _norm(field: BoundField, value: Any) -> Any:
    return value.lower() if field.is_text and isinstance(value, str) else value


def _compare(op: str, left: Any, right: Any) -> bool:
    result: bool
    if op == "=":
        result = left == right
    elif op == "!=":
        result = left != right
    elif op == "<":
        result = left < right
    elif op == "<=":
        result = left <= right
    elif op == ">":
        result = left > right
    else:
        result = left >= right
    return result


def atom_holds(atom: Atom, value: Any) -> bool:
    """Whether one field value passes one test."""
    op = atom.operator
    if atom.value is None:
        return (value is None) == (op == "=")
    if value is None:
        return op in ("!=", "NOT IN")
    if op in ("LIKE", "SEARCH"):
        assert isinstance(atom.value, LikePattern)
        text = search_text(str(value)) if op == "SEARCH" else str(value).lower()
        return like_regex(atom.value).fullmatch(text) is not None
    if op in ("IN", "NOT IN"):
        assert isinstance(atom.value, tuple)
        found = _norm(atom.field, value) in {_norm(atom.field, v) for v in atom.value}
        return found == (op == "IN")
    if atom.is_range:
        assert isinstance(atom.value, tuple)
        start, end = atom.value
        inside = start <= value < end
        return {
            "=": inside,
            "!=": not inside,
            "<": value < start,
            "<=": value < end,
            ">": value >= end,
            ">=": value >= start,
        }[op]
    return _compare(op, _norm(atom.field, value), _norm(atom.field, atom.value))


def _value(field: BoundField, row: Row, parents: Mapping[str, Mapping[str, Row]]) -> Any:
    if field.relationship is None:
        return row.get(field.field.name)
    assert field.parent is not None
    parent = parents.get(field.parent.name, {}).get(row.get(field.relationship.name) or "")
    return None if parent is None else parent.get(field.field.name)


def holds(condition: BoundCondition, row: Row, parents: Mapping[str, Mapping[str, Row]]) -> bool:
    """Whether a row passes a WHERE condition."""
    if isinstance(condition, BoolOp):
        results = (holds(item, row, parents) for item in condition.items)
        return all(results) if condition.operator == "AND" else any(results)
    if isinstance(condition, Negation):
        return not holds(condition.item, row, parents)
    if isinstance(condition, SemiJoinAtom):
        raise NotImplementedError("the reference evaluator runs no semi-joins")
    return atom_holds(condition, _value(condition.field, row, parents))


def _sort_key(
    field: BoundField, nulls_high: bool, parents: Mapping[str, Mapping[str, Row]]
) -> Callable[[Row], tuple[Any, ...]]:
    def key(row: Row) -> tuple[Any, ...]:
        value = _value(field, row, parents)
        if value is None:
            return (1 if nulls_high else 0,)
        return (0 if nulls_high else 1, _norm(field, value))

    return key


def project(query: BoundQuery, row: Row, parents: Mapping[str, Mapping[str, Row]]) -> Record:
    """The selected fields of one row; a parent is None when the reference is empty."""
    record: Record = {}
    for field in query.fields:
        if field.relationship is None:
            record[field.field.name] = row.get(field.field.name)
            continue
        name = field.key[0]
        if row.get(field.relationship.name) is None:
            record[name] = None
        else:
            nested = record.setdefault(name, {})
            nested[field.field.name] = _value(field, row, parents)
    return record


def matching(
    query: BoundQuery, rows: Iterable[Row], parents: Mapping[str, Mapping[str, Row]]
) -> list[Row]:
    """The rows a query selects, ordered and windowed, before projection."""
    selected = [r for r in rows if query.where is None or holds(query.where, r, parents)]
    selected.sort(key=lambda r: r["Id"])
    for order in reversed(query.order_by):
        # Under reverse=True the null rank flips, so NULLS FIRST means "nulls high" there.
        nulls_high = order.nulls_first if order.descending else not order.nulls_first
        selected.sort(key=_sort_key(order.field, nulls_high, parents), reverse=order.descending)
    start = query.offset or 0
    stop = None if query.limit is None else start + query.limit
    return selected[start:stop]


def evaluate(
    query: BoundQuery, rows: Iterable[Row], parents: Mapping[str, Mapping[str, Row]]
) -> tuple[int, list[Record]]:
    """(totalSize, records) of a query over `rows`, as the API would return them."""
    selected = matching(query, rows, parents)
    if query.is_count:
        return len(selected), []
    return len(selected), [project(query, row, parents) for row in selected]
