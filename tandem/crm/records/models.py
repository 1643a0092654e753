"""CRM records: accounts, contacts, leads, campaigns and members, opportunities, cases,
tasks and events, reports, email results."""

# Salesforce tells an empty field (null) from an empty string nowhere, but its API returns
# null for unset fields: text columns are nullable so that round-trips stay exact.
# ruff: noqa: DJ001

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from tandem.core.ids import new_id

# Salesforce gives custom objects prefixes starting "a0"; Tandem fixes this one.
INDIVIDUAL_EMAIL_RESULT_PREFIX = "a0E"


def new_account_id() -> str:
    return new_id("001")


def new_contact_id() -> str:
    return new_id("003")


def new_lead_id() -> str:
    return new_id("00Q")


def new_campaign_id() -> str:
    return new_id("701")


def new_campaign_member_id() -> str:
    return new_id("00v")


def new_opportunity_id() -> str:
    return new_id("006")


def new_case_id() -> str:
    return new_id("500")


def new_task_id() -> str:
    return new_id("00T")


def new_event_id() -> str:
    return new_id("00U")


def new_report_id() -> str:
    return new_id("00O")


def new_individual_email_result_id() -> str:
    return new_id(INDIVIDUAL_EMAIL_RESULT_PREFIX)


class Record(models.Model):
    """What every record has: its org, owner, audit dates and a recycle-bin flag."""

    org = models.ForeignKey("crm_orgs.Org", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_date = models.DateTimeField(default=timezone.now)
    last_modified_date = models.DateTimeField(default=timezone.now)
    system_modstamp = models.DateTimeField(default=timezone.now)
    # Deleted records stay (queryAll still returns them), as in Salesforce's recycle bin.
    is_deleted = models.BooleanField(default=False)

    class Meta:
        abstract = True


class Account(Record):
    id = models.CharField(primary_key=True, max_length=18, default=new_account_id, editable=False)
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=40, blank=True, null=True)
    industry = models.CharField(max_length=40, blank=True, null=True)
    phone = models.CharField(max_length=40, blank=True, null=True)
    website = models.CharField(max_length=255, blank=True, null=True)
    billing_city = models.CharField(max_length=40, blank=True, null=True)
    billing_country = models.CharField(max_length=80, blank=True, null=True)
    number_of_employees = models.IntegerField(blank=True, null=True)
    annual_revenue = models.FloatField(blank=True, null=True)
    description = models.TextField(blank=True, null=True)
    external_id = models.CharField(max_length=80, blank=True, null=True)

    class Meta:
        indexes = [models.Index(fields=["org", "id"])]
        constraints = [
            models.UniqueConstraint(fields=["org", "external_id"], name="account_external_id")
        ]

    def __str__(self) -> str:
        return self.name


class Person(Record):
    """Contact and Lead share a person's name, email and opt-out."""

    first_name = models.CharField(max_length=40, blank=True, null=True)
    last_name = models.CharField(max_length=80)
    name = models.CharField(max_length=121, editable=False)
    email = models.CharField(max_length=80, blank=True, null=True)
    phone = models.CharField(max_length=40, blank=True, null=True)
    title = models.CharField(max_length=128, blank=True, null=True)
    lead_source = models.CharField(max_length=40, blank=True, null=True)
    has_opted_out_of_email = models.BooleanField(default=False)
    description = models.TextField(blank=True, null=True)
    external_id = models.CharField(max_length=80, blank=True, null=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class Contact(Person):
    id = models.CharField(primary_key=True, max_length=18, default=new_contact_id, editable=False)
    account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="contacts"
    )
    department = models.CharField(max_length=80, blank=True, null=True)
    mailing_city = models.CharField(max_length=40, blank=True, null=True)
    mailing_country = models.CharField(max_length=80, blank=True, null=True)
    birthdate = models.DateField(blank=True, null=True)

    class Meta:
        indexes = [models.Index(fields=["org", "id"])]
        constraints = [
            models.UniqueConstraint(fields=["org", "external_id"], name="contact_external_id")
        ]


