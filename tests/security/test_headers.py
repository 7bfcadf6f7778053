"""Every HTML answer carries the headers that keep injected markup harmless."""

import re

import pytest

from storefront import create_app
from tests.conftest import AuthActions, IsolatedClient, _test_config
from tests.security.conftest import ACTORS
from tests.security.routes import ROUTES, url_of

PRIVATE_PAGES = ("/akun/pesanan", "/masuk", "/daftar", "/penjual/rekening")


def test_every_html_page_has_a_strict_content_security_policy(app, world):
    app.test_client_class = IsolatedClient
    clients = {}
    for actor in ACTORS:
        clients[actor] = app.test_client()
        if actor != "anonymous":
            AuthActions(clients[actor]).login(world.emails[actor])
    problems, pages = [], 0
    for endpoint, route in sorted(ROUTES.items()):
        if not route.get:
            continue
        actor = sorted(route.get, key=lambda a: (a == "anonymous", a))[0]
        response = clients[actor].get(url_of(route, world.ids))
        response.close()
        if not response.mimetype == "text/html":
            continue
        pages += 1
        csp = response.headers.get("Content-Security-Policy", "")
        nonce = re.search(r"script-src 'nonce-([\w-]+)'", csp)
        checks = {
            "nonce": bool(nonce), "object-src 'none'": "object-src 'none'" in csp,
            "base-uri 'none'": "base-uri 'none'" in csp,
            "frame-ancestors": "frame-ancestors 'none'" in csp,
            "no unsafe-eval": "unsafe-eval" not in csp and "unsafe-inline" not in csp,
            "nosniff": response.headers.get("X-Content-Type-Options") == "nosniff",
            "referrer": bool(response.headers.get("Referrer-Policy")),
        }
        body = response.get_data(as_text=True)
        if nonce:  # every script on the page carries this answer's nonce, and no other
            scripts = re.findall(r"<script\b[^>]*>", body)
            checks["scripts nonced"] = all(f'nonce="{nonce.group(1)}"' in tag for tag in scripts)
        if '"allowEval":false' not in body and "<html" in body and "htmx" in body:
            checks["htmx allowEval off"] = False
        problems += [(endpoint, name) for name, ok in checks.items() if not ok]
    assert pages > 30 and not problems


@pytest.mark.parametrize("path", PRIVATE_PAGES)
def test_private_pages_stay_out_of_the_htmx_history_cache(client, auth, world, path):
    auth.login(world.emails["seller_a"])
    body = client.get(path).get_data(as_text=True)
    assert 'hx-history="false"' in body


def test_catalogue_pages_may_be_cached_in_history(client):
    assert 'hx-history="false"' not in client.get("/katalog").get_data(as_text=True)


def test_production_sends_hsts_and_secure_host_cookies(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("GERAI_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "production-secret-for-the-test")
    config = {k: v for k, v in _test_config(database_url, tmp_path).items()
              if not k.startswith("SESSION") and k != "TESTING"}
    app = create_app(config)
    app.test_client_class = IsolatedClient
    client = app.test_client()
    response = client.get("/masuk", base_url="https://gerai.example")
    hsts = response.headers["Strict-Transport-Security"]
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 365 * 24 * 3600  # a year
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all(c.startswith("__Host-") for c in cookies), cookies
    session = next(c for c in cookies if c.startswith("__Host-gerai="))
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in session
    assert "Domain=" not in session  # __Host- cookies are bound to the exact host


# Pages with someone's money or identity on them (issue 20.7): never kept by a shared
# phone's browser or proxy (no-store), never put back from htmx's history cache.
PRIVATE_ENDPOINTS = ("checkout.done", "checkout.history", "till.pay", "till.screen",
                     "till.charge", "seller.order", "seller.orders", "seller.dashboard",
                     "ledger.mine", "accounts.login", "admin.payments", "admin.payment_story",
                     "reports.index")


def test_private_pages_are_not_stored_anywhere(app, world):
    app.test_client_class = IsolatedClient
    problems = []
    for endpoint in PRIVATE_ENDPOINTS:
        route = ROUTES[endpoint]
        actor = sorted(route.get, key=lambda a: (a == "anonymous", a))[0]
        client = app.test_client()
        if actor != "anonymous":
            AuthActions(client).login(world.emails[actor])
        response = client.get(url_of(route, world.ids))
        body = response.get_data(as_text=True)
        if response.status_code >= 300:
            problems.append((endpoint, response.status_code))
            continue
        if "no-store" not in response.headers.get("Cache-Control", ""):
            problems.append((endpoint, "Cache-Control", response.headers.get("Cache-Control")))
        if 'hx-history="false"' not in body:
            problems.append((endpoint, "hx-history"))
    assert not problems
