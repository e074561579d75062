"""Errors stored before redaction carried the refused recipients' addresses
(`SMTPRecipientsRefused: {'someone@example.org': ...}`): redact them in place,
as `Message.record_failure` now does for every new error."""

import re
from typing import Any

from django.db import migrations

from core.redaction import redact


def redact_stored_errors(apps: Any, schema_editor: Any) -> None:
    Message = apps.get_model("outbox", "Message")
    for message in Message.objects.exclude(last_error="").iterator(chunk_size=500):
        error = message.last_error
        if message.to:
            error = re.sub(re.escape(message.to), "[email]", error, flags=re.IGNORECASE)
        error = redact(error)[:500]
        if error != message.last_error:
            Message.objects.filter(pk=message.pk).update(last_error=error)


class Migration(migrations.Migration):
    dependencies = [("outbox", "0002_labels")]

    operations = [migrations.RunPython(redact_stored_errors, migrations.RunPython.noop)]
