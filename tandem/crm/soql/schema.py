"""Describe metadata: the objects and fields a query may name, and their Salesforce types."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FieldType(StrEnum):
    """Salesforce field types (the `type` of a describe field)."""

    ID = "id"
    REFERENCE = "reference"
    STRING = "string"
    EMAIL = "email"
    PHONE = "phone"
    PICKLIST = "picklist"
    TEXTAREA = "textarea"
    URL = "url"
    BOOLEAN = "boolean"
    INT = "int"
    DOUBLE = "double"
    CURRENCY = "currency"
    PERCENT = "percent"
    DATE = "date"
    DATETIME = "datetime"


TEXT_TYPES = frozenset(
    {
        FieldType.STRING,
        FieldType.EMAIL,
        FieldType.PHONE,
        FieldType.PICKLIST,
        FieldType.TEXTAREA,
        FieldType.URL,
    }
)
ID_TYPES = frozenset({FieldType.ID, FieldType.REFERENCE})
NUMBER_TYPES = frozenset({FieldType.INT, FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT})
# The word Salesforce uses in "must be of type …" messages.
TYPE_WORDS = {FieldType.DATETIME: "dateTime", FieldType.CURRENCY: "currency"}


@dataclass(frozen=True)
class FieldDescribe:
    """One field: API name, type, and the ORM path that stores it."""

    name: str
    type: FieldType
    label: str
    orm: str
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    length: int = 0
    reference_to: str | None = None
    relationship_name: str | None = None
    external_id: bool = False
    # A standard field that names one record as an external id does (Contact and Lead Email):
    # Salesforce's idLookup, usable in Bulk parent columns (`Lead:Who.Email`).
    id_lookup: bool = False
    picklist_values: tuple[str, ...] = ()
    default_on_create: bool = False
    # A value the database computes: `expression(prefix)` builds it from the columns under
    # `prefix` ("" on the object itself, "owner__" through the Owner hop), annotated as `orm`.
    expression: Callable[[str], Any] | None = None
    # The name of the list of this object's rows under each parent (`Account.Contacts`).
    child_relationship: str | None = None
    # A polymorphic lookup (WhoId, WhatId): every type it may point to (`reference_to` is the
    # first), stored as a plain id column, its parent hop a `Name` object of computed fields.
    polymorphic_to: tuple[str, ...] = ()
    polymorphic_parent: ObjectDescribe | None = None

    @property
    def computed(self) -> bool:
        return self.expression is not None

    @property
    def type_word(self) -> str:
        return TYPE_WORDS.get(self.type, self.type.value)

    @property
    def attname(self) -> str:
        """The model attribute holding the stored value (a lookup's id column)."""
        return f"{self.orm}_id" if self.reference_to and not self.polymorphic_to else self.orm

    @property
    def indexed(self) -> bool:
        """Whether a Bulk parent column may name a record by this field."""
        return self.external_id or self.id_lookup

    @property
    def references(self) -> tuple[str, ...]:
        """Every type the lookup may point to."""
        return self.polymorphic_to or ((self.reference_to,) if self.reference_to else ())


@dataclass(frozen=True)
class ObjectDescribe:
    """One sObject type."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: tuple[FieldDescribe, ...]
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    searchable: bool = False
    # The lookup that ties a row to its org (the Organization row is the org itself).
    org_field: str = "org"
    _by_name: dict[str, FieldDescribe] = field(init=False, repr=False, compare=False)
    _by_relationship: dict[str, FieldDescribe] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name.lower(): f for f in self.fields})
        relationships = {f.relationship_name.lower(): f for f in self.fields if f.relationship_name}
        object.__setattr__(self, "_by_relationship", relationships)

    def field(self, name: str) -> FieldDescribe | None:
        """The field called `name`, compared case-insensitively as Salesforce does."""
        return self._by_name.get(name.lower())

    def relationship(self, name: str) -> FieldDescribe | None:
        """The reference field whose relationship name is `name` (`Account` → `AccountId`)."""
        return self._by_relationship.get(name.lower())


class Registry:
    """The sObject types one service exposes, looked up case-insensitively, and (for semi-joins)
    the Django model that stores each."""

    def __init__(
        self, objects: list[ObjectDescribe], model_for: Callable[[str], Any] | None = None
    ) -> None:
        self._objects = {o.name.lower(): o for o in objects}
        self._model_for = model_for

    def model(self, sobject: ObjectDescribe) -> Any:
        """The model class of `sobject` (a registry without models cannot run semi-joins)."""
        if self._model_for is None:
            raise LookupError(f"no model for {sobject.name}")
        return self._model_for(sobject.name)

    def get(self, name: str) -> ObjectDescribe | None:
        return self._objects.get(name.lower())

    def children(self, parent: str) -> list[tuple[str, ObjectDescribe, FieldDescribe]]:
        """(relationship name, child object, its lookup) of each child relationship of
        `parent` (`Contacts`, Contact, AccountId for Account)."""
        found = []
        for child in self.all():
            for f in child.fields:
                if f.child_relationship and parent.lower() in (r.lower() for r in f.references):
                    found.append((f.child_relationship, child, f))
        return found

    def child(self, parent: str, name: str) -> tuple[ObjectDescribe, FieldDescribe] | None:
        """The child object and lookup of `parent`'s child relationship `name`."""
        for relationship, child, lookup in self.children(parent):
            if relationship.lower() == name.lower():
                return child, lookup
        return None

    def all(self) -> list[ObjectDescribe]:
        return sorted(self._objects.values(), key=lambda o: o.name)
