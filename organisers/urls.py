from django.urls import path

from organisers import views

app_name = "organisers"
urlpatterns = [
    path("", views.dashboard_index, name="index"),
    path("campaigns/<slug:slug>/", views.dashboard, name="dashboard"),
    path(
        "campaigns/<slug:slug>/counts-by-<str:by>.<str:extension>",
        views.count_export,
        name="count_export",
    ),
    path("campaigns/<slug:slug>/signatures.csv", views.signature_export, name="signature_export"),
    path(
        "campaigns/<slug:slug>/signatures.xlsx",
        views.signature_export,
        {"extension": "xlsx"},
        name="signature_export_xlsx",
    ),
    path("campaigns/<slug:slug>/invalidate/", views.invalidation_new, name="invalidation_new"),
    path("campaigns/<slug:slug>/paper/", views.paper_import, name="paper_import"),
    path(
        "campaigns/<slug:slug>/paper/confirm/",
        views.paper_import_confirm,
        name="paper_import_confirm",
    ),
    path("campaigns/<slug:slug>/delivery/", views.delivery_new, name="delivery"),
    path("invalidations/<int:pk>/", views.invalidation_detail, name="invalidation"),
    path("invalidations/<int:pk>/cancel/", views.invalidation_cancel, name="invalidation_cancel"),
    path("invalidations/<int:pk>/undo/", views.invalidation_undo, name="invalidation_undo"),
    path("files/", views.files, name="files"),
    path("files/<int:pk>/<str:token>/", views.file_download, name="file_download"),
]