class Lead(Person):
    id = models.CharField(primary_key=True, max_length=18, default=new_lead_id, editable=False)
    company = models.CharField(max_length=255)
    status = models.CharField(max_length=40, default="Open - Not Contacted")
    city = models.CharField(max_length=40, blank=True, null=True)
    country = models.CharField(max_length=80, blank=True, null=True)
    is_converted = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["org", "id"])]
        constraints = [
            models.UniqueConstraint(fields=["org", "external_id"], name="lead_external_id")
        ]


class Campaign(Record):
    id = models.CharField(primary_key=True, max_length=18, default=new_campaign_id, editable=False)
    name = models.CharField(max_length=80)
    type = models.CharField(max_length=40, blank=True, null=True)
    status = models.CharField(max_length=40, default="Planned")
    start_date = models.DateField(blank=True, null=True)
    end_date = models.DateField(blank=True, null=True)
    is_active = models.BooleanField(default=False)
    budgeted_cost = models.FloatField(blank=True, null=True)
    description = models.TextField(blank=True, null=True)

    class Meta:
        indexes = [models.Index(fields=["org", "id"])]

    def __str__(self) -> str:
        return self.name


class CampaignMember(Record):
    """A contact or a lead in a campaign, with a status."""

    id = models.CharField(
        primary_key=True, max_length=18, default=new_campaign_member_id, editable=False
    )
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=40, default="Sent")
    has_responded = models.BooleanField(default=False)
    first_responded_date = models.DateField(blank=True, null=True)

    class Meta:
        indexes = [models.Index(fields=["org", "id"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(contact__isnull=False, lead__isnull=True)
                | models.Q(contact__isnull=True, lead__isnull=False),
                name="campaign_member_contact_xor_lead",
            ),
            models.UniqueConstraint(fields=["campaign", "contact"], name="campaign_member_contact"),
            models.UniqueConstraint(fields=["campaign", "lead"], name="campaign_member_lead"),
        ]

    def __str__(self) -> str:
        return self.id


class Opportunity(Record):
    id = models.CharField(
        primary_key=True, max_length=18, default=new_opportunity_id, editable=False
    )
    name = models.CharField(max_length=120)
    account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="opportunities"
    )
    stage_name = models.CharField(max_length=40)
    close_date = models.DateField()
    amount = models.FloatField(blank=True, null=True)
    probability = models.FloatField(blank=True, null=True)
    type = models.CharField(max_length=40, blank=True, null=True)
    lead_source = models.CharField(max_length=40, blank=True, null=True)
    next_step = models.CharField(max_length=255, blank=True, null=True)
    description = models.TextField(blank=True, null=True)
    forecast_category_name = models.CharField(max_length=40, blank=True, null=True)
    is_closed = models.BooleanField(default=False)
    is_won = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["org", "id"])]
        verbose_name_plural = "opportunities"

    def __str__(self) -> str:
        return self.name


class Case(Record):
    id = models.CharField(primary_key=True, max_length=18, default=new_case_id, editable=False)
    case_number = models.CharField(max_length=30, editable=False)
    subject = models.CharField(max_length=255, blank=True, null=True)
    description = models.TextField(blank=True, null=True)
    status = models.CharField(max_length=40, default="New")
    origin = models.CharField(max_length=40, blank=True, null=True)
    priority = models.CharField(max_length=40, blank=True, null=True, default="Medium")
    type = models.CharField(max_length=40, blank=True, null=True)
    reason = models.CharField(max_length=40, blank=True, null=True)
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases"
    )
    account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases"
    )
    is_closed = models.BooleanField(default=False)
    closed_date = models.DateTimeField(blank=True, null=True)
    supplied_email = models.CharField(max_length=80, blank=True, null=True)
    supplied_name = models.CharField(max_length=80, blank=True, null=True)

    class Meta:
        indexes = [models.Index(fields=["org", "id"])]
        constraints = [
            models.UniqueConstraint(fields=["org", "case_number"], name="case_number_per_org")
        ]

    def __str__(self) -> str:
        return self.case_number


