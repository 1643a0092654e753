"""A small describe registry for parser and binder tests (Account and Contact)."""

from __future__ import annotations

from tandem.crm.soql.schema import FieldDescribe, FieldType, ObjectDescribe, Registry

T = FieldType

ACCOUNT = ObjectDescribe(
    name="Account",
    label="Account",
    label_plural="Accounts",
    key_prefix="001",
    fields=(
        FieldDescribe("Id", T.ID, "Account ID", "id", nillable=False),
        FieldDescribe("Name", T.STRING, "Account Name", "name", nillable=False),
        FieldDescribe("NumberOfEmployees", T.INT, "Employees", "number_of_employees"),
    ),
)
CONTACT = ObjectDescribe(
    name="Contact",
    label="Contact",
    label_plural="Contacts",
    key_prefix="003",
    fields=(
        FieldDescribe("Id", T.ID, "Contact ID", "id", nillable=False),
        FieldDescribe("LastName", T.STRING, "Last Name", "last_name", nillable=False),
        FieldDescribe("Email", T.EMAIL, "Email", "email"),
        FieldDescribe("HasOptedOutOfEmail", T.BOOLEAN, "Email Opt Out", "has_opted_out_of_email"),
        FieldDescribe("Birthdate", T.DATE, "Birthdate", "birthdate"),
        FieldDescribe("CreatedDate", T.DATETIME, "Created Date", "created_date"),
        FieldDescribe(
            "AccountId",
            T.REFERENCE,
            "Account ID",
            "account",
            reference_to="Account",
            relationship_name="Account",
        ),
    ),
)
REGISTRY = Registry([ACCOUNT, CONTACT])
