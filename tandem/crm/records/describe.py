"""Describe metadata of the record objects: API names, types, and the model field behind each."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    F,
    Field,
    Model,
    OuterRef,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, Trim

from tandem.crm.records import models as m
from tandem.crm.soql.schema import FieldDescribe, FieldType, ObjectDescribe, Registry

T = FieldType
IER = "et4ae5__IndividualEmailResult__c"


def _f(name: str, type_: FieldType, orm: str, label: str = "", **extra: Any) -> FieldDescribe:
    return FieldDescribe(name, type_, label or name, orm, **extra)


def _ref(name: str, orm: str, to: str, relationship: str, **extra: Any) -> FieldDescribe:
    return _f(
        name, T.REFERENCE, orm, reference_to=to, relationship_name=relationship, length=18, **extra
    )


READ_ONLY: dict[str, Any] = {"createable": False, "updateable": False}


def _system(label: str) -> tuple[FieldDescribe, ...]:
    return (
        _f("Id", T.ID, "id", f"{label} ID", nillable=False, length=18, **READ_ONLY),
        _f("IsDeleted", T.BOOLEAN, "is_deleted", "Deleted", nillable=False, **READ_ONLY),
        _ref("OwnerId", "owner", "User", "Owner", nillable=False, default_on_create=True),
        _f("CreatedDate", T.DATETIME, "created_date", nillable=False, **READ_ONLY),
        _f("LastModifiedDate", T.DATETIME, "last_modified_date", nillable=False, **READ_ONLY),
        _f("SystemModstamp", T.DATETIME, "system_modstamp", nillable=False, **READ_ONLY),
    )


def _text(name: str, orm: str, length: int, **extra: Any) -> FieldDescribe:
    return _f(name, T.STRING, orm, length=length, **extra)


def _person() -> tuple[FieldDescribe, ...]:
    return (
        _text("FirstName", "first_name", 40),
        _text("LastName", "last_name", 80, nillable=False),
        _text("Name", "name", 121, nillable=False, **READ_ONLY),
        _f("Email", T.EMAIL, "email", length=80, id_lookup=True),
        _f("Phone", T.PHONE, "phone", length=40),
        _text("Title", "title", 128),
        _f(
            "LeadSource",
            T.PICKLIST,
            "lead_source",
            length=40,
            picklist_values=("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"),
        ),
        _f("HasOptedOutOfEmail", T.BOOLEAN, "has_opted_out_of_email", nillable=False),
        _f("Description", T.TEXTAREA, "description", length=32000),
        _text("External_Id__c", "external_id", 80, external_id=True),
    )


def _full_name(prefix: str) -> Any:
    """User.Name: first and last name (the last alone when there is no first)."""
    full = Concat(f"{prefix}first_name", Value(" "), f"{prefix}last_name", output_field=CharField())
    return Trim(full)


def _constant(value: Any, field: type[Field[Any, Any]]) -> Any:
    """A value every row has; typed, as PostgreSQL cannot infer a bare parameter's type."""
    return lambda prefix: Cast(Value(value), field())


