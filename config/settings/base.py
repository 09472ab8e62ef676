"""Settings, read from the environment.

With no variables set everything runs in one process: SQLite, a local-memory cache and the
in-memory channel layer. `DATABASE_URL` switches to PostgreSQL, `REDIS_URL` to Redis for the
cache, throttling and the channel layer. `.env.example` lists every variable. `SECRET_KEY` is
required with `DATABASE_URL`; with neither, a random key is made once and kept in `.secret_key`.
"""

import contextlib
import math
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def dead_peer_options(seconds: float) -> tuple[dict, dict]:
    """(libpq's connection parameters, PostgreSQL's settings for its end) that give up a TCP connection whose peer
    stopped answering within about `seconds`: TCP_USER_TIMEOUT ends one whose sent data is left unacknowledged
    that long, keepalive probes (the first after half of it idle, then every sixth) notice a silent peer while
    an answer is awaited; connecting gives up after as long (libpq's least is 2 s)."""
    # Linux takes at most 32767 s for the keepalive times.
    idle, interval = min(32767, max(1, round(seconds / 2))), min(32767, max(1, round(seconds / 6)))
    user_timeout = round(seconds * 1000)
    probes = {"keepalives_idle": idle, "keepalives_interval": interval, "keepalives_count": 3}
    client = {
        "connect_timeout": max(2, math.ceil(seconds)),
        "keepalives": 1,
        **probes,
        "tcp_user_timeout": user_timeout,
    }
    server = {f"tcp_{key}": value for key, value in probes.items()} | {"tcp_user_timeout": user_timeout}
    return client, server


