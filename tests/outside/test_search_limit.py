"""A made-up cookie buys no search budget (issue 13.7).

The catalogue search counts per browser, so a fair's visitors behind one address do
not share one budget. "Browser" was read from the cart cookie as sent: a stranger
sending a new made-up ``keranjang`` cookie with each request got 250 searches of 250.
It is now the session the server signed; anything else counts on the address.
"""

from __future__ import annotations

import secrets

import pytest
import requests

from tests.conftest import _test_config
from tests.outside.conftest import Browser

PER_BROWSER = 240


@pytest.fixture
def app_config(_schema, tmp_path):  # noqa: PT004 (the suite's app, with its rate limits on)
    return {**_test_config(_schema, tmp_path / "media"), "RATELIMIT_ENABLED": True}


@pytest.mark.parametrize("cookie", ["keranjang", "gerai"], ids=["cart", "session"])
def test_a_made_up_cookie_per_request_gets_no_fresh_budget(app, live, cookie):
    statuses = []
    for _ in range(PER_BROWSER + 10):
        answer = requests.get(f"{live.url}/katalog?q=kopi", timeout=30,
                              cookies={cookie: secrets.token_urlsafe(24)})
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            break
    assert statuses.count(200) == PER_BROWSER and statuses[-1] == 429
    assert "Terlalu banyak percobaan" in answer.text
    assert 0 < int(answer.headers["Retry-After"]) <= 60


def test_each_browser_on_a_shared_address_has_its_own_budget(app, live):
    with Browser(live.url) as greedy, Browser(live.url) as neighbour:
        greedy.get("/")  # a session of its own from here on
        neighbour.get("/")
        statuses = [greedy.get("/katalog?q=kopi").status_code for _ in range(PER_BROWSER + 1)]
        assert statuses == [200] * PER_BROWSER + [429]
        # the same address, another browser: still served
        assert neighbour.get("/katalog?q=kopi").status_code == 200
        assert requests.get(f"{live.url}/katalog?q=kopi", timeout=30).status_code == 200