# The org's own row; a Tandem org is never a sandbox, trial or namespaced org.
ORGANIZATION_TYPE = "Enterprise Edition"
INSTANCE_NAME = "TND1"
USER = ObjectDescribe(
    name="User",
    label="User",
    label_plural="Users",
    key_prefix="005",
    fields=(
        _f("Id", T.ID, "id", "User ID", nillable=False, length=18, **READ_ONLY),
        _text("Username", "username", 80, nillable=False, **READ_ONLY),
        _f("Email", T.EMAIL, "email", length=128, **READ_ONLY),
        _text("FirstName", "first_name", 40, **READ_ONLY),
        _text("LastName", "last_name", 80, nillable=False, **READ_ONLY),
        _text("Name", "sf_name", 121, nillable=False, expression=_full_name, **READ_ONLY),
        _f("IsActive", T.BOOLEAN, "is_active", nillable=False, **READ_ONLY),
        _ref("ProfileId", "profile", "Profile", "Profile", nillable=False, **READ_ONLY),
        _f("CreatedDate", T.DATETIME, "created_at", nillable=False, **READ_ONLY),
    ),
    createable=False,
    updateable=False,
    deletable=False,
    searchable=True,
)
PROFILE = ObjectDescribe(
    name="Profile",
    label="Profile",
    label_plural="Profiles",
    key_prefix="00e",
    fields=(
        _f("Id", T.ID, "id", "Profile ID", nillable=False, length=18, **READ_ONLY),
        _text("Name", "name", 255, nillable=False, **READ_ONLY),
        _f(
            "PermissionsModifyAllData",
            T.BOOLEAN,
            "modify_all_data",
            "Modify All Data",
            nillable=False,
            **READ_ONLY,
        ),
        _f(
            "PermissionsBulkApiHardDelete",
            T.BOOLEAN,
            "bulk_api_hard_delete",
            "Bulk API Hard Delete",
            nillable=False,
            **READ_ONLY,
        ),
    ),
    createable=False,
    updateable=False,
    deletable=False,
)
ORGANIZATION = ObjectDescribe(
    name="Organization",
    label="Organization",
    label_plural="Organizations",
    key_prefix="00D",
    org_field="pk",
    fields=(
        _f("Id", T.ID, "id", "Organization ID", nillable=False, length=18, **READ_ONLY),
        _text("Name", "name", 80, nillable=False, **READ_ONLY),
        _text(
            "InstanceName",
            "sf_instance_name",
            5,
            expression=_constant(INSTANCE_NAME, CharField),
            **READ_ONLY,
        ),
        _f(
            "IsSandbox",
            T.BOOLEAN,
            "sf_is_sandbox",
            nillable=False,
            expression=_constant(False, BooleanField),
            **READ_ONLY,
        ),
        _f(
            "TrialExpirationDate",
            T.DATETIME,
            "sf_trial_expiration_date",
            expression=_constant(None, DateTimeField),
            **READ_ONLY,
        ),
        _text(
            "NamespacePrefix",
            "sf_namespace_prefix",
            15,
            expression=_constant(None, CharField),
            **READ_ONLY,
        ),
        _f(
            "OrganizationType",
            T.PICKLIST,
            "sf_organization_type",
            "Edition",
            length=40,
            expression=_constant(ORGANIZATION_TYPE, CharField),
            picklist_values=(ORGANIZATION_TYPE,),
            **READ_ONLY,
        ),
        _f("CreatedDate", T.DATETIME, "created_at", nillable=False, **READ_ONLY),
    ),
    createable=False,
    updateable=False,
    deletable=False,
)
ACCOUNT = ObjectDescribe(
    name="Account",
    label="Account",
    label_plural="Accounts",
    key_prefix="001",
    fields=(
        *_system("Account"),
        _text("Name", "name", 255, nillable=False),
        _f(
            "Type",
            T.PICKLIST,
            "type",
            length=40,
            picklist_values=("Prospect", "Customer - Direct", "Customer - Channel", "Partner"),
        ),
        _f(
            "Industry",
            T.PICKLIST,
            "industry",
            length=40,
            picklist_values=("Agriculture", "Banking", "Education", "Retail", "Technology"),
        ),
        _f("Phone", T.PHONE, "phone", length=40),
        _f("Website", T.URL, "website", length=255),
        _text("BillingCity", "billing_city", 40),
        _text("BillingCountry", "billing_country", 80),
        _f("NumberOfEmployees", T.INT, "number_of_employees"),
        _f("AnnualRevenue", T.CURRENCY, "annual_revenue"),
        _f("Description", T.TEXTAREA, "description", length=32000),
        _text("External_Id__c", "external_id", 80, external_id=True),
    ),
    searchable=True,
)
CONTACT = ObjectDescribe(
    name="Contact",
    label="Contact",
    label_plural="Contacts",
    key_prefix="003",
    fields=(
        *_system("Contact"),
        _ref("AccountId", "account", "Account", "Account", child_relationship="Contacts"),
        *_person(),
        _text("Department", "department", 80),
        _text("MailingCity", "mailing_city", 40),
        _text("MailingCountry", "mailing_country", 80),
        _f("Birthdate", T.DATE, "birthdate"),
    ),
    searchable=True,
)
LEAD = ObjectDescribe(
    name="Lead",
    label="Lead",
    label_plural="Leads",
    key_prefix="00Q",
    fields=(
        *_system("Lead"),
        *_person(),
        _text("Company", "company", 255, nillable=False),
        _f(
            "Status",
            T.PICKLIST,
            "status",
            length=40,
            nillable=False,
            picklist_values=(
                "Open - Not Contacted",
                "Working - Contacted",
                "Closed - Converted",
                "Closed - Not Converted",
            ),
        ),
        _text("City", "city", 40),
        _text("Country", "country", 80),
        _f("IsConverted", T.BOOLEAN, "is_converted", nillable=False, **READ_ONLY),
    ),
    searchable=True,
)
CAMPAIGN = ObjectDescribe(
    name="Campaign",
    label="Campaign",
    label_plural="Campaigns",
    key_prefix="701",
    fields=(
        *_system("Campaign"),
        _text("Name", "name", 80, nillable=False),
        _f(
            "Type",
            T.PICKLIST,
            "type",
            length=40,
            picklist_values=("Email", "Webinar", "Conference", "Advertisement", "Other"),
        ),
        _f(
            "Status",
            T.PICKLIST,
            "status",
            length=40,
            picklist_values=("Planned", "In Progress", "Completed", "Aborted"),
        ),
        _f("StartDate", T.DATE, "start_date"),
        _f("EndDate", T.DATE, "end_date"),
        _f("IsActive", T.BOOLEAN, "is_active", nillable=False),
        _f("BudgetedCost", T.CURRENCY, "budgeted_cost"),
        _f("Description", T.TEXTAREA, "description", length=32000),
    ),
    searchable=True,
)
CAMPAIGN_MEMBER = ObjectDescribe(
    name="CampaignMember",
    label="Campaign Member",
    label_plural="Campaign Members",
    key_prefix="00v",
    fields=(
        *_system("Campaign Member"),
        _ref(
            "CampaignId",
            "campaign",
            "Campaign",
            "Campaign",
            nillable=False,
            updateable=False,
            child_relationship="CampaignMembers",
        ),
        _ref("ContactId", "contact", "Contact", "Contact", updateable=False),
        _ref("LeadId", "lead", "Lead", "Lead", updateable=False),
        _f("Status", T.PICKLIST, "status", length=40, picklist_values=("Sent", "Responded")),
        _f("HasResponded", T.BOOLEAN, "has_responded", nillable=False),
        _f("FirstRespondedDate", T.DATE, "first_responded_date"),
    ),
)
REPORT = ObjectDescribe(
    name="Report",
    label="Report",
    label_plural="Reports",
    key_prefix="00O",
    fields=(
        *_system("Report"),
        _text("Name", "name", 40, nillable=False, **READ_ONLY),
        _text("DeveloperName", "developer_name", 80, nillable=False, **READ_ONLY),
        _text("Description", "description", 255, **READ_ONLY),
        _text("Format", "report_type", 40, nillable=False, **READ_ONLY),
    ),
    createable=False,
    updateable=False,
)
INDIVIDUAL_EMAIL_RESULT = ObjectDescribe(
    name=IER,
    label="Individual Email Result",
    label_plural="Individual Email Results",
    key_prefix=m.INDIVIDUAL_EMAIL_RESULT_PREFIX,
    fields=(
        *_system("Individual Email Result"),
        _text("Name", "name", 80, nillable=False),
        _ref("et4ae5__Contact__c", "contact", "Contact", "et4ae5__Contact__r"),
        _ref("et4ae5__Lead__c", "lead", "Lead", "et4ae5__Lead__r"),
        _text("et4ae5__SubjectLine__c", "subject_line", 255),
        _f("et4ae5__Email__c", T.EMAIL, "email", length=80),
        _text("et4ae5__JobId__c", "job_id", 40),
        _text("et4ae5__SubscriberKey__c", "subscriber_key", 80),
        _f("et4ae5__DateSent__c", T.DATETIME, "date_sent"),
        _f("et4ae5__Opened__c", T.BOOLEAN, "opened", nillable=False),
        _f("et4ae5__DateOpened__c", T.DATETIME, "date_opened"),
        _f("et4ae5__Clicked__c", T.BOOLEAN, "clicked", nillable=False),
        _f("et4ae5__NumberOfUniqueClicks__c", T.INT, "number_of_unique_clicks", nillable=False),
        _f("et4ae5__DateClicked__c", T.DATETIME, "date_clicked"),
        _f("et4ae5__HardBounce__c", T.BOOLEAN, "hard_bounce", nillable=False),
        _f("et4ae5__DateBounced__c", T.DATETIME, "date_bounced"),
        _f("et4ae5__DateUnsubscribed__c", T.DATETIME, "date_unsubscribed"),
        _text("et4ae5__TrackingKey__c", "tracking_key", 80, external_id=True),
    ),
)

