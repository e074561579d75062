"""Sitthi settings: one module, read from the environment.

Every variable has a local default that runs with nothing installed (SQLite,
eager Celery, e-mail written to files, DEBUG on). Production values come only
from the environment; the README lists every variable.
"""

import re
from pathlib import Path

import environ
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.middleware import static_file_headers
from core.rates import rate_valid

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # local-only state: SQLite file, mail folder, media

env = environ.Env()

PLACEHOLDER_SECRET_KEY = "django-insecure-local-only-change-me"  # noqa: S105 # nosec B105 # refused when DEBUG is off

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=PLACEHOLDER_SECRET_KEY)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

if not DEBUG:
    if (
        SECRET_KEY == PLACEHOLDER_SECRET_KEY
        or SECRET_KEY.startswith("django-insecure")
        or len(SECRET_KEY) < 32
    ):
        raise ImproperlyConfigured("DEBUG is off: set SECRET_KEY to a long random value.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DEBUG is off: set ALLOWED_HOSTS.")

INSTALLED_APPS = [
    "config.apps.SitthiAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.syndication",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_countries",
    "phonenumber_field",
    "csp",
    "core",
    "campaigns",
    "outbox",
    "signatures",
    "transparency",
    "statements",
    "organisers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.BrowserPoliciesMiddleware",  # before WhiteNoise: static files too
    "config.middleware.RejectInvalidUtf8Middleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.KeptPolicyCSPMiddleware",  # django-csp's, its policies built once
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "config.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
if "DATABASE_URL" not in env:
    VAR_DIR.mkdir(exist_ok=True)  # the local SQLite file lives there
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'sitthi.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, Celery broker, rate limits -----------------------------
# With no REDIS_URL the cache is local memory and Celery runs tasks eagerly in
# the web process (as pretix does), so a laptop needs nothing installed.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # A Redis outage reads as cache misses, never as a 500 (config/cache.py).
            "BACKEND": "config.cache.ForgivingRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
            # Two stacks on one Redis database (two benchmark runs) would
            # otherwise read each other's figures: both campaigns are pk 1.
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default=""),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a task on a killed worker runs again elsewhere
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="sitthi")
CELERY_TIMEZONE = "UTC"
# Every periodic task, in one place (run by `celery beat`).
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "outbox-flush": {"task": "outbox.tasks.outbox_flush", "schedule": 30.0},
    "submissions-process-due": {
        "task": "signatures.tasks.submissions_process_due",
        "schedule": 30.0,
    },
    "tallies-fold": {"task": "signatures.tasks.tallies_fold", "schedule": 5.0},
    "telegram-updates-handle-due": {
        "task": "signatures.tasks.telegram_updates_handle_due",
        "schedule": 60.0,
    },
    "tallies-reconcile": {"task": "signatures.tasks.tallies_reconcile", "schedule": 3600.0},
    "ip-addresses-erase": {"task": "signatures.tasks.ip_addresses_erase", "schedule": 6 * 3600.0},
    "unconfirmed-purge": {"task": "signatures.tasks.unconfirmed_purge", "schedule": 6 * 3600.0},
    "statements-publish-scheduled": {
        "task": "statements.tasks.scheduled_publish",
        "schedule": 60.0,
    },
    "record-heads-publish": {
        "task": "transparency.tasks.heads_publish",
        "schedule": env.float("RECORD_PUBLISH_INTERVAL", default=24 * 3600.0),
    },
    "organisers-files-expire": {
        "task": "organisers.tasks.generated_files_expire",
        "schedule": 3600.0,
    },
}

# --- E-mail ---------------------------------------------------------------
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="") or "Sitthi <noreply@localhost>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Languages ------------------------------------------------------------
LANGUAGE_CODE = "km"
LANGUAGES = [("km", "ខ្មែរ"), ("en", "English")]  # Django names km "Khmer": name it ourselves
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]  # CLDR separators for km, not Django's
USE_I18N = True
USE_TZ = True
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Phnom_Penh")

# --- Static and media files -----------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Cross-Origin-Resource-Policy on static files wherever WhiteNoise serves them.
WHITENOISE_ADD_HEADERS_FUNCTION = static_file_headers
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Staff accounts (django-allauth) --------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_ADAPTER = "config.accounts.StaffOnlyAccountAdapter"  # no public self-registration
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
# Failed sign-ins are limited per client address and, separately, per
# account: an attacker is stopped on their address, and the account they
# try waits; nobody else does (ALLAUTH_TRUSTED_PROXY_COUNT below).
ACCOUNT_RATE_LIMITS = {"login_failed": "5/5m/ip,5/5m/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Sitthi"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ADMIN_URL = env.str("ADMIN_URL", default="admin/").strip("/") + "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Security headers -----------------------------------------------------
# Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER=true so Django
# trusts X-Forwarded-Proto; SECURE_SSL_REDIRECT can then stay on.
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the load balancer probes over plain HTTP
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_HTTPONLY = True
# Readers get no cookie but this one, set by pages with a form: it lasts as
# long as the browser session, not a year (the privacy notice says so).
CSRF_COOKIE_AGE = None
CSRF_FAILURE_VIEW = "config.views.csrf_failure"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
X_FRAME_OPTIONS = "DENY"
CROSS_ORIGIN_RESOURCE_POLICY = "same-origin"
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
)

# Strict CSP: nothing from another host, no inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}
# The campaign widget alone may be framed: by these sources (CSP
# frame-ancestors), any site by default, since the associations and media
# that carry a campaign are not known in advance. Every other page: 'none'.
WIDGET_FRAME_ANCESTORS = env.list("WIDGET_FRAME_ANCESTORS", default=["*"])

