"""Signature review: filters, search by name key and e-mail hash, bulk actions.

Signatures are never edited field by field: every change of status goes
through the model's methods (which keep the counts right) from an action,
and each one is logged (Django's LogEntry, copied into the audit log).
E-mail and phone are masked unless the person may see personal data
(permission and two-factor); showing them is itself recorded.

Two exceptions, both only for staff who may see personal data: a paper
signature's name, country, city, province and phone may be corrected (as the
sheet reads; `Signature.correct` moves the count with the country), and any
signer's personal data may be erased at their request (exactly a withdrawal:
`services.signature_erase`), after a confirmation page.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from campaigns.models import Question
from campaigns.provinces import province_choices, province_name
from core.audit import audit_page, audit_record, search_kind
from core.models import AuditEntry
from core.roles import can_see_personal_data
from core.spreadsheet import starts_like_formula
from signatures.countries import CountryField, country_choices
from signatures.forms import PhoneField
from signatures.identity import email_hash, name_checked, name_clean, name_key
from signatures.models import DomainRule, IpRule, Signature, SigningSettings
from signatures.services import confirmation_send, signature_correct, signature_erase


def mask_email(email: str) -> str:
    if not email:
        return ""
    local, _at, domain = email.rpartition("@")
    return f"{local[:1]}•••@{domain}" if local else "•••"


def mask_phone(phone: str) -> str:
    return f"•••• {phone[-2:]}" if phone else ""


def answer_label(question: Question | None, value: str) -> str:
    """A stored answer ("yes", a choice's value) as the reader reads it."""
    if question is None:
        return value
    if question.kind == Question.Kind.YES_NO and value in {"yes", "no"}:
        return gettext("Yes") if value == "yes" else gettext("No")
    for choice in question.choices or []:
        if isinstance(choice, dict) and str(choice.get("value")) == value:
            language = "km" if (get_language() or "km").startswith("km") else "en"
            other = "en" if language == "km" else "km"
            return str(choice.get(f"label_{language}") or choice.get(f"label_{other}") or value)
    return value


class CountryPresentFilter(admin.SimpleListFilter):
    """Countries that signatures come from, not all 250 of the world's."""

    title = _("country of residence")
    parameter_name = "country"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        codes = set(
            Signature.objects.exclude(country="")
            .order_by()
            .values_list("country", flat=True)
            .distinct()
        )
        # Named and sorted in the page's language, as every country menu is.
        return [(code, name) for code, name in country_choices() if code in codes]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Signature]) -> QuerySet[Signature]:
        return queryset.filter(country=self.value()) if self.value() else queryset


class ReasonFilter(admin.SimpleListFilter):
    """One choice per reason given for a status (`status`, `reason_field`)."""

    status: str
    reason_field: str

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        reasons = (
            Signature.objects.filter(status=self.status)
            .exclude(**{self.reason_field: ""})
            .order_by(self.reason_field)
            .values_list(self.reason_field, flat=True)
            .distinct()[:200]
        )
        return [(reason, reason) for reason in reasons]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Signature]) -> QuerySet[Signature]:
        if not self.value():
            return queryset
        return queryset.filter(status=self.status, **{self.reason_field: self.value()})


class SuspectReasonFilter(ReasonFilter):
    """Why signatures are held: with the campaign and the day (date
    hierarchy) a moderator selects one event's batch, e.g. everyone over the
    rate limit on one Wi-Fi, and approves it in one action."""

    title = _("why suspect")
    parameter_name = "suspect_reason"
    status = Signature.Status.SUSPECT
    reason_field = "suspect_reason"


class InvalidationReasonFilter(ReasonFilter):
    """Why signatures were invalidated (by hand, or a job's reason)."""

    title = _("why invalidated")
    parameter_name = "invalidation_reason"
    status = Signature.Status.INVALIDATED
    reason_field = "invalidation_reason"


