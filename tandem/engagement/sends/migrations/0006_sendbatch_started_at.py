"""Batches record when they started; every batch claimed before this field existed had started
(a loop delivered a batch as soon as it claimed it), so recovery keeps treating it as sent-or-
unknown, never as something to queue again."""

from typing import Any

from django.db import migrations, models
from django.db.models import F


def existing_batches_started(apps: Any, schema_editor: Any) -> None:
    SendBatch = apps.get_model("engagement_sends", "SendBatch")
    SendBatch.objects.filter(started_at__isnull=True).update(started_at=F("claimed_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("engagement_sends", "0005_alter_send_audience_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="sendbatch",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(existing_batches_started, migrations.RunPython.noop),
    ]
