import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# The URLconf and every view, imported here rather than by each process's
# first request (0.2 s of CPU, measured): gunicorn imports this module in its
# master (preload_app) and forks its workers with all of it loaded.
import_module(settings.ROOT_URLCONF)