def database_from_url(url: str) -> dict:
    """`postgres://user:pass@host:port/name?sslmode=...` → a Django DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ValueError(f"DATABASE_URL: unsupported scheme {parsed.scheme!r} (use postgres://)")
    options: dict = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    # Parameters bound by the server (the extended protocol) rather than spliced into the SQL's text, and a
    # query run DB_PREPARE_THRESHOLD times on a connection is prepared there: later runs skip parsing and
    # planning (docs/PERFORMANCE.md, "Fifth round"). Behind a pooler that hands a session's statements to
    # other sessions (PgBouncer in transaction mode before 1.21), set DB_PREPARE_THRESHOLD=off.
    options["server_side_binding"] = True
    # PostgreSQL cancels a statement that runs longer than DB_STATEMENT_TIMEOUT seconds (answered 503), so that a
    # stalled database (a lock a migration holds, an overloaded server) cannot hold a request, or the event loop a
    # quick read runs on (common/asgi_handler.py), for good. Decimals allowed; 0 turns it off: the one-off
    # migrate step does, since a migration of a large table may take longer.
    startup = []
    timeout_ms = round(float(os.environ.get("DB_STATEMENT_TIMEOUT") or 30) * 1000)
    if timeout_ms > 0:
        startup.append(f"-c statement_timeout={timeout_ms}")
    # A network that stops carrying packets (a partition, a host frozen or gone) is noticed within about
    # DB_NETWORK_TIMEOUT seconds at both ends, where the kernel's defaults take about two hours (a read waiting for
    # its answer) or 15 minutes (a send): the worker's connection fails (answered 503), and PostgreSQL ends the
    # worker's session once it next waits on the worker (at once if it was idle or idle in a transaction, else when
    # its statement ends: at most DB_STATEMENT_TIMEOUT), so a transaction it held open gives back its locks. A
    # statement still running on a live connection is not affected (its host answers the probes): only
    # DB_STATEMENT_TIMEOUT ends it. 0 turns it off.
    network = float(os.environ.get("DB_NETWORK_TIMEOUT") or 10)
    if network > 0:
        client, server = dead_peer_options(network)
        for key, value in client.items():  # the URL's own values win
            options.setdefault(key, value)
        startup += [f"-c {key}={value}" for key, value in server.items()]
    # The URL's own `options` come after ours and win. Behind a pooler that refuses startup options, set
    # DB_STARTUP_OPTIONS=off: the worker's end still applies (libpq's parameters are not sent), the statement limit
    # goes on the role (ALTER ROLE ... SET statement_timeout = ...), the pooler's end in the pooler's settings.
    if env_bool("DB_STARTUP_OPTIONS", True) and startup:
        options["options"] = " ".join(filter(None, (*startup, options.get("options"))))
    threshold = os.environ.get("DB_PREPARE_THRESHOLD", "5").strip().lower()
    options["prepare_threshold"] = None if threshold in ("", "off", "none") else int(threshold)
    if env_bool("DB_POOL", True):
        # psycopg 3's pool: one per worker process, sized for an ASGI worker's concurrency.
        options["pool"] = {
            "min_size": env_int("DB_POOL_MIN_SIZE", 2),
            "max_size": env_int("DB_POOL_MAX_SIZE", 10),
            "timeout": env_int("DB_POOL_TIMEOUT", 10),
            # While the database is down the pool retries each connection with a growing delay (1 s,
            # 2 s, 4 s, ...); giving up after a few seconds lets the next request start a new attempt at
            # once, so the workers reconnect within seconds of the database coming back, however long
            # it was gone.
            "reconnect_timeout": env_int("DB_POOL_RECONNECT_TIMEOUT", 2),
        }
    return {
        # Django's PostgreSQL backend whose pool recovers at once after a database restart.
        "ENGINE": "common.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")) or "postgres",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "OPTIONS": options,
        # The pool keeps connections; Django must not also keep them.
        "CONN_MAX_AGE": 0,
        # Off: the backend checks pooled connections itself (common/postgresql/base.py).
        "CONN_HEALTH_CHECKS": False,
        "ATOMIC_REQUESTS": False,
    }


SECRET_KEY_FILE = BASE_DIR / ".secret_key"


def secret_key_from_file(path: Path) -> str:
    """The embedded default's key: random, made once, kept (mode 0600, git-ignored) so tokens survive restarts.

    Written to a private temporary file and hard-linked into place: when several workers start at
    once, exactly one key wins and every worker reads that one.
    """
    # Only the key file needs these; settings modules stay quick to import.
    import secrets
    import tempfile

    try:
        if not path.exists():
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mode 0600
            try:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(50) + "\n")
                with contextlib.suppress(FileExistsError):  # another process was first: use its key
                    os.link(tmp, path)
            finally:
                os.unlink(tmp)
        key = path.read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"SECRET_KEY is not set and {path} cannot be created ({exc}): set SECRET_KEY.")
    if not key:
        raise ImproperlyConfigured(f"SECRET_KEY is not set and {path} is empty: delete it or set SECRET_KEY.")
    return key


DATABASE_URL = os.environ.get("DATABASE_URL", "")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if DATABASE_URL:
        # The production shape never signs with a key anyone could know or that differs per worker.
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DATABASE_URL is set: a long random value, the same for every worker "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = secret_key_from_file(SECRET_KEY_FILE)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "common",  # before drf_spectacular: its ReDoc page is overridden to load nothing from other hosts
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "channels",
    "accounts",
    "events",
    "sharing",
    "history",
    "notifications",
    "dav",
    "ical",
]
# The benchmark data generator (`manage.py generate_data`: bulk users with a known password) is
# for benchmark runs only, never in production.
if env_bool("ENABLE_BENCH", False):
    INSTALLED_APPS.append("bench")

MIDDLEWARE = [
    "common.middleware.RequestIdMiddleware",
    "common.middleware.RequestContextMiddleware",  # IP, user agent, request id for the audit
    "django.middleware.security.SecurityMiddleware",
    # Serves the admin's and the API docs' assets from the workers themselves: the docs work offline
    # and a deployment needs no separate static file server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "common.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "common.middleware.LazyMessageMiddleware",  # Django's, building its storage only when used
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "common.middleware.RateLimitHeadersMiddleware",
    # Innermost: Idempotency-Key replays are answered here, inside the RateLimit headers.
    "common.idempotency.IdempotencyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # Writers wait for each other instead of failing with "database is locked".
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
            # Each request thread keeps its connection (common/asgi_handler.py keeps the threads):
            # opening one cost 0.3-0.4 ms per request. A local file has no server to drop it.
            "CONN_MAX_AGE": 600,
        }
    }


def redis_cache(url: str) -> dict:
    """The cache (answers and throttle counters) on Redis: a CACHES entry."""
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "cal"),
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            # After a failure Redis is skipped for a few seconds instead of waited for on every call.
            "CONNECTION_POOL_CLASS": "common.redis_breaker.FailFastConnectionPool",
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": 1,
            # Cache and throttling fail open when Redis is down; the error is logged
            # (DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS).
            "IGNORE_EXCEPTIONS": True,
        },
    }


def redis_channel_layer(url: str) -> dict:
    """The channel layer on Redis: a CHANNEL_LAYERS entry."""
    # redis is imported only when Redis is configured (the default runs without it).
    from redis.exceptions import ConnectionError as RedisConnectionError

    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 reads with a 5 s socket timeout by default, the same as the channel layer's
            # blocking pop: every socket idle for 5 s would crash (django/channels_redis#422). Any read
            # timeout also lets a cancelled pop swallow its cancellation (a closed socket's consumer then
            # never ends), so none: TCP keepalive notices a dead Redis instead.
            # A connect timeout all the same: a Redis host that is gone must not hold a request. A command
            # that finds its pooled connection closed (Redis restarted) is sent once more on a new one.
            "hosts": [
                {
                    "address": url,
                    "socket_timeout": None,
                    "socket_keepalive": True,
                    "socket_connect_timeout": 1,
                    "retry_on_error": [RedisConnectionError],
                }
            ],
            # All sockets of one worker share one Redis list ("specific.*"): room for bursts.
            "channel_capacity": {"specific.*": 5_000},
            "prefix": os.environ.get("CHANNELS_PREFIX", "asgi"),
        },
    }


DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "django_redis"  # its records pass LOGGING's "redis_skipped" filter
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": redis_cache(REDIS_URL)}
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL)}
else:
    # Room for a calendar app's answers: at Django's default of 300 entries, polling more events than that
    # pushed every answer (and rate-limit counters) out before it was asked for again.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "calendar",
            "OPTIONS": {"MAX_ENTRIES": env_int("ANSWER_CACHE_ENTRIES", 5_000)},
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Events as iCalendar text for CalDAV, by event and version (never stale: every change is a new version). Its
# own alias so that, in memory, a calendar app's initial sync of thousands of events does not push the
# answers cache out (and is not culled at the local-memory default of 300 entries).
CACHES["calendar_data"] = (
    {**redis_cache(REDIS_URL), "KEY_PREFIX": CACHES["default"]["KEY_PREFIX"] + "-ics"}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "calendar-data",
        "OPTIONS": {"MAX_ENTRIES": env_int("CALENDAR_DATA_CACHE_ENTRIES", 20_000)},
    }
)

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.UsernameOrEmailBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where a person without a session is sent to log in (the browsable API and the history pages).
LOGIN_URL = "/session/login"
LOGIN_REDIRECT_URL = "/api/events"
# The Docker image collects assets into STATIC_ROOT; without it (make run) they are found in the apps.
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Every path answers with and without a trailing slash; never redirect.
APPEND_SLASH = False

# Request bodies: 1 MB at most (BodySizeLimitMiddleware answers 413 above it).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_BODY_BYTES", 1024 * 1024)
# Paths (regular expressions) allowed a larger body than that: a calendar file import (ical/parse.py).
LARGE_BODY_PATHS = {r"^/api/events/import/?$": 10 * 1024 * 1024}

# Security headers Django offers; the TLS ones are switched on by env behind a proxy.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
if env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Client IPs for throttling and audit: trust X-Forwarded-For only behind a known proxy.
NUM_PROXIES = env_int("NUM_PROXIES", 0)

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_EXPOSE_HEADERS = [
    "ETag",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "X-Request-ID",
    "Idempotent-Replayed",
]
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "if-match",
    "if-none-match",
    "idempotency-key",
    "x-change-reason",
    "x-request-id",
]

REST_FRAMEWORK = {
    # JWT first: a request without credentials is a 401 with `WWW-Authenticate: Bearer`. The session is the
    # browser's way in (the browsable API, the history pages); DRF enforces CSRF on its writes.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "common.msgpack.MessagePackRenderer",
        "common.msgpack.XMessagePackRenderer",
        # Last, so no Accept or */* still gets JSON: only a client asking for text/html (a browser) gets it.
        "common.browsable.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "common.parsers.JSONParser",
        "common.msgpack.MessagePackParser",
        "common.msgpack.XMessagePackParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["common.throttling.AnonThrottle", "common.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("THROTTLE_ANON", "120/min"),
        "user": os.environ.get("THROTTLE_USER", "1200/min"),
        "auth_ip": os.environ.get("THROTTLE_AUTH_IP", "30/min"),
        "auth_username": os.environ.get("THROTTLE_AUTH_USERNAME", "10/min"),
        "feed": os.environ.get("THROTTLE_FEED", "60/min"),
    },
    "EXCEPTION_HANDLER": "common.exceptions.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "common.schema.AutoSchema",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "common.negotiation.ContentNegotiation",
    "DATETIME_FORMAT": "iso-8601",
    # 0 means "use the peer address": X-Forwarded-For is only believed behind NUM_PROXIES proxies.
    "NUM_PROXIES": NUM_PROXIES,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": os.environ.get("JWT_SIGNING_KEY", SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "JTI_CLAIM": "jti",
    "TOKEN_TYPE_CLAIM": "token_type",
    "LEEWAY": 0,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Collaborative Calendar API",
    "DESCRIPTION": (
        "Events (one-off and recurring, in real time zones), sharing as owner, editor or viewer, "
        "real-time notifications, and every version of every event. Errors are RFC 9457 "
        "problem details (`application/problem+json`). Send `Accept: application/msgpack` for "
        "MessagePack. Every path works with and without a trailing slash. A query parameter or body member an "
        "operation does not declare is a 400 naming it (a write also takes its query parameters, but `format`, as "
        "top-level body members); members marked `readOnly` in a request body (an event's `id`, `version`, "
        "`created_at`, ...) are accepted and ignored, so a client may send back what it read."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api",
    "ENUM_NAME_OVERRIDES": {"RoleEnum": "sharing.roles.Role"},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "common.schema.idempotency_schema_hook"],
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    # The schema is for API clients: they authenticate with a Bearer token. The Django session is a
    # browser's way into the browsable API and the history pages (README), not a scheme to build clients on.
    "AUTHENTICATION_WHITELIST": [
        "accounts.authentication.JWTAuthentication",
    ],
}

SIMPLE_HISTORY_HISTORY_ID_USE_UUID = False
# Composite (history_date, id) index: "the event as of T" reads stay index-only.
SIMPLE_HISTORY_DATE_INDEX = "composite"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redis_skipped": {"()": "common.redis_breaker.DropSkipped"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django_redis": {"level": "WARNING", "filters": ["redis_skipped"]},
    },
}