# --- The public count record (transparency/) -----------------------------
# The Ed25519 key that signs the record's heads (base64 of the 32-byte private
# key: `python -m transparency.keygen`); public keys of earlier keys stay
# published so that heads signed with them still verify. Local runs derive a
# key from SECRET_KEY; production must set one.
RECORD_SIGNING_KEY = env.str("RECORD_SIGNING_KEY", default="")
RECORD_RETIRED_PUBLIC_KEYS = env.list("RECORD_RETIRED_PUBLIC_KEYS", default=[])
if not DEBUG and not RECORD_SIGNING_KEY:
    raise ImproperlyConfigured("DEBUG is off: set RECORD_SIGNING_KEY.")

# --- Signers' data --------------------------------------------------------
# Fernet keys (comma-separated, newest first) encrypt e-mail and phone at rest;
# older keys still decrypt, so keys can be rotated. The HMAC key finds
# duplicates without storing an address. Local defaults derive from SECRET_KEY;
# production must set both.
SIGNER_DATA_KEYS = env.list("SIGNER_DATA_KEYS", default=[])
SIGNER_HASH_KEY = env.str("SIGNER_HASH_KEY", default="")
if not DEBUG and (not SIGNER_DATA_KEYS or not SIGNER_HASH_KEY):
    raise ImproperlyConfigured("DEBUG is off: set SIGNER_DATA_KEYS and SIGNER_HASH_KEY.")
# Providers that ignore dots and +tags in the local part (canonical e-mail key).
# "alias=domain" names another domain of the same provider's mailboxes: the
# alias is replaced by the domain before the dots rule, so Gmail addresses
# typed with googlemail.com are one person with their gmail.com spelling.
EMAIL_CANONICAL_DOMAINS = env.list(
    "EMAIL_CANONICAL_DOMAINS", default=["gmail.com", "googlemail.com=gmail.com"]
)
SIGNATURE_CONFIRM_MAX_AGE_DAYS = env.int("SIGNATURE_CONFIRM_MAX_AGE_DAYS", default=7)
SIGNATURE_MAX_CONFIRMATION_SENDS = 5
SIGNATURE_IP_RETENTION_DAYS = env.int("SIGNATURE_IP_RETENTION_DAYS", default=30)
SIGNATURE_UNCONFIRMED_PURGE_DAYS = env.int("SIGNATURE_UNCONFIRMED_PURGE_DAYS", default=14)
SIGNATURE_MIN_FILL_SECONDS = env.int("SIGNATURE_MIN_FILL_SECONDS", default=3)
SIGNATURE_RATE_BURST = env.str("SIGNATURE_RATE_BURST", default="10/m")
SIGNATURE_RATE_SUSTAINED = env.str("SIGNATURE_RATE_SUSTAINED", default="60/h")
for _rate in (SIGNATURE_RATE_BURST, SIGNATURE_RATE_SUSTAINED):
    if not rate_valid(_rate):
        raise ImproperlyConfigured(
            f'A signing rate must read like "10/m" or "60/h", not {_rate!r}.'
        )
# IPv6 signers are limited per network of this many bits (a home or server
# usually holds a whole /64), IPv4 signers per address. Staff sign-in too.
SIGNATURE_RATE_IPV6_PREFIX = env.int("SIGNATURE_RATE_IPV6_PREFIX", default=64)
if not 0 <= SIGNATURE_RATE_IPV6_PREFIX <= 128:
    raise ImproperlyConfigured("SIGNATURE_RATE_IPV6_PREFIX must be between 0 and 128.")

# Confirming by Telegram (signatures/telegram.py): offered only with a bot
# token. The webhook secret is the header Telegram sends with every update;
# TELEGRAM_API_URL points the Bot API client elsewhere (tests: a local fake).
TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN", default="")
TELEGRAM_BOT_USERNAME = env.str("TELEGRAM_BOT_USERNAME", default="").lstrip("@")
TELEGRAM_WEBHOOK_SECRET = env.str("TELEGRAM_WEBHOOK_SECRET", default="")
TELEGRAM_API_URL = env.str("TELEGRAM_API_URL", default="https://api.telegram.org").rstrip("/")
if TELEGRAM_BOT_TOKEN and not (TELEGRAM_BOT_USERNAME and TELEGRAM_WEBHOOK_SECRET):
    raise ImproperlyConfigured(
        "TELEGRAM_BOT_TOKEN is set: set TELEGRAM_BOT_USERNAME and TELEGRAM_WEBHOOK_SECRET too."
    )
if TELEGRAM_WEBHOOK_SECRET and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", TELEGRAM_WEBHOOK_SECRET):
    raise ImproperlyConfigured(
        "TELEGRAM_WEBHOOK_SECRET: 1 to 256 letters, digits, _ or - (Telegram's rule)."
    )

# Proxies in front of gunicorn that append to X-Forwarded-For (core.http).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# allauth reads the client address itself for its sign-in limits: tell it the
# same, or behind a proxy every failed sign-in counts against the proxy's
# address and five of them lock out all staff.
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
ALLAUTH_RATE_LIMIT_IPV6_PREFIX = SIGNATURE_RATE_IPV6_PREFIX

# --- Logging --------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# Workers log through LOGGING too (JSON, redacted), not Celery's own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "config.logging.RedactPersonalData"}},
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

SITE_NAME = _("Sitthi")
