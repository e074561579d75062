from django.urls import path

from statements import views

app_name = "statements"
urlpatterns = [
    path("", views.statement_list, name="list"),
]
