"""Production settings for the fault tests' collectstatic, without WhiteNoise's
compressed copies.

Compressing every file with gzip and brotli took most of the run's ~10 s of
CPU for collectstatic, and no test reads a compressed copy. Hashing and the
manifest are the same (WhiteNoise's storage extends this one): the processes
under test, on the real settings, find every file by the same name.
"""

from config.settings import *  # noqa: F403
from config.settings import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
