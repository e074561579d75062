"""Sitthi's URLs and the bare yardstick view (bench.bare), for benchmarks only."""

from django.urls import path

from bench.bare import bare_insert
from config.urls import handler400, handler404, handler500
from config.urls import urlpatterns as sitthi_urlpatterns

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]

urlpatterns = [path("bench/bare", bare_insert), *sitthi_urlpatterns]
