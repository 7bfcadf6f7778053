"""API tests: the functional catalogue, and keys issued the way the city office issues them."""

from __future__ import annotations

import pytest

from storefront.api import keys
from storefront.extensions import db
from tests.functional.conftest import catalogue, sandbox_app, sandbox_server  # noqa: F401

ALL_SCOPES = ("orders:read", "checkout:write", "reports:read")


@pytest.fixture
def issue_key(app):
    def issue(scopes=ALL_SCOPES, rate_limit=600, name="Tangerang LIVE"):
        key, token = keys.issue(name, "Diskominfo Kota Tangerang", scopes, rate_limit)
        db.session.commit()
        return key, token
    return issue


@pytest.fixture
def api_key(issue_key) -> str:
    return issue_key()[1]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
