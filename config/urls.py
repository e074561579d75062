from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from config import views
from signatures import views as signatures_views
from transparency import views as transparency_views
from transparency.urls import data_patterns, page_patterns

handler400 = "config.views.bad_request"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("record/", include((data_patterns, "record"))),
    path("telegram/webhook/", signatures_views.telegram_webhook, name="telegram-webhook"),
    path(".well-known/sitthi-record-keys.json", transparency_views.public_keys),
]

# Django tries the patterns in order: the signers' and readers' pages, most
# of the requests, come first (no other pattern starts with "campaigns/" or
# "sign/", so the order changes nothing else).
urlpatterns += i18n_patterns(
    path("", include("signatures.urls")),
    path("", include("campaigns.urls")),
    path("statements/", include("statements.urls")),
    path("verify/", include((page_patterns, "verify"))),
    path(settings.ADMIN_URL, admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("organisers/", include("organisers.urls")),
    prefix_default_language=True,
)

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
