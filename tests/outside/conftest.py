"""The app on a real loopback HTTP server, driven as a browser would: cookies, CSRF
tokens taken from pages, redirects followed. What a stranger can do, these tests do."""

from __future__ import annotations

import os
import re
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
import requests

from tests.conftest import TEST_PASSWORD, _test_config, postgres_schema
from tests.helpers import Served
from tests.outside.gunicorn import Gunicorn, loopback_socket

_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


class Browser(requests.Session):
    """One person's browser against the live server."""

    def __init__(self, base: str):
        super().__init__()
        self.base = base

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", 30)
        return super().request(method, self.base + url if url.startswith("/") else url,
                               *args, **kwargs)

    def token(self, path: str = "/") -> str:
        match = _TOKEN.search(self.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, email: str, password: str = TEST_PASSWORD) -> requests.Response:
        return self.post("/masuk", data={"email": email, "password": password,
                                         "csrf_token": self.token("/masuk")})


@pytest.fixture
def live(app):
    served = Served(app)
    yield served
    served.close()


@pytest.fixture
def browser(live):
    with Browser(live.url) as session:
        yield session


@dataclass
class City:
    """Gerai under gunicorn with its own database: demo shops and products, and the small
    two-sided city of tests/security (``world``: its ids and people). ``app`` is a twin of
    the served app in this process: its URL map, its views, its database."""

    url: str
    app: object
    world: object
    server: Gunicorn


@pytest.fixture(scope="session")
def city(database_url, tmp_path_factory, worker_id):
    """One served city per database per test process (the walk is its one heavy user)."""
    folder = tmp_path_factory.mktemp("city")
    with ExitStack() as cleanup:
        # a database of its own, beside the one the other tests empty after each test
        url = f"sqlite:///{folder / 'city.db'}" if database_url.startswith("sqlite") else \
            cleanup.enter_context(postgres_schema(f"gerai_city_{worker_id}_{os.getpid()}"))
        yield from _serve_city(url, folder, cleanup)


def _serve_city(url: str, folder, cleanup: ExitStack):
    from storefront import create_app
    from storefront.demo.seed import seed
    from storefront.extensions import db
    from storefront.indexing.services import backend, reindex
    from tests.security.conftest import build_world

    listener = cleanup.enter_context(loopback_socket())
    base = "http://127.0.0.1:%d" % listener.getsockname()[1]
    config = {**_test_config(url, folder / "media"),
              # as `make run` serves it: errors answered by the error page, not raised;
              # mail printed; the worker thread; checkout through the mounted sandbox
              "TESTING": False, "MAIL_CONSOLE": True, "WORKER_THREAD": True,
              "LOG_FORMAT": "text",  # tracebacks as lines (Gunicorn.trouble reads them)
              "SEARCH_INDEX_PATH": str(folder / "search-index"),
              "PAYMENT_GATEWAY": "sandbox", "SANDBOX_MOUNT": True,
              "SANDBOX_GATEWAY_URL": f"{base}/sandbox-gateway",
              "SANDBOX_WEBHOOK_URL": f"{base}/payments/webhooks/sandbox",
              "PAYMENT_GATEWAY_RETRIES": 0}
    app = create_app({**config, "WORKER_THREAD": False})
    cleanup.callback(_let_go, app)
    with app.app_context():
        db.create_all()
        seed(products=60, shops=10, media_root=folder / "media")
        world = build_world(tag="-kota")
        reindex()
        backend().close()  # tantivy has one writer across processes: the server's worker
        db.session.remove()
        db.engine.dispose()
    server = Gunicorn(listener, config, folder)
    cleanup.callback(server.close)
    yield City(server.url, app, world, server)


def _let_go(app) -> None:
    from storefront.extensions import db

    with app.app_context():
        db.engine.dispose()


def pytest_terminal_summary(terminalreporter):
    """The walk's counts (tests/outside/test_every_parameter.py), also from xdist workers."""
    lines = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, counts in getattr(report, "user_properties", ()):
                if isinstance(counts, dict) and "routes" in counts:
                    shown = ", ".join(f"{k} {v}" for k, v in counts.items())
                    lines.append(f"{report.nodeid.split('::')[-1]} ({name}): {shown}")
    if lines:
        terminalreporter.section("routes, parameters, requests, 5xx, refused without a message")
        for line in sorted(lines):
            terminalreporter.write_line(line)
