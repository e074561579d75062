"""Production's settings with the bare yardstick view mounted (bench.urls):
what the end-to-end benchmark's gunicorn serves, so that the bare view runs
under the same server, settings and middleware as Sitthi, in the same run."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
