from django.urls import path

from campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.home, name="home"),
    path("about/", views.about, name="about"),
    path("campaigns/", views.campaign_list, name="list"),
]
