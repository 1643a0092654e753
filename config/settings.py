"""The only settings module: every value comes from a TANDEM_* environment variable.

TANDEM_SERVICE selects the service (crm or engagement): its URLconf, apps and database.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import dj_database_url

from tandem.core.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_optional,
    env_str,
    env_url,
    secret_from_file,
)
from tandem.core.keys import refuse_unfit_keys
from tandem.core.net import is_loopback_host
from tandem.core.paths import PROJECT_ROOT, var_dir

BASE_DIR = PROJECT_ROOT
VAR_DIR = var_dir()

SERVICE = env_choice("TANDEM_SERVICE", "crm", ("crm", "engagement"))
DEBUG = env_bool("TANDEM_DEBUG", False)
SECRET_KEY = env_optional("TANDEM_SECRET_KEY") or secret_from_file(VAR_DIR / "secret_key")
# Keys per service and purpose (tandem.core.keys, docs/security.md): TANDEM_<SERVICE>_<PURPOSE>_KEYS
# or generated under var/keys/<service>/. With DEBUG off, keys shared between purposes or
# services, or derived from SECRET_KEY, stop the service at start-up (exit 2).
# LEGACY_KEYS: also accept what the pre-ring keys (derived from SECRET_KEY) hashed, encrypted
# or signed, so that an upgrade breaks no secret, token or mailed link; turn off once rotated.
LEGACY_KEYS = env_bool("TANDEM_LEGACY_KEYS", True)
refuse_unfit_keys(SERVICE, VAR_DIR, debug=DEBUG, secret_key=SECRET_KEY)
# What `tandem keys rotate` re-encrypts in each service's database.
KEY_ROTATION_COLUMNS = {
    "crm": "tandem.crm.connectedapps.rekey.encrypted_columns",
    "engagement": "tandem.engagement.connect.crypto.encrypted_columns",
}
ALLOWED_HOSTS = env_list("TANDEM_ALLOWED_HOSTS", ["localhost", ".localhost", "127.0.0.1", "[::1]"])

# Public base URLs: how each service is reached by browsers and by the other service.
CRM_URL = env_url("TANDEM_CRM_URL", "http://localhost:8001", schemes=("http", "https"))
ENGAGEMENT_URL = env_url(
    "TANDEM_ENGAGEMENT_URL", "http://localhost:8002", schemes=("http", "https")
)
# A CA bundle to trust when calling the CRM over HTTPS (`tandem up --https` sets it).
CRM_CA_FILE = env_optional("TANDEM_CRM_CA_FILE")

# --- Applications --------------------------------------------------------------------------

COMMON_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "tandem.core",
]
# Each service's apps and user model; keep the two blocks apart (one owner each).
CRM_APPS = [
    "tandem.crm.apps.CrmConfig",
    "tandem.crm.orgs.apps.OrgsConfig",
    "tandem.crm.users.apps.UsersConfig",
    "tandem.crm.permissions.apps.PermissionsConfig",
    "tandem.crm.setup.apps.SetupConfig",
    "oauth2_provider",
    "tandem.crm.connectedapps.apps.ConnectedAppsConfig",
    "tandem.crm.oauth.apps.OAuthConfig",
    "tandem.crm.records.apps.RecordsConfig",
    "tandem.crm.api.apps.ApiConfig",
    "tandem.crm.bulk.apps.BulkConfig",
    "tandem.crm.soap.apps.SoapConfig",
]
CRM_USER_MODEL = "crm_users.User"
# Bulk API 2.0: the largest CSV one ingest job accepts (Salesforce: 150 MB once base64-encoded).
CRM_BULK_UPLOAD_MAX_BYTES = env_int("TANDEM_BULK_UPLOAD_MAX_MB", 100, minimum=1) * 1024 * 1024
# Bulk API 2.0: jobs per page of a job list (Salesforce: 1,000); the tests use a small page.
CRM_BULK_JOBS_PAGE_SIZE = 1000
# How long a run holds a Bulk job without committing a chunk before another run may take it
# over (a worker that died mid-job is resumed after this).
CRM_BULK_LEASE_SECONDS = env_int("TANDEM_BULK_LEASE_SECONDS", 120, minimum=5, maximum=3600)
# Failed password logins before a user is locked out, and for how long.
CRM_LOCKOUT_ATTEMPTS = env_int("TANDEM_CRM_LOCKOUT_ATTEMPTS", 5, minimum=1, maximum=100)
CRM_LOCKOUT_MINUTES = env_int("TANDEM_CRM_LOCKOUT_MINUTES", 15, minimum=1, maximum=24 * 60)
# Failed logins from one address (any usernames) before it is refused for that long.
CRM_LOGIN_THROTTLE_ATTEMPTS = env_int("TANDEM_CRM_LOGIN_THROTTLE", 50, minimum=1)
# After authentication: the org of a My Domain host, then session expiry and revocation.
CRM_MIDDLEWARE = [
    "tandem.crm.orgs.middleware.OrgHostMiddleware",
    "tandem.crm.users.middleware.CrmSessionMiddleware",
]
CRM_LOGIN_URL = "/login/"
# OAuth 2.0 server (django-oauth-toolkit with Tandem's models, validator and grants; ADR 0400).
OAUTH2_PROVIDER_APPLICATION_MODEL = "crm_connectedapps.ConnectedApp"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "crm_oauth.AccessToken"  # noqa: S105
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "crm_oauth.RefreshToken"  # noqa: S105
OAUTH2_PROVIDER_GRANT_MODEL = "crm_oauth.Grant"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "crm_oauth.IDToken"  # noqa: S105
OAUTH_SECRET_KEY = env_optional("TANDEM_OAUTH_SECRET_KEY") or ""
OAUTH_FERNET_KEYS = env_list("TANDEM_OAUTH_FERNET_KEYS", [])
# Older Salesforce docs: bearer flows enforce profile IP ranges whatever the app's relaxation.
OAUTH_BEARER_ALWAYS_ENFORCES_IP = env_bool("TANDEM_OAUTH_BEARER_ALWAYS_ENFORCES_IP", False)
# Accept Salesforce's own JWT audiences (https://login.salesforce.com, https://test.salesforce.com)
# as aliases of the CRM's login URL, for clients that hard-code them (`tandem demo` turns it on).
OAUTH_SALESFORCE_AUDIENCES = env_bool("TANDEM_OAUTH_SALESFORCE_AUDIENCES", False)
# The `instance_url` API clients get: "auto" (My Domain where ordinary DNS resolvers reach it,
# else the URL the client called), "my-domain" or "login" (TANDEM_CRM_URL). docs/oauth.md.
OAUTH_INSTANCE_URL = env_choice("TANDEM_OAUTH_INSTANCE_URL", "auto", ("auto", "my-domain", "login"))
# The deployment-level "Salesforce Marketing Cloud" connected app (the Engagement's Connect).
MC_CONSUMER_KEY = env_optional("TANDEM_MC_CONSUMER_KEY")
MC_CONSUMER_SECRET = env_optional("TANDEM_MC_CONSUMER_SECRET")
MC_CALLBACK_URL = env_url("TANDEM_MC_CALLBACK_URL", None, schemes=("http", "https"))
MC_CERTIFICATE = env_optional("TANDEM_MC_CERTIFICATE")  # or TANDEM_MC_CERTIFICATE_FILE
# Salesforce keeps five approvals (refresh token families) per user per app; a sixth revokes
# the oldest (docs/reference/oauth-policies.md).
OAUTH_APPROVALS_PER_USER_AND_APP = env_int(
    "TANDEM_OAUTH_APPROVALS_PER_USER_AND_APP", 5, minimum=1, maximum=100
)
OAUTH2_PROVIDER = {
    "OAUTH2_SERVER_CLASS": "tandem.crm.oauth.server.TandemServer",
    "OIDC_SERVER_CLASS": "tandem.crm.oauth.server.TandemServer",
    "OAUTH2_VALIDATOR_CLASS": "tandem.crm.oauth.validator.ConnectedAppValidator",
    "OAUTH2_BACKEND_CLASS": "tandem.crm.oauth.backend.TandemOAuthLibCore",
    "SCOPES_BACKEND_CLASS": "tandem.crm.oauth.scopes.ConnectedAppScopes",
    "SCOPES": {
        "api": "api",
        "refresh_token": "refresh_token",
        "offline_access": "offline_access",
        "full": "full",
        "id": "id",
        "profile": "profile",
        "email": "email",
        "web": "web",
        "openid": "openid",
        "introspection": "introspection",
    },
    "DEFAULT_SCOPES": ["api"],
    "ACCESS_TOKEN_GENERATOR": "tandem.crm.oauth.crypto.new_access_token",  # <org id>!<opaque>
    "REFRESH_TOKEN_GENERATOR": "tandem.crm.oauth.crypto.new_token",
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 10 * 60,  # RFC 6749 §4.1.2: at most 10 minutes
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int(
        "TANDEM_OAUTH_ACCESS_TOKEN_SECONDS", 2 * 60 * 60, minimum=60
    ),
    "REFRESH_TOKEN_EXPIRE_SECONDS": None,  # the app's Refresh Token Policy decides
    "ROTATE_REFRESH_TOKEN": False,  # per app: "Enable Refresh Token Rotation" (the validator)
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "PKCE_REQUIRED": True,
    "REQUEST_APPROVAL_PROMPT": "force",
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],  # http only for localhost (app form)
    "ALLOW_URI_WILDCARDS": False,
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": "",  # filled in below for the CRM only
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": [
        "authorization_code",
        "refresh_token",
        "password",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ],
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    # RFC 9700 §4.3.2: `?access_token=` on userinfo and the identity URL is refused (the REST
    # API refuses it in tandem.crm.api.auth); tokens travel in the Authorization header.
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
}


ENGAGEMENT_APPS = [
    "tandem.engagement.apps.EngagementConfig",
    "tandem.engagement.accounts.apps.AccountsConfig",
    "tandem.engagement.studio.apps.StudioConfig",
    "tandem.engagement.data.apps.DataConfig",
    "tandem.engagement.content.apps.ContentConfig",
    "tandem.engagement.sends.apps.SendsConfig",
    "tandem.engagement.connect.apps.ConnectConfig",
    "tandem.engagement.syncs.apps.SyncsConfig",
]
ENGAGEMENT_USER_MODEL = "engagement_accounts.User"
# Content files go through this Django storage backend: files under MEDIA_ROOT by default,
# an S3-compatible bucket when TANDEM_CONTENT_S3_BUCKET is set (django-storages), or any
# backend class named by TANDEM_CONTENT_STORAGE_BACKEND.
CONTENT_S3_BUCKET = env_optional("TANDEM_CONTENT_S3_BUCKET")
CONTENT_S3_OPTIONS = {
    "bucket_name": CONTENT_S3_BUCKET,
    "endpoint_url": env_url("TANDEM_CONTENT_S3_ENDPOINT_URL", None, schemes=("http", "https")),
    "region_name": env_optional("TANDEM_CONTENT_S3_REGION"),
    "access_key": env_optional("TANDEM_CONTENT_S3_ACCESS_KEY_ID"),
    "secret_key": env_optional("TANDEM_CONTENT_S3_SECRET_ACCESS_KEY"),
    "addressing_style": "path",
    "default_acl": None,
    "querystring_auth": True,
    "file_overwrite": False,
}
ENGAGEMENT_CONTENT_STORAGE = {
    "BACKEND": env_str(
        "TANDEM_CONTENT_STORAGE_BACKEND",
        "storages.backends.s3.S3Storage"
        if CONTENT_S3_BUCKET
        else "django.core.files.storage.FileSystemStorage",
    ),
    "OPTIONS": CONTENT_S3_OPTIONS if CONTENT_S3_BUCKET else {},
}
# Size caps: a larger upload is refused with a message before it is stored.
ENGAGEMENT_CONTENT_MAX_BYTES = env_int("TANDEM_CONTENT_MAX_MB", 50, minimum=1) * 1024 * 1024
ENGAGEMENT_IMPORT_MAX_BYTES = env_int("TANDEM_IMPORT_MAX_MB", 200, minimum=1) * 1024 * 1024
# Connect: the key that signs its JWT bearer assertions (consumer key: MC_CONSUMER_KEY above),
# and the keys encrypting legacy CRM passwords at rest (first encrypts; all decrypt).
CONNECT_PRIVATE_KEY = env_optional("TANDEM_CONNECT_PRIVATE_KEY")  # or ..._PRIVATE_KEY_FILE
CONNECT_FERNET_KEYS = env_list("TANDEM_CONNECT_FERNET_KEYS", [])
CONNECT_HTTP_TIMEOUT = env_int("TANDEM_CONNECT_HTTP_TIMEOUT", 15, minimum=1, maximum=300)
# Connect's CRM client factory (a callable or its dotted path); None is the HTTP client. Tests
# of single pieces put a fake CRM here.
CONNECT_CRM_CLIENT = None
# Migrate Existing Users: users whose CRM calls run at once (1: one after another).
CONNECT_MIGRATION_THREADS = env_int("TANDEM_CONNECT_MIGRATION_THREADS", 8, minimum=1, maximum=64)
# A CRM-audience send whose read meets a CRM that does not answer reads again this much later.
CONNECT_AUDIENCE_RETRY_SECONDS = env_int(
    "TANDEM_CONNECT_AUDIENCE_RETRY_SECONDS", 15, minimum=1, maximum=3600
)
# Connect's Bulk API use (docs/upgrade.md, "Bulk API and the CRM's limits"): a campaign of
# more members than this is read by a Bulk query job, and a write-back of at least this many
# IndividualEmailResults goes as one Bulk upsert job; a Bulk job still running after the wait
# is left, and the read or write tried again later.
CONNECT_BULK_AUDIENCE_THRESHOLD = env_int(
    "TANDEM_CONNECT_BULK_AUDIENCE_THRESHOLD", 50_000, minimum=1
)
CONNECT_BULK_WRITEBACK_THRESHOLD = env_int(
    "TANDEM_CONNECT_BULK_WRITEBACK_THRESHOLD", 2_000, minimum=1
)
# Under the 10 minutes after which another worker takes a read or write-back over as dead.
CONNECT_BULK_WAIT_SECONDS = env_int("TANDEM_CONNECT_BULK_WAIT_SECONDS", 300, minimum=1, maximum=540)
# Migrate Existing Users holds the account for this long, renewed while it runs: should the
# process running it die, the account is free again once it lapses (docs/upgrade.md §3).
CONNECT_MIGRATION_LEASE_SECONDS = env_int(
    "TANDEM_CONNECT_MIGRATION_LEASE_SECONDS", 600, minimum=4, maximum=86400
)
# Synchronized data sources: how far back each run reads again (clock skew, late commits), and
# how long a run holds its source without renewing (a dead run's lease lapses then).
SYNC_OVERLAP_SECONDS = env_int("TANDEM_SYNC_OVERLAP_SECONDS", 300, minimum=0, maximum=86400)
SYNC_LEASE_SECONDS = env_int("TANDEM_SYNC_LEASE_SECONDS", 120, minimum=2, maximum=86400)
# A copy of every record (first copy, backfill) of more records than this reads by a Bulk query job.
SYNC_BULK_THRESHOLD = env_int("TANDEM_SYNC_BULK_THRESHOLD", 10_000, minimum=0)
# A source whose runs keep failing waits before its next scheduled run: this long after the
# first failure, twice as long after each further one, never more than the maximum.
SYNC_BACKOFF_SECONDS = env_int("TANDEM_SYNC_BACKOFF_SECONDS", 60, minimum=1, maximum=86400)
SYNC_BACKOFF_MAX_SECONDS = env_int(
    "TANDEM_SYNC_BACKOFF_MAX_SECONDS", 6 * 60 * 60, minimum=1, maximum=7 * 86400
)


SERVICE_APPS = {"crm": CRM_APPS, "engagement": ENGAGEMENT_APPS}
INSTALLED_APPS = COMMON_APPS + SERVICE_APPS[SERVICE]
AUTH_USER_MODEL = {"crm": CRM_USER_MODEL, "engagement": ENGAGEMENT_USER_MODEL}[SERVICE]
if SERVICE == "crm":
    from tandem.crm.oauth.keys import oidc_private_key

    OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"] = oidc_private_key(
        env_optional("TANDEM_OIDC_RSA_PRIVATE_KEY"), VAR_DIR / "oidc_private_key.pem"
    )

MIDDLEWARE = [
    "tandem.core.middleware.ForwardedProtoMiddleware",  # first: before anything reads the scheme
    "django.middleware.security.SecurityMiddleware",
    # A database that cannot be reached (every slot taken, down) answers 503, not 500.
    "tandem.core.unavailable.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tandem.core.middleware.ContentSecurityPolicyMiddleware",
]
if SERVICE == "crm":
    MIDDLEWARE += CRM_MIDDLEWARE
    # The database's 503 in the words of the CRM's surfaces (REST, OAuth, SOAP).
    _unavailable = MIDDLEWARE.index("tandem.core.unavailable.DatabaseUnavailableMiddleware")
    MIDDLEWARE[_unavailable] = "tandem.crm.unavailable.CrmDatabaseUnavailableMiddleware"
    # The OAuth token/introspect/revoke endpoints skip sessions, CSRF, auth and messages.
    MIDDLEWARE.insert(_unavailable + 1, "tandem.crm.oauth.middleware.OAuthEndpointMiddleware")
    LOGIN_URL = CRM_LOGIN_URL

ROOT_URLCONF = f"config.urls_{SERVICE}"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "tandem" / "templates"],
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

# --- Database: each service owns its own ---------------------------------------------------


def _database(url: str | None, sqlite_name: str) -> dict[str, object]:
    if url:
        config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=60))
        # Parameters bound by the server, so psycopg prepares a statement once a connection has
        # run it 5 times: PostgreSQL then skips parsing and planning it. No health check (a
        # round trip before every request's first query); a connection that broke is dropped
        # at the end of the request that met the error. ADR 0007.
        options = dict(config.get("OPTIONS") or {})  # type: ignore[call-overload]
        options.update({"server_side_binding": True, "prepare_threshold": 5})
        config["OPTIONS"] = options
        return config
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / sqlite_name,
        # WAL lets the web process read while a worker writes; IMMEDIATE avoids
        # "database is locked" on lock upgrades inside transactions.
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        },
    }


DATABASE_URLS = {
    "crm": env_url("TANDEM_CRM_DATABASE_URL", None, schemes=("postgres", "postgresql", "sqlite")),
    "engagement": env_url(
        "TANDEM_ENGAGEMENT_DATABASE_URL", None, schemes=("postgres", "postgresql", "sqlite")
    ),
}
DATABASES = {"default": _database(DATABASE_URLS[SERVICE], f"{SERVICE}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Security --------------------------------------------------------------------------------

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Both services may run on one host (ports 8001 and 8002): cookies ignore ports, so each
# service needs its own cookie names or one login would overwrite the other.
SESSION_COOKIE_NAME = f"tandem_{SERVICE}_session"
CSRF_COOKIE_NAME = f"tandem_{SERVICE}_csrftoken"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("TANDEM_SESSION_SECONDS", 2 * 60 * 60, minimum=60)
# HTTPS (docs/security.md): a service whose public URL is https (or with TANDEM_SECURE_COOKIES)
# sends its cookies Secure and, on https requests, HSTS for a year, except on loopback hosts
# (HSTS for `localhost` would force https on every local port; TANDEM_HSTS_SECONDS decides).
# Behind a TLS-terminating proxy, X-Forwarded-Proto says https: believed only from
# TANDEM_TRUSTED_PROXIES (tandem.core.middleware.ForwardedProtoMiddleware drops it otherwise).
SERVICE_URL = str(CRM_URL if SERVICE == "crm" else ENGAGEMENT_URL)
SERVED_OVER_HTTPS = urlsplit(SERVICE_URL).scheme == "https"
SECURE_COOKIES = SERVED_OVER_HTTPS or env_bool("TANDEM_SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_HSTS_SECONDS = env_int(
    "TANDEM_HSTS_SECONDS",
    365 * 24 * 60 * 60
    if SECURE_COOKIES and not is_loopback_host(urlsplit(SERVICE_URL).hostname or "")
    else 0,
    minimum=0,
)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self' http: https:"
)
# Addresses (or networks) of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are
# believed (tandem.core.net).
TRUSTED_PROXIES = env_list("TANDEM_TRUSTED_PROXIES", [])
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None
# Login throttles count failures in this shared cache (tandem.core.throttle): every process of
# a service sees the same counts. Each service's own database by default (its table is made by
# `migrate`), Redis when TANDEM_CACHE_URL names one.
CACHE_URL = env_url("TANDEM_CACHE_URL", None, schemes=("redis", "rediss"))
CACHE_TABLE = "tandem_cache"
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": f"tandem:{SERVICE}",
        }
        if CACHE_URL
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": CACHE_TABLE,
            # Never cull counts an attacker could push out by trying many addresses.
            "OPTIONS": {"MAX_ENTRIES": 1_000_000},
        }
    )
}
# The Engagement login: failures per address and per username before refusing for that long.
ENGAGEMENT_LOGIN_THROTTLE_ATTEMPTS = env_int("TANDEM_ENGAGEMENT_LOGIN_THROTTLE", 50, minimum=1)
ENGAGEMENT_LOGIN_USER_THROTTLE_ATTEMPTS = env_int(
    "TANDEM_ENGAGEMENT_LOGIN_USER_THROTTLE", 10, minimum=1
)
ENGAGEMENT_LOGIN_THROTTLE_MINUTES = env_int(
    "TANDEM_ENGAGEMENT_LOGIN_THROTTLE_MINUTES", 15, minimum=1, maximum=24 * 60
)

# --- Static files, time ----------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise serves from the finders (no collectstatic needed) but warns on every start when
# its root is missing; an empty one is the truth until someone collects into it.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "tandem" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media" / SERVICE
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

# --- Background work: Celery queues "engagement" and "crm" (Bulk API jobs) --------------------

BROKER_URL = env_url(
    "TANDEM_BROKER_URL",
    f"sqla+sqlite:///{VAR_DIR / 'broker.sqlite3'}",
    schemes=("sqla+sqlite", "redis", "rediss", "amqp", "amqps", "memory"),
)
assert BROKER_URL is not None


def _result_backend(broker_url: str) -> str:
    if broker_url.startswith(("redis://", "rediss://")):
        return broker_url
    return f"db+sqlite:///{VAR_DIR / 'celery-results.sqlite3'}"


CELERY_BROKER_URL = BROKER_URL
CELERY_RESULT_BACKEND = env_optional("TANDEM_RESULT_BACKEND") or _result_backend(BROKER_URL)
CELERY_RESULT_EXPIRES = 24 * 60 * 60
CELERY_TASK_DEFAULT_QUEUE = SERVICE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("TANDEM_TASKS_EAGER", False)
WORKER_QUEUES = env_list("TANDEM_WORKER_QUEUES", [SERVICE])

# --- Mail ---------------------------------------------------------------------------------

EMAIL_HOST = env_str("TANDEM_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = env_int("TANDEM_SMTP_PORT", 2525, minimum=1, maximum=65535)
EMAIL_TIMEOUT = 10
MAIL_DIR = VAR_DIR / "mail"

# --- Logging -------------------------------------------------------------------------------

LOG_LEVEL = env_choice("TANDEM_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # oauthlib logs raw tokens and codes at DEBUG: never let them reach a log.
        "oauthlib": {"level": "WARNING"},
    },
}
