from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outbox.models import Message
from outbox.services import messages_send_soon

MESSAGE_FIELDS = (
    "key",
    "channel",
    "subject",
    "status",
    "attempts",
    "last_error",
    "created_at",
    "next_attempt_at",
    "sent_at",
)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Outgoing e-mail and Telegram messages: messages that keep failing are
    an alert for organisers. The recipient is never shown."""

    list_display = [field for field in MESSAGE_FIELDS if field != "next_attempt_at"]
    list_filter = ["status", "channel"]
    search_fields = ["key"]
    fields = MESSAGE_FIELDS
    readonly_fields = MESSAGE_FIELDS
    actions = ["retry_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        failing = Message.objects.failing().count()
        if failing:
            messages.warning(
                request,
                _(
                    "%(count)s e-mails could not be sent after repeated attempts. Check the mail server, then try again."
                )
                % {"count": failing},
            )
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Try sending again now"), permissions=["view"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        retried = list(queryset.exclude(status=Message.Status.SENT).values_list("pk", flat=True))
        Message.objects.filter(pk__in=retried).update(
            status=Message.Status.PENDING, next_attempt_at=timezone.now()
        )
        messages_send_soon()
        self.message_user(
            request,
            _("%(count)s messages queued again.") % {"count": len(retried)},
            messages.SUCCESS,
        )