OPPORTUNITY_STAGES = {
    # stage: (probability, forecast category, closed, won)
    "Prospecting": (10, "Pipeline", False, False),
    "Qualification": (10, "Pipeline", False, False),
    "Needs Analysis": (20, "Pipeline", False, False),
    "Value Proposition": (50, "Pipeline", False, False),
    "Id. Decision Makers": (60, "Pipeline", False, False),
    "Perception Analysis": (70, "Pipeline", False, False),
    "Proposal/Price Quote": (75, "Pipeline", False, False),
    "Negotiation/Review": (90, "Pipeline", False, False),
    "Closed Won": (100, "Closed", True, True),
    "Closed Lost": (0, "Omitted", True, False),
}
OPPORTUNITY = ObjectDescribe(
    name="Opportunity",
    label="Opportunity",
    label_plural="Opportunities",
    key_prefix="006",
    fields=(
        *_system("Opportunity"),
        _text("Name", "name", 120, nillable=False),
        _ref("AccountId", "account", "Account", "Account", child_relationship="Opportunities"),
        _f(
            "StageName",
            T.PICKLIST,
            "stage_name",
            "Stage",
            length=40,
            nillable=False,
            picklist_values=tuple(OPPORTUNITY_STAGES),
        ),
        _f("CloseDate", T.DATE, "close_date", "Close Date", nillable=False),
        _f("Amount", T.CURRENCY, "amount"),
        _f("Probability", T.PERCENT, "probability", "Probability (%)"),
        _f(
            "Type",
            T.PICKLIST,
            "type",
            "Opportunity Type",
            length=40,
            picklist_values=(
                "New Customer",
                "Existing Customer - Upgrade",
                "Existing Customer - Replacement",
                "Existing Customer - Downgrade",
            ),
        ),
        _f(
            "LeadSource",
            T.PICKLIST,
            "lead_source",
            length=40,
            picklist_values=("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"),
        ),
        _text("NextStep", "next_step", 255),
        _f("Description", T.TEXTAREA, "description", length=32000),
        _f("IsClosed", T.BOOLEAN, "is_closed", "Closed", nillable=False, **READ_ONLY),
        _f("IsWon", T.BOOLEAN, "is_won", "Won", nillable=False, **READ_ONLY),
        _f(
            "ForecastCategoryName",
            T.PICKLIST,
            "forecast_category_name",
            "Forecast Category",
            length=40,
            picklist_values=("Omitted", "Pipeline", "Best Case", "Commit", "Closed"),
        ),
    ),
    searchable=True,
)
CASE = ObjectDescribe(
    name="Case",
    label="Case",
    label_plural="Cases",
    key_prefix="500",
    fields=(
        *_system("Case"),
        _text("CaseNumber", "case_number", 30, label="Case Number", nillable=False, **READ_ONLY),
        _text("Subject", "subject", 255),
        _f("Description", T.TEXTAREA, "description", length=32000),
        _f(
            "Status",
            T.PICKLIST,
            "status",
            length=40,
            nillable=False,
            default_on_create=True,
            picklist_values=("New", "Working", "Escalated", "Closed"),
        ),
        _f(
            "Origin",
            T.PICKLIST,
            "origin",
            "Case Origin",
            length=40,
            picklist_values=("Phone", "Email", "Web"),
        ),
        _f(
            "Priority",
            T.PICKLIST,
            "priority",
            length=40,
            default_on_create=True,
            picklist_values=("High", "Medium", "Low"),
        ),
        _f(
            "Type",
            T.PICKLIST,
            "type",
            "Case Type",
            length=40,
            picklist_values=("Mechanical", "Electrical", "Electronic", "Structural", "Other"),
        ),
        _f(
            "Reason",
            T.PICKLIST,
            "reason",
            "Case Reason",
            length=40,
            picklist_values=(
                "Installation",
                "Equipment Complexity",
                "Performance",
                "Breakdown",
                "Equipment Design",
                "Feedback",
                "Other",
            ),
        ),
        _ref("ContactId", "contact", "Contact", "Contact", child_relationship="Cases"),
        _ref("AccountId", "account", "Account", "Account", child_relationship="Cases"),
        _f("IsClosed", T.BOOLEAN, "is_closed", "Closed", nillable=False, **READ_ONLY),
        _f("ClosedDate", T.DATETIME, "closed_date", "Closed Date", **READ_ONLY),
        _f("SuppliedEmail", T.EMAIL, "supplied_email", "Web Email", length=80),
        _text("SuppliedName", "supplied_name", 80, label="Web Name"),
    ),
    searchable=True,
)

