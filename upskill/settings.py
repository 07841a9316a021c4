"""Upskill settings: one module, configured from the environment.

Every setting has a safe default for the embedded mode (SQLite under ``var/``,
local files, the database task backend). ``docs/deploy.md`` lists every
variable. ``UPSKILL_ENV=production`` refuses to start with an unsafe
configuration and names the setting that is wrong.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("UPSKILL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

UPSKILL_ENV = os.environ.get("UPSKILL_ENV", "development")
if UPSKILL_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(
        f"UPSKILL_ENV must be 'development' or 'production', not {UPSKILL_ENV!r}."
    )
PRODUCTION = UPSKILL_ENV == "production"


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_list(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


def read_or_create_secret_key(path: Path) -> str:
    """The embedded secret key: generated once into var/, readable only by us."""
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(50)
    path.touch(mode=0o600)
    path.write_text(key)
    return key


DEBUG = env_bool("DEBUG", default=not PRODUCTION)
SECRET_KEY = os.environ.get("SECRET_KEY") or read_or_create_secret_key(VAR_DIR / "secret_key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or (
    [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")


def check_production_settings() -> None:
    """Refuse to serve production traffic with a configuration that would leak or lie."""
    problems = []
    if DEBUG:
        problems.append("DEBUG must be off (unset DEBUG or set DEBUG=false).")
    if not os.environ.get("SECRET_KEY"):
        problems.append("SECRET_KEY must be set; the generated development key is not allowed.")
    elif len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
        problems.append("SECRET_KEY must be at least 50 random characters.")
    if not env_list("ALLOWED_HOSTS"):
        problems.append("ALLOWED_HOSTS must list the host names this site answers to.")
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start in production mode: " + " ".join(problems)
        )


if PRODUCTION:
    check_production_settings()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "upskill.core",
    "upskill.accounts",
    "upskill.catalog",
    "upskill.learning",
    "upskill.assessment",
    "upskill.labs",
    "upskill.credentials",
    "upskill.simulations",
    "upskill.mentoring",
    "upskill.community",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "upskill.accounts.middleware.ProfilePreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "upskill.core.middleware.ApiErrorShapeMiddleware",
    "upskill.core.middleware.DomainErrorMiddleware",
    # Last, so it sees the response of a rejected login.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "upskill.urls"
WSGI_APPLICATION = "upskill.wsgi.application"
ASGI_APPLICATION = "upskill.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "upskill" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "upskill.core.context_processors.notifications",
            ],
        },
    },
]

# --- database -------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # Connections live a minute; one the server dropped meanwhile (a restart, a proxy's idle
    # timeout) is noticed by a health check before it is reused, in requests and in workers.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60,
                                                  conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("UPSKILL_SQLITE_PATH", str(VAR_DIR / "upskill.sqlite3")),
            "OPTIONS": {
                # WAL lets the web server read while the worker writes;
                # IMMEDIATE avoids "database is locked" on lock upgrades.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and background work -------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("UPSKILL_CACHE_PREFIX", "upskill"),
        }
    }
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600}}
    TASKS = {
        "default": {
            "BACKEND": "django_tasks_rq.RQBackend",
            "QUEUES": ["default"],
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "upskill",
        }
    }
    TASKS = {
        "default": {
            "BACKEND": "django_tasks_db.DatabaseBackend",
            "QUEUES": ["default"],
        }
    }

# Durable jobs (upskill.core.jobs): how long a claim lasts, how often the
# reaper looks for expired claims, and how many attempts before giving up.
JOBS_LEASE_S = int(os.environ.get("UPSKILL_JOBS_LEASE_S", "300"))
JOBS_REAP_INTERVAL_S = float(os.environ.get("UPSKILL_JOBS_REAP_INTERVAL_S", "30"))
JOBS_MAX_ATTEMPTS = int(os.environ.get("UPSKILL_JOBS_MAX_ATTEMPTS", "3"))
JOBS_RETRY_BACKOFF_S = float(os.environ.get("UPSKILL_JOBS_RETRY_BACKOFF_S", "10"))

# Labs (upskill.labs): where prepared data sets and per-run scratch directories (of labs and of
# code-mode simulations) live, and how learner code runs: "secure" (bubblewrap, decision 0004)
# or "insecure-dev" (rlimits only; refused unless DEBUG, and the sandbox itself refuses it when
# UPSKILL_ENV=production).
LABS_DATA_DIR = Path(os.environ.get("UPSKILL_LABS_DATA_DIR", str(VAR_DIR / "labs" / "data")))
LABS_SCRATCH_DIR = Path(os.environ.get("UPSKILL_LABS_SCRATCH_DIR",
                                       str(VAR_DIR / "labs" / "scratch")))
LABS_SANDBOX_MODE = os.environ.get("UPSKILL_LABS_SANDBOX_MODE", "secure")

# Mentoring (upskill.mentoring): the largest recording of a live session a host may publish.
MENTORING_RECORDING_MAX_MB = int(os.environ.get("UPSKILL_MENTORING_RECORDING_MAX_MB", "2048"))

# Credentials (upskill.credentials): the public address absolute URLs in credentials use, the
# issuer's identity (did:web of a domain, or did:key of the current key when no domain is set)
# and where the Ed25519 signing key comes from: a PEM secret file, or (embedded mode only) keys
# generated on first use into CREDENTIALS_KEY_DIR. Production never generates a key.
PUBLIC_URL = os.environ.get("UPSKILL_PUBLIC_URL", "").strip().rstrip("/") or \
    "http://127.0.0.1:8000"
CREDENTIALS_DOMAIN = os.environ.get("UPSKILL_CREDENTIALS_DOMAIN", "").strip()
CREDENTIALS_KEY_FILE = os.environ.get("UPSKILL_CREDENTIALS_KEY_FILE", "").strip()
CREDENTIALS_KEY_DIR = Path(os.environ.get("UPSKILL_CREDENTIALS_KEY_DIR", "").strip()
                           or VAR_DIR / "credentials")
CREDENTIALS_ISSUER_NAME = os.environ.get("UPSKILL_CREDENTIALS_ISSUER_NAME", "").strip() or \
    "Upskill"

# --- people ---------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "landing"

# Brute-force protection: five wrong passwords in a row for one account from
# one address are answered normally; the 6th attempt is refused (HTTP 429) and
# so is every attempt for AXES_COOLOFF_TIME hours. (axes locks out on the
# attempt that reaches the limit.)
AXES_FAILURE_LIMIT = int(os.environ.get("UPSKILL_LOGIN_FAILURE_LIMIT", "6"))
AXES_COOLOFF_TIME = float(os.environ.get("UPSKILL_LOGIN_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "upskill.accounts.models.login_identifier"
# Behind N trusted proxies, the client address is the Nth from the right in
# X-Forwarded-For; without proxies only REMOTE_ADDR is believed (a client
# could forge the header otherwise).
PROXY_COUNT = int(os.environ.get("UPSKILL_PROXY_COUNT", "0"))
AXES_IPWARE_PROXY_COUNT = PROXY_COUNT or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if PROXY_COUNT else ("REMOTE_ADDR",)
)
AXES_VERBOSE = False

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Upskill <no-reply@localhost>")
if os.environ.get("EMAIL_URL"):
    raise ImproperlyConfigured("EMAIL_URL is not supported; set EMAIL_HOST and friends.")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)

# --- language and time ------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("es", _("Spanish")),
    ("fr", _("French")),
    ("de", _("German")),
    ("pt-br", _("Brazilian Portuguese")),
    ("hi", _("Hindi")),
]
LOCALE_PATHS = [BASE_DIR / "upskill" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- files ----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("UPSKILL_STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "upskill" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("UPSKILL_MEDIA_ROOT", VAR_DIR / "media"))
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if os.environ.get("UPSKILL_S3_BUCKET"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["UPSKILL_S3_BUCKET"],
            "endpoint_url": os.environ.get("UPSKILL_S3_ENDPOINT_URL") or None,
        },
    }
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- security ---------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("UPSKILL_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = int(os.environ.get("UPSKILL_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = False
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# The same strict policy in every mode, so a page that would break in
# production breaks in development first. No inline scripts or styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # NONCE: only pages that ask for request.csp_nonce (the code editor, whose CodeMirror
        # mounts its theme as a <style> element) get a per-response nonce; no inline styles.
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "media-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

NINJA_PAGINATION_PER_PAGE = 50

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("UPSKILL_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
