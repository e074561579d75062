from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localdate
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from core.templatetags.sitthi import to_local_digits
from organisers.models import GeneratedFile, InvalidatedSignature, Invalidation
from signatures.admin import InvalidationJobFilter


@admin.register(Invalidation)
class InvalidationAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "campaign",
        "reason",
        "criteria_list",
        "status",
        "total",
        "invalidated",
        "created_by",
        "progress_link",
    ]
    list_filter = ["status", "campaign"]

    @admin.display(description=_("criteria"))
    def criteria_list(self, job: Invalidation) -> str:
        return format_html_join("; ", "{}: {}", job.criteria_labelled())

    @admin.display(description=_("progress"))
    def progress_link(self, job: Invalidation) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("organisers:invalidation", args=[job.pk]), _("Open")
        )


@admin.register(GeneratedFile)
class GeneratedFileAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "campaign", "status", "rows", "created_by", "expires_at"]
    list_filter = ["kind", "status"]
    exclude = ["file", "token"]


class InvalidationJobsForSignatureList:
    """The jobs the signature list filters by (signatures.admin.InvalidationJobFilter)."""

    def choices(self) -> list[tuple[str, str]]:
        jobs = Invalidation.objects.filter(invalidated__gt=0).select_related("campaign")[:50]
        return [
            (
                str(job.pk),
                to_local_digits(f"#{job.pk} · {localdate(job.created_at).isoformat()} · ")
                + job.reason[:60],
            )
            for job in jobs
        ]

    def signature_ids(self, job_id: int) -> QuerySet[Any]:
        return InvalidatedSignature.objects.filter(invalidation_id=job_id).values("signature_id")


InvalidationJobFilter.jobs_provide(InvalidationJobsForSignatureList())