# The column a polymorphic lookup's `Name` hop shows for each type it may point to.
NAME_COLUMNS = {
    "Contact": "name",
    "Lead": "name",
    "Account": "name",
    "Opportunity": "name",
    "Case": "case_number",
    "Campaign": "name",
}


def _column_of(prefix: str) -> str:
    """The id column of a polymorphic hop: its expressions get the prefix `who_id__`."""
    return prefix.removesuffix("__")


def _poly_name(targets: tuple[str, ...]) -> Any:
    """The name of the record the lookup holds, read in the row's own org only."""

    def expression(prefix: str) -> Any:
        column = _column_of(prefix)
        names = [
            Subquery(
                model_for(t)
                ._default_manager.filter(pk=OuterRef(column), org=OuterRef("org"))
                .values(NAME_COLUMNS[t])[:1],
                output_field=CharField(),
            )
            for t in targets
        ]
        return Coalesce(*names, output_field=CharField()) if len(names) > 1 else names[0]

    return expression


def _poly_type(targets: tuple[str, ...]) -> Any:
    def expression(prefix: str) -> Any:
        column = _column_of(prefix)
        whens = [
            When(**{f"{column}__startswith": REGISTRY_PREFIXES[t]}, then=Value(t)) for t in targets
        ]
        return Case(*whens, default=Value(None), output_field=CharField())

    return expression


