"""Organisers' pages: dashboards, exports, invalidation by criteria, paper
import, the delivery document, and the downloads jobs produce."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns.models import Campaign
from core.audit import audit_record
from core.models import AuditEntry
from core.roles import can_see_dashboard, can_see_personal_data
from core.templatetags.sitthi import digits
from organisers import charts, delivery, exports, figures, invalidation, paper
from organisers.forms import DeliveryForm, InvalidationForm, PaperImportForm
from organisers.models import FINISHED, GeneratedFile, Invalidation, JobStatus, readable_file_name

View = Callable[..., HttpResponseBase]


def staff_with(check: Callable[[HttpRequest], bool]) -> Callable[[View], View]:
    """Signed-in staff passing `check` (given the request), else 403 (sign-in
    first when anonymous)."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not check(request):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _perm(name: str) -> Callable[[HttpRequest], bool]:
    def check(request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm(name))

    return check


def _dashboard_allowed(request: HttpRequest) -> bool:
    return can_see_dashboard(request.user)


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """Organisers' pages live inside the admin's frame (header, sidebar)."""
    return render(request, template, {**admin.site.each_context(request), **context})


def _campaign(slug: str) -> Campaign:
    return get_object_or_404(Campaign, slug=slug)


# --- Dashboard --------------------------------------------------------------


