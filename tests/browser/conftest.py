"""Browser fixtures: one seeded live server and one Chromium for the whole session.

The browser suite runs on SQLite only: it exercises the pages and htmx, not the
database, and the functional suite already covers both databases. It skips, and
says why, when Debian's Chromium or the vendored htmx is missing.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from storefront import config as settings
from tests.conftest import _test_config

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
HTMX = settings.ROOT / "static" / "vendor" / "htmx.min.js"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PHONE = {"width": 360, "height": 800}
LIVE: dict = {}  # the live server's Flask app, for fixtures that set up data


def _skip_reason() -> str | None:
    if not Path(CHROMIUM).is_file():
        return f"Chromium not found at {CHROMIUM} (install chromium or set CHROMIUM_PATH)"
    if not HTMX.is_file():
        return f"{HTMX.relative_to(settings.ROOT)} is missing: run make assets"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    if reason is None:
        return
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.skip(reason=reason))


def sandboxes(base: str, webhook_secret: str) -> dict:
    """Both gateway sandboxes mounted inside Gerai at ``base``, as make run has them: cards
    through the Stripe-compatible one, QRIS (stands) through the Xendit-compatible one."""
    return {"PAYMENT_GATEWAY": "sandbox", "SANDBOX_MOUNT": True,
            "SANDBOX_GATEWAY_URL": f"{base}/sandbox-gateway",
            "SANDBOX_WEBHOOK_URL": f"{base}/payments/webhooks/sandbox",
            "SANDBOX_WEBHOOK_SECRET": webhook_secret, "PAYMENT_GATEWAY_RETRIES": 0,
            "QRIS_GATEWAY": "xendit", "XENDIT_SANDBOX_MOUNT": True,
            "XENDIT_API_URL": f"{base}/xendit-sandbox",
            "XENDIT_SANDBOX_CALLBACK_URL": f"{base}/payments/webhooks/xendit"}


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The seeded app served over HTTP from a thread; yields its base URL."""
    from storefront import create_app
    from storefront.demo.seed import seed
    from storefront.extensions import db
    from storefront.indexing.services import reindex

    folder = tmp_path_factory.mktemp("browser")
    media = folder / "media"
    # The port comes first: the app mounts the payment sandbox, which must know where
    # it is served and where to send its webhooks.
    apps = {}
    server = make_server("127.0.0.1", 0, lambda env, start: apps["gerai"](env, start),
                         threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app = create_app({**_test_config(f"sqlite:///{folder / 'gerai.db'}", media_root=media),
                      **sandboxes(base, "whsec_browser_tests")})
    apps["gerai"] = app
    LIVE["app"] = app
    with app.app_context():
        db.create_all()
        seed(products=200, shops=45, media_root=media)
        reindex()
        db.session.remove()

    # one log line per picture request drowns the report of a failing test
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        werkzeug_log.setLevel(level)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def new_context(browser, live_server):
    """Makes phone-sized browser contexts on the live server; closes them afterwards."""
    contexts = []

    def make(**options):
        context = browser.new_context(base_url=live_server, viewport=PHONE, **options)
        context.set_default_timeout(5_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    return new_context().new_page()


@pytest.fixture(scope="session")
def live_app(live_server):
    """The live server's app: open its context to set up data or check the database."""
    return LIVE["app"]


def log_in(context, email: str, password: str | None = None):
    """A new tab signed in through the form (the test password, or the demo's)."""
    from tests.conftest import TEST_PASSWORD

    page = context.new_page()
    page.goto("/masuk")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Kata sandi").fill(password or TEST_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(lambda url: "/masuk" not in url)
    return page


def import_preview(page, folder) -> None:
    """The seller's import preview of a two-row CSV, one row refused (a price of "abc")."""
    csv = folder / "katalog-contoh.csv"
    csv.write_text("sku,nama,kategori,harga,stok\nDT-1,Dodol Talas Pandan,makanan,15000,20\n"
                   "DT-2,Dodol Durian,makanan,abc,5\n")
    page.goto("/penjual/produk/impor")
    page.get_by_label("Berkas CSV atau XLSX").set_input_files(str(csv))
    page.get_by_role("button", name="Unggah dan periksa").click()
    page.locator(".import-preview").wait_for()
    csv.unlink()
