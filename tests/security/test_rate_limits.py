"""Rate limits on login, registration, checkout, search and fair baskets: a clear 429 page.

Counters live in memory by default, and in Redis when REDIS_URL is set; the Redis
case runs two app instances (two web processes) against the Redis on 127.0.0.1.
"""

import secrets

import pytest
import redis

from storefront import create_app
from tests.conftest import IsolatedClient, _test_config
from tests.helpers import csrf_token

REDIS_URL = "redis://127.0.0.1:6379/15"


def limited_app(database_url, tmp_path, **extra):
    app = create_app({**_test_config(database_url, tmp_path), "RATELIMIT_ENABLED": True, **extra})
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture
def app_config(_schema, tmp_path):  # noqa: PT004 (the suite's app fixture, with limits on)
    return {**_test_config(_schema, tmp_path / "media"), "RATELIMIT_ENABLED": True}


def hammer(client, method: str, url: str, times: int, **kwargs) -> list[int]:
    return [getattr(client, method)(url, **kwargs).status_code for _ in range(times)]


def test_login_is_limited_with_a_clear_page(client):
    data = {"email": "x@contoh.id", "password": "salah-sekali-123",
            "csrf_token": csrf_token(client, "/masuk")}
    statuses = hammer(client, "post", "/masuk", 11, data=data)
    assert statuses[:10] == [422] * 10 and statuses[10] == 429
    page = client.post("/masuk", data=data)
    assert page.status_code == 429 and "Terlalu banyak percobaan" in page.get_data(as_text=True)


def test_registration_is_limited(client):
    data = {"name": "A", "email": "bukan-email", "csrf_token": csrf_token(client, "/daftar")}
    assert hammer(client, "post", "/daftar", 6, data=data)[-1] == 429


def test_checkout_start_is_limited(client):
    data = {"csrf_token": csrf_token(client, "/")}
    assert 429 in hammer(client, "post", "/checkout/bayar", 12, data=data)


def test_search_is_limited_per_browser(app, client):
    csrf_token(client, "/masuk")  # a session of its own: counted per browser from here on
    statuses = hammer(client, "get", "/katalog?q=kopi", 245)
    assert statuses[0] == 200 and statuses[-1] == 429


def test_counters_are_shared_through_redis(_schema, tmp_path):
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    prefix = f"gerai-test-{secrets.token_hex(4)}"
    web = [limited_app(_schema, tmp_path, RATELIMIT_STORAGE_URI=REDIS_URL,
                       RATELIMIT_KEY_PREFIX=prefix) for _ in range(2)]
    clients = [app.test_client() for app in web]
    data = {"email": f"x-{prefix}@contoh.id", "password": "salah-sekali-123"}  # its own account
    statuses = []
    for n in range(11):  # alternate between the two "processes"
        client = clients[n % 2]
        statuses.append(client.post("/masuk", data={**data, "csrf_token": csrf_token(client, "/masuk")},
                                    environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code)
    assert statuses[-1] == 429 and 429 not in statuses[:10]
    store = redis.Redis.from_url(REDIS_URL)
    # The address is this test's own (the limiter keeps the key prefix of its first app).
    keys = list(store.scan_iter(match="*198.51.100.9/accounts.login*", count=1000))
    assert keys, "the counters should be in Redis"
    store.delete(*keys)


def test_password_reset_is_limited_per_address(client):
    data = {"email": "korban@contoh.id", "csrf_token": csrf_token(client, "/lupa-sandi")}
    statuses = hammer(client, "post", "/lupa-sandi", 4, data=data)
    assert statuses[:3] == [303] * 3 and statuses[3] == 429
