"""One settings module, driven by environment variables (see .env.example and README).

Embedded defaults (SQLite under var/, in-process tasks, captured e-mail) make a fresh
clone run with no configuration; LOTTERY_ENV=production switches on the strict checks.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

import lottery

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

# FileAwareEnv also reads NAME_FILE (a path) for every NAME, for container secrets.
env = environ.FileAwareEnv()
# Real environment variables always win over the .env file.
if (BASE_DIR / ".env").exists():
    environ.FileAwareEnv.read_env(BASE_DIR / ".env", overwrite=False)

LOTTERY_ENV = env.str("LOTTERY_ENV", default="development")
if LOTTERY_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"LOTTERY_ENV must be development or production, not {LOTTERY_ENV!r}")
PRODUCTION = LOTTERY_ENV == "production"
DEVELOPMENT_SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
if PRODUCTION:
    if SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("production needs SECRET_KEY: a random string of 50+ characters")
    if DEBUG:
        raise ImproperlyConfigured("DJANGO_DEBUG cannot be on in production")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("production needs ALLOWED_HOSTS")

LOTTERY_BASE_URL = env.str("LOTTERY_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
LOTTERY_TIMEZONE = env.str("LOTTERY_TIMEZONE", default="Europe/Amsterdam")
LOTTERY_OPERATOR_TOKEN = env.str("LOTTERY_OPERATOR_TOKEN", default="")
LOTTERY_TICK_SECONDS = env.float("LOTTERY_TICK_SECONDS", default=60.0)
LOTTERY_BALLOT_PRICE_CENTS = env.int("LOTTERY_BALLOT_PRICE_CENTS", default=250)
LOTTERY_CURRENCY = env.str("LOTTERY_CURRENCY", default="EUR")
LOTTERY_DRAWS_AHEAD_DAYS = env.int("LOTTERY_DRAWS_AHEAD_DAYS", default=7)
LOTTERY_PAYMENT_GATEWAY = env.str(
    "LOTTERY_PAYMENT_GATEWAY", default="lottery.payments.gateway.SandboxGateway"
)
LOTTERY_LOCK_TIMEOUT_MS = env.int("LOTTERY_LOCK_TIMEOUT_MS", default=5000)
# Optional drand beacon (docs/beacon.md): both set = every new draw plans a beacon round.
LOTTERY_BEACON_URL = env.str("LOTTERY_BEACON_URL", default="")
LOTTERY_BEACON_CHAIN = env.str("LOTTERY_BEACON_CHAIN", default="")
LOTTERY_EMAIL_VERIFICATION_MAX_AGE = timedelta(hours=24)
PASSWORD_RESET_TIMEOUT = 60 * 60
# Every request body, JSON or form, is refused with a 413 when its Content-Length says more
# than this, before any of it is read (lottery.core.bodylimit).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("LOTTERY_MAX_BODY_BYTES", default=1024 * 1024)
# /metrics is for the scraper inside the cluster (docs/operations.md, "Metrics"): it answers a
# request carrying `Authorization: Bearer <LOTTERY_METRICS_TOKEN>` (when set), or one that
# came straight, not through a proxy, from an address in LOTTERY_METRICS_ALLOWED_CIDRS;
# anyone else gets a 404.
LOTTERY_METRICS_TOKEN = env.str("LOTTERY_METRICS_TOKEN", default="")
try:
    LOTTERY_METRICS_NETWORKS = tuple(
        ipaddress.ip_network(cidr.strip())
        for cidr in env.list(
            "LOTTERY_METRICS_ALLOWED_CIDRS",
            # Loopback, and the private ranges that pod and container networks use.
            default=["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
        )
    )
except ValueError as exc:
    raise ImproperlyConfigured(f"LOTTERY_METRICS_ALLOWED_CIDRS: {exc}") from exc

INSTALLED_APPS = [
    # lottery.accounts before django.contrib.auth: its `changepassword` command replaces
    # Django's. knox before it: the admin that accounts imports re-registers knox's.
    "knox",
    "lottery.accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "csp",
    "lottery.core",
    "lottery.draws",
    "lottery.payments",
    "lottery.web",
]

MIDDLEWARE = [
    "lottery.core.requestid.RequestIdMiddleware",
    "lottery.core.probes.ProbesMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "lottery.core.immutable.ImmutableResponseMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "lottery.core.bodylimit.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "lottery.core.handlers.DatabaseUnavailableMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lottery.web.context_processors.site",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'lottery.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so
    # two writers queue on busy_timeout instead of failing on lock upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # No statement waits on a lock for long: a busy draw answers 503 "busy" instead of
    # piling up requests (short locks with a timeout).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c lock_timeout={LOTTERY_LOCK_TIMEOUT_MS}"
    # Parameters bound by the server, so psycopg prepares the statements a connection
    # repeats (parse and plan once): PostgreSQL's CPU per purchase fell by a third
    # (docs/performance.md).
    DATABASES["default"]["OPTIONS"]["server_side_binding"] = env.bool(
        "DATABASE_SERVER_SIDE_BINDING", default=True
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, broker, tasks -------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
LOTTERY_HAS_BROKER = bool(CELERY_BROKER_URL)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "lottery.core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# No broker: tasks run in-process right after commit and the embedded ticker sweeps.
CELERY_TASK_ALWAYS_EAGER = not LOTTERY_HAS_BROKER
if not LOTTERY_HAS_BROKER:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Every task is idempotent, so a task is acknowledged only once done and redelivered if its
# worker dies; one task prefetched at a time so a crash strands little.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

# --- auth -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/signin"
CSRF_FAILURE_VIEW = "lottery.core.handlers.csrf_failure"
SESSION_COOKIE_HTTPONLY = True
SESSION_ENGINE = "lottery.accounts.sessions"  # database sessions that know their user
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_TTL": timedelta(days=env.int("LOTTERY_TOKEN_TTL_DAYS", default=30)),
}

# --- e-mail -----------------------------------------------------------------------------
# Without EMAIL_URL, development sends nothing out: e-mails are kept in the outbox and
# shown at /dev/mailbox. Production needs a real EMAIL_URL (smtp://user:pass@host:port).
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
elif PRODUCTION:
    raise ImproperlyConfigured("production needs EMAIL_URL, e.g. smtp://user:password@host:587")
else:
    EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Lottery <lottery@localhost>")
LOTTERY_DEV_MAILBOX = not PRODUCTION

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "lottery.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["lottery.core.parsers.DepthLimitedJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "lottery.core.api.JSONOnlyNegotiation",
    "EXCEPTION_HANDLER": "lottery.core.problems.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "lottery.core.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "lottery.core.api.PageNumberPagination",
    "PAGE_SIZE": 20,
    "NUM_PROXIES": env.int("LOTTERY_NUM_PROXIES", default=0),
    "DEFAULT_THROTTLE_RATES": {
        "signup_ip": env.str("LOTTERY_RATE_SIGNUP_IP", default="20/min"),
        "signin_ip": env.str("LOTTERY_RATE_SIGNIN_IP", default="60/min"),
        "signin_account": env.str("LOTTERY_RATE_SIGNIN_ACCOUNT", default="10/min"),
        "email_ip": env.str("LOTTERY_RATE_EMAIL_IP", default="20/min"),
        "email_account": env.str("LOTTERY_RATE_EMAIL_ACCOUNT", default="5/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lottery API",
    "DESCRIPTION": "A provably fair daily lottery. Errors are RFC 9457 problem+json.",
    "VERSION": lottery.__version__,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "PATH_CONVERTER_OVERRIDES": {"dbid": int},
    "ENUM_NAME_OVERRIDES": {
        "DrawStatusEnum": ["open", "drawing", "closed"],
        "BallotStatusEnum": ["unassigned", "assigned", "won", "lost"],
    },
}

# --- i18n, static -----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = LOTTERY_TIMEZONE
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "static"))
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# JSON lines in production (one object per line, with the request id); readable text in
# development. Every line carries the request id, also inside Celery tasks.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "text")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "lottery.core.requestid.RequestIdFilter"},
        "one_time_links": {"()": "lottery.core.logredact.OneTimeLinkFilter"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            # request_id first: it reads the record's request, which the next one may redact.
            "filters": ["request_id", "one_time_links"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        # Celery's process pool logs through its own non-propagating logger.
        "multiprocessing": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

if not LOTTERY_HAS_BROKER:  # the in-memory stand-in broker warns about a missing host
    LOGGING["loggers"]["kombu.connection"] = {"level": "ERROR"}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
# Pages use no inline script or style; only the API docs (Swagger UI/ReDoc bootstrap
# themselves inline) and the development mailbox are exempt.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/docs", "/dev/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        # The in-browser verifier reads the beacon's chain info and rounds (when configured).
        "connect-src": ["'self'", *([LOTTERY_BEACON_URL.rstrip("/")] if LOTTERY_BEACON_URL else [])],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Beat's own bookkeeping (our schedule is state-driven, so losing it loses nothing).
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celerybeat-schedule")
)

SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=LOTTERY_ENV,
        send_default_pii=False,
        # Request bodies hold card numbers and passwords, which the default scrubber misses.
        max_request_body_size="never",
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
