"""Signature review: filters, search by name key and e-mail hash, bulk actions.

Signatures are never edited field by field: every change of status goes
through the model's methods (which keep the counts right) from an action,
and each one is logged (Django's LogEntry, copied into the audit log).
E-mail and phone are masked unless the person may see personal data
(permission and two-factor); showing them is itself recorded.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from core.audit import audit_page, audit_record, search_kind
from core.models import AuditEntry
from core.roles import can_see_personal_data
from signatures.identity import email_hash, name_key
from signatures.models import DomainRule, IpRule, Signature, SigningSettings
from signatures.services import confirmation_send


def mask_email(email: str) -> str:
    if not email:
        return ""
    local, _at, domain = email.rpartition("@")
    return f"{local[:1]}•••@{domain}" if local else "•••"


def mask_phone(phone: str) -> str:
    return f"•••• {phone[-2:]}" if phone else ""


class CountryPresentFilter(admin.SimpleListFilter):
    """Countries that signatures come from, not all 250 of the world's."""

    title = _("country of residence")
    parameter_name = "country"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        codes = (
            Signature.objects.exclude(country="")
            .order_by()
            .values_list("country", flat=True)
            .distinct()
        )
        return sorted(((code, str(countries.name(code))) for code in codes), key=lambda c: c[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet[Signature]) -> QuerySet[Signature]:
        return queryset.filter(country=self.value()) if self.value() else queryset


class SuspectReasonFilter(admin.SimpleListFilter):
    """Why signatures are held, one choice per reason: with the campaign and
    the day (date hierarchy) a moderator selects one event's batch, e.g.
    everyone over the rate limit on one Wi-Fi, and approves it in one action."""

    title = _("why suspect")
    parameter_name = "suspect_reason"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        reasons = (
            Signature.objects.filter(status=Signature.Status.SUSPECT)
            .exclude(suspect_reason="")
            .order_by("suspect_reason")
            .values_list("suspect_reason", flat=True)
            .distinct()
        )
        return [(reason, reason) for reason in reasons]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Signature]) -> QuerySet[Signature]:
        if not self.value():
            return queryset
        return queryset.filter(status=Signature.Status.SUSPECT, suspect_reason=self.value())


class InvalidateForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = [
        "full_name",
        "campaign",
        "status",
        "source",
        "country",
        "province",
        "masked_email",
        "created_at",
        "confirmed_at",
        "suspect_reason",
    ]
    list_filter = [
        "campaign",
        "status",
        SuspectReasonFilter,
        "source",
        CountryPresentFilter,
        ("created_at", admin.DateFieldListFilter),
        ("confirmed_at", admin.DateFieldListFilter),
    ]
    # Search goes through the keys, never the columns: see get_search_results.
    search_fields = ["name_key"]
    search_help_text = _(
        "A name (any spelling variant finds the person) or an exact e-mail address."
    )
    # Without personal data an e-mail search would still answer "did this
    # address sign?" (with a masked row): it is not offered then.
    search_help_text_by_name = _("A name (any spelling variant finds the person).")
    date_hierarchy = "created_at"
    list_select_related = ["campaign"]
    list_per_page = 100
    show_full_result_count = False
    actions = ["invalidate", "restore", "approve", "resend_confirmation"]
    readonly_fields = [
        "campaign",
        "status",
        "source",
        "event",
        "full_name",
        "masked_email",
        "masked_phone",
        "country",
        "city",
        "province",
        "answers",
        "show_publicly",
        "wants_updates",
        "language",
        "masked_ip_address",
        "referrer",
        "utm",
        "suspect_reason",
        "invalidation_reason",
        "created_at",
        "confirmed_at",
        "withdrawn_at",
        "invalidated_at",
        "confirmation_sends",
    ]
    fields = readonly_fields  # type: ignore[assignment]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # paper signatures come through the paper import

    def has_delete_permission(self, request: HttpRequest, obj: Signature | None = None) -> bool:
        return False  # withdrawal or invalidation, never a silent delete

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Signature], search_term: str
    ) -> tuple[QuerySet[Signature], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        kind = search_kind(term)
        if kind == "name":
            return queryset.filter(name_key__contains=name_key(term)), False
        if kind == "email" and self._personal(request):
            return queryset.filter(email_hash=email_hash(term)), False
        # A phone number is never searched (it is stored encrypted, with no
        # key to match on), and an address only with personal data: the
        # answer is nothing, whether or not that person signed.
        if kind == "email":
            self.message_user(
                request,
                gettext("Searching by e-mail address needs two-factor sign-in."),
                messages.WARNING,
            )
        return queryset.none(), False

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        if not self._personal(request):
            changelist.search_help_text = self.search_help_text_by_name  # type: ignore[assignment]  # lazy text, as Django's own
        return changelist

    # --- Personal data, masked unless allowed ---------------------------

    def _personal(self, request: HttpRequest | None) -> bool:
        if request is None:
            return False
        # Asked by several admin hooks per page; the answer cannot change
        # within one request, so the permission and two-factor look-ups run once.
        if not hasattr(request, "_signatures_personal_data"):
            request._signatures_personal_data = can_see_personal_data(request)  # type: ignore[attr-defined]
        return bool(request._signatures_personal_data)  # type: ignore[attr-defined]

    # The admin is one object serving every request: which columns show
    # personal data is chosen per request by name, never stored on `self`.
    PLAIN = {"masked_email": "email", "masked_phone": "phone", "masked_ip_address": "ip_address"}

    def _unmasked(self, request: HttpRequest, names: list[Any]) -> list[Any]:
        if not self._personal(request):
            return names
        return [self.PLAIN.get(name, name) for name in names]

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        return self._unmasked(request, list(super().get_list_display(request)))

    def get_readonly_fields(self, request: HttpRequest, obj: Signature | None = None) -> list[Any]:
        return self._unmasked(request, list(super().get_readonly_fields(request, obj)))

    def get_fields(self, request: HttpRequest, obj: Signature | None = None) -> list[Any]:
        return self._unmasked(request, list(self.fields))

    @admin.display(description=_("e-mail"))
    def masked_email(self, signature: Signature) -> str:
        return mask_email(signature.email)

    @admin.display(description=_("phone number"))
    def masked_phone(self, signature: Signature) -> str:
        return mask_phone(signature.phone)

    @admin.display(description=_("IP address"))
    def masked_ip_address(self, signature: Signature) -> str:
        return "•••" if signature.ip_address else ""

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        if self._personal(request) and getattr(response, "status_code", 0) == 200:
            audit_record(
                action=AuditEntry.Action.VIEWED_PERSONAL_DATA,
                request=request,
                object_type="signatures.signature",
                object_repr=gettext("Signature list"),
                detail=audit_page(request),
            )
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: Any = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if self._personal(request) and getattr(response, "status_code", 0) == 200:
            audit_record(
                action=AuditEntry.Action.VIEWED_PERSONAL_DATA,
                request=request,
                object_type="signatures.signature",
                object_id=str(object_id),
                object_repr=gettext("Signature %(id)s") % {"id": object_id},
            )
        return response

    # --- Bulk actions ---------------------------------------------------

    def _apply(
        self,
        request: HttpRequest,
        queryset: QuerySet[Signature],
        change: str,
        message: str,
        **arguments: Any,
    ) -> list[Signature]:
        """Apply one state change to each selected signature; the ones it
        changed (each refreshed from its locked row), each logged."""
        changed = []
        for signature in queryset.select_related("campaign").order_by("pk"):
            if getattr(signature, change)(**arguments):
                changed.append(signature)
                self.log_change(
                    request,
                    signature,
                    f"{message}" + (f": {arguments['reason']}" if "reason" in arguments else ""),
                )
        return changed

    @admin.action(description=_("Invalidate with a reason"), permissions=["change"])
    def invalidate(self, request: HttpRequest, queryset: QuerySet[Signature]) -> Any:
        form = InvalidateForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            changed = self._apply(
                request, queryset, "invalidate", "Invalidated", reason=form.cleaned_data["reason"]
            )
            self.message_user(
                request,
                gettext("%(count)s signatures invalidated.") % {"count": len(changed)},
                messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "admin/signatures/invalidate.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Invalidate signatures"),
                "form": form,
                "queryset": queryset,
                "count": queryset.count(),
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description=_("Restore invalidated signatures"), permissions=["change"])
    def restore(self, request: HttpRequest, queryset: QuerySet[Signature]) -> None:
        changed = self._apply(request, queryset, "restore", "Restored")
        self.message_user(
            request,
            gettext("%(count)s signatures restored.") % {"count": len(changed)},
            messages.SUCCESS,
        )

    @admin.action(description=_("Approve suspect signatures"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Signature]) -> None:
        """Release a batch held for review. Only suspect signatures change
        (`approve()` refuses any other), and one whose e-mail was never
        confirmed goes back to waiting for it: approving never counts an
        unconfirmed online signature."""
        selected = queryset.count()
        approved = self._apply(request, queryset, "approve", "Approved")
        changed = len(approved)
        counted = sum(signature.is_counted for signature in approved)
        self.message_user(
            request,
            gettext(
                "%(approved)s signatures approved: %(counted)s now count; %(waiting)s will "
                "count once the signer confirms their e-mail address."
            )
            % {"approved": changed, "counted": counted, "waiting": changed - counted},
            messages.SUCCESS,
        )
        if selected > changed:
            self.message_user(
                request,
                gettext(
                    "%(count)s selected signatures were not held for review and were left "
                    "as they were."
                )
                % {"count": selected - changed},
                messages.WARNING,
            )

    @admin.action(description=_("Send the confirmation e-mail again"), permissions=["change"])
    def resend_confirmation(self, request: HttpRequest, queryset: QuerySet[Signature]) -> None:
        sent = 0
        awaiting = Signature.objects.awaiting_confirmation().filter(pk__in=queryset.values("pk"))
        for signature in awaiting.select_related("campaign"):
            with transaction.atomic():
                if confirmation_send(signature):
                    sent += 1
                    self.log_change(request, signature, "Confirmation e-mail sent again")
        self.message_user(
            request,
            gettext("Confirmation e-mail queued for %(count)s signatures.") % {"count": sent},
            messages.SUCCESS,
        )


@admin.register(SigningSettings)
class SigningSettingsAdmin(admin.ModelAdmin):
    """One row: the site-wide pause and the rate limits."""

    list_display = ["__str__", "signing_paused", "rate_burst", "rate_sustained", "updated_at"]
    fieldsets = [
        (_("Pause"), {"fields": ["signing_paused", "paused_message_km", "paused_message_en"]}),
        (_("Rate limits"), {"fields": ["rate_burst", "rate_sustained"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not SigningSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DomainRule)
class DomainRuleAdmin(admin.ModelAdmin):
    list_display = ["domain", "action", "campaign", "note", "created_at"]
    list_filter = ["action", "campaign"]
    search_fields = ["domain", "note"]


@admin.register(IpRule)
class IpRuleAdmin(admin.ModelAdmin):
    list_display = ["network", "action", "campaign", "note", "created_at"]
    list_filter = ["action", "campaign"]
    search_fields = ["network", "note"]
