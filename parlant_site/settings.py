"""All settings, configured by the environment (12-factor).

The defaults are the embedded mode: SQLite, the in-memory channel layer, the in-process worker and
the local NLP provider. Setting DATABASE_URL, REDIS_URL or PARLANT_NLP_PROVIDER switches to real
services. There are no per-environment settings modules.
"""

import hashlib
import os
from pathlib import Path
from tempfile import gettempdir
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(url: str) -> dict:
    """Translate postgres://user:pass@host:port/name?opt=v into a DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(f"DATABASE_URL scheme {parsed.scheme!r} is not supported")
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "OPTIONS": options,
        # Long-polls and websockets wait without a connection; request threads keep one briefly.
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 0),
        "TEST": {"NAME": env_str("DATABASE_TEST_NAME") or None},
    }


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-embedded-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "corsheaders",
    "channels",
    "reversion",
    "reversion_compare",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from our own static files
    "behavior",
    "sessions_app",
    "operations",
    "quality",
    "inbox",
]

MIDDLEWARE = [
    # First, so that even refusals further down carry the CORS headers the widget needs.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Paths and query strings that no column could store answer 400 before any view runs.
    "parlant_site.input_guard.RejectUnstorableRequests",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "parlant_site.urls"
ASGI_APPLICATION = "parlant_site.asgi.application"

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
            ],
        },
    },
]

_CHECKOUT_KEY = hashlib.sha1(str(BASE_DIR).encode()).hexdigest()[:8]
_SQLITE_TEST_DEFAULT = Path(gettempdir()) / f"parlant-test-{_CHECKOUT_KEY}.sqlite3"
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # IMMEDIATE makes concurrent writers queue on the write lock instead of failing with
            # "database is locked" when a read transaction upgrades to a write.
            # WAL lets readers (long-polls, sockets' replays) run beside the one writer, and
            # synchronous=NORMAL syncs at checkpoints instead of on every commit: a power cut
            # may lose the last commits, never corrupt the file. Set on every connection.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            },
            # A file, not the shared-cache memory database: that one fails concurrent writers with
            # "table is locked" instead of queueing them on the busy timeout. One file per
            # checkout, so the test runs of two clones on one machine never share it.
            "TEST": {"NAME": env_str("SQLITE_TEST_PATH", str(_SQLITE_TEST_DEFAULT))},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# The business's time zone: relative dates customers write ("tomorrow") resolve in it.
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the app folders, so the quick start needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "admin:login"

# --- Real-time delivery -----------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# channels_redis' blocking pop (5 s) plus room for a slow network; a dead Redis is still noticed.
CHANNEL_LAYER_SOCKET_TIMEOUT_SECONDS = 15
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # channels_redis waits for a message with a server-side blocking pop of up to
                # 5 s, but the redis client's default socket timeout is also 5 s, so an idle
                # reader timed out on the client first and idle long-polls, WebSockets and
                # dashboards died after 5 s. The read timeout must outlast the blocking pop.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT_SECONDS,
                        "socket_connect_timeout": 5,
                    }
                ],
                "prefix": env_str("CHANNELS_PREFIX", "parlant"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Rate-limit counters must be shared by every server process, so they live in Redis when there
# is one; the embedded mode's single process keeps them in memory.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CHANNELS_PREFIX", "parlant"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Turn execution ---------------------------------------------------------------------------
# With a broker, turns go to Celery workers; without one, the in-process worker runs the very same
# task function on a thread pool after the request's transaction commits.
PARLANT_INPROCESS_WORKER = env_bool("PARLANT_INPROCESS_WORKER", not REDIS_URL)
PARLANT_INPROCESS_WORKER_THREADS = env_int("PARLANT_INPROCESS_WORKER_THREADS", 4)

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 120)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 150)
# A turn must survive the death of its worker (sessions_app/sweeper.py has the rest):
# - acks_late: the message is acknowledged when the turn ends, not when it starts, so a worker
#   killed mid-turn leaves it unacknowledged and the broker hands it out again;
# - reject_on_worker_lost: a pool child killed alone (OOM, hard time limit) requeues its message
#   instead of acknowledging it as failed; the turn's attempt count stops a turn that kills
#   every worker from looping for ever;
# - visibility_timeout: Redis redelivers an unacknowledged message only after this long, so it
#   must exceed the longest turn (the hard time limit) or live turns would be handed out twice;
#   the faster recovery from a dead worker is the lease sweep, not this timeout;
# - prefetch 1: a worker reserves only what it runs, so its death strands no queued turns and
#   a slow turn does not hold back others that an idle worker could take.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 60}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_DEFAULT_QUEUE", "celery")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers answer pings on an exchange named after their queue, so a readiness probe counts only
# the workers that take this deployment's turns (several deployments may share one Redis).
CELERY_CONTROL_EXCHANGE = CELERY_TASK_DEFAULT_QUEUE
# Workers log through LOGGING below, like the web processes (LOG_FORMAT=json applies to both).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# A worker renews its turn's lease every third of this while the engine runs; a turn whose lease
# lapsed is taken over. Long enough that a busy database does not cost a live turn its lease,
# short enough that a customer whose worker died waits seconds, not minutes.
PARLANT_TURN_LEASE_SECONDS = env_int("PARLANT_TURN_LEASE_SECONDS", 20)
# Workers that may die on one turn before it is given up with an error status event.
PARLANT_TURN_MAX_ATTEMPTS = env_int("PARLANT_TURN_MAX_ATTEMPTS", 3)
# How often each Celery worker looks for hand-overs that went missing and lapsed leases.
PARLANT_TURN_SWEEP_SECONDS = env_int("PARLANT_TURN_SWEEP_SECONDS", 5)
# How long a requested turn may wait unclaimed (in a queue behind others) before it is sent
# again; re-sending too early only costs a no-op task, too late costs the customer the wait.
PARLANT_TURN_HANDOVER_GRACE_SECONDS = env_int("PARLANT_TURN_HANDOVER_GRACE_SECONDS", 30)

# --- NLP --------------------------------------------------------------------------------------
# "local", "openai", or the dotted path of a custom class implementing engine.ports.NLPService.
PARLANT_NLP_PROVIDER = env_str("PARLANT_NLP_PROVIDER", "local")
# Dotted path of a function returning engine.hooks.EngineHooks; empty for none.
PARLANT_ENGINE_HOOKS = env_str("PARLANT_ENGINE_HOOKS")
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")
OPENAI_EMBEDDING_MODEL = env_str("OPENAI_EMBEDDING_MODEL", "text-embedding-3-small")
OPENAI_TIMEOUT_SECONDS = env_int("OPENAI_TIMEOUT_SECONDS", 30)

# --- Sessions ---------------------------------------------------------------------------------
# Parlant's clients loop on 60 s long-polls; a lower ceiling keeps request threads predictable.
PARLANT_MAX_WAIT_FOR_DATA_SECONDS = env_int("PARLANT_MAX_WAIT_FOR_DATA_SECONDS", 60)
PARLANT_MAX_MESSAGE_CHARS = env_int("PARLANT_MAX_MESSAGE_CHARS", 8000)

# --- Authorization (who may do what: sessions_app/permissions.py) -----------------------------
# The development policy lets everything through, as Parlant's does, so the quick start needs
# no credentials; with DEBUG off the strict policy is the default, and a system check refuses
# production settings that keep the development one.
PARLANT_AUTHORIZATION_POLICY = env_str(
    "PARLANT_AUTHORIZATION_POLICY",
    "sessions_app.permissions.DevelopmentAuthorizationPolicy"
    if DEBUG
    else "sessions_app.permissions.StrictAuthorizationPolicy",
)
# JWTs for apps and customers: HS256 with this shared secret (unset: JWTs are refused).
PARLANT_JWT_SECRET = env_str("PARLANT_JWT_SECRET")
PARLANT_JWT_AUDIENCE = env_str("PARLANT_JWT_AUDIENCE")
# How long a signed customer or guest token (the widget's credential) stays valid.
PARLANT_CUSTOMER_TOKEN_MAX_AGE_SECONDS = env_int("PARLANT_CUSTOMER_TOKEN_MAX_AGE_SECONDS", 86400)
# Behind a proxy, the client address for rate limits comes from X-Forwarded-For.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)

# Requests per client per operation (Parlant's defaults); any other operation shares the default.
PARLANT_RATE_LIMITS = {
    "read_agent": "30/min",
    "create_guest_session": "10/min",
    "create_customer_session": "10/min",
    "read_session": "30/min",
    "list_events": "240/min",
    "create_customer_event": "30/min",
    "create_status_event": "60/min",
}
PARLANT_DEFAULT_RATE_LIMIT = env_str("PARLANT_DEFAULT_RATE_LIMIT", "100/min")

# --- CORS: the widget's pages may call the API from their own origins -------------------------
PARLANT_WIDGET_ORIGINS = env_list("PARLANT_WIDGET_ORIGINS", [])
CORS_ALLOWED_ORIGINS = PARLANT_WIDGET_ORIGINS
# The development policy allows every origin as Parlant's does (a local HTML file has none).
CORS_ALLOW_ALL_ORIGINS = env_bool(
    "CORS_ALLOW_ALL_ORIGINS",
    PARLANT_AUTHORIZATION_POLICY.endswith(".DevelopmentAuthorizationPolicy")
    and not PARLANT_WIDGET_ORIGINS,
)
# Only the API answers other origins; admin and the dashboard stay same-origin.
CORS_URLS_REGEX = r"^/(?!admin/|dashboard/|static/).*$"
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "x-api-key",
    # parlant-client (and so parlant-chat-react) sends these on every call.
    "x-fern-language",
    "x-fern-runtime",
    "x-fern-runtime-version",
    "x-fern-sdk-name",
    "x-fern-sdk-version",
)
CORS_EXPOSE_HEADERS = ["X-Parlant-Guest-Token", "Retry-After"]

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "parlant_site.api.exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "sessions_app.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["sessions_app.permissions.OperationPermission"],
    "DEFAULT_THROTTLE_CLASSES": ["sessions_app.throttling.OperationRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON that PostgreSQL could not store is refused as a 400 (parlant_site/input_guard.py).
    "DEFAULT_PARSER_CLASSES": ["parlant_site.input_guard.CheckedJSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "parlant_site.openapi.ParlantAutoSchema",
}
# The OpenAPI document at /openapi.json (interactive docs at /docs and /redoc), generated from
# the views and serializers; parlant_site/openapi.py adds what the code cannot say by itself.
SPECTACULAR_SETTINGS = {
    "TITLE": "Parlant on Django",
    "DESCRIPTION": (
        "Parlant's REST API: agents, customers, sessions and their events, and the behaviour "
        "an agent follows. Errors answer `{\"detail\": <message>}` (validation errors add "
        "`errors`, per field). Event listings long-poll with `wait_for_data` and stream "
        "Server-Sent Events with `sse=true`."
    ),
    "VERSION": "3.3",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Three resources have a field named "kind"; each choice set gets a name of its own.
    "ENUM_NAME_OVERRIDES": {
        "EventKindEnum": "sessions_app.models.Event.Kind",
        "RelationshipKindEnum": "behavior.models.Relationship.Kind",
        "ToolServiceKindEnum": "behavior.models.ToolService.Kind",
    },
    "PREPROCESSING_HOOKS": ["parlant_site.openapi.add_function_views"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "parlant_site.openapi.add_error_responses",
    ],
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024)

# --- Security (production values come from the environment) -----------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("TRUST_X_FORWARDED_PROTO", False) else None
)
# Load balancers probe over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- Operations (operations/) -----------------------------------------------------------------
# How long a stopping web process waits for its long-polls and WebSockets to leave (SIGTERM).
PARLANT_SHUTDOWN_GRACE_SECONDS = env_int("PARLANT_SHUTDOWN_GRACE_SECONDS", 10)
# "text" for people at a terminal, "json" for log collectors: one object per line.
LOG_FORMAT = env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"conversation_ids": {"()": "operations.json_logging.ContextFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "operations.json_logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["conversation_ids"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

# The agent customers talk to on the chat page at `/` (empty: the first agent by name).
PARLANT_CHAT_AGENT_ID = env_str("PARLANT_CHAT_AGENT_ID")
