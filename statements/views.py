from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def statement_list(request: HttpRequest) -> HttpResponse:
    return render(request, "statements/list.html", {"statements": []})
