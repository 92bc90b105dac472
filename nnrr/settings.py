"""The one settings module. Every knob is an environment variable (``NNRR_*``, ``DATABASE_URL``).

See ``docs/operations.md`` for the full list. Values are parsed here, once, and fail loudly when
they are malformed; application code reads them through ``django.conf.settings`` at run time.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be 0 or 1, not {raw!r}")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from exc


def _env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


# --- Modes -----------------------------------------------------------------------------------
# NNRR_DEMO: the demo environment (Test IDP, demo pages, synthetic national ids).
# NNRR_TESTING: set by the test suite; allows synthetic national ids like the demo.
# NNRR_PRODUCTION: a deployment holding real patients; HTTPS-only, demo features refused.
DEMO = _env_bool("NNRR_DEMO")
TESTING = _env_bool("NNRR_TESTING")
PRODUCTION = _env_bool("NNRR_PRODUCTION")
DEBUG = _env_bool("NNRR_DEBUG")
if PRODUCTION and (DEMO or TESTING):
    # Refused here, not only by a system check: gunicorn and the worker never run checks, and
    # demo mode mounts the Test IDP (log in as anyone) and accepts synthetic national ids.
    raise ImproperlyConfigured(
        "NNRR_DEMO and NNRR_TESTING must not be set when NNRR_PRODUCTION=1: the Test IDP and "
        "synthetic national ids must never reach real patients."
    )

if PRODUCTION and DEBUG:
    # Refused here, not only by a system check (nnrr.E002): gunicorn runs no checks, and the
    # debug pages list every URL and show settings and local variables.
    raise ImproperlyConfigured(
        "NNRR_DEBUG must not be set when NNRR_PRODUCTION=1: the debug pages list every URL "
        "and show the settings and the variables of a failing request."
    )

DATA_DIR = Path(os.environ.get("NNRR_DATA_DIR") or BASE_DIR / "var")


def _private_dir(path: Path) -> None:
    """Create ``path`` readable by the owner only (an existing folder is left as it is)."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode is filtered through the umask


def _private_file(path: Path, content: str = "") -> None:
    """Create ``path`` with owner-only permissions from the first byte (no window in which
    another account could open it); an existing file is not touched."""
    _private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(content)


def _secret_key() -> str:
    key = os.environ.get("NNRR_SECRET_KEY", "")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("NNRR_SECRET_KEY must be set when NNRR_PRODUCTION=1")
    # Demo, development and tests: a key generated on first run and kept beside the data.
    path = DATA_DIR / "secret_key"
    _private_file(path, secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = _env_list(
    "NNRR_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = _env_list("NNRR_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "nnrr.accounts",
    "nnrr.audit",
    "nnrr.patients",
    "nnrr.questionnaires",
    "nnrr.scheduling",
    "nnrr.appointments",
    "nnrr.portal",
    "nnrr.worklists",
    "nnrr.exports",
    "nnrr.reports",
    "nnrr.api",
    "nnrr.demo",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "nnrr.lib.middleware.StripNulMiddleware",
    "nnrr.lib.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "nnrr.lib.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "nnrr.lib.caching.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "nnrr.accounts.middleware.SessionTimeoutMiddleware",
    "nnrr.accounts.middleware.ProfileMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "nnrr.urls"
WSGI_APPLICATION = "nnrr.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "nnrr.accounts.context_processors.profile",
                "nnrr.worklists.context_processors.waiting",
            ],
        },
    }
]

# --- Database --------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'nnrr.sqlite3'}",
        conn_max_age=_env_int("NNRR_DB_CONN_MAX_AGE", 60),
    )
}
if PRODUCTION and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    # SQLite has no roles: the application's connection owns the file and can drop the audit
    # table's append-only triggers. Production runs on PostgreSQL as a role that owns nothing
    # (checked when gunicorn and the worker start: nnrr/audit/startup.py).
    raise ImproperlyConfigured(
        "NNRR_PRODUCTION=1 needs PostgreSQL (DATABASE_URL=postgres://…): with SQLite the "
        "application could drop the audit log's append-only triggers. See docs/operations.md, "
        "'Database roles'."
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker write while the web server reads; IMMEDIATE avoids lock upgrades.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("NNRR_TEST_SQLITE_NAME") or None}
    _sqlite_name = str(DATABASES["default"]["NAME"])
    if _sqlite_name and _sqlite_name != ":memory:" and not _sqlite_name.startswith("file:"):
        # The database file holds every patient record: owner-only from its creation (SQLite
        # gives its -wal and -shm files the same permissions).
        _private_file(Path(_sqlite_name))