def _poly_parent(targets: tuple[str, ...]) -> ObjectDescribe:
    """Salesforce's `Name` object: what a polymorphic hop (`Who.Name`) can read."""
    return ObjectDescribe(
        name="Name",
        label="Name",
        label_plural="Names",
        key_prefix="",
        fields=(
            _f(
                "Id",
                T.ID,
                "id",
                nillable=False,
                length=18,
                expression=lambda prefix: F(_column_of(prefix)),
                **READ_ONLY,
            ),
            _text("Name", "name", 255, expression=_poly_name(targets), **READ_ONLY),
            _text("Type", "type", 40, expression=_poly_type(targets), **READ_ONLY),
        ),
        createable=False,
        updateable=False,
        deletable=False,
    )


def _poly(
    name: str, orm: str, label: str, relationship: str, targets: tuple[str, ...], child: str
) -> FieldDescribe:
    return _ref(
        name,
        orm,
        targets[0],
        relationship,
        label=label,
        polymorphic_to=targets,
        polymorphic_parent=_poly_parent(targets),
        child_relationship=child,
    )


WHO_TYPES = ("Contact", "Lead")
WHAT_TYPES = ("Account", "Opportunity", "Case", "Campaign")


def _activity(label: str, child: str) -> tuple[FieldDescribe, ...]:
    return (
        *_system(label),
        _text("Subject", "subject", 255),
        _f("Description", T.TEXTAREA, "description", length=32000),
        _f("ActivityDate", T.DATE, "activity_date", "Due Date Only"),
        _poly("WhoId", "who_id", "Name ID", "Who", WHO_TYPES, child),
        _poly("WhatId", "what_id", "Related To ID", "What", WHAT_TYPES, child),
    )


