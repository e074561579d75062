"""The record's public data (no language in the address) and the signer's
page (in each language); config/urls.py mounts each list."""

from django.urls import path

from transparency import views

data_patterns = [
    path("keys.json", views.public_keys, name="keys"),
    path("receipt.json", views.receipt, name="receipt"),
    path("<slug:slug>/heads.json", views.heads, name="heads"),
    path("<slug:slug>/leaves.json", views.leaves, name="leaves"),
    path("<slug:slug>/consistency.json", views.consistency, name="consistency"),
    path("<slug:slug>/inclusion.json", views.inclusion, name="inclusion"),
]

page_patterns = [
    path("", views.verify, name="verify"),
]