class Activity(Record):
    """Task and Event: polymorphic Who (a contact or lead) and What (anything else), kept as
    plain id columns since one foreign key cannot point at several tables."""

    subject = models.CharField(max_length=255, blank=True, null=True)
    description = models.TextField(blank=True, null=True)
    activity_date = models.DateField(blank=True, null=True)
    who_id = models.CharField(max_length=18, blank=True, null=True, db_index=True)
    what_id = models.CharField(max_length=18, blank=True, null=True, db_index=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.subject or self.pk


class Task(Activity):
    id = models.CharField(primary_key=True, max_length=18, default=new_task_id, editable=False)
    status = models.CharField(max_length=40, default="Not Started")
    priority = models.CharField(max_length=40, default="Normal")
    is_closed = models.BooleanField(default=False)
    task_subtype = models.CharField(max_length=40, blank=True, null=True)

    class Meta:
        indexes = [models.Index(fields=["org", "id"])]


class Event(Activity):
    id = models.CharField(primary_key=True, max_length=18, default=new_event_id, editable=False)
    start_date_time = models.DateTimeField(blank=True, null=True)
    end_date_time = models.DateTimeField(blank=True, null=True)
    activity_date_time = models.DateTimeField(blank=True, null=True)
    duration_in_minutes = models.IntegerField(blank=True, null=True)
    is_all_day_event = models.BooleanField(default=False)
    location = models.CharField(max_length=255, blank=True, null=True)

    class Meta:
        indexes = [models.Index(fields=["org", "id"])]


class AutoNumber(models.Model):
    """The last number an org's auto-number field handed out (Case.CaseNumber)."""

    org = models.ForeignKey("crm_orgs.Org", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    last = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="auto_number_name")]

    def __str__(self) -> str:
        return f"{self.name}={self.last}"


class ReportType(models.TextChoices):
    CONTACTS = "Contact", "Contacts"
    LEADS = "Lead", "Leads"
    CAMPAIGN_MEMBERS = "CampaignMember", "Campaign Members"


class Report(Record):
    """A saved tabular report: columns, filters and a sort over one object."""

    id = models.CharField(primary_key=True, max_length=18, default=new_report_id, editable=False)
    name = models.CharField(max_length=40)
    developer_name = models.CharField(max_length=80)
    description = models.CharField(max_length=255, blank=True, null=True)
    report_type = models.CharField(max_length=40, choices=ReportType.choices)
    columns = models.JSONField(default=list, help_text="Field API names, in order.")
    filters = models.JSONField(
        default=list, help_text='[{"column": "Email", "operator": "contains", "value": "x"}]'
    )
    sort_column = models.CharField(max_length=80, blank=True, null=True)
    sort_descending = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["org", "id"])]

    def __str__(self) -> str:
        return self.name


class IndividualEmailResult(Record):
    """Tracking of one send to one contact or lead (`et4ae5__IndividualEmailResult__c`)."""

    id = models.CharField(
        primary_key=True, max_length=18, default=new_individual_email_result_id, editable=False
    )
    name = models.CharField(max_length=80, help_text="The send's name.")
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lead = models.ForeignKey(
        Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject_line = models.CharField(max_length=255, blank=True, null=True)
    email = models.CharField(max_length=80, blank=True, null=True)
    job_id = models.CharField(max_length=40, blank=True, null=True)
    subscriber_key = models.CharField(max_length=80, blank=True, null=True)
    date_sent = models.DateTimeField(blank=True, null=True)
    opened = models.BooleanField(default=False)
    date_opened = models.DateTimeField(blank=True, null=True)
    clicked = models.BooleanField(default=False)
    number_of_unique_clicks = models.IntegerField(default=0)
    date_clicked = models.DateTimeField(blank=True, null=True)
    hard_bounce = models.BooleanField(default=False)
    date_bounced = models.DateTimeField(blank=True, null=True)
    date_unsubscribed = models.DateTimeField(blank=True, null=True)
    tracking_key = models.CharField(
        max_length=80, blank=True, null=True, help_text="job id + subscriber key, for upsert."
    )

    class Meta:
        indexes = [models.Index(fields=["org", "id"])]
        constraints = [
            models.UniqueConstraint(fields=["org", "tracking_key"], name="ier_tracking_key")
        ]

    def __str__(self) -> str:
        return self.name
