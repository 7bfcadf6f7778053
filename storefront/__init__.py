"""Gerai: the storefront package. ``create_app`` builds the Flask app in named steps."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, UnicodeConverter

from . import config as settings
from . import tasks
from .extensions import babel, cache, csrf, db, limiter, login_manager, migrate


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(settings.ROOT / "templates"),
        static_folder=str(settings.ROOT / "static"),
        instance_path=str(settings.INSTANCE),
    )
    app.config.update(settings.from_environment())
    if config:
        app.config.update(config)
    register_extensions(app)
    app.url_map.converters["int"] = DatabaseId  # before any route is added
    app.url_map.converters["default"] = app.url_map.converters["string"] = UrlText
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    mount_sandbox_gateway(app)
    trust_proxies(app)
    tasks.start_embedded_if_asked(app)  # last: its first task may touch any model
    return app


class DatabaseId(IntegerConverter):
    """``<int:...>`` in a URL: a 32-bit database id in ASCII digits (storefront.params).
    /produk/99999999999 is a 404, not a number PostgreSQL refuses; /produk/٣ (``\\d``
    matches every script's digits, and int() reads them) is a 404, not product 3."""

    regex = r"[0-9]+"

    def __init__(self, map, *args, **kwargs):
        from .params import MAX_ID

        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class UrlText(UnicodeConverter):
    """A text part of a URL (a slug, a stand code, a token) without control characters:
    no slug or code of ours has one, and PostgreSQL refuses NUL in a text parameter, so
    /toko/a%00b was a 500 there. Now it is a 404, as any unknown slug."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00-\\x1f\\x7f-\\x9f]", 1)


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies (TLS, load balancer), read the client's
    address, scheme and host from their X-Forwarded-* headers: rate limits count real
    visitors, and same-site checks see the host the browser saw."""
    count = app.config.get("TRUSTED_PROXIES", 0)
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def mount_sandbox_gateway(app: Flask) -> None:
    """In development the gateway sandboxes answer inside Gerai: the Stripe-compatible one
    at /sandbox-gateway, the Xendit-compatible QRIS one at /xendit-sandbox (with its
    payer's wallet page at /xendit-sandbox/wallet), so checkout and stands work offline
    end to end."""
    mounts = {}
    if app.config["PAYMENT_GATEWAY"] == "sandbox" and app.config["SANDBOX_MOUNT"]:
        from .payments.sandbox import create_sandbox_app
        from .payments.stripe_gateway import SANDBOX_API_KEY

        # It answers only the key our sandbox gateway sends (its test controls too).
        mounts["/sandbox-gateway"] = create_sandbox_app(
            webhook_url=app.config["SANDBOX_WEBHOOK_URL"],
            webhook_secret=app.config["SANDBOX_WEBHOOK_SECRET"], secret_key=SANDBOX_API_KEY)
    if app.config.get("QRIS_GATEWAY") == "xendit" and app.config.get("XENDIT_SANDBOX_MOUNT") \
            and app.config["XENDIT_SECRET_KEY"].startswith("xnd_development_"):
        from .payments.xendit_sandbox import create_xendit_sandbox_app

        mounts["/xendit-sandbox"] = create_xendit_sandbox_app(
            secret_key=app.config["XENDIT_SECRET_KEY"],
            callback_url=app.config["XENDIT_SANDBOX_CALLBACK_URL"],
            callback_token=app.config["XENDIT_CALLBACK_TOKEN"])
    if mounts:
        from werkzeug.middleware.dispatcher import DispatcherMiddleware

        app.wsgi_app = DispatcherMiddleware(app.wsgi_app, mounts)


def register_extensions(app: Flask) -> None:
    from . import api, i18n, observability, security, templating
    from .indexing import services as indexing

    db.init_app(app)
    migrate.init_app(app, db, directory=str(settings.ROOT / "storefront" / "migrations"),
                     render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    observability.init_app(app)  # first: every later hook and log line has the request id
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None  # the login page itself says why
    login_manager.session_protection = "strong"
    security.init_app(app)
    templating.init_app(app)
    indexing.init_app(app)
    api.init_app(app)
    tasks.init_app(app)


def register_blueprints(app: Flask) -> None:
    from .accounts.views import bp as accounts
    from .admin.views import bp as admin
    from .api import bp as api
    from .basket.views import bp as basket
    from .catalogue.views import bp as catalogue
    from .checkout.views import bp as checkout
    from .cooperatives.views import bp as cooperatives
    from .exhibitions.till_views import bp as till
    from .exhibitions.views import bp as exhibitions
    from .ledger.views import bp as ledger
    from .media import bp as media
    from .members.views import bp as members
    from .observability import bp as observability
    from .payments.webhooks import bp as webhooks
    from .reports.views import bp as reports
    from .seller import (
        imports_views,  # noqa: F401 (adds the import routes to the seller blueprint)
        qris_views,  # noqa: F401 (the static QRIS sticker page)
    )
    from .seller.views import bp as seller

    app.register_blueprint(observability)
    app.register_blueprint(catalogue)
    app.register_blueprint(accounts)
    app.register_blueprint(media)
    app.register_blueprint(seller)
    app.register_blueprint(admin)
    app.register_blueprint(basket)
    app.register_blueprint(checkout)
    app.register_blueprint(webhooks)
    app.register_blueprint(exhibitions)
    app.register_blueprint(till)
    app.register_blueprint(cooperatives)
    app.register_blueprint(ledger)
    app.register_blueprint(members)
    app.register_blueprint(reports)
    app.register_blueprint(api)


def register_errorhandlers(app: Flask) -> None:
    from .errors import register

    register(app)


def register_commands(app: Flask) -> None:
    from .accounts.commands import create_user
    from .admin.views import shop_verify
    from .backups.commands import backup, restore
    from .checkout.commands import payments_reconcile
    from .demo.commands import seed_demo
    from .indexing.commands import search_reindex, search_setup, search_worker
    from .ledger.commands import ledger_check
    from .members.commands import bills_remind, bills_run, books_check
    from .reference import seed_reference
    from .seller.commands import catalogue_import
    from .tasks import worker_command

    app.cli.add_command(seed_demo)
    app.cli.add_command(create_user)
    app.cli.add_command(seed_reference)
    app.cli.add_command(shop_verify)
    app.cli.add_command(payments_reconcile)
    app.cli.add_command(catalogue_import)
    app.cli.add_command(search_reindex)
    app.cli.add_command(search_setup)
    app.cli.add_command(search_worker)
    app.cli.add_command(worker_command)
    app.cli.add_command(ledger_check)
    app.cli.add_command(books_check)
    app.cli.add_command(bills_run)
    app.cli.add_command(bills_remind)
    app.cli.add_command(backup)
    app.cli.add_command(restore)
