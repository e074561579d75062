from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outbox.models import Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Outgoing e-mail: failing messages show here as an alert to organisers."""

    list_display = ["key", "subject", "status", "attempts", "last_error", "created_at", "sent_at"]
    list_filter = ["status"]
    search_fields = ["key"]
    fields = [
        "key",
        "subject",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "next_attempt_at",
        "sent_at",
    ]
    readonly_fields = fields
    actions = ["retry_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    @admin.action(description=_("Try sending again now"), permissions=["view"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        count = queryset.exclude(status=Message.Status.SENT).update(
            status=Message.Status.PENDING, next_attempt_at=timezone.now()
        )
        for message_id in queryset.filter(status=Message.Status.PENDING).values_list(
            "pk", flat=True
        ):
            from outbox.services import _enqueue

            _enqueue(message_id)
        self.message_user(
            request, _("%(count)s messages queued again.") % {"count": count}, messages.SUCCESS
        )