else:
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("NNRR_TEST_DB_NAME") or None}
    # A kept connection is checked before a request uses it: after PostgreSQL restarts (or a
    # failover), the next request opens a new one instead of failing on the dead one.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if os.environ.get("NNRR_DB_POOLER", "").strip().lower() == "transaction":
        # Behind PgBouncer in transaction mode consecutive transactions may run on different
        # server connections: no server-side cursors, no server-side prepared statements.
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None

# --- Cache -----------------------------------------------------------------------------------
# Only derived, non-personal data are cached: the reports' counts per unit (keyed by the data
# version) and their charts. NNRR_CACHE_URL (redis:// or rediss://) shares them between every
# web process and host, so a report is computed once for all; without it each process keeps its
# own copy in memory, which is right for one machine and for the tests.
_CACHE_URL = os.environ.get("NNRR_CACHE_URL", "").strip()
if _CACHE_URL:
    if not _CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            "NNRR_CACHE_URL must be a Redis URL (redis://, rediss:// or unix://), "
            f"not {_CACHE_URL.split(':', 1)[0]!r}"
        )
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _CACHE_URL,
            "KEY_PREFIX": "nnrr",
        },
        "charts": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _CACHE_URL,
            "KEY_PREFIX": "nnrr-charts",
        },
        # The portal's failure counters and blocks per address (portal/services.py).
        "throttle": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _CACHE_URL,
            "KEY_PREFIX": "nnrr-throttle",
        },
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        # A report page's charts are fetched as images after the page (reports/charts.py), maybe
        # by another web process than the one that made the page: without Redis they are kept in
        # a table of the database every process shares (created by reports migration 0003).
        "charts": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "nnrr_chart_cache",
            "OPTIONS": {"MAX_ENTRIES": 5000},
        },
        # The portal's failure counters and blocks per address (portal/services.py) must be
        # the same in every web process, or each process would allow its own ten guesses: a
        # table of the database (created by portal migration 0002).
        "throttle": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "nnrr_throttle_cache",
            "OPTIONS": {"MAX_ENTRIES": 100000},
        },
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["nnrr.accounts.backends.IdentityBackend"]
LOGIN_URL = "accounts:login"