TASK = ObjectDescribe(
    name="Task",
    label="Task",
    label_plural="Tasks",
    key_prefix="00T",
    fields=(
        *_activity("Activity", "Tasks"),
        _f(
            "Status",
            T.PICKLIST,
            "status",
            length=40,
            nillable=False,
            default_on_create=True,
            picklist_values=(
                "Not Started",
                "In Progress",
                "Completed",
                "Waiting on someone else",
                "Deferred",
            ),
        ),
        _f(
            "Priority",
            T.PICKLIST,
            "priority",
            length=40,
            nillable=False,
            default_on_create=True,
            picklist_values=("High", "Normal", "Low"),
        ),
        _f("IsClosed", T.BOOLEAN, "is_closed", "Closed", nillable=False, **READ_ONLY),
        _f(
            "TaskSubtype",
            T.PICKLIST,
            "task_subtype",
            "Task Subtype",
            length=40,
            updateable=False,
            picklist_values=("Task", "Email", "Call"),
        ),
    ),
    searchable=True,
)
EVENT = ObjectDescribe(
    name="Event",
    label="Event",
    label_plural="Events",
    key_prefix="00U",
    fields=(
        *_activity("Activity", "Events"),
        _f("StartDateTime", T.DATETIME, "start_date_time", "Start"),
        _f("EndDateTime", T.DATETIME, "end_date_time", "End"),
        _f("ActivityDateTime", T.DATETIME, "activity_date_time", "Due Date Time"),
        _f("DurationInMinutes", T.INT, "duration_in_minutes", "Duration"),
        _f("IsAllDayEvent", T.BOOLEAN, "is_all_day_event", "All-Day Event", nillable=False),
        _text("Location", "location", 255),
    ),
    searchable=True,
)

REGISTRY = Registry(
    [
        ORGANIZATION,
        PROFILE,
        USER,
        ACCOUNT,
        CONTACT,
        LEAD,
        CAMPAIGN,
        CAMPAIGN_MEMBER,
        REPORT,
        INDIVIDUAL_EMAIL_RESULT,
        OPPORTUNITY,
        CASE,
        TASK,
        EVENT,
    ],
    model_for=lambda name: model_for(name),
)
REGISTRY_PREFIXES = {o.name: o.key_prefix for o in REGISTRY.all()}


def model_for(name: str) -> type[Model]:
    """The model that stores an sObject type (by its API name)."""
    from tandem.crm.orgs.models import Org
    from tandem.crm.users.models import Profile, User

    models: dict[str, type[Model]] = {
        "Organization": Org,
        "Profile": Profile,
        "User": User,
        "Account": m.Account,
        "Contact": m.Contact,
        "Lead": m.Lead,
        "Campaign": m.Campaign,
        "CampaignMember": m.CampaignMember,
        "Report": m.Report,
        IER: m.IndividualEmailResult,
        "Opportunity": m.Opportunity,
        "Case": m.Case,
        "Task": m.Task,
        "Event": m.Event,
    }
    return models[name]
