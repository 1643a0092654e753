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
NUMBER_TYPES = frozenset({FieldType.INT, FieldType.DOUBLE, FieldType.CURRENCY})
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
    picklist_values: tuple[str, ...] = ()
    default_on_create: bool = False
    # Computed by the database from other columns or constants (an annotation named `orm` on the
    # object's own queryset): it cannot be reached through a parent hop (`Owner.X`).
    computed: bool = False

    @property
    def type_word(self) -> str:
        return TYPE_WORDS.get(self.type, self.type.value)


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

    def all(self) -> list[ObjectDescribe]:
        return sorted(self._objects.values(), key=lambda o: o.name)