class InvalidationJobs(Protocol):
    """What the filter below needs to know of invalidation jobs."""

    def choices(self) -> list[tuple[str, str]]:
        """(job id, label) for the jobs worth offering, newest first."""

    def signature_ids(self, job_id: int) -> QuerySet[Any]:
        """A one-column query of the ids of the signatures the job invalidated."""


class InvalidationJobFilter(admin.SimpleListFilter):
    """The signatures one invalidation job invalidated.

    Jobs belong to the organisers app, above this one: it hands its jobs to
    this filter with `InvalidationJobFilter.jobs_provide(...)` when its admin
    loads (the higher app calls down; signatures never import it). Without
    one, the filter offers nothing and is not shown.
    """

    title = _("invalidation job")
    parameter_name = "invalidation_job"
    jobs: ClassVar[InvalidationJobs | None] = None

    @classmethod
    def jobs_provide(cls, jobs: InvalidationJobs) -> None:
        cls.jobs = jobs

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return self.jobs.choices() if self.jobs is not None else []

    def queryset(self, request: HttpRequest, queryset: QuerySet[Signature]) -> QuerySet[Signature]:
        value = self.value()
        if not value:
            return queryset
        if self.jobs is None or not value.isdigit():
            raise IncorrectLookupParameters(value)
        return queryset.filter(pk__in=self.jobs.signature_ids(int(value)))


class InvalidateForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class PaperCorrectionForm(forms.ModelForm):  # type: ignore[type-arg]
    """A paper signature's fields as the online form checks them. The admin
    drops every field it shows read-only, so for anyone else, or any other
    signature, this form changes nothing."""

    full_name = forms.CharField(label=_("full name"), max_length=200)
    country = CountryField(
        label=_("country of residence"),
        required=False,
        choices=lambda: [("", "—"), *country_choices()],
    )
    province = forms.ChoiceField(
        label=_("province of origin"),
        required=False,
        choices=lambda: [("", "—"), *province_choices()],
    )
    city = forms.CharField(label=_("city"), max_length=100, required=False)
    phone = PhoneField(label=_("phone number"), max_length=50, required=False)

    class Meta:
        model = Signature
        fields: list[str] = []

    def clean_full_name(self) -> str:
        return name_checked(self.cleaned_data["full_name"])

    def clean_city(self) -> str:
        city = name_clean(self.cleaned_data.get("city", ""))
        if starts_like_formula(city):
            raise forms.ValidationError(_("Please enter only the name of your city."))
        return city


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = [
        "full_name",
        "campaign",
        "status",
        "source",
        "channel_label",
        "country",
        "province_label",
        "masked_email",
        "created_at",
        "confirmed_at",
        "suspect_reason",
    ]
    list_filter = [
        "campaign",
        "status",
        SuspectReasonFilter,
        InvalidationReasonFilter,
        InvalidationJobFilter,
        "source",
        "channel",
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
    actions = ["invalidate", "restore", "approve", "resend_confirmation", "erase_personal_data"]
    form = PaperCorrectionForm
    readonly_fields = [
        "campaign",
        "status",
        "source",
        "channel_label",
        "event",
        "full_name",
        "masked_email",
        "masked_phone",
        "country",
        "city",
        "province_label",
        "answers_display",
        "show_publicly",
        "wants_updates",
        "language_label",
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
        names = self._unmasked(request, list(super().get_readonly_fields(request, obj)))
        if self._may_correct(request, obj):
            names = [name for name in names if name not in Signature.CORRECTABLE]
        return names

    # --- Correcting a paper signature -----------------------------------

    def _may_correct(self, request: HttpRequest, obj: Signature | None) -> bool:
        """A paper signature (not withdrawn), for staff allowed to change
        signatures who may see personal data (the phone is personal data)."""
        return bool(
            obj is not None
            and obj.source == Signature.Source.PAPER
            and obj.status != Signature.Status.WITHDRAWN
            and self._personal(request)
            and self.has_change_permission(request, obj)
        )

    def get_form(
        self,
        request: HttpRequest,
        obj: Signature | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> Any:
        if not self._may_correct(request, obj):
            kwargs["form"] = forms.ModelForm  # every field read-only: nothing to correct
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Signature, form: Any, change: bool) -> None:
        # Never obj.save(): the correction goes through the model's method,
        # which locks the row and moves the count with the country.
        if not change or not self._may_correct(request, Signature.objects.get(pk=obj.pk)):
            return
        corrections = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in Signature.CORRECTABLE
        }
        if corrections:
            signature_correct(signature=obj, **corrections)

    def get_fields(self, request: HttpRequest, obj: Signature | None = None) -> list[Any]:
        return self._unmasked(request, list(self.fields))

    @admin.display(description=_("e-mail"))
    def masked_email(self, signature: Signature) -> str:
        return mask_email(signature.email)

    @admin.display(description=_("phone number"))
    def masked_phone(self, signature: Signature) -> str:
        return mask_phone(signature.phone)

    @admin.display(description=_("confirmed by"), ordering="channel")
    def channel_label(self, signature: Signature) -> str:
        """E-mail or Telegram, and nothing more: a Telegram signer's chat
        and hash are shown to nobody, not even with personal data (the chat
        is kept only to answer). A paper signature was confirmed by none."""
        if signature.source == Signature.Source.PAPER:
            return ""
        return signature.get_channel_display()

    @admin.display(description=_("IP address"))
    def masked_ip_address(self, signature: Signature) -> str:
        return "•••" if signature.ip_address else ""

    # --- Labels in the reader's language, never stored codes --------------

    @admin.display(description=_("province of origin"), ordering="province")
    def province_label(self, signature: Signature) -> str:
        return province_name(signature.province) if signature.province else ""

    @admin.display(description=_("language"), ordering="language")
    def language_label(self, signature: Signature) -> str:
        return str(dict(settings.LANGUAGES).get(signature.language, signature.language))

    @admin.display(description=_("answers"))
    def answers_display(self, signature: Signature) -> SafeString | str:
        """Each answer under its question, both in the reader's language; an
        answer to a question since removed shows under its key."""
        if not signature.answers:
            return ""
        questions = {q.key: q for q in Question.objects.filter(campaign_id=signature.campaign_id)}
        rows = []
        for key, value in signature.answers.items():
            question = questions.get(key)
            rows.append(
                (str(question.label) if question else key, answer_label(question, str(value)))
            )
        return format_html_join("", "<p>{}: {}</p>", rows)

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

    # --- Erasing a signer ------------------------------------------------

    def has_erase_permission(self, request: HttpRequest) -> bool:
        """Erasing needs what seeing the data needs: the permission and two-factor."""
        return self._personal(request) and self.has_change_permission(request)

    @admin.action(description=_("Erase these signers' personal data"), permissions=["erase"])
    def erase_personal_data(self, request: HttpRequest, queryset: QuerySet[Signature]) -> Any:
        """At the signer's request (by e-mail or letter): the same as their own
        withdrawal. A confirmation page first; then each one is logged, after
        the erasure, so the log keeps no name."""
        signatures = queryset.exclude(status=Signature.Status.WITHDRAWN)
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/signatures/erase.html",
                {
                    **self.admin_site.each_context(request),
                    "title": gettext("Erase personal data"),
                    "signatures": signatures.select_related("campaign").order_by("pk"),
                    "count": signatures.count(),
                    "opts": self.model._meta,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        erased = 0
        for signature in signatures.select_related("campaign").order_by("pk"):
            with transaction.atomic():
                if signature_erase(signature=signature):
                    erased += 1
                    self.log_change(
                        request, signature, "Personal data erased at the signer's request"
                    )
        self.message_user(
            request,
            gettext("Personal data of %(count)s signers erased.") % {"count": erased},
            messages.SUCCESS,
        )
        return None

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
