from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import translation
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from statements import services
from statements.models import Attachment, PressContact, Signatory, Statement, Transition
from statements.views import statement_context


def waiting_for_review(user: Any) -> int | None:
    """For the admin front page: how many statements wait for review, for
    those who review them (None for everyone else: nothing to show)."""
    if not user.has_perm(services.REVIEW_PERMISSION):
        return None
    return Statement.objects.filter(status=Statement.Status.IN_REVIEW).count()


class SignatoryInline(admin.TabularInline):
    model = Signatory
    extra = 0
    fields = ["name_km", "name_en", "role_km", "role_en", "contact", "position"]


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ["file", "title_km", "title_en", "position"]


class TransitionInline(admin.TabularInline):
    """The statement's history: who did what, when, and why. Read-only."""

    model = Transition
    extra = 0
    can_delete = False
    fields = ("at", "action", "from_status", "to_status", "by", "comment")
    readonly_fields = ["at", "action", "from_status", "to_status", "by", "comment"]
    verbose_name_plural = _("history")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# Button labels: what pressing it does (Transition.Action labels say what happened).
ACTION_BUTTONS = {
    Transition.Action.SUBMIT: _("Submit for review"),
    Transition.Action.SEND_BACK: _("Send back"),
    Transition.Action.SCHEDULE: _("Schedule"),
    Transition.Action.PUBLISH: _("Publish now"),
    Transition.Action.UNPUBLISH: _("Unpublish"),
}