# --- Sessions and cookies --------------------------------------------------------------------
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = _env_int("NNRR_IDLE_TIMEOUT_MINUTES", 30) * 60  # idle timeout
# The session is re-saved (its expiry pushed forward) at most once a minute, not on every
# request: the idle timeout is kept to the minute without a database write per page.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_TOUCH_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ABSOLUTE_TIMEOUT = _env_int("NNRR_ABSOLUTE_TIMEOUT_HOURS", 10) * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = _env_bool("NNRR_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = _env_int("NNRR_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = _env_bool("NNRR_HSTS_PRELOAD", True)
    if _env_bool("NNRR_BEHIND_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Number of reverse proxies in front of the web processes whose X-Forwarded-For we trust.
TRUSTED_PROXY_COUNT = _env_int("NNRR_TRUSTED_PROXY_COUNT", 0)

# --- Language and time -----------------------------------------------------------------------
LANGUAGE_CODE = "nb"
LANGUAGES = [("nb", _("Norsk bokmål")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "nnrr" / "locale"]
# The chosen language is kept across logins and browser restarts: a year-long cookie (logging
# out ends the session, not the choice of language).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = PRODUCTION
USE_I18N = True
TIME_ZONE = "Europe/Oslo"
USE_TZ = True

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
if not PRODUCTION:
    # Files are served from the finders (WHITENOISE_USE_FINDERS); the folder only has to exist.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
NODE_MODULES = BASE_DIR / "node_modules"
# Front-end packages come from npm (package-lock.json); they are served from node_modules,
# never copied into the repository.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/designsystemet-css", NODE_MODULES / "@digdir" / "designsystemet-css" / "dist"),
    ("vendor/designsystemet-theme", NODE_MODULES / "@digdir" / "designsystemet-theme" / "brand"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- Patient messages ------------------------------------------------------------------------
# NNRR_CHANNEL: file (writes .eml files; the demo default), email (SMTP) or none.
CHANNEL = os.environ.get("NNRR_CHANNEL") or ("file" if (DEMO or DEBUG) else "email")
if CHANNEL not in {"file", "email", "none"}:
    raise ImproperlyConfigured(f"NNRR_CHANNEL must be file, email or none, not {CHANNEL!r}")
OUTBOX_DIR = Path(os.environ.get("NNRR_OUTBOX_DIR") or DATA_DIR / "outbox")
# The patient portal's public address in links. Production names it (NNRR_PORTAL_BASE_URL, which
# always wins). Otherwise it is where this system is served: bin/serve (`make demo PORT=8102`)
# exports the host and port it binds as NNRR_SERVE_ADDRESS, for the worker's messages; a staff
# page uses the address its own request came to (nnrr.scheduling.views.portal_base_url).
PORTAL_BASE_URL_SET = bool(os.environ.get("NNRR_PORTAL_BASE_URL"))
PORTAL_BASE_URL = (
    os.environ.get("NNRR_PORTAL_BASE_URL")
    or f"http://{os.environ.get('NNRR_SERVE_ADDRESS') or '127.0.0.1:8000'}"
).rstrip("/")
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("NNRR_EMAIL_HOST", "localhost")
EMAIL_PORT = _env_int("NNRR_EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("NNRR_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("NNRR_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("NNRR_EMAIL_USE_TLS")
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = os.environ.get(
    "NNRR_FROM_EMAIL", "Norsk nakke- og ryggregister <noreply@nakkeryggreg.no>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Worker ----------------------------------------------------------------------------------
WORKER_POLL_SECONDS = _env_int("NNRR_WORKER_POLL_SECONDS", 10)
# A message claimed by a worker that stopped heart-beating this long ago is reconciled.
WORKER_LEASE_SECONDS = _env_int("NNRR_WORKER_LEASE_SECONDS", 120)

# --- Appointment feeds (HL7 v2 SIU over MLLP) -------------------------------------------------
# `nnrr mllp` listens here; bin/serve starts it when NNRR_MLLP_PORT is set.
MLLP_HOST = os.environ.get("NNRR_MLLP_HOST", "127.0.0.1")
MLLP_PORT = _env_int("NNRR_MLLP_PORT", 2575)

# --- Scoring ---------------------------------------------------------------------------------
EQ5D_VALUE_SET = os.environ.get("NNRR_EQ5D_VALUE_SET", "norway_2024")

# --- Reports ---------------------------------------------------------------------------------
# NNRR_REPORTS_CONFIG: a TOML file overriding indicator targets and report thresholds
# (defaults: nnrr/reports/data/indicators.toml).
REPORTS_CONFIG = os.environ.get("NNRR_REPORTS_CONFIG", "")
REPORTS_BASE_URL = os.environ.get("NNRR_REPORTS_BASE_URL", "") or PORTAL_BASE_URL
# Indicator counts are kept this long while the data do not change (0: always recompute).
REPORTS_CACHE_SECONDS = _env_int("NNRR_REPORTS_CACHE_SECONDS", 600)

# --- Portal ----------------------------------------------------------------------------------
PORTAL_MAX_FAILURES = _env_int("NNRR_PORTAL_MAX_FAILURES", 5)

# --- FHIR API (docs/fhir.md) -------------------------------------------------------------------
# NNRR_FHIR_CANONICAL_BASE: the base of our Questionnaires' canonical URLs (an identifier that
# stays the same wherever the registry runs). NNRR_FHIR_TOKEN_ISSUER: the OAuth 2.0 server whose
# signed access tokens machine clients present (HelseID in production; NNRR_HELSEID_ISSUER when
# unset); NNRR_FHIR_AUDIENCE: the audience those tokens must name (the API's resource name).
FHIR_CANONICAL_BASE = os.environ.get("NNRR_FHIR_CANONICAL_BASE", "https://nakkeryggreg.no/fhir")
FHIR_TOKEN_ISSUER = (
    os.environ.get("NNRR_FHIR_TOKEN_ISSUER", "") or os.environ.get("NNRR_HELSEID_ISSUER", "")
).rstrip("/")
FHIR_AUDIENCE = os.environ.get("NNRR_FHIR_AUDIENCE", "nnrr:fhir")
# Entries per page of a search Bundle (a client may ask for fewer with _count).
FHIR_PAGE_SIZE = _env_int("NNRR_FHIR_PAGE_SIZE", 50)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("NNRR_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}


# --- Exports ---------------------------------------------------------------------------------
def _pseudonym_key() -> str:
    """The installation's key for PasientGUID pseudonyms (HMAC of the national id)."""
    key = os.environ.get("NNRR_PSEUDONYM_KEY", "")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("NNRR_PSEUDONYM_KEY must be set when NNRR_PRODUCTION=1")
    path = DATA_DIR / "pseudonym_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


PSEUDONYM_KEY = _pseudonym_key()
# Encrypted export archives waiting for download, and the private scratch space of running jobs.
EXPORT_DIR = Path(os.environ.get("NNRR_EXPORT_DIR") or DATA_DIR / "exports")
EXPORT_RETENTION_HOURS = _env_int("NNRR_EXPORT_RETENTION_HOURS", 24)
# A running export that has not reported progress for this long was interrupted.
EXPORT_STALE_SECONDS = _env_int("NNRR_EXPORT_STALE_SECONDS", 300)

# Generic background jobs (exports, report PDFs, report e-mails): django-tasks with its database
# backend, run by `manage.py db_worker` beside the dispatch worker (docs/decisions/0009).
TASKS = {
    "default": {
        "BACKEND": os.environ.get("NNRR_TASK_BACKEND") or "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "exports", "reports"],
    }
}
