from django.urls import path

from signatures import views

app_name = "signatures"
urlpatterns = [
    path("campaigns/<slug:slug>/", views.campaign_detail, name="campaign"),
    path("campaigns/<slug:slug>/figures.json", views.campaign_figures, name="figures"),
    path("campaigns/<slug:slug>/widget/", views.widget, name="widget"),
    path("campaigns/<slug:slug>/badge.svg", views.badge, name="badge"),
    path("campaigns/<slug:slug>/sign/", views.sign, name="sign"),
    path("campaigns/<slug:slug>/thanks/", views.thanks, name="thanks"),
    path("campaigns/<slug:slug>/telegram/<str:token>/", views.telegram_start, name="telegram"),
    path(
        "campaigns/<slug:slug>/telegram/<str:token>/qr.svg",
        views.telegram_qr,
        name="telegram_qr",
    ),
    path("sign/confirm/<str:token>/", views.confirm, name="confirm"),
    path("sign/withdraw/<str:token>/", views.withdraw, name="withdraw"),
]