class WorkflowForm(forms.Form):
    action = forms.ChoiceField(choices=Transition.Action.choices)
    comment = forms.CharField(label=_("comment"), required=False, widget=forms.Textarea)
    publish_at = forms.DateTimeField(
        label=_("publish at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    change_form_template = "admin/statements/statement/change_form.html"
    list_display = ["__str__", "kind", "date", "status", "pdf_status", "published_at"]
    list_filter = ["status", "kind", "pdf_status", "campaigns"]
    search_fields = ["slug", "title_km", "title_en"]
    date_hierarchy = "date"
    # Searched as one types (CampaignAdmin.search_fields), not every campaign
    # ever run listed on each statement page: a site accumulates hundreds, and
    # each would be loaded with all its texts and rendered twice on every visit.
    autocomplete_fields = ["campaigns"]
    inlines = [SignatoryInline, AttachmentInline, TransitionInline]
    actions = ["rebuild_pdfs"]
    readonly_fields = [
        "status",
        "published_at",
        "revised_at",
        "publish_at",
        "scheduled_by",
        "sending_started_at",
        "pdf_link",
        "pdf_status",
        "pdf_attempts",
        "pdf_rendered_at",
        "pdf_error",
        "preview_links",
    ]
    # Khmer and English side by side: each row holds the two languages of one field.
    fieldsets = [  # type: ignore[assignment]  # rows of two fields: Khmer | English
        (None, {"fields": ["kind", "slug", "date", "campaigns", "send_to_subscribers"]}),
        (
            _("Text (Khmer | English)"),
            {
                "classes": ["statement-side-by-side"],
                "fields": [
                    ("title_km", "title_en"),
                    ("summary_km", "summary_en"),
                    ("place_km", "place_en"),
                    ("body_km", "body_en"),
                ],
            },
        ),
        (
            _("Publication"),
            {
                "fields": [
                    "preview_links",
                    ("status", "published_at", "revised_at"),
                    ("publish_at", "scheduled_by"),
                    "sending_started_at",
                ]
            },
        ),
        (
            _("PDF"),
            {
                "fields": [
                    "pdf_link",
                    ("pdf_status", "pdf_attempts", "pdf_rendered_at"),
                    "pdf_error",
                ]
            },
        ),
    ]

    class Media:
        css = {"all": ["css/statements-admin.css"]}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm("statements.publish_statement"):
            fields.append("send_to_subscribers")
        return fields

    def save_model(self, request: HttpRequest, obj: Statement, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]  # the admin is staff-only
        super().save_model(request, obj, form, change)
        if change and form.has_changed():
            services.statement_revised(statement=obj, by=request.user)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        statement = form.instance
        if change and not form.has_changed() and any(f.has_changed() for f in formsets):
            services.statement_revised(statement=statement, by=request.user)

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj: Statement) -> str:
        if not obj.pk or not obj.pdf:
            return gettext("No PDF yet.")
        return format_html('<a href="{}">{}</a>', obj.pdf.url, obj.pdf.name)

    @admin.display(description=_("Preview"))
    def preview_links(self, obj: Statement) -> str:
        if not obj.pk:
            return gettext("Save first to preview.")
        return format_html_join(
            " · ",
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            (
                (reverse("admin:statements_statement_preview", args=[obj.pk, code]), name)
                for code, name in (("km", "ខ្មែរ"), ("en", "English"))
            ),
        )

    @admin.action(description=_("Render the PDF again"))
    def rebuild_pdfs(self, request: HttpRequest, queryset: QuerySet[Statement]) -> None:
        for statement in queryset:
            services.pdf_render_queue(statement=statement)
        self.message_user(request, gettext("The PDFs are being rendered."), messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:statement_id>/preview/<str:language>/",
                self.admin_site.admin_view(self.preview_view),
                name="statements_statement_preview",
            ),
            path(
                "<int:statement_id>/workflow/",
                self.admin_site.admin_view(self.workflow_view),
                name="statements_statement_workflow",
            ),
            path(
                "<int:statement_id>/rebuild-pdf/",
                self.admin_site.admin_view(self.rebuild_view),
                name="statements_statement_rebuild_pdf",
            ),
        ]
        return own + super().get_urls()

    def _statement(self, request: HttpRequest, statement_id: int) -> Statement:
        statement = get_object_or_404(Statement, pk=statement_id)
        if not self.has_view_or_change_permission(request, statement):
            raise PermissionDenied
        return statement

    def preview_view(self, request: HttpRequest, statement_id: int, language: str) -> HttpResponse:
        """The public page as it will look, in one language, before publishing."""
        statement = self._statement(request, statement_id)
        if language not in {"km", "en"}:
            raise PermissionDenied
        with translation.override(language):
            context = {**statement_context(statement, language), "preview": True}
            response = TemplateResponse(request, "statements/detail.html", context)
            response.render()
        return response

    def workflow_view(self, request: HttpRequest, statement_id: int) -> HttpResponse:
        statement = self._statement(request, statement_id)
        change_url = reverse("admin:statements_statement_change", args=[statement.pk])
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        form = WorkflowForm(request.POST)
        if not form.is_valid():
            self.message_user(request, gettext("Choose an action."), messages.ERROR)
            return HttpResponseRedirect(change_url)
        try:
            transition = services.statement_transition(
                statement=statement,
                action=form.cleaned_data["action"],
                by=request.user,
                comment=form.cleaned_data["comment"],
                publish_at=form.cleaned_data["publish_at"],
            )
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(request, transition.get_action_display(), messages.SUCCESS)
        return HttpResponseRedirect(change_url)

    def rebuild_view(self, request: HttpRequest, statement_id: int) -> HttpResponse:
        statement = self._statement(request, statement_id)
        if request.method == "POST" and self.has_change_permission(request, statement):
            services.pdf_render_queue(statement=statement)
            self.message_user(request, gettext("The PDF is being rendered."), messages.SUCCESS)
        return HttpResponseRedirect(
            reverse("admin:statements_statement_change", args=[statement.pk])
        )

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Statement | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context["workflow_actions"] = [
                (action, ACTION_BUTTONS[Transition.Action(action)])
                for action in services.allowed_actions(statement=obj, user=request.user)
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(PressContact)
class PressContactAdmin(admin.ModelAdmin):
    list_display = ["name", "outlet", "email", "language", "active", "unsubscribed_at"]
    list_filter = ["active", "language"]
    search_fields = ["name", "outlet", "email"]
    readonly_fields = ["unsubscribed_at", "created_at"]