@staff_with(_dashboard_allowed)
def dashboard_index(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.all()
    return _page(request, "organisers/index.html", {"campaigns": campaigns})


@staff_with(_dashboard_allowed)
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _campaign(slug)
    status_counts = figures.campaign_figures(campaign)
    days = figures.counts_by_day(campaign)
    by_country = figures.counts_by_country(campaign)
    by_province = figures.counts_by_province(campaign)
    user = request.user
    return _page(
        request,
        "organisers/dashboard.html",
        {
            "campaign": campaign,
            "figures": status_counts,
            "confirmation_percent": None
            if status_counts.confirmation_rate is None
            else round(100 * status_counts.confirmation_rate, 1),
            "channels": figures.channel_shares(campaign),
            "days": days,
            "days_chart": charts.daily_bars(days, label=_("Confirmed signatures per day")),
            "by_country": by_country,
            "country_chart": charts.horizontal_bars(
                [(name, n) for _code, name, n in by_country],
                label=_("Confirmed signatures by country of residence"),
            ),
            "by_province": by_province,
            "province_chart": charts.horizontal_bars(
                [(name, n) for _code, name, n in by_province],
                label=_("Confirmed signatures by province of origin"),
            ),
            "sources": figures.campaign_sources(campaign),
            "count_exports": exports.COUNT_EXPORTS,
            "can_export_personal_data": can_see_personal_data(request),
            "can_invalidate": user.has_perm("core.invalidate_by_criteria"),
            "can_import_paper": user.has_perm("core.import_paper"),
            "can_build_delivery": user.has_perm("core.build_delivery_document"),
        },
    )


# --- Exports ----------------------------------------------------------------


@staff_with(_dashboard_allowed)
def count_export(request: HttpRequest, slug: str, by: str, extension: str) -> HttpResponse:
    campaign = _campaign(slug)
    if by not in exports.COUNT_EXPORTS or extension not in {"csv", "xlsx"}:
        raise Http404
    filename = readable_file_name(
        campaign=campaign,
        what=f"by-{by}",
        language=_language(request),
        day=timezone.localdate(),
        ext=extension,
    )
    if extension == "csv":
        response = HttpResponse(
            exports.count_export_csv(campaign, by), content_type="text/csv; charset=utf-8"
        )
    else:
        response = HttpResponse(
            exports.count_export_xlsx(campaign, by),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    audit_record(
        action=AuditEntry.Action.EXPORTED,
        request=request,
        obj=campaign,
        detail=_("Counts by %(by)s (%(format)s)") % {"by": by, "format": extension},
    )
    return response


@require_POST
@staff_with(can_see_personal_data)
def signature_export(request: HttpRequest, slug: str, extension: str = "csv") -> HttpResponseBase:
    """Every signature of the campaign with personal data, in the page's
    language: a CSV streamed when small enough, else (and any XLSX) built by a
    job and offered as a download, with its progress on the files page."""
    campaign = _campaign(slug)
    if extension not in exports.EXPORT_FORMATS:
        raise Http404
    language = _language(request)
    rows = exports.export_row_count(campaign)
    if extension != "csv" or rows > exports.EXPORT_STREAM_MAX_ROWS:
        job = exports.export_start(
            campaign=campaign, user=request.user, language=language, extension=extension
        )
        audit_record(
            action=AuditEntry.Action.EXPORTED,
            request=request,
            obj=campaign,
            detail=_("Full signature export queued (%(rows)s rows), job %(job)s")
            % {"rows": rows, "job": job.pk},
        )
        messages.info(request, _("The export is being prepared. It will be listed here."))
        return redirect("organisers:files")
    audit_record(
        action=AuditEntry.Action.EXPORTED,
        request=request,
        obj=campaign,
        detail=_("Full signature export streamed (%(rows)s rows)") % {"rows": rows},
    )
    response = StreamingHttpResponse(
        exports.export_lines(campaign, language), content_type="text/csv; charset=utf-8"
    )
    filename = readable_file_name(
        campaign=campaign,
        what="signatures",
        language=language,
        day=timezone.localdate(),
        ext="csv",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _language(request: HttpRequest) -> str:
    """The page's language: an export asked for on /km/ reads in Khmer."""
    return "en" if (get_language() or "km")[:2] == "en" else "km"


def _file_allowed(request: HttpRequest, job: GeneratedFile) -> bool:
    if job.created_by_id != request.user.pk:
        return False
    if job.holds_personal_data:
        return can_see_personal_data(request)
    return bool(request.user.has_perm("core.build_delivery_document"))


def _may_have_files(request: HttpRequest) -> bool:
    return can_see_personal_data(request) or bool(
        request.user.is_staff and request.user.has_perm("core.build_delivery_document")
    )


@staff_with(_may_have_files)
def files(request: HttpRequest) -> HttpResponse:
    jobs = GeneratedFile.objects.filter(created_by_id=request.user.pk).select_related("campaign")
    if request.GET.get("format") == "json":
        unfinished = jobs.exclude(status__in=FINISHED)
        return JsonResponse(
            {
                "pending": unfinished.count(),
                "jobs": [
                    {
                        "id": job.pk,
                        "status": job.status,
                        "status_label": job.get_status_display(),
                        "processed": job.processed,
                        "total": job.total,
                        "percent": job.percent,
                        "finished": job.is_finished,
                        "display": _shown_figures(job, "processed", "total"),
                    }
                    for job in unfinished
                ],
            }
        )
    return _page(request, "organisers/files.html", {"jobs": jobs, "now": timezone.now()})


@staff_with(_may_have_files)
def file_download(request: HttpRequest, pk: int, token: str) -> HttpResponseBase:
    job = get_object_or_404(GeneratedFile, pk=pk, token=token)
    if not _file_allowed(request, job):
        raise PermissionDenied
    if job.status != JobStatus.DONE or not job.file or job.is_expired():
        raise Http404
    audit_record(
        action=AuditEntry.Action.EXPORTED,
        request=request,
        obj=job.campaign,
        detail=_("Downloaded %(kind)s (%(rows)s rows)")
        % {"kind": job.get_kind_display(), "rows": job.rows},
    )
    response = FileResponse(job.file.open("rb"), as_attachment=True, filename=job.download_name)
    response["Cache-Control"] = "no-store"
    return response


# --- Invalidation by criteria ----------------------------------------------


@staff_with(_perm("core.invalidate_by_criteria"))
def invalidation_new(request: HttpRequest, slug: str) -> HttpResponse:
    """Count first, then start: the start button carries a signed token of
    what was counted (see invalidation.preview_token_make), and the job
    starts only if the form still holds those criteria and the count holds."""
    campaign = _campaign(slug)
    form = InvalidationForm(request.POST or None)
    preview: int | None = None
    preview_token = ""  # nosec B105 # no preview yet, not a password
    if request.method == "POST" and form.is_valid():
        criteria = form.criteria()
        if "start" in request.POST:
            reason = form.cleaned_data["reason"].strip()
            if not reason:
                form.add_error("reason", _("Say why: the reason is kept on every signature."))
            else:
                try:
                    job = invalidation.invalidation_start(
                        campaign=campaign,
                        criteria=criteria,
                        reason=reason,
                        user=request.user,
                        preview_token=request.POST["start"],
                    )
                except invalidation.PreviewAlreadyUsed as used:
                    messages.info(request, _("This preview has already started the job below."))
                    return redirect("organisers:invalidation", pk=used.job.pk)
                except invalidation.PreviewRefused as refused:
                    form.add_error(None, str(refused))
                else:
                    return redirect("organisers:invalidation", pk=job.pk)
        preview = invalidation.invalidation_preview(campaign, criteria)
        preview_token = invalidation.preview_token_make(
            campaign=campaign, criteria=criteria, count=preview, user=request.user
        )
    return _page(
        request,
        "organisers/invalidation_form.html",
        {
            "campaign": campaign,
            "form": form,
            "preview": preview,
            "preview_token": preview_token,
            "recent": Invalidation.objects.filter(campaign=campaign)[:10],
        },
    )


def _shown_figures(job: Any, *names: str) -> dict[str, str]:
    """A job's figures as the page shows them (Khmer digits on /km/), for the
    script that updates the page while the job runs."""
    return {name: digits(getattr(job, name)) for name in names}


def _job_progress(job: Invalidation) -> dict[str, Any]:
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "processed": job.processed,
        "invalidated": job.invalidated,
        "total": job.total,
        "percent": job.percent,
        "finished": job.is_finished,
        "undo_requested": job.undo_requested_at is not None,
        "undone": job.undone_at is not None,
        "restored": job.restored,
        "display": _shown_figures(job, "processed", "total", "invalidated", "restored"),
    }


@staff_with(_perm("core.invalidate_by_criteria"))
def invalidation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Invalidation.objects.select_related("campaign"), pk=pk)
    if request.GET.get("format") == "json":
        return JsonResponse(_job_progress(job))
    return _page(
        request,
        "organisers/invalidation_detail.html",
        {
            "job": job,
            "signatures_url": reverse("admin:signatures_signature_changelist")
            + f"?invalidation_job={job.pk}",
        },
    )


@require_POST
@staff_with(_perm("core.invalidate_by_criteria"))
def invalidation_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Invalidation, pk=pk)
    invalidation.invalidation_cancel(job)
    audit_record(action=AuditEntry.Action.OTHER, request=request, obj=job, detail=_("Cancelled"))
    messages.info(request, _("Cancelling: signatures already invalidated stay invalidated."))
    return redirect("organisers:invalidation", pk=job.pk)


