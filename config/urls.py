from typing import Any

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from config import views

# Staff sign in through allauth (with two-factor), never the bare admin form.
admin.site.login = login_required(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Sitthi"
_admin_index = admin.site.index


def admin_index_with_alerts(
    request: HttpRequest, extra_context: dict[str, Any] | None = None
) -> HttpResponse:
    """The admin's front page warns organisers of e-mail that keeps failing."""
    from outbox.models import Message

    context = {"failing_email_count": Message.objects.failing().count(), **(extra_context or {})}
    return _admin_index(request, context)


admin.site.index = admin_index_with_alerts  # type: ignore[method-assign,assignment]

handler500 = "config.views.server_error"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
]

urlpatterns += i18n_patterns(
    path(settings.ADMIN_URL, admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("statements/", include("statements.urls")),
    path("organisers/", include("organisers.urls")),
    path("", include("signatures.urls")),
    path("", include("campaigns.urls")),
    prefix_default_language=True,
)

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
