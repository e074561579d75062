from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import get_language
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from campaigns.models import Campaign
from statements import pdf, services
from statements.models import Statement

PER_PAGE = 10


def statement_list(request: HttpRequest) -> HttpResponse:
    statements = Statement.objects.published().prefetch_related("campaigns")
    kind = request.GET.get("kind", "")
    campaign = request.GET.get("campaign", "")
    year = request.GET.get("year", "")
    if kind in Statement.Kind.values:
        statements = statements.filter(kind=kind)
    else:
        kind = ""
    if campaign and Campaign.objects.public().filter(slug=campaign).exists():
        statements = statements.filter(campaigns__slug=campaign)
    else:
        campaign = ""
    if year.isdigit():
        statements = statements.filter(date__year=int(year))
    else:
        year = ""
    page = Paginator(statements, PER_PAGE).get_page(request.GET.get("page"))
    years = Statement.objects.published().dates("date", "year", order="DESC")
    campaigns = Campaign.objects.public().filter(statements__status=Statement.Status.PUBLISHED)
    return render(
        request,
        "statements/list.html",
        {
            "page": page,
            "statements": page.object_list,
            "kinds": Statement.Kind.choices,
            "years": [day.year for day in years],
            "campaigns": campaigns.distinct(),
            "filters": {"kind": kind, "campaign": campaign, "year": year},
        },
    )


def statement_context(statement: Statement, language: str | None = None) -> dict[str, Any]:
    """What the statement page shows; the admin preview uses it too."""
    language = (language or get_language() or "km")[:2]
    return {
        "statement": statement,
        "title": statement.text("title", language),
        "summary": statement.text("summary", language),
        "body": statement.text("body", language),
        "place": statement.text("place", language),
        "signatories": statement.signatories.all(),
        "attachments": statement.attachments.all(),
        "campaigns": statement.campaigns.all(),
        "language": language,
    }


def statement_detail(request: HttpRequest, slug: str) -> HttpResponse:
    statement = get_object_or_404(Statement.objects.published(), slug=slug)
    return render(request, "statements/detail.html", statement_context(statement))


def statement_pdf(request: HttpRequest, slug: str) -> FileResponse:
    """The current PDF. The page links here only once a file exists."""
    statement = get_object_or_404(Statement.objects.published(), slug=slug)
    # The file whose footer gives this language's address (statements.pdf).
    name = pdf.language_file(statement, (get_language() or settings.LANGUAGE_CODE)[:2])
    if name is None:
        raise Http404
    try:
        handle = statement.pdf.storage.open(name, "rb")
    except FileNotFoundError as error:
        raise Http404 from error
    return FileResponse(handle, content_type="application/pdf", filename=statement.pdf_filename())


@csrf_exempt  # RFC 8058 one-click: the mail client posts without our cookie; the token is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks (link scanners must not unsubscribe anyone); POST unsubscribes at once."""
    if request.method == "POST":
        done = services.subscriber_unsubscribe(token=token)
        status = 200 if done else 400
        return render(request, "statements/unsubscribed.html", {"done": done}, status=status)
    return render(request, "statements/unsubscribe.html", {"token": token})