@require_POST
@staff_with(_perm("core.invalidate_by_criteria"))
def invalidation_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Restore what this job invalidated. The same permission as starting a
    job; once per job (a second press restores nothing more)."""
    job = get_object_or_404(Invalidation, pk=pk)
    if invalidation.invalidation_undo_start(job=job, user=request.user, request=request):
        messages.success(
            request,
            _(
                "Undoing: the signatures this job invalidated are restored, except those "
                "that changed since."
            ),
        )
    elif job.undo_requested_at is not None:
        messages.info(request, _("This job has already been undone."))
    elif not job.is_finished:
        messages.error(request, _("Cancel the job and wait for it to stop before undoing it."))
    else:
        messages.info(request, _("This job invalidated no signature: there is nothing to undo."))
    return redirect("organisers:invalidation", pk=job.pk)


# --- Paper signatures -------------------------------------------------------


@staff_with(_perm("core.import_paper"))
def paper_import(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload a sheet: its preview (rows to add, duplicates, refused rows),
    with nothing written; the confirmation is `paper_import_confirm`."""
    campaign = _campaign(slug)
    form = PaperImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            preview = paper.paper_preview(
                campaign=campaign,
                data=upload.read(),
                event=form.cleaned_data["event"],
                user=request.user,
                file_name=upload.name or "",
            )
        except paper.PaperFileRefused as refusal:
            form.add_error("file", str(refusal))
        else:
            response = _page(
                request,
                "organisers/paper_import_preview.html",
                {"campaign": campaign, "preview": preview},
            )
            response["Cache-Control"] = "no-store"  # the rows are personal data
            return response
    return _page(request, "organisers/paper_import.html", {"campaign": campaign, "form": form})


@require_POST
@staff_with(_perm("core.import_paper"))
def paper_import_confirm(request: HttpRequest, slug: str) -> HttpResponse:
    """Import exactly what the preview showed, or nothing."""
    campaign = _campaign(slug)
    try:
        report = paper.paper_confirm(
            campaign=campaign, token=request.POST.get("token", ""), user=request.user
        )
    except paper.PaperPreviewStale as refusal:
        form = PaperImportForm()
        return _page(
            request,
            "organisers/paper_import.html",
            {"campaign": campaign, "form": form, "refusal": str(refusal)},
        )
    return _page(
        request, "organisers/paper_import_done.html", {"campaign": campaign, "report": report}
    )


# --- Delivery document ------------------------------------------------------


@staff_with(_perm("core.build_delivery_document"))
def delivery_new(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = _campaign(slug)
    form = DeliveryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with_names = form.cleaned_data["with_names"]
        if with_names and not can_see_personal_data(request):
            # A list of names leaves the committee: the personal-data door applies.
            raise PermissionDenied
        job = delivery.delivery_start(
            campaign=campaign,
            with_names=with_names,
            language=form.cleaned_data["language"],
            user=request.user,
        )
        audit_record(
            action=AuditEntry.Action.EXPORTED,
            request=request,
            obj=campaign,
            detail=_("Delivery document requested (%(kind)s), job %(job)s")
            % {"kind": job.get_kind_display(), "job": job.pk},
        )
        messages.info(request, _("The document is being built. It will be listed here."))
        return redirect(reverse("organisers:files"))
    return _page(request, "organisers/delivery_form.html", {"campaign": campaign, "form": form})
