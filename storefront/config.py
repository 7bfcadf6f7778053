"""Settings from the environment, with defaults that run on a laptop.

Every value can be overridden by an environment variable of the same name,
or by the mapping given to create_app() (tests do that).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("GERAI_INSTANCE", ROOT / "instance"))


def _secret_key() -> str:
    """A stable key for development: kept in the instance folder, never in git."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = INSTANCE / "secret_key"
    if not path.exists():
        INSTANCE.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment() -> dict:
    env = os.environ.get("GERAI_ENV", "development")
    production = env == "production"
    development = env == "development"
    return {
        "GERAI_ENV": env,
        "SECRET_KEY": _secret_key(),
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "DATABASE_URL", f"sqlite:///{INSTANCE / 'gerai.db'}"
        ),
        # Pre-ping: a restarted PostgreSQL costs one failed checkout, not a stream of 500s.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Search: "embedded" (tantivy, in-process) unless MEILI_URL names a server.
        "SEARCH_BACKEND": os.environ.get(
            "SEARCH_BACKEND", "meilisearch" if os.environ.get("MEILI_URL") else "embedded"
        ),
        "SEARCH_INDEX_PATH": os.environ.get("SEARCH_INDEX_PATH", str(INSTANCE / "search-index")),
        "MEILI_URL": os.environ.get("MEILI_URL", ""),
        "MEILI_MASTER_KEY": os.environ.get("MEILI_MASTER_KEY", ""),
        # Or a key pair instead of the master key: searches use the first, writes the second.
        "MEILI_SEARCH_KEY": os.environ.get("MEILI_SEARCH_KEY", ""),
        "MEILI_ADMIN_KEY": os.environ.get("MEILI_ADMIN_KEY", ""),
        # Several deployments (or test runs) can share one server under their own prefixes.
        "MEILI_INDEX_PREFIX": os.environ.get("MEILI_INDEX_PREFIX", "gerai"),
        # Past this a search falls back to the database: the page must not wait on the engine.
        "MEILI_TIMEOUT": float(os.environ.get("MEILI_TIMEOUT", 0.3)),
        # Run the task queue's consumer (imports, search outbox, payment reconciliation)
        # as threads inside the web process: one process on one machine (make run).
        "WORKER_THREAD": _bool("WORKER_THREAD", False),
        # Where tasks wait (storefront/tasks.py): "redis" when REDIS_URL is set, else
        # "sqlite" (a file in the instance folder); tests run them at once ("immediate").
        "TASK_QUEUE": os.environ.get("TASK_QUEUE", ""),
        "TASK_QUEUE_PATH": os.environ.get("TASK_QUEUE_PATH", ""),
        "TASK_QUEUE_NAME": os.environ.get("TASK_QUEUE_NAME", "gerai"),  # several Gerais, one Redis
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        # An import "running" with no sign of life for this long is reported failed
        # (0: 2 minutes on PostgreSQL, which writes a heartbeat; 15 on SQLite).
        "IMPORT_STALE_SECONDS": int(os.environ.get("IMPORT_STALE_SECONDS", 0)),
        "MEDIA_ROOT": os.environ.get("MEDIA_ROOT", str(INSTANCE / "media")),
        # "sandbox" (the local Stripe-compatible test gateway) on a laptop; Stripe in production.
        "PAYMENT_GATEWAY": os.environ.get("PAYMENT_GATEWAY", "stripe" if production else "sandbox"),
        "STRIPE_API_KEY": os.environ.get("STRIPE_API_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", "https://api.stripe.com"),
        "SANDBOX_GATEWAY_URL": os.environ.get("SANDBOX_GATEWAY_URL",
                                              "http://127.0.0.1:5000/sandbox-gateway"),
        "SANDBOX_WEBHOOK_SECRET": os.environ.get("SANDBOX_WEBHOOK_SECRET",
                                                 "whsec_sandbox_development"),
        "SANDBOX_WEBHOOK_URL": os.environ.get("SANDBOX_WEBHOOK_URL",
                                              "http://127.0.0.1:5000/payments/webhooks/sandbox"),
        # Serve the sandbox inside Gerai at /sandbox-gateway (development only).
        "SANDBOX_MOUNT": _bool("SANDBOX_MOUNT", development),
        # QRIS (any Indonesian e-wallet or bank app) through Xendit's QR Codes API: the
        # local Xendit-compatible sandbox on a laptop (served at /xendit-sandbox), Xendit
        # in production when its keys are set. "" turns QRIS off.
        "QRIS_GATEWAY": os.environ.get(
            "QRIS_GATEWAY", "xendit" if development or os.environ.get("XENDIT_SECRET_KEY")
            else ""),
        # Fair stands' QR charges; by default the QRIS gateway (else PAYMENT_GATEWAY).
        "STAND_GATEWAY": os.environ.get("STAND_GATEWAY", ""),
        "XENDIT_SECRET_KEY": os.environ.get("XENDIT_SECRET_KEY",
                                            "" if production else "xnd_development_gerai_sandbox"),
        # The token Xendit sends in x-callback-token (its dashboard shows it).
        "XENDIT_CALLBACK_TOKEN": os.environ.get(
            "XENDIT_CALLBACK_TOKEN", "" if production else "gerai-xendit-callback-development"),
        "XENDIT_API_URL": os.environ.get(
            "XENDIT_API_URL", "https://api.xendit.co" if production
            else "http://127.0.0.1:5000/xendit-sandbox"),
        "XENDIT_SANDBOX_CALLBACK_URL": os.environ.get(
            "XENDIT_SANDBOX_CALLBACK_URL", "http://127.0.0.1:5000/payments/webhooks/xendit"),
        "XENDIT_SANDBOX_MOUNT": _bool("XENDIT_SANDBOX_MOUNT", development),
        "PAYMENT_GATEWAY_TIMEOUT": float(os.environ.get("PAYMENT_GATEWAY_TIMEOUT", 10)),
        "PAYMENT_GATEWAY_RETRIES": int(os.environ.get("PAYMENT_GATEWAY_RETRIES", 2)),
        # Stock is held this long while the shopper pays (the gateway page expires too).
        "PAYMENT_EXPIRY_MINUTES": int(os.environ.get("PAYMENT_EXPIRY_MINUTES", 30)),
        # A payment QR shown at a fair stand holds its stock this long.
        "FAIR_CHARGE_MINUTES": int(os.environ.get("FAIR_CHARGE_MINUTES", 15)),
        # Unpaid stock one client may hold at once: a shopper's account, or the address of
        # a shopper without one. Counted over open holds, not requests, so 300 visitors on
        # a fair's shared Wi-Fi (who pay within minutes) still get through.
        "HOLDS_PER_CLIENT": int(os.environ.get("HOLDS_PER_CLIENT", 30)),
        "HELD_UNITS_PER_CLIENT_PRODUCT": int(os.environ.get("HELD_UNITS_PER_CLIENT_PRODUCT", 10)),
        # A visitor's stand basket without a separate fair stock takes at most this many
        # units of one product from the shop's online stock.
        "VISITOR_BASKET_MAX_UNITS": int(os.environ.get("VISITOR_BASKET_MAX_UNITS", 10)),
        # Platform fee per shop order, in percent of its goods (recorded for payouts).
        "PLATFORM_FEE_PERCENT": int(os.environ.get("PLATFORM_FEE_PERCENT", 0)),
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL", "memory://"),
        # Rendered catalogue fragments: per process by default, shared through Redis.
        "CACHE_TYPE": "RedisCache" if os.environ.get("REDIS_URL") else "SimpleCache",
        "CACHE_REDIS_URL": os.environ.get("REDIS_URL", ""),
        "CACHE_DEFAULT_TIMEOUT": 60,
        "CACHE_THRESHOLD": 5000,
        "FRAGMENT_CACHE_SECONDS": int(os.environ.get("FRAGMENT_CACHE_SECONDS", 60)),
        # 10 MB photos plus form fields; larger bodies get a 413 page.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 12 * 1024 * 1024)),
        "MAX_FORM_MEMORY_SIZE": 500_000,
        "BABEL_DEFAULT_LOCALE": "id",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Jakarta",
        "LANGUAGES": ("id", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": not development,
        # __Host- binds the cookie to this host over HTTPS only; browsers refuse it on plain http.
        "SESSION_COOKIE_NAME": "__Host-gerai" if production else "gerai",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": not development,
        "REMEMBER_COOKIE_NAME": "__Host-gerai-ingat" if production else "gerai-ingat",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "WTF_CSRF_SSL_STRICT": production,
        # argon2id parameters (OWASP ASVS 5 / RFC 9106 second recommendation).
        "ARGON2_TIME_COST": 3,
        "ARGON2_MEMORY_COST": 64 * 1024,
        "ARGON2_PARALLELISM": 2,
        "HSTS": production,
        # How many reverse proxies stand in front (their X-Forwarded-* headers are trusted).
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", 0)),
        # Password-reset and account mail. Without MAIL_SERVER, development prints each
        # message (links and all) on the console `make run` shows; elsewhere it is not sent.
        # One JSON object per log line in production (with the request id); text elsewhere.
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "json" if production else "text"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        # /metrics (Prometheus): for loopback, or a scraper sending this bearer token.
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        # Error reports to Sentry (or a compatible service such as GlitchTip) when set.
        "SENTRY_DSN": os.environ.get("SENTRY_DSN", ""),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_CONSOLE": _bool("MAIL_CONSOLE", development),
        # The demo accounts live at @gerai.test, a domain no mail reaches (RFC 6761):
        # accepted in forms on a development machine only.
        "ACCEPT_TEST_EMAIL_DOMAINS": _bool("ACCEPT_TEST_EMAIL_DOMAINS", development),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", 587)),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Gerai <noreply@gerai.local>"),
    }
