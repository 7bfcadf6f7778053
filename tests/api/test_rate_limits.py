"""API rate limits: per key at its own rate, per address without a key; 429 + Retry-After."""

from __future__ import annotations

import pytest

from tests.api.conftest import bearer
from tests.conftest import _test_config


@pytest.fixture
def app_config(_schema, tmp_path):
    return {**_test_config(_schema, tmp_path / "media"), "RATELIMIT_ENABLED": True,
            "API_PUBLIC_RATE": "3 per minute"}


def test_a_key_past_its_rate_gets_429_with_retry_after(client, issue_key):
    _key, slow = issue_key(rate_limit=2)
    _key, other = issue_key(rate_limit=100)
    statuses = [client.get("/api/v1/categories", headers=bearer(slow)).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = client.get("/api/v1/categories", headers=bearer(slow))
    assert refused.mimetype == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert client.get("/api/v1/categories", headers=bearer(other)).status_code == 200


def test_calls_without_a_key_are_limited_per_address(client):
    statuses = [client.get("/api/v1/places").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/api/v1/places",
                      environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
