"""The app on a real loopback HTTP server, driven as a browser would: cookies, CSRF
tokens taken from pages, redirects followed. What a stranger can do, these tests do."""

from __future__ import annotations

import re

import pytest
import requests

from tests.conftest import TEST_PASSWORD
from tests.helpers import Served

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
        terminalreporter.section("routes, parameters, requests, 5xx")
        for line in sorted(lines):
            terminalreporter.write_line(line)
